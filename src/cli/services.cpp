// `beacon services register|deregister`: service definitions from config files (validated by
// the config module, the same parser the agent uses) or from flags.
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <iterator>
#include <ostream>

#include "beacon/config/config.h"
#include "internal.h"

namespace beacon::cli {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The service bodies ({"service": {...}} or {"services": [...]}) of one definition file.
Status BodiesFromFile(const std::string& path, std::vector<std::string>* bodies) {
  std::string json;
  if (EndsWith(path, ".yaml") || EndsWith(path, ".yml")) {
    try {
      json = YamlToJson(YAML::LoadFile(path), YamlScalars::kNumbersStay);
    } catch (const YAML::Exception& e) {
      return Status::Error(path + ": " + e.what());
    }
  } else {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Status::Error("open " + path + ": no such file or directory");
    json.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  simdjson::dom::parser p;
  simdjson::dom::object doc;
  if (p.parse(json).get(doc) != simdjson::SUCCESS) {
    return Status::Error(path + ": not a JSON object");
  }
  for (auto f : doc) {
    std::string key(f.key);
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (key == "service") {
      bodies->push_back(JsonCompact(f.value));
    } else if (key == "services") {
      simdjson::dom::array arr;
      if (f.value.get(arr) != simdjson::SUCCESS) continue;
      for (simdjson::dom::element e : arr) bodies->push_back(JsonCompact(e));
    }
  }
  return Status::Ok();
}

Status BodiesFromFiles(const Args& files, std::vector<std::string>* bodies) {
  // The agent's own config parser checks the files first (errors name file, line and key).
  auto cfg = config::LoadPaths(files);
  if (!cfg.ok()) return cfg.status();
  for (const std::string& f : files) {
    if (Status st = BodiesFromFile(f, bodies); !st.ok()) return st;
  }
  return Status::Ok();
}

std::string Field(const std::string& body, std::string_view a, std::string_view b) {
  simdjson::dom::parser p;
  simdjson::dom::object obj;
  if (p.parse(body).get(obj) != simdjson::SUCCESS) return "";
  for (auto f : obj) {
    std::string_view v;
    if ((f.key == a || f.key == b) && f.value.get(v) == simdjson::SUCCESS) return std::string(v);
  }
  return "";
}

}  // namespace

int ServicesRegister(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  std::string name;
  std::string id;
  std::string address;
  int64_t port = 0;
  std::vector<std::string> tags;
  std::vector<std::pair<std::string, std::string>> meta;
  fs.String("name", &name, "Name of the service to register.");
  fs.String("id", &id, "ID of the service to register. If not specified, defaults to the name.");
  fs.String("address", &address,
            "Address of the service. If this isn't specified, it will "
            "default to the address registered with the local agent.");
  fs.Int("port", &port, "Port of the service. This is optional.");
  fs.StringList("tag", &tags,
                "Tag to add to the service. This flag can be specified multiple "
                "times to set multiple tags.");
  fs.Func(
      "tags",
      [&tags](std::string_view v) -> std::string {
        size_t pos = 0;
        while (pos <= v.size()) {
          size_t c = v.find(',', pos);
          if (c == std::string_view::npos) c = v.size();
          if (c > pos) tags.emplace_back(v.substr(pos, c - pos));
          pos = c + 1;
        }
        return "";
      },
      "Comma-separated tags to add to the service (Beacon shorthand for repeated -tag).");
  fs.Func(
      "meta",
      [&meta](std::string_view v) -> std::string {
        size_t eq = v.find('=');
        if (eq == std::string_view::npos || eq == 0) return "Missing key";
        meta.emplace_back(v.substr(0, eq), v.substr(eq + 1));
        return "";
      },
      "Metadata to set on the service, formatted as key=value. This flag may be specified "
      "multiple times to set multiple meta fields.");
  constexpr std::string_view kHelp = R"(
Usage: beacon services register [options] [FILE...]

  Register one or more services using the local agent API. Services can
  be registered from standard Consul configuration files (JSON or YAML) or
  using flags. The service is registered and the command returns. The caller
  must remember to call "beacon services deregister" or a similar API to
  deregister the service when complete.

      $ beacon services register web.json

  Additional flags and more advanced use cases are detailed below.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  const Args& files = fs.Args();
  if (files.empty() && name.empty()) {
    io.err << "Service registration requires at least one argument or flags.\n";
    return 1;
  }
  if (!files.empty() && !name.empty()) {
    io.err << "Service registration requires arguments or flags, not both.\n";
    return 1;
  }
  std::vector<std::string> bodies;
  if (!files.empty()) {
    if (Status st = BodiesFromFiles(files, &bodies); !st.ok()) {
      return Fail(io, "Error", st);
    }
  } else {
    std::string b = "{\"Name\":" + JsonQuote(name);
    if (!id.empty()) b += ",\"ID\":" + JsonQuote(id);
    if (!address.empty()) b += ",\"Address\":" + JsonQuote(address);
    if (port != 0) b += ",\"Port\":" + std::to_string(port);
    if (!tags.empty()) {
      b += ",\"Tags\":[";
      for (size_t i = 0; i < tags.size(); ++i) b += (i ? "," : "") + JsonQuote(tags[i]);
      b += "]";
    }
    if (!meta.empty()) {
      b += ",\"Meta\":{";
      for (size_t i = 0; i < meta.size(); ++i) {
        b += (i ? "," : "") + JsonQuote(meta[i].first) + ":" + JsonQuote(meta[i].second);
      }
      b += "}";
    }
    bodies.push_back(b + "}");
  }
  http::HttpClient client(hf.Options(io));
  for (const std::string& body : bodies) {
    const std::string svc = Field(body, "Name", "name");
    http::ClientResponse r;
    if (Status st = Call(client, "PUT", "/v1/agent/service/register", body, &r); !st.ok()) {
      io.err << "Error registering service " << JsonQuote(svc) << ": " << st.message() << "\n";
      return 1;
    }
    io.out << "Registered service: " << svc << "\n";
  }
  return 0;
}

int ServicesDeregister(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  std::string id;
  fs.String("id", &id, "ID to delete. This must not be set if arguments are given.");
  constexpr std::string_view kHelp = R"(
Usage: beacon services deregister [options] [FILE...]

  Deregister one or more services that were previously registered with
  the local agent.

      $ beacon services deregister web.json

  The -id flag may be used to deregister a single service by ID:

      $ beacon services deregister -id=web

  Services are deregistered from the local agent catalog. This command must
  be run against the same agent where the service was registered.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  const Args& files = fs.Args();
  if (files.empty() && id.empty()) {
    io.err << "Service deregistration requires at least one argument or -id.\n";
    return 1;
  }
  if (!files.empty() && !id.empty()) {
    io.err << "Service deregistration requires arguments or -id, not both.\n";
    return 1;
  }
  std::vector<std::string> ids;
  if (!files.empty()) {
    std::vector<std::string> bodies;
    if (Status st = BodiesFromFiles(files, &bodies); !st.ok()) {
      return Fail(io, "Error", st);
    }
    for (const std::string& b : bodies) {
      std::string sid = Field(b, "ID", "id");
      if (sid.empty()) sid = Field(b, "Name", "name");
      if (!sid.empty()) ids.push_back(sid);
    }
  } else {
    ids.push_back(id);
  }
  http::HttpClient client(hf.Options(io));
  for (const std::string& sid : ids) {
    http::ClientResponse r;
    Status st = Call(client, "PUT", "/v1/agent/service/deregister/" + http::UrlEscape(sid), {}, &r);
    if (!st.ok()) {
      io.err << "Error deregistering service " << JsonQuote(sid) << ": " << st.message() << "\n";
      return 1;
    }
    io.out << "Deregistered service: " << sid << "\n";
  }
  return 0;
}

}  // namespace beacon::cli
