// Forwarder: libcurl multi on a thread of its own (curl_multi_poll, woken by curl_multi_wakeup
// when a request arrives or is cancelled). See forwarder.h.
#include "beacon/http/forwarder.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <unordered_map>
#include <utility>

#include "beacon/core/duration.h"
#include "beacon/core/thread_annotations.h"
#include "beacon/core/thread_name.h"

namespace beacon::http {
namespace {

constexpr uint64_t kDefaultWaitMs = 300000;  // Consul's default_query_time
constexpr uint64_t kMaxWaitMs = 600000;      // max_query_time
constexpr char kNoServers[] = "No known Consul servers";

std::string Escape(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

// One forwarded request; its easy handle is reused across its attempts. (Outside the anonymous
// namespace: Forwarder::Impl holds them.)
struct ForwardJob {
  uint64_t id = 0;
  DeferredPtr reply;
  std::string method;
  std::string target;
  std::string body;
  std::vector<std::string> servers;
  size_t next = 0;           // the next server to try
  bool reached_any = false;  // some attempt got its request sent
  std::string last_error;    // curl's reason for the last failed attempt
  uint64_t timeout_ms = 0;
  bool idempotent = false;
  curl_slist* headers = nullptr;
  CURL* easy = nullptr;
  bool in_multi = false;
  // Per attempt.
  std::string server;
  bool sent = false;  // the connection was made (or reused) and the request went out
  long status = 0;    // NOLINT(google-runtime-int): libcurl's type
  std::vector<std::pair<std::string, std::string>> resp_headers;
  std::string resp_body;
  bool too_big = false;
  size_t max_body = 0;
  char err[CURL_ERROR_SIZE] = {};

  ~ForwardJob() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
  }
};

namespace {

size_t OnBody(char* p, size_t, size_t n, void* userp) {
  auto* j = static_cast<ForwardJob*>(userp);
  if (j->resp_body.size() + n > j->max_body) {
    j->too_big = true;
    return 0;  // curl fails the transfer with CURLE_WRITE_ERROR
  }
  j->resp_body.append(p, n);
  return n;
}

size_t OnHeader(char* p, size_t, size_t n, void* userp) {
  auto* j = static_cast<ForwardJob*>(userp);
  std::string_view line(p, n);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {  // a new head (after a 1xx): start over
    j->resp_headers.clear();
    const size_t sp = line.find(' ');
    j->status = 0;
    for (size_t i = sp == std::string_view::npos ? line.size() : sp + 1;
         i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
      j->status = j->status * 10 + (line[i] - '0');
    }
    return n;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;
  std::string_view name = line.substr(0, colon);
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  for (std::string_view hop : {"Content-Length", "Connection", "Keep-Alive", "Transfer-Encoding"}) {
    if (IEquals(name, hop)) return n;
  }
  j->resp_headers.emplace_back(std::string(name), std::string(value));
  return n;
}

// Called once the connection is made or reused, right before the request is sent.
int OnPrereq(void* userp, char*, char*, int, int) {
  static_cast<ForwardJob*>(userp)->sent = true;
  return CURL_PREREQFUNC_OK;
}

Response ErrorText(int code, std::string_view text) {
  Response r;
  r.Text(code, text);
  return r;
}

}  // namespace

std::string ForwardTarget(const Request& req) {
  std::string t = Escape(req.path, true);
  char sep = '?';
  for (const auto& [k, v] : req.query) {
    t.push_back(sep);
    sep = '&';
    t += Escape(k, false);
    if (!v.empty()) t += "=" + Escape(v, false);
  }
  return t;
}

uint64_t ForwardTimeoutMs(const Request& req, const ForwarderOptions& opts) {
  const std::string* index = req.Query("index");
  if (req.method != "GET" || index == nullptr || index->empty() || *index == "0") {
    return opts.timeout_ms;
  }
  uint64_t wait = kDefaultWaitMs;
  if (const std::string* w = req.Query("wait"); w != nullptr && !w->empty()) {
    uint64_t ms = 0;
    if (core::ParseDurationMs(*w, &ms) && ms > 0) wait = std::min(ms, kMaxWaitMs);
  }
  return wait + wait / 16 + opts.blocking_margin_ms;
}

struct Forwarder::Impl {
  Impl(const Logger& l, ForwarderOptions o) : log(l), opts(o) {}

  const Logger& log;
  const ForwarderOptions opts;
  Mutex mu;
  bool open GUARDED_BY(mu) = false;  // Start()ed and not stopping
  CURLM* multi = nullptr;            // set before the thread starts, freed after it ends
  std::vector<std::unique_ptr<ForwardJob>> incoming GUARDED_BY(mu);
  std::vector<uint64_t> cancels GUARDED_BY(mu);
  std::atomic<size_t> in_flight{0};
  std::atomic<uint64_t> next_id{0};
  std::thread thread;
  // Forwarder thread only.
  std::unordered_map<uint64_t, std::unique_ptr<ForwardJob>> jobs;
  std::string preferred;  // the last server that answered

  // Any thread: queues work for the forwarder thread and wakes it. False when not running.
  bool Post(std::unique_ptr<ForwardJob> job, uint64_t cancel) {
    MutexLock lock(&mu);
    if (!open) return false;
    if (job) incoming.push_back(std::move(job));
    if (cancel != 0) cancels.push_back(cancel);
    curl_multi_wakeup(multi);
    return true;
  }

  void Run() {
    for (;;) {
      std::vector<std::unique_ptr<ForwardJob>> in;
      std::vector<uint64_t> gone;
      {
        MutexLock lock(&mu);
        if (!open) {
          in.swap(incoming);
          for (auto& j : in) jobs.emplace(j->id, std::move(j));
          break;
        }
        in.swap(incoming);
        gone.swap(cancels);
      }
      for (auto& j : in) {
        ForwardJob* raw = j.get();
        jobs.emplace(raw->id, std::move(j));
        Order(raw);
        Attempt(raw);
      }
      for (uint64_t id : gone) {
        auto it = jobs.find(id);
        if (it == jobs.end()) continue;  // answered meanwhile
        BEACON_LOG(log, kDebug, "forward", "%s %s: client left, cancelled",
                   it->second->method.c_str(), it->second->target.c_str());
        Done(it->second.get());
      }
      int running = 0;
      curl_multi_perform(multi, &running);
      Collect();
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
    std::vector<ForwardJob*> left;
    for (auto& [id, j] : jobs) left.push_back(j.get());
    for (ForwardJob* j : left) {
      j->reply->Reply(ErrorText(503, "Agent is shutting down"));
      Done(j);
    }
  }

  // The server that answered last goes first.
  void Order(ForwardJob* j) const {
    auto it = std::find(j->servers.begin(), j->servers.end(), preferred);
    if (it != j->servers.end()) std::rotate(j->servers.begin(), it, it + 1);
  }

  // Starts the next attempt, or answers once every server was tried.
  void Attempt(ForwardJob* j) {
    if (j->next >= j->servers.size()) {
      j->reply->Reply(j->reached_any ? ErrorText(500, "rpc error making call: " + j->last_error)
                                     : ErrorText(500, kNoServers));
      Done(j);
      return;
    }
    j->server = j->servers[j->next++];
    j->sent = false;
    j->status = 0;
    j->resp_headers.clear();
    j->resp_body.clear();
    j->too_big = false;
    j->err[0] = 0;
    if (j->easy == nullptr) Prepare(j);
    const std::string url = "http://" + j->server + j->target;
    curl_easy_setopt(j->easy, CURLOPT_URL, url.c_str());
    if (curl_multi_add_handle(multi, j->easy) != CURLM_OK) {
      j->last_error = "curl_multi_add_handle failed";
      Attempt(j);
      return;
    }
    j->in_multi = true;
  }

  void Prepare(ForwardJob* j) const {
    CURL* e = curl_easy_init();
    j->easy = e;
    j->max_body = opts.max_response_bytes;
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->err);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout_ms));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(j->timeout_ms));
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);  // "/v1/kv/a/../b" must reach the server's 400
    // A server that vanishes (power loss) under a 10-minute blocking read is noticed in ~1 min.
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    // Reuse only connections idle for less than half the server's 60 s idle timeout: a connection
    // the server is closing just then is not picked up.
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 30L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, &OnPrereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, j);
    if (j->method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (j->method != "GET" || !j->body.empty()) {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, j->method.c_str());
    }
    if (!j->body.empty() || j->method == "PUT" || j->method == "POST") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(j->body.size()));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
  }

  void Collect() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      ForwardJob* j = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &j);
      const CURLcode rc = m->data.result;
      curl_multi_remove_handle(multi, j->easy);  // `m` is invalid from here on
      j->in_multi = false;
      Finished(j, rc);
    }
  }

  void Finished(ForwardJob* j, CURLcode rc) {
    if (rc == CURLE_OK && j->status != 0) {
      preferred = j->server;
      Response r;
      r.status = static_cast<int>(j->status);
      r.headers = std::move(j->resp_headers);
      r.body = std::move(j->resp_body);
      j->reply->Reply(std::move(r));
      Done(j);
      return;
    }
    if (j->too_big) {
      j->reply->Reply(ErrorText(500, "rpc error making call: answer larger than " +
                                         std::to_string(opts.max_response_bytes) + " bytes"));
      Done(j);
      return;
    }
    j->last_error = j->err[0] != 0 ? j->err : curl_easy_strerror(rc);
    BEACON_LOG(log, kDebug, "forward", "%s %s to %s: %s", j->method.c_str(), j->target.c_str(),
               j->server.c_str(), j->last_error.c_str());
    if (!j->sent) {  // never reached this server: any request may go to the next one
      Attempt(j);
      return;
    }
    j->reached_any = true;
    if (j->idempotent && j->status == 0 && rc != CURLE_OPERATION_TIMEDOUT) {
      Attempt(j);
      return;
    }
    j->reply->Reply(ErrorText(500, "rpc error making call: " + j->last_error));
    Done(j);
  }

  // Forgets a job (answered or cancelled).
  void Done(ForwardJob* j) {
    if (j->in_multi) curl_multi_remove_handle(multi, j->easy);
    j->in_multi = false;
    jobs.erase(j->id);  // frees j
    in_flight.fetch_sub(1);
  }
};

Forwarder::Forwarder(const Logger& log, ForwarderOptions opts)
    : impl_(std::make_shared<Impl>(log, opts)) {}

Forwarder::~Forwarder() {
  Stop();
}

Status Forwarder::Start() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  Impl* s = impl_.get();
  s->multi = curl_multi_init();
  if (s->multi == nullptr) return Status::Error("forward: curl_multi_init failed");
  curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, s->opts.max_idle_connections);
  {
    MutexLock lock(&s->mu);
    s->open = true;
  }
  s->thread = std::thread([s] {
    core::SetThreadName("beacon-forward");
    s->Run();
  });
  return Status::Ok();
}

void Forwarder::Stop() {
  Impl* s = impl_.get();
  {
    MutexLock lock(&s->mu);
    if (!s->open) return;
    s->open = false;
    curl_multi_wakeup(s->multi);
  }
  s->thread.join();
  curl_multi_cleanup(s->multi);
  s->multi = nullptr;
}

size_t Forwarder::in_flight() const {
  return impl_->in_flight.load();
}

void Forwarder::Forward(const Request& req, Response& resp, std::vector<std::string> servers) {
  Impl* s = impl_.get();
  if (servers.empty()) {
    resp.Text(500, kNoServers);
    return;
  }
  if (s->in_flight.fetch_add(1) >= s->opts.max_in_flight) {
    s->in_flight.fetch_sub(1);
    resp.Text(503, "Too many requests forwarded to the servers (" +
                       std::to_string(s->opts.max_in_flight) + " in flight)");
    return;
  }
  auto j = std::make_unique<ForwardJob>();
  j->id = s->next_id.fetch_add(1) + 1;
  j->method = req.method;
  j->target = ForwardTarget(req);
  j->body = req.body;
  j->servers = std::move(servers);
  j->timeout_ms = ForwardTimeoutMs(req, s->opts);
  j->idempotent = req.method == "GET" || req.method == "HEAD";
  // No "Expect: 100-continue" round trip, and no body type curl would invent.
  j->headers = curl_slist_append(nullptr, "Expect:");
  bool typed = false;
  for (const auto& [k, v] : req.headers) {
    if (k == "x-consul-token" || k == "authorization" || k == "content-type") {
      std::string line = k;
      line += ": ";
      line += v;
      j->headers = curl_slist_append(j->headers, line.c_str());
      typed = typed || k == "content-type";
    }
  }
  if (!typed) j->headers = curl_slist_append(j->headers, "Content-Type:");
  const uint64_t id = j->id;
  std::weak_ptr<Impl> weak = impl_;
  j->reply = resp.Defer([weak, id] {
    if (auto live = weak.lock()) live->Post(nullptr, id);
  });
  DeferredPtr reply = j->reply;
  if (!s->Post(std::move(j), 0)) {
    s->in_flight.fetch_sub(1);
    reply->Reply(ErrorText(503, "Agent is shutting down"));
  }
}

}  // namespace beacon::http
