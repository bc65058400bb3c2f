// Load order: defaults (dev defaults with -dev), config dirs, config files, flag overrides.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "beacon/core/file.h"
#include "beacon/core/strings.h"
#include "internal.h"

namespace beacon::config {
namespace {

namespace fs = std::filesystem;
using internal::LoadState;

enum class Format { kJson, kYaml, kUnknown, kHcl };

Format FormatOf(const std::string& path, std::string_view forced) {
  if (forced == "json") return Format::kJson;
  if (forced == "yaml") return Format::kYaml;
  std::string ext = fs::path(path).extension().string();
  core::LowerInPlace(ext);
  if (ext == ".json") return Format::kJson;
  if (ext == ".yaml" || ext == ".yml") return Format::kYaml;
  if (ext == ".hcl") return Format::kHcl;
  return Format::kUnknown;
}

Status MergeText(std::string_view name, std::string_view text, bool yaml, AgentConfig* cfg,
                 LoadState* ls) {
  internal::Value root;
  Status st = yaml ? internal::ParseYamlTree(name, text, &root)
                   : internal::ParseJsonTree(name, text, &root);
  if (!st.ok()) return st;
  st = internal::ApplyDocument(internal::Ctx{name}, root, cfg, ls);
  if (!st.ok()) return st;
  cfg->sources.emplace_back(name);
  return Status::Ok();
}

Status LoadFile(const std::string& path, std::string_view forced, AgentConfig* cfg, LoadState* ls) {
  Format fmt = FormatOf(path, forced);
  if (fmt == Format::kHcl) {
    return Status::Error(path + ": HCL config files are not supported; use JSON or YAML");
  }
  if (fmt == Format::kUnknown) {
    return Status::Error(path +
                         ": cannot tell the format from the file name; use a .json, .yaml or "
                         ".yml extension or -config-format");
  }
  std::string text;
  Status st = core::ReadFile(path, &text);
  if (!st.ok()) return st;
  return MergeText(path, text, fmt == Format::kYaml, cfg, ls);
}

// *.json, *.yaml and *.yml directly inside dir, in alphabetical order.
Status LoadDir(const std::string& dir, std::string_view forced, AgentConfig* cfg, LoadState* ls) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (!fs::exists(dir, ec)) return Status::Error("config dir " + dir + ": no such directory");
    return Status::Error("config dir " + dir + ": not a directory");
  }
  std::vector<std::string> names;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::Error("config dir " + dir + ": " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::Error("config dir " + dir + ": " + ec.message());
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;  // follows symlinks; subdirectories are skipped
    std::string name = it->path().filename().string();
    Format fmt = FormatOf(name, "");
    if (fmt == Format::kJson || fmt == Format::kYaml) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    Status st = LoadFile((fs::path(dir) / name).string(), forced, cfg, ls);
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

Status Finalize(AgentConfig* cfg, const LoadState& ls, bool require_data_dir) {
  if (cfg->node_name.empty()) cfg->node_name = internal::Hostname();
  if (require_data_dir && !cfg->dev && cfg->data_dir.empty()) {
    return Status::Error("data_dir is required unless -dev");
  }
  if (cfg->advertise_addr.empty()) {
    cfg->advertise_addr =
        (cfg->bind_addr == "0.0.0.0" || cfg->bind_addr == "::") ? "127.0.0.1" : cfg->bind_addr;
  }
  if (!cfg->dns.alt_domain.empty() && cfg->dns.alt_domain == cfg->dns.domain) {
    return Status::Error("alt_domain must differ from domain (" + cfg->dns.domain + ")");
  }
  if (Status st = internal::FinalizeKvBackend(*cfg); !st.ok()) return st;
  return internal::FinalizeChecks(cfg, ls);
}

}  // namespace

namespace internal {

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace internal

Result<AgentConfig> Load(const CommandLine& cl) {
  AgentConfig cfg;
  LoadState ls;
  if (cl.dev) {
    cfg.dev = true;
    cfg.ui = true;
    cfg.node_name = internal::Hostname();
    cfg.log_level = "debug";
    cfg.server = true;
    cfg.bind_addr = "127.0.0.1";
  }
  for (const std::string& dir : cl.config_dirs) {
    Status st = LoadDir(dir, cl.config_format, &cfg, &ls);
    if (!st.ok()) return st;
  }
  for (const std::string& file : cl.config_files) {
    Status st = LoadFile(file, cl.config_format, &cfg, &ls);
    if (!st.ok()) return st;
  }
  for (const auto& [flag, value] : cl.overrides) {
    Status st = internal::ApplyOverride(flag, value, &cfg);
    if (!st.ok()) return st;
  }
  Status st = Finalize(&cfg, ls, /*require_data_dir=*/true);
  if (!st.ok()) return st;
  return cfg;
}

Result<AgentConfig> LoadPaths(const std::vector<std::string>& paths) {
  AgentConfig cfg;
  LoadState ls;
  for (const std::string& path : paths) {
    std::error_code ec;
    Status st =
        fs::is_directory(path, ec) ? LoadDir(path, "", &cfg, &ls) : LoadFile(path, "", &cfg, &ls);
    if (!st.ok()) return st;
  }
  Status st = Finalize(&cfg, ls, /*require_data_dir=*/false);
  if (!st.ok()) return st;
  return cfg;
}

Status MergeDocument(std::string_view name, std::string_view text, bool yaml, AgentConfig* cfg) {
  AgentConfig merged = *cfg;  // on error *cfg stays as it was
  LoadState ls;
  Status st = MergeText(name, text, yaml, &merged, &ls);
  if (!st.ok()) return st;
  st = internal::CheckScriptPolicy(merged, ls);
  if (!st.ok()) return st;
  *cfg = std::move(merged);
  return Status::Ok();
}

}  // namespace beacon::config
