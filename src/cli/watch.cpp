// `beacon watch`: a blocking-query loop on one view; on each change it runs the handler
// (`sh -c`, the JSON on stdin, CONSUL_INDEX set) or, without a handler, prints the view once
// and exits, as Consul's watch command does.
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>
#include <ostream>

#include "beacon/core/strings.h"
#include "beacon/core/uuid.h"
#include "internal.h"

namespace beacon::cli {
namespace {

constexpr int kWaitSeconds = 60;
constexpr int kMaxFailures = 5;

// Go api.KVPair field order (Key, CreateIndex, ModifyIndex, LockIndex, Flags, Value, Session).
std::string KvPairJson(simdjson::dom::element e) {
  std::string_view v;
  std::string value = e["Value"].get(v) == simdjson::SUCCESS ? JsonQuote(v) : "null";
  return "{\"Key\":" + JsonQuote(GetString(e, "Key")) +
         ",\"CreateIndex\":" + std::to_string(GetUint(e, "CreateIndex")) +
         ",\"ModifyIndex\":" + std::to_string(GetUint(e, "ModifyIndex")) +
         ",\"LockIndex\":" + std::to_string(GetUint(e, "LockIndex")) +
         ",\"Flags\":" + std::to_string(GetUint(e, "Flags")) + ",\"Value\":" + value +
         ",\"Session\":" + JsonQuote(GetString(e, "Session")) + "}";
}

// The view as compact JSON: the single pair for `key`, pairs in Go order for `keyprefix`, for
// `event` the events after the one `prev` (the previous answer's index) names, as Consul's event
// watch prunes them; the answer as is otherwise; "null" when there is nothing.
std::string View(const std::string& type, const http::ClientResponse& r, uint64_t prev) {
  if (r.status == 404) return "null";
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(r.body).get(doc) != simdjson::SUCCESS) return "null";
  if (type == "key" || type == "keyprefix") {
    simdjson::dom::array arr;
    if (doc.get(arr) != simdjson::SUCCESS || arr.size() == 0) return "null";
    if (type == "key") return KvPairJson(arr.at(0).value_unsafe());
    std::string out = "[";
    for (simdjson::dom::element e : arr) out += (out.size() > 1 ? "," : "") + KvPairJson(e);
    return out + "]";
  }
  if (type == "event") {
    simdjson::dom::array arr;
    if (doc.get(arr) != simdjson::SUCCESS) return "null";
    std::vector<std::string> events;
    for (simdjson::dom::element e : arr) {
      events.push_back(JsonCompact(e));
      std::string_view id;
      if (prev != 0 && e["ID"].get(id) == simdjson::SUCCESS && core::FoldUuid(id) == prev) {
        events.clear();  // seen up to here
      }
    }
    std::string out = "[";
    for (const std::string& e : events) out += (out.size() > 1 ? "," : "") + e;
    return out + "]";
  }
  return JsonCompact(doc);
}

// Waits for the child; a pending SIGINT/SIGTERM is forwarded to its process group.
int WaitChild(int pid, const SignalBlock& sig) {
  bool forwarded = false;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
    if (r < 0) return 1;
    if (!forwarded && sig.Pending()) {
      kill(-pid, SIGTERM);
      forwarded = true;
    }
    SleepMs(20);
  }
}

}  // namespace

int Watch(const Args& args, Io& io) {
  config::FlagSet fs;
  std::string type;
  std::string key;
  std::string prefix;
  std::string service;
  std::string tag;
  std::string passing;
  std::string state;
  std::string name;
  bool shell = true;
  fs.String("type", &type,
            "Specifies the watch type. One of key, keyprefix, services, nodes, service, checks, "
            "or event.");
  fs.String("key", &key, "Specifies the key to watch. Only for 'key' type.");
  fs.String("prefix", &prefix, "Specifies the key prefix to watch. Only for 'keyprefix' type.");
  fs.String("service", &service,
            "Specifies the service to watch. Required for 'service' type, optional for 'checks' "
            "type.");
  fs.String("tag", &tag, "Specifies the service tag to filter on. Optional for 'service' type.");
  fs.String("passingonly", &passing,
            "Specifies if only hosts passing all checks are displayed. Optional for 'service' "
            "type, must be one of `[true|false]`. Defaults false.");
  fs.Bool("shell", &shell, "Use a shell to run the command.");
  fs.String("state", &state, "Specifies the states to watch. Optional for 'checks' type.");
  fs.String("name", &name, "Specifies an event name to watch. Only for 'event' type.");
  HttpFlags hf;
  hf.Register(&fs, true);
  constexpr std::string_view kHelp = R"(
Usage: beacon watch [options] [child...]

  Watches for changes in a given data view from Consul. If a child process
  is specified, it will be invoked with the latest results on changes. Otherwise,
  the latest values are dumped to stdout and the watch terminates.

  Providing the watch type is required, and other parameters may be required
  or supported depending on the watch type.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if (type.empty()) {
    io.err << "Watch type must be specified\n\n" << HelpText(kHelp, fs);
    return 1;
  }
  bool passing_only = false;
  if (!passing.empty() && !core::ParseGoBool(passing, &passing_only)) {
    io.err << "Failed to parse passingonly flag: strconv.ParseBool: parsing \"" << passing
           << "\": invalid syntax\n";
    return 1;
  }
  std::string path;
  if (type == "key") {
    if (key.empty()) {
      io.err << "Must specify a single key to watch\n";
      return 1;
    }
    path = "/v1/kv/" + http::UrlEscape(key, true);
  } else if (type == "keyprefix") {
    if (prefix.empty()) {
      io.err << "Must specify a single prefix to watch\n";
      return 1;
    }
    path = "/v1/kv/" + http::UrlEscape(prefix, true) + "?recurse";
  } else if (type == "services") {
    path = "/v1/catalog/services";
  } else if (type == "nodes") {
    path = "/v1/catalog/nodes";
  } else if (type == "service") {
    if (service.empty()) {
      io.err << "Must specify a single service to watch\n";
      return 1;
    }
    path = "/v1/health/service/" + http::UrlEscape(service);
    if (!tag.empty()) AddQuery(&path, "tag=" + http::UrlEscape(tag));
    if (passing_only) AddQuery(&path, "passing=1");
  } else if (type == "checks") {
    if (!service.empty() && !state.empty()) {
      io.err << "Cannot specify service and state\n";
      return 1;
    }
    path = service.empty() ? "/v1/health/state/" + http::UrlEscape(state.empty() ? "any" : state)
                           : "/v1/health/checks/" + http::UrlEscape(service);
  } else if (type == "event") {
    path = "/v1/event/list";
    if (!name.empty()) AddQuery(&path, "name=" + http::UrlEscape(name));
  } else {
    io.err << "Unsupported watch type: " << type << "\n";
    return 1;
  }
  AddQuery(&path, hf.Query());

  SignalBlock sig;
  http::ClientOptions opts = hf.Options(io);
  opts.cancel = [&sig] { return sig.Pending(); };
  http::HttpClient client(opts);
  http::ClientResponse r;
  if (Status st = Call(client, "GET", "/v1/agent/self", {}, &r); !st.ok()) {
    if (sig.Pending()) return 0;
    return Fail(io, "Error querying Consul agent", st);
  }
  std::string handler;
  for (const std::string& a : fs.Args()) handler += (handler.empty() ? "" : " ") + a;

  uint64_t index = 0;
  bool first = true;
  std::string last;
  int failures = 0;
  while (!sig.Pending()) {
    std::string q = path;
    if (index > 0) {
      AddQuery(&q, "index=" + std::to_string(index));
      AddQuery(&q, "wait=" + std::to_string(kWaitSeconds) + "s");
    }
    Status st = Call(client, "GET", q, {}, &r, true, int64_t{kWaitSeconds + 10} * 1000);
    if (!st.ok()) {
      if (sig.Pending()) break;
      if (++failures >= kMaxFailures) {
        return Fail(io, "Error querying Consul agent", st);
      }
      const int64_t backoff = int64_t{250} << failures;
      io.err << "Watch (type: " << type << ") errored: " << st.message() << ", retry in " << backoff
             << "ms\n";
      io.err.flush();
      SleepMs(backoff);
      continue;
    }
    failures = 0;
    const uint64_t old = index;
    index = r.index < index ? 0 : r.index;  // the index went backwards: start over
    if (!first && index == old) continue;
    if (r.index == 0) SleepMs(1000);  // no index to block on: poll gently
    std::string view = View(type, r, old);
    if (!first && view == last) continue;
    first = false;
    last = view;
    if (handler.empty()) {
      simdjson::dom::parser p;
      simdjson::dom::element doc;
      if (p.parse(view).get(doc) == simdjson::SUCCESS) io.out << JsonPretty(doc) << "\n";
      return 0;
    }
    io.out.flush();
    const std::string input = view + "\n";
    int pid = StartChild(handler, {"CONSUL_INDEX=" + std::to_string(index)}, &input);
    if (pid < 0) {
      io.err << "Error starting handler: fork failed\n";
      return 1;
    }
    int code = WaitChild(pid, sig);
    if (sig.Pending()) break;
    if (code != 0) {
      io.err << "Error executing handler: exit status " << code << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace beacon::cli
