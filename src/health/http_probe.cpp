// HTTP checks: libcurl's multi interface on the Runner's libuv loop (curl_multi_socket_action,
// one uv_poll_t per socket, a uv_timer_t for curl and one for batches). See probes.h.
#include <curl/curl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "beacon/health/probes.h"
#include "http_text.h"

namespace beacon::health {
namespace {

using catalog::Health;

// Kept-alive connections, a deliberate deviation from Consul (whose checks close every connection;
// see probes.h): a run may reuse an idle connection to the same host and port that curl has just
// found still open (one the server closed or reset is never used), and only while that connection
// is younger than kConnectionLifetimeS + 1 s (curl compares whole seconds), so a listener that
// stops accepting is connected to again, and found gone, at most 2 s later.
constexpr long kConnectionLifetimeS = 1;
// Idle connections kept at most (curl closes the oldest past it); the lifetime bounds them first.
constexpr long kMaxIdleConnections = 256;

}  // namespace

// One prepared transfer per check id, kept across runs (easy handle, options, header list, output
// prefix; rebuilt when the definition changed): a run resets its per-run fields and starts it.
struct HttpClient::Impl {
  struct Transfer final : Probe {
    Impl* owner = nullptr;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    curl_slist* connect_to = nullptr;
    CURLU* uh = nullptr;  // the URL, parsed once (SetUrl)
    // The definition it was prepared for (compared on every run, so a changed check is rebuilt).
    std::string http;
    std::string check_method;
    std::map<std::string, std::vector<std::string>> header;
    std::string body;  // request body (kept alive for curl)
    std::string tls_server_name;
    std::string tcp;
    bool tls_skip_verify = false;
    bool disable_redirects = false;
    bool tls_connect = false;
    uint64_t timeout_ms = 0;
    size_t max = 0;
    std::string method;     // "GET" (this and the next three derived once)
    std::string method_lc;  // "Get": Go's error text ("Get \"<url>\": ...")
    std::string url;        // the address as the check names it
    std::string prefix;     // "HTTP GET <url>: "
    uint64_t keep_ms = 0;   // evicted when not run for this long
    // Per run.
    ProbeDone done;
    std::string out;  // response body, capped
    long status_code = 0;
    std::string reason;  // from the last status line
    char err[CURL_ERROR_SIZE] = {};
    bool busy = false;    // running: queued for the next batch, or in the multi
    bool queued = false;  // waiting for the next batch
    bool cached = false;  // owned by Impl::cache (else by Impl::loose)
    uint64_t last_used = 0;

    ~Transfer() override {
      if (busy && !queued && owner->multi != nullptr) {
        curl_multi_remove_handle(owner->multi, easy);
      }
      if (easy != nullptr) curl_easy_cleanup(easy);
      curl_url_cleanup(uh);
      curl_slist_free_all(headers);
      curl_slist_free_all(connect_to);
    }
    void Cancel() override { owner->Finish(this); }

    bool Same(const catalog::Check& c, const ProbeOptions& o, bool tls) const {
      return tls == tls_connect && timeout_ms == o.timeout_ms && max == o.output_max &&
             tls_skip_verify == c.tls_skip_verify && disable_redirects == c.disable_redirects &&
             (tls ? tcp == c.tcp
                  : http == c.http && check_method == c.method && body == c.body &&
                        tls_server_name == c.tls_server_name && header == c.header);
    }
  };

  struct Socket {
    uv_poll_t poll{};
    curl_socket_t fd = CURL_SOCKET_BAD;
    Impl* owner = nullptr;
    bool ours = false;  // opened by OnOpen: closed through OnClose
    int want = 0;       // the events curl asked for (0: curl is not watching it)
    int events = 0;     // the events the poll is started with
  };

  uv_loop_t* loop;
  CURLM* multi = nullptr;
  uv_timer_t timer{};
  // Runs started within kBatchMs go to curl together, so one loop wake-up sends them all (and
  // the server answers them in one go): far fewer wake-ups on both sides than one per run.
  static constexpr uint64_t kBatchMs = 10;
  uv_timer_t batch{};
  std::vector<Transfer*> pending;
  bool closed = false;
  std::unordered_map<std::string, std::unique_ptr<Transfer>> cache;  // by check id
  std::vector<Socket*> by_fd;                                        // open sockets by descriptor
  std::vector<Transfer*> loose;  // one-off transfers (a second run of a busy check id)
  uint64_t starts = 0;
  uint64_t sweep_at = 0;

  explicit Impl(uv_loop_t* l) : loop(l) {
    multi = curl_multi_init();
    uv_timer_init(loop, &timer);
    timer.data = this;
    uv_timer_init(loop, &batch);
    batch.data = this;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::OnSocket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::OnTimer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, kMaxIdleConnections);
  }

  ~Impl() { DropAll(); }

  void DropAll() {
    for (Transfer* t : pending) t->queued = false;
    pending.clear();
    for (Transfer* t : loose) delete t;
    loose.clear();
    cache.clear();
    if (multi != nullptr) curl_multi_cleanup(multi);  // may still close sockets
    multi = nullptr;
    for (Socket* s : by_fd) {
      if (s != nullptr) DropSocket(this, s);
    }
  }

  // Ends a run (done or cancelled): the handle leaves the multi; a cached transfer stays.
  void Finish(Transfer* t) {
    if (t->queued) {
      std::erase(pending, t);
      t->queued = false;
    } else {
      curl_multi_remove_handle(multi, t->easy);
    }
    t->busy = false;
    t->done = nullptr;
    if (!t->cached) {
      std::erase(loose, t);
      delete t;
    }
  }

  // A socket curl uses, watched by one uv_poll. Sockets curl opens for connections (OnOpen) keep
  // their poll for as long as the socket is open, across the transfers of a reused connection:
  // when curl stops watching one, the poll stays armed for reading (no epoll change), and the
  // first stray event stops it. Other sockets (a resolver's) are unwatched when curl says so.
  static Socket* NewSocket(Impl* self, curl_socket_t fd, bool ours) {
    auto* s = new Socket;
    s->fd = fd;
    s->owner = self;
    s->ours = ours;
    if (uv_poll_init_socket(self->loop, &s->poll, fd) != 0) {
      delete s;
      return nullptr;
    }
    s->poll.data = s;
    if (static_cast<size_t>(fd) >= self->by_fd.size()) {
      self->by_fd.resize(static_cast<size_t>(fd) + 1, nullptr);
    }
    self->by_fd[static_cast<size_t>(fd)] = s;
    return s;
  }

  static void DropSocket(Impl* self, Socket* s) {
    self->by_fd[static_cast<size_t>(s->fd)] = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&s->poll),
             [](uv_handle_t* h) { delete static_cast<Socket*>(h->data); });
  }

  Socket* Find(curl_socket_t fd) const {
    return fd >= 0 && static_cast<size_t>(fd) < by_fd.size() ? by_fd[static_cast<size_t>(fd)]
                                                             : nullptr;
  }

  static curl_socket_t OnOpen(void* userp, curlsocktype, curl_sockaddr* a) {
    auto* self = static_cast<Impl*>(userp);
    const int fd = socket(a->family, a->socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->protocol);
    if (fd < 0) return CURL_SOCKET_BAD;
    if (NewSocket(self, fd, true) == nullptr) {
      close(fd);
      return CURL_SOCKET_BAD;
    }
    return fd;
  }

  static int OnClose(void* userp, curl_socket_t fd) {
    auto* self = static_cast<Impl*>(userp);
    if (Socket* s = self->Find(fd)) DropSocket(self, s);  // epoll forgets it before the close
    return close(fd);
  }

  static void Watch(Socket* s, int events) {
    if (s->events == events) return;
    s->events = events;
    if (events == 0) {
      uv_poll_stop(&s->poll);
      return;
    }
    uv_poll_start(&s->poll, events, [](uv_poll_t* p, int status, int ev) {
      auto* sock = static_cast<Socket*>(p->data);
      if (sock->want == 0) {  // an idle kept connection: curl looks at it when it reuses it
        Watch(sock, 0);
        return;
      }
      int flags = 0;
      if (status < 0) flags = CURL_CSELECT_ERR;
      if (ev & UV_READABLE) flags |= CURL_CSELECT_IN;
      if (ev & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
      Impl* owner = sock->owner;
      int running = 0;
      curl_multi_socket_action(owner->multi, sock->fd, flags, &running);
      owner->Collect();
    });
  }

  static int OnSocket(CURL*, curl_socket_t fd, int what, void* userp, void* socketp) {
    auto* self = static_cast<Impl*>(userp);
    auto* s = socketp != nullptr ? static_cast<Socket*>(socketp) : self->Find(fd);
    if (what == CURL_POLL_REMOVE) {
      if (s == nullptr) return 0;
      s->want = 0;
      if (!s->ours) {
        DropSocket(self, s);
      } else if (s->events & UV_WRITABLE) {
        Watch(s, UV_READABLE);  // an idle socket is always writable: never watch that
      }
      return 0;
    }
    if (s == nullptr) {
      s = NewSocket(self, fd, false);
      if (s == nullptr) return -1;  // curl fails this transfer
    }
    if (socketp == nullptr) curl_multi_assign(self->multi, fd, s);
    int events = 0;
    if (what & CURL_POLL_IN) events |= UV_READABLE;
    if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
    s->want = events;
    Watch(s, events);
    return 0;
  }

  static int OnTimer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<Impl*>(userp);
    if (timeout_ms < 0) {
      uv_timer_stop(&self->timer);
      return 0;
    }
    // Never act from inside curl's callback: a 0 timeout runs on the next loop turn.
    uv_timer_start(
        &self->timer,
        [](uv_timer_t* t) {
          auto* impl = static_cast<Impl*>(t->data);
          int running = 0;
          curl_multi_socket_action(impl->multi, CURL_SOCKET_TIMEOUT, 0, &running);
          impl->Collect();
        },
        static_cast<uint64_t>(timeout_ms), 0);
    return 0;
  }

  void Collect() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
      const CURLcode rc = m->data.result;
      ProbeResult r = Result(*t, rc);
      ProbeDone done = std::move(t->done);
      Finish(t);  // `m` is invalid from here on
      done(std::move(r));
    }
  }

  static ProbeResult Result(Transfer& t, CURLcode rc) {
    ProbeResult r;
    const char* why = t.err[0] != 0 ? t.err : curl_easy_strerror(rc);
    if (t.tls_connect) {
      if (rc == CURLE_OK) {
        r.status = Health::kPassing;
        r.output.append("TCP connect ").append(t.url).append(": Success");
      } else {
        r.output.append("dial tcp ").append(t.url).append(": ").append(why);
      }
      return r;
    }
    // The response so far counts even when the body was cut at output_max (write error).
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.status_code != 0)) {
      r.output.append(t.method_lc).append(" \"").append(t.url).append("\": ").append(why);
      return r;
    }
    long code = t.status_code;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
    r.status = code >= 200 && code <= 299 ? Health::kPassing
               : code == 429              ? Health::kWarning
                                          : Health::kCritical;
    std::string_view reason = t.reason;
    if (reason.empty()) reason = ReasonPhrase(code);
    char num[24];
    const int n = std::snprintf(num, sizeof num, "%ld", code);
    r.output.reserve(t.prefix.size() + static_cast<size_t>(n) + reason.size() + 10 + t.out.size());
    r.output.append(t.prefix).append(num, static_cast<size_t>(n));
    if (!reason.empty()) r.output.append(" ").append(reason);
    r.output.append(" Output: ").append(t.out);
    return r;
  }

  static size_t OnBody(char* p, size_t, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    const size_t room = t->max > t->out.size() ? t->max - t->out.size() : 0;
    t->out.append(p, std::min(room, n));
    // Stop reading once the cap is reached (Consul reads at most that much).
    return n <= room ? n : 0;
  }

  static size_t OnHeader(char* p, size_t, size_t n, void* userp) {
    auto* t = static_cast<Transfer*>(userp);
    std::string_view line(p, n);
    if (line.substr(0, 5) == "HTTP/") {
      // "HTTP/1.1 200 OK\r\n": code, then the reason phrase as sent.
      const size_t sp = line.find(' ');
      t->reason.clear();
      t->status_code = 0;
      if (sp != std::string_view::npos) {
        std::string_view rest = line.substr(sp + 1);
        while (!rest.empty() && (rest.back() == '\r' || rest.back() == '\n')) rest.remove_suffix(1);
        for (size_t i = 0;
             i < 3 && i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i])); ++i) {
          t->status_code = t->status_code * 10 + (rest[i] - '0');
        }
        if (rest.size() > 4) t->reason.assign(rest.substr(4));
      }
      t->out.clear();  // a redirect's body is not the answer
    }
    return n;
  }

  // A new transfer with the options every kind shares.
  std::unique_ptr<Transfer> NewTransfer(const catalog::Check& c, const ProbeOptions& o) {
    auto t = std::make_unique<Transfer>();
    t->owner = this;
    t->easy = curl_easy_init();
    t->timeout_ms = o.timeout_ms;
    t->max = o.output_max;
    t->tls_skip_verify = c.tls_skip_verify;
    t->disable_redirects = c.disable_redirects;
    // A check that is not run again for two intervals (plus its timeout) was removed: its
    // transfer goes at the next sweep.
    t->keep_ms = 2 * std::max<uint64_t>(c.interval_ms, 1000) + o.timeout_ms + 60'000;
    CURL* e = t->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->err);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &Impl::OnOpen);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &Impl::OnClose);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
    // A kept handle keeps its receive buffer: 4 KiB, not curl's 16 KiB (a check reads little).
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
    curl_easy_setopt(e, CURLOPT_MAXLIFETIME_CONN, kConnectionLifetimeS);
    if (c.tls_skip_verify) {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    return t;
  }

  // The transfer's URL as a handle parsed once (CURLOPT_CURLU): given as a string (CURLOPT_URL),
  // curl parses and re-formats it on every run. Parsed with the flags curl itself uses for
  // CURLOPT_URL; a URL that does not parse is set as a string, so curl reports it per run.
  static void SetUrl(Transfer* t, const char* url) {
    curl_url_cleanup(t->uh);
    t->uh = curl_url();
    if (t->uh != nullptr &&
        curl_url_set(t->uh, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) ==
            CURLUE_OK) {
      curl_easy_setopt(t->easy, CURLOPT_URL, nullptr);
      curl_easy_setopt(t->easy, CURLOPT_CURLU, t->uh);
      return;
    }
    curl_easy_setopt(t->easy, CURLOPT_CURLU, nullptr);
    curl_url_cleanup(t->uh);
    t->uh = nullptr;
    curl_easy_setopt(t->easy, CURLOPT_URL, url);
  }

  std::unique_ptr<Transfer> PrepareHttp(const catalog::Check& c, const ProbeOptions& o);
  std::unique_ptr<Transfer> PrepareTls(const catalog::Check& c, const ProbeOptions& o);

  // The transfer for this run of `c`: its cached one when idle and still of the same definition.
  Transfer* Lookup(const catalog::Check& c, const ProbeOptions& o, bool tls) {
    auto it = c.id.empty() ? cache.end() : cache.find(c.id);
    if (it != cache.end() && !it->second->busy && it->second->Same(c, o, tls)) {
      return it->second.get();
    }
    std::unique_ptr<Transfer> t = tls ? PrepareTls(c, o) : PrepareHttp(c, o);
    Transfer* raw = t.get();
    if (it != cache.end() && it->second->busy) {
      loose.push_back(t.release());  // not expected from the Runner (one run per check at a time)
      return raw;
    }
    raw->cached = !c.id.empty();
    if (!raw->cached) {
      loose.push_back(t.release());
    } else if (it != cache.end()) {
      it->second = std::move(t);
    } else {
      cache.emplace(c.id, std::move(t));
    }
    return raw;
  }

  // Drops the transfers of checks no longer run (amortized: one pass per cache-size starts).
  void Sweep(uint64_t now) {
    std::erase_if(cache, [now](const auto& kv) {
      const Transfer& t = *kv.second;
      return !t.busy && now - t.last_used > t.keep_ms;
    });
    sweep_at = starts + std::max<size_t>(cache.size(), 256);
  }

  Probe* Run(const catalog::Check& c, const ProbeOptions& o, bool tls, ProbeDone done) {
    if (closed) return nullptr;
    const uint64_t now = uv_now(loop);
    if (++starts >= sweep_at) Sweep(now);
    Transfer* t = Lookup(c, o, tls);
    t->done = std::move(done);
    t->out.clear();
    t->reason.clear();
    t->status_code = 0;
    t->err[0] = 0;
    t->last_used = now;
    t->busy = true;
    t->queued = true;
    pending.push_back(t);
    if (pending.size() == 1) {
      uv_timer_start(
          &batch, [](uv_timer_t* h) { static_cast<Impl*>(h->data)->StartBatch(); }, kBatchMs, 0);
    }
    return t;
  }

  void StartBatch() {
    std::vector<Transfer*> now;
    now.swap(pending);
    for (Transfer* t : now) {
      t->queued = false;
      curl_multi_add_handle(multi, t->easy);  // arms the timer: they start on the next turn
    }
    now.clear();
    if (pending.empty()) pending.swap(now);  // keep the capacity
  }
};

std::unique_ptr<HttpClient::Impl::Transfer> HttpClient::Impl::PrepareHttp(const catalog::Check& c,
                                                                          const ProbeOptions& o) {
  std::unique_ptr<Transfer> t = NewTransfer(c, o);
  CURL* e = t->easy;
  t->http = c.http;
  t->check_method = c.method;
  t->header = c.header;
  t->body = c.body;
  t->tls_server_name = c.tls_server_name;
  t->method = c.method.empty() ? "GET" : c.method;
  t->method_lc = t->method;
  for (size_t i = 1; i < t->method_lc.size(); ++i) {
    t->method_lc[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(t->method_lc[i])));
  }
  t->url = c.http;
  t->prefix = "HTTP " + t->method + " " + t->url + ": ";
  SetUrl(t.get(), c.http.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  if (t->method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (t->method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->method.c_str());
  }
  if (!c.body.empty()) {
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->body.size()));
    if (t->method == "GET") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "GET");
  }
  if (!c.disable_redirects) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);  // Go's client stops after 10
  }
  for (const auto& [k, vs] : c.header) {
    for (const std::string& v : vs) {
      std::string line = k;
      line.append(": ").append(v);
      t->headers = curl_slist_append(t->headers, line.c_str());
    }
  }
  if (!HasHeader(c, "User-Agent")) {
    t->headers = curl_slist_append(t->headers, "User-Agent: Consul Health Check");
  }
  if (!HasHeader(c, "Accept")) {
    t->headers = curl_slist_append(t->headers, "Accept: text/plain, text/*, */*");
  }
  // tls_server_name: connect to the URL's host but present (and verify) this name, keeping the
  // Host header of the URL.
  if (!c.tls_server_name.empty()) {
    CURLU* u = curl_url();
    char* host = nullptr;
    char* port = nullptr;
    if (curl_url_set(u, CURLUPART_URL, c.http.c_str(), 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
      const std::string orig_host = host;
      curl_url_set(u, CURLUPART_HOST, c.tls_server_name.c_str(), 0);
      char* rewritten = nullptr;
      if (curl_url_get(u, CURLUPART_URL, &rewritten, 0) == CURLUE_OK) {
        SetUrl(t.get(), rewritten);
        curl_free(rewritten);
        t->connect_to = curl_slist_append(
            nullptr, (c.tls_server_name + ":" + port + ":" + orig_host + ":" + port).c_str());
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, t->connect_to);
        if (!HasHeader(c, "Host")) {
          t->headers = curl_slist_append(t->headers, ("Host: " + orig_host + ":" + port).c_str());
        }
      }
    }
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
  }
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  return t;
}

std::unique_ptr<HttpClient::Impl::Transfer> HttpClient::Impl::PrepareTls(const catalog::Check& c,
                                                                         const ProbeOptions& o) {
  std::unique_ptr<Transfer> t = NewTransfer(c, o);
  t->tls_connect = true;
  t->tcp = c.tcp;
  t->url = c.tcp;
  const std::string url = "https://" + c.tcp + "/";
  SetUrl(t.get(), url.c_str());
  curl_easy_setopt(t->easy, CURLOPT_CONNECT_ONLY, 1L);
  return t;
}

HttpClient::HttpClient(uv_loop_t* loop) : impl_(std::make_unique<Impl>(loop)) {}

HttpClient::~HttpClient() = default;

void HttpClient::Close() {
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->DropAll();  // the multi may still close sockets: the loop must be alive
  uv_close(reinterpret_cast<uv_handle_t*>(&impl_->timer), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&impl_->batch), nullptr);
}

void HttpClient::Flush() {
  if (impl_->closed || impl_->pending.empty()) return;
  uv_timer_stop(&impl_->batch);
  impl_->StartBatch();
}

Probe* HttpClient::Start(const catalog::Check& c, const ProbeOptions& o, ProbeDone done) {
  return impl_->Run(c, o, false, std::move(done));
}

Probe* HttpClient::StartTlsConnect(const catalog::Check& c, const ProbeOptions& o, ProbeDone done) {
  return impl_->Run(c, o, true, std::move(done));
}

}  // namespace beacon::health
