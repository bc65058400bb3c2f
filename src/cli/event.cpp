// beacon event: fires a user event through the agent (Consul's `consul event`).
#include <regex>

#include "internal.h"

namespace beacon::cli {
namespace {

bool Compiles(const std::string& re) {
  try {
    std::regex r(re);
    return true;
  } catch (const std::regex_error&) {
    return false;
  }
}

}  // namespace

int Event(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  std::string name, node, service, tag;
  fs.String("name", &name, "Name of the event.");
  fs.String("node", &node, "Regular expression to filter on node names.");
  fs.String("service", &service, "Regular expression to filter on service instances.");
  fs.String("tag", &tag,
            "Regular expression to filter on service tags. Must be used with -service.");
  constexpr std::string_view kHelp = R"(
Usage: beacon event [options] [payload]

  Dispatches a custom user event across a datacenter. An event must provide
  a name, but a payload is optional. Events support filtering using
  regular expressions on node name, service, and tag definitions.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (name.empty()) {
    io.err << "Event name must be specified\n\n" << HelpText(kHelp, fs);
    return 1;
  }
  const std::pair<const std::string*, const char*> filters[] = {
      {&node, "node"}, {&service, "service"}, {&tag, "tag"}};
  for (const auto& [re, what] : filters) {
    if (!re->empty() && !Compiles(*re)) {
      io.err << "Failed to compile " << what << " filter regexp: " << *re << "\n";
      return 1;
    }
  }
  if (!tag.empty() && service.empty()) {
    io.err << "Cannot provide tag filter without service filter.\n";
    return 1;
  }
  if (fs.Args().size() > 1) {
    io.err << "Too many command line arguments.\n\n" << HelpText(kHelp, fs);
    return 1;
  }
  const std::string payload = fs.Args().empty() ? std::string() : fs.Args()[0];
  http::HttpClient client(hf.Options(io));
  http::ClientResponse r;
  if (Status st = Call(client, "GET", "/v1/agent/self", {}, &r); !st.ok()) {
    return Fail(io, "Error querying Consul agent", st);
  }
  std::string path = "/v1/event/fire/" + http::UrlEscape(name);
  if (!node.empty()) AddQuery(&path, "node=" + http::UrlEscape(node));
  if (!service.empty()) AddQuery(&path, "service=" + http::UrlEscape(service));
  if (!tag.empty()) AddQuery(&path, "tag=" + http::UrlEscape(tag));
  simdjson::dom::parser p;
  simdjson::dom::object ev;
  if (Status st = Call(client, "PUT", path, payload, &r); !st.ok()) {
    return Fail(io, "Error firing event", st);
  }
  std::string_view id;
  if (p.parse(r.body).get(ev) != simdjson::SUCCESS || ev["ID"].get(id) != simdjson::SUCCESS) {
    return Fail(io, "Error firing event", Status::Error("invalid JSON answer"));
  }
  io.out << "Event ID: " << id << "\n";
  return 0;
}

}  // namespace beacon::cli
