// `beacon monitor`: streams GET /v1/agent/monitor line by line until interrupted.
#include <ostream>

#include "internal.h"

namespace beacon::cli {

int Monitor(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, false);
  std::string level = "INFO";
  bool json = false;
  fs.String("log-level", &level, "Log level of the agent.");
  fs.Bool("log-json", &json, "Output logs in JSON format (not supported; plain lines are sent).");
  constexpr std::string_view kHelp = R"(
Usage: beacon monitor [options]

  Shows recent log messages of a Beacon agent, and attaches to the agent,
  outputting log messages as they occur in real time. The monitor lets you
  listen for log levels that may be filtered out of the Beacon agent. For
  example your agent may only be logging at INFO level, but with the monitor
  you can see the DEBUG level logs.
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  SignalBlock sig;
  http::ClientOptions opts = hf.Options(io);
  opts.cancel = [&sig] { return sig.Pending(); };
  http::HttpClient client(opts);
  std::string partial;
  bool started = false;
  auto r = client.Stream("/v1/agent/monitor?loglevel=" + http::UrlEscape(level),
                         [&](std::string_view chunk) {
                           started = true;
                           partial.append(chunk);
                           size_t nl = 0;
                           while ((nl = partial.find('\n')) != std::string::npos) {
                             io.out << partial.substr(0, nl) << "\n";
                             partial.erase(0, nl + 1);
                           }
                           io.out.flush();
                           return true;
                         });
  if (sig.Pending()) return 0;
  if (!r.ok() && !started) {
    io.err << "Error starting monitor: " << r.status().message() << "\n";
    return 1;
  }
  if (r.ok() && r->status != 200) {
    io.err << "Error starting monitor: " << ApiError(*r) << "\n";
    return 1;
  }
  io.err << "Remote side ended the monitor! This usually means that the\n"
            "remote side has exited or crashed.\n";
  return 1;
}

}  // namespace beacon::cli
