// /v1/agent/monitor: a Logger subscription pumped into a streamed response.
#include "beacon/http/monitor_api.h"

#include <cctype>
#include <mutex>

#include <string>
#include "beacon/core/thread_annotations.h"

namespace beacon::http {
namespace {

constexpr size_t kBufferBytes = size_t{256} * 1024;

// Links a subscription's wake-ups to the stream that drains it.
struct Monitor {
  Mutex mu;
  StreamPtr stream GUARDED_BY(mu);
};

}  // namespace

void AddMonitorRoute(Router& router, const Logger& log) {
  router.Handle("GET", "/v1/agent/monitor", [&log](const Request& req, Response& resp) {
    LogLevel level = LogLevel::kInfo;
    if (const std::string* l = req.Query("loglevel"); l != nullptr && !l->empty()) {
      std::string lower;
      for (char c : *l) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!ParseLogLevel(lower, &level)) {
        resp.Text(400, "Unknown log level: " + *l);
        return;
      }
    }
    auto mon = std::make_shared<Monitor>();
    auto sub = std::make_shared<LogSubscription>(level, kBufferBytes,
                                                 [weak = std::weak_ptr<Monitor>(mon)] {
                                                   if (auto m = weak.lock()) {
                                                     StreamPtr s;
                                                     {
                                                       MutexLock lock(&m->mu);
                                                       s = m->stream;
                                                     }
                                                     if (s) s->Kick();
                                                   }
                                                 });
    StreamPtr stream = resp.StartStream(
        200, "text/plain; charset=utf-8",
        [sub, mon] {
          uint64_t dropped = 0;
          std::string out = sub->Take(&dropped);
          if (dropped > 0) {
            out.insert(0, "[WARN] monitor: " + std::to_string(dropped) +
                              " log lines dropped (client too slow)\n");
          }
          return out;
        },
        [&log, sub] { log.Unsubscribe(sub.get()); });
    if (!stream) return;
    {
      MutexLock lock(&mon->mu);
      mon->stream = stream;
    }
    log.Subscribe(sub);
  });
}

}  // namespace beacon::http
