// consul-template configuration files for `beacon template -config`: JSON, or YAML (by the
// .yaml/.yml extension), or a directory of them (merged in name order), with consul-template's
// keys (HCL files are refused with a clear error):
//   consul { address, token, retry { enabled, attempts, backoff, max_backoff } }, log_level, wait
//   ("min:max" or { min, max }), exec { command, reload_signal, kill_signal, kill_timeout },
//   template { source | contents, destination, command, command_timeout, perms, backup,
//              left_delimiter, right_delimiter, wait, function_denylist }   (one or a list)
// Keys compare without case, '_' or '-'. Options consul-template has but Beacon does not need
// (max_stale, pid_file, syslog, vault, dedup, ...) are accepted and ignored; the few that would
// change what a render does there (error_on_missing_key, sandbox_path, user/group, consul.ssl/auth,
// exec.env) are accepted and listed in TemplateOptions::unsupported, which the runner warns
// about; anything else is an error naming the file and the key.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "beacon/core/duration.h"
#include "beacon/core/strings.h"
#include "internal.h"
#include "template_internal.h"

namespace beacon::cli::tpl {
namespace {

using simdjson::dom::element;

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  Status Err(std::string_view key, std::string_view what) const {
    return Status::Error(file_ + ": " + std::string(key) + ": " + std::string(what));
  }

  Status String(element v, std::string_view key, std::string* out) const {
    std::string_view s;
    if (v.get(s) != simdjson::SUCCESS) return Err(key, "expected a string");
    *out = std::string(s);
    return Status::Ok();
  }

  Status Strings(element v, std::string_view key, std::vector<std::string>* out) const {
    simdjson::dom::array arr;
    if (v.get(arr) != simdjson::SUCCESS) return Err(key, "expected a list of strings");
    out->clear();
    for (element e : arr) {
      std::string_view s;
      if (e.get(s) != simdjson::SUCCESS) return Err(key, "expected a list of strings");
      out->emplace_back(s);
    }
    return Status::Ok();
  }

  Status Bool(element v, std::string_view key, bool* out) const {
    if (v.get(*out) == simdjson::SUCCESS) return Status::Ok();
    std::string_view s;
    if (v.get(s) == simdjson::SUCCESS && core::ParseGoBool(s, out)) return Status::Ok();
    return Err(key, "expected a boolean");
  }

  Status Duration(element v, std::string_view key, int64_t* out_ms) const {
    std::string_view s;
    int64_t ns = 0;
    std::string err;
    if (v.get(s) != simdjson::SUCCESS) return Err(key, "expected a duration string like \"30s\"");
    if (!core::ParseGoDuration(s, &ns, &err) || ns < 0) {
      return Err(key, err.empty() ? "negative duration" : err);
    }
    *out_ms = (ns + 999999) / 1000000;
    return Status::Ok();
  }

  Status Signal(element v, std::string_view key, int* out) const {
    std::string s;
    if (Status st = String(v, key, &s); !st.ok()) return st;
    if (!ParseSignal(s, out)) return Err(key, "unknown signal \"" + s + "\"");
    return Status::Ok();
  }

  // "0644" (octal text) or a number (the mode's value, as HCL's 0644 literal decodes).
  Status Perms(element v, std::string_view key, int* out) const {
    int64_t n = 0;
    std::string_view s;
    if (v.get(n) == simdjson::SUCCESS) {
      *out = static_cast<int>(n);
    } else if (v.get(s) == simdjson::SUCCESS && !s.empty() &&
               s.find_first_not_of("01234567") == std::string_view::npos && s.size() <= 5) {
      *out = static_cast<int>(std::strtol(std::string(s).c_str(), nullptr, 8));
    } else {
      return Err(key, "expected a file mode like \"0644\"");
    }
    if (*out < 0 || *out > 07777) return Err(key, "file mode out of range");
    return Status::Ok();
  }

  // "min:max" or { min, max }.
  Status WaitValue(element v, std::string_view key, Wait* out) const {
    std::string_view s;
    if (v.get(s) == simdjson::SUCCESS) {
      Status st = ParseWait(s, out);
      return st.ok() ? st : Err(key, st.message());
    }
    simdjson::dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) return Err(key, "expected \"min:max\" or {min, max}");
    Wait w;
    bool has_max = false;
    for (auto f : obj) {
      const std::string k = core::NormKey(f.key);
      const std::string path = std::string(key) + "." + std::string(f.key);
      if (k == "min") {
        if (Status st = Duration(f.value, path, &w.min_ms); !st.ok()) return st;
      } else if (k == "max") {
        if (Status st = Duration(f.value, path, &w.max_ms); !st.ok()) return st;
        has_max = true;
      } else if (k != "enabled") {
        return Err(path, "unknown key");
      }
    }
    if (!has_max) w.max_ms = w.min_ms * 4;
    if (w.max_ms < w.min_ms) return Err(key, "max must be larger than min");
    *out = w;
    return Status::Ok();
  }

  // A command: a string, or a list (joined with spaces, each argument shell-quoted when needed).
  Status Command(element v, std::string_view key, std::string* out) const {
    std::string_view s;
    if (v.get(s) == simdjson::SUCCESS) {
      *out = std::string(s);
      return Status::Ok();
    }
    simdjson::dom::array arr;
    if (v.get(arr) != simdjson::SUCCESS) return Err(key, "expected a string or a list");
    out->clear();
    for (element e : arr) {
      if (e.get(s) != simdjson::SUCCESS) return Err(key, "expected a list of strings");
      if (!out->empty()) out->push_back(' ');
      if (arr.size() == 1 || s.find_first_of(" \t\n'\"\\$`;&|<>()*?[]#~") == s.npos) {
        out->append(s);
      } else {
        out->push_back('\'');
        for (char c : s) out->append(c == '\'' ? "'\\''" : std::string(1, c));
        out->push_back('\'');
      }
    }
    return Status::Ok();
  }

  // consul { retry { enabled, attempts, backoff, max_backoff } }
  Status RetryBlock(element v, std::string_view key, Retry* r) const {
    simdjson::dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) return Err(key, "expected an object");
    bool enabled = true;
    for (auto f : obj) {
      const std::string k = core::NormKey(f.key);
      const std::string path = std::string(key) + "." + std::string(f.key);
      Status st;
      if (k == "enabled") {
        st = Bool(f.value, path, &enabled);
      } else if (k == "attempts") {
        int64_t n = -1;
        std::string_view s;
        if (f.value.get(n) != simdjson::SUCCESS && f.value.get(s) == simdjson::SUCCESS) {
          n = s.empty() || s.find_first_not_of("0123456789") != s.npos || s.size() > 9
                  ? -1
                  : std::atoi(std::string(s).c_str());
        }
        if (n < 0 || n > 1000000) {
          st = Err(path, "expected a number of attempts (0 = unlimited)");
        } else {
          r->attempts = static_cast<int>(n);
        }
      } else if (k == "backoff") {
        st = Duration(f.value, path, &r->backoff_ms);
      } else if (k == "maxbackoff") {
        st = Duration(f.value, path, &r->max_backoff_ms);
      } else {
        st = Err(path, "unknown key");
      }
      if (!st.ok()) return st;
    }
    if (!enabled) r->attempts = 1;  // no retry: the first failure ends the runner
    if (r->backoff_ms <= 0) r->backoff_ms = 1;
    return Status::Ok();
  }

  Status Template(element v, std::string_view key, TemplateSpec* t) const {
    simdjson::dom::object obj;
    if (v.get(obj) != simdjson::SUCCESS) return Err(key, "expected an object");
    for (auto f : obj) {
      const std::string k = core::NormKey(f.key);
      const std::string path = std::string(key) + "." + std::string(f.key);
      Status st;
      if (k == "source") {
        st = String(f.value, path, &t->source);
      } else if (k == "contents") {
        std::string c;
        st = String(f.value, path, &c);
        t->contents = c;
      } else if (k == "destination") {
        st = String(f.value, path, &t->destination);
      } else if (k == "command") {
        st = Command(f.value, path, &t->command);
      } else if (k == "commandtimeout") {
        st = Duration(f.value, path, &t->command_timeout_ms);
      } else if (k == "perms") {
        st = Perms(f.value, path, &t->perms);
      } else if (k == "backup") {
        st = Bool(f.value, path, &t->backup);
      } else if (k == "leftdelimiter") {
        st = String(f.value, path, &t->left_delim);
      } else if (k == "rightdelimiter") {
        st = String(f.value, path, &t->right_delim);
      } else if (k == "wait") {
        Wait w;
        st = WaitValue(f.value, path, &w);
        t->wait = w;
      } else if (k == "functiondenylist" || k == "functionblacklist") {
        st = Strings(f.value, path, &t->function_denylist);
      } else if (k == "erroronmissingkey" || k == "sandboxpath" || k == "user" || k == "group" ||
                 k == "uid" || k == "gid") {
        unsupported_->push_back(path);
      } else if (k != "createdestdirs") {  // destination directories are always created
        st = Err(path, "unknown key");
      }
      if (!st.ok()) return st;
    }
    if (t->source.empty() && !t->contents.has_value()) {
      return Err(key, "must specify a source or contents");
    }
    if (!t->source.empty() && t->contents.has_value()) {
      return Err(key, "source and contents are mutually exclusive");
    }
    return Status::Ok();
  }

  Status Document(element root, TemplateOptions* o) {
    unsupported_ = &o->unsupported;
    simdjson::dom::object obj;
    if (root.get(obj) != simdjson::SUCCESS) return Status::Error(file_ + ": not an object");
    for (auto f : obj) {
      const std::string k = core::NormKey(f.key);
      const std::string key(f.key);
      Status st;
      if (k == "consul") {
        simdjson::dom::object c;
        if (f.value.get(c) != simdjson::SUCCESS) return Err(key, "expected an object");
        for (auto cf : c) {
          const std::string ck = core::NormKey(cf.key);
          const std::string path = key + "." + std::string(cf.key);
          if (ck == "address") {
            st = String(cf.value, path, &o->address);
          } else if (ck == "token") {
            st = String(cf.value, path, &o->token);
          } else if (ck == "retry") {
            st = RetryBlock(cf.value, path, &o->retry);
          } else if (ck == "ssl" || ck == "auth") {
            unsupported_->push_back(path);
          } else if (ck != "transport" && ck != "namespace") {
            st = Err(path, "unknown key");
          }
          if (!st.ok()) return st;
        }
      } else if (k == "template") {
        simdjson::dom::array arr;
        if (f.value.get(arr) == simdjson::SUCCESS) {
          size_t i = 0;
          for (element e : arr) {
            TemplateSpec t;
            st = Template(e, key + "[" + std::to_string(i++) + "]", &t);
            if (!st.ok()) return st;
            o->templates.push_back(std::move(t));
          }
        } else {
          TemplateSpec t;
          st = Template(f.value, key, &t);
          if (st.ok()) o->templates.push_back(std::move(t));
        }
      } else if (k == "wait") {
        st = WaitValue(f.value, key, &o->wait);
      } else if (k == "loglevel") {
        st = String(f.value, key, &o->log_level);
      } else if (k == "exec") {
        simdjson::dom::object e;
        if (f.value.get(e) != simdjson::SUCCESS) return Err(key, "expected an object");
        for (auto ef : e) {
          const std::string ek = core::NormKey(ef.key);
          const std::string path = key + "." + std::string(ef.key);
          if (ek == "command") {
            st = Command(ef.value, path, &o->exec.command);
          } else if (ek == "reloadsignal") {
            st = Signal(ef.value, path, &o->exec.reload_signal);
          } else if (ek == "killsignal") {
            st = Signal(ef.value, path, &o->exec.kill_signal);
          } else if (ek == "killtimeout") {
            st = Duration(ef.value, path, &o->exec.kill_timeout_ms);
          } else if (ek == "env") {
            unsupported_->push_back(path);
          } else if (ek != "splay" && ek != "enabled") {
            st = Err(path, "unknown key");
          }
          if (!st.ok()) return st;
        }
      } else if (k != "maxstale" && k != "pidfile" && k != "killsignal" && k != "reloadsignal" &&
                 k != "syslog" && k != "vault" && k != "dedup" && k != "deduplicate" &&
                 k != "blockquerywait" && k != "defaultdelimiters" && k != "nomad") {
        st = Err(key, "unknown key");
      }
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

 private:
  std::string file_;
  std::vector<std::string>* unsupported_ = nullptr;  // Document's TemplateOptions::unsupported
};

bool EndsWith(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

bool IsYaml(const std::string& path) {
  return EndsWith(path, ".yaml") || EndsWith(path, ".yml");
}

}  // namespace

Status LoadConfigFile(const std::string& path, TemplateOptions* opts) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    std::vector<std::string> files;
    for (const auto& e : std::filesystem::directory_iterator(path, ec)) {
      const std::string f = e.path().string();
      if (e.is_regular_file(ec) && (IsYaml(f) || EndsWith(f, ".json") || EndsWith(f, ".hcl"))) {
        files.push_back(f);
      }
    }
    if (ec) return Status::Error("read " + path + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      if (Status st = LoadConfigFile(f, opts); !st.ok()) return st;
    }
    return Status::Ok();
  }
  if (EndsWith(path, ".hcl")) {
    return Status::Error(path + ": HCL configuration is not supported; write it as JSON or YAML");
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::Error("open " + path + ": no such file or directory");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::string json;
  if (IsYaml(path)) {
    try {
      json = YamlToJson(YAML::Load(text), YamlScalars::kStrings);
    } catch (const YAML::Exception& e) {
      return Status::Error(path + ": " + e.what());
    }
  } else {
    json = std::move(text);
  }
  simdjson::dom::parser p;
  element root;
  if (auto err = p.parse(json).get(root); err != simdjson::SUCCESS) {
    return Status::Error(path + ": invalid JSON: " + simdjson::error_message(err));
  }
  return Reader(path).Document(root, opts);
}

}  // namespace beacon::cli::tpl
