// HTTP checks: libcurl's multi interface on the Runner's libuv loop (curl_multi_socket_action
// with one uv_poll_t per socket and one uv_timer_t). See probes.h.
#include <curl/curl.h>

#include <cctype>
#include <string>
#include <vector>

#include "beacon/health/probes.h"

namespace beacon::health {
namespace {

using catalog::Health;

const char* ReasonPhrase(long code) {
  switch (code) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

bool HasHeader(const catalog::Check& c, std::string_view name) {
  for (const auto& [k, v] : c.header) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) return true;
  }
  return false;
}

}  // namespace

struct HttpClient::Impl {
  struct Transfer final : Probe {
    Impl* owner = nullptr;
    CURL* easy = nullptr;
    curl_slist* headers = nullptr;
    curl_slist* connect_to = nullptr;
    ProbeDone done;
    std::string method;
    std::string url;
    std::string body;  // request body (kept alive for curl)
    std::string out;   // response body, capped
    size_t max = 0;
    long status_code = 0;
    std::string reason;  // from the last status line
    bool tls_connect = false;
    char err[CURL_ERROR_SIZE] = {};

    ~Transfer() override {
      owner->Recycle(easy);
      curl_slist_free_all(headers);
      curl_slist_free_all(connect_to);
    }
    void Cancel() override { owner->Remove(this); }
  };

  struct Socket {
    uv_poll_t poll{};
    curl_socket_t fd = CURL_SOCKET_BAD;
    Impl* owner = nullptr;
  };

  uv_loop_t* loop;
  CURLM* multi = nullptr;
  uv_timer_t timer{};
  bool closed = false;
  std::vector<Transfer*> transfers;
  // Finished easy handles, reset and reused (their buffers are allocated once, not per probe).
  std::vector<CURL*> spare;
  static constexpr size_t kMaxSpare = 256;

  void Recycle(CURL* e) {
    if (e == nullptr) return;
    if (closed || spare.size() >= kMaxSpare) {
      curl_easy_cleanup(e);
      return;
    }
    curl_easy_reset(e);
    spare.push_back(e);
  }

  explicit Impl(uv_loop_t* l) : loop(l) {
    multi = curl_multi_init();
    uv_timer_init(loop, &timer);
    timer.data = this;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::OnSocket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::OnTimer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }

  ~Impl() {
    for (Transfer* t : transfers) {
      curl_multi_remove_handle(multi, t->easy);
      delete t;
    }
    for (CURL* e : spare) curl_easy_cleanup(e);
    if (multi != nullptr) curl_multi_cleanup(multi);
  }

  void Remove(Transfer* t) {
    curl_multi_remove_handle(multi, t->easy);
    std::erase(transfers, t);
    delete t;
  }

  static int OnSocket(CURL*, curl_socket_t fd, int what, void* userp, void* socketp) {
    auto* self = static_cast<Impl*>(userp);
    auto* s = static_cast<Socket*>(socketp);
    if (what == CURL_POLL_REMOVE) {
      if (s != nullptr) {
        uv_poll_stop(&s->poll);
        uv_close(reinterpret_cast<uv_handle_t*>(&s->poll),
                 [](uv_handle_t* h) { delete static_cast<Socket*>(h->data); });
        curl_multi_assign(self->multi, fd, nullptr);
      }
      return 0;
    }
    if (s == nullptr) {
      s = new Socket;
      s->fd = fd;
      s->owner = self;
      if (uv_poll_init_socket(self->loop, &s->poll, fd) != 0) {
        delete s;
        return -1;  // curl fails this transfer
      }
      s->poll.data = s;
      curl_multi_assign(self->multi, fd, s);
    }
    int events = 0;
    if (what & CURL_POLL_IN) events |= UV_READABLE;
    if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
    uv_poll_start(&s->poll, events, [](uv_poll_t* p, int status, int ev) {
      auto* sock = static_cast<Socket*>(p->data);
      int flags = 0;
      if (status < 0) flags = CURL_CSELECT_ERR;
      if (ev & UV_READABLE) flags |= CURL_CSELECT_IN;
      if (ev & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
      Impl* owner = sock->owner;
      int running = 0;
      curl_multi_socket_action(owner->multi, sock->fd, flags, &running);
      owner->Collect();
    });
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
      Remove(t);  // `m` is invalid from here on
      done(std::move(r));
    }
  }

  static ProbeResult Result(Transfer& t, CURLcode rc) {
    ProbeResult r;
    if (t.tls_connect) {
      if (rc == CURLE_OK) {
        r.status = Health::kPassing;
        r.output = "TCP connect " + t.url + ": Success";
      } else {
        r.output = "dial tcp " + t.url + ": " + (t.err[0] != 0 ? t.err : curl_easy_strerror(rc));
      }
      return r;
    }
    // The response so far counts even when the body was cut at output_max (write error).
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.status_code != 0)) {
      std::string m = t.method;
      for (size_t i = 1; i < m.size(); ++i) {
        m[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[i])));
      }
      r.output = m + " \"" + t.url + "\": " + (t.err[0] != 0 ? t.err : curl_easy_strerror(rc));
      return r;
    }
    long code = t.status_code;
    curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &code);
    r.status = code >= 200 && code <= 299 ? Health::kPassing
               : code == 429              ? Health::kWarning
                                          : Health::kCritical;
    std::string reason = t.reason.empty() ? ReasonPhrase(code) : t.reason;
    std::string status = std::to_string(code);
    if (!reason.empty()) status += " " + reason;
    r.output = "HTTP " + t.method + " " + t.url + ": " + status + " Output: " + t.out;
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
        t->status_code = std::atol(std::string(rest.substr(0, 3)).c_str());
        if (rest.size() > 4) t->reason = std::string(rest.substr(4));
      }
      t->out.clear();  // a redirect's body is not the answer
    }
    return n;
  }

  Transfer* NewTransfer(const ProbeOptions& o, ProbeDone done) {
    auto* t = new Transfer;
    t->owner = this;
    if (spare.empty()) {
      t->easy = curl_easy_init();
    } else {
      t->easy = spare.back();
      spare.pop_back();
    }
    t->done = std::move(done);
    t->max = o.output_max;
    CURL* e = t->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->err);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout_ms));
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);  // Consul's checks do not keep connections
    return t;
  }

  Probe* Add(Transfer* t) {
    if (closed) {
      delete t;
      return nullptr;
    }
    transfers.push_back(t);
    curl_multi_add_handle(multi, t->easy);  // arms the timer: the transfer starts on the loop
    return t;
  }
};

HttpClient::HttpClient(uv_loop_t* loop) : impl_(std::make_unique<Impl>(loop)) {}

HttpClient::~HttpClient() = default;

void HttpClient::Close() {
  if (impl_->closed) return;
  impl_->closed = true;
  while (!impl_->transfers.empty()) impl_->Remove(impl_->transfers.back());
  for (CURL* e : impl_->spare) curl_easy_cleanup(e);
  impl_->spare.clear();
  curl_multi_cleanup(impl_->multi);  // may still close sockets: the loop must be alive
  impl_->multi = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&impl_->timer), nullptr);
}

Probe* HttpClient::Start(const catalog::Check& c, const ProbeOptions& o, ProbeDone done) {
  Impl::Transfer* t = impl_->NewTransfer(o, std::move(done));
  CURL* e = t->easy;
  t->method = c.method.empty() ? "GET" : c.method;
  t->url = c.http;
  curl_easy_setopt(e, CURLOPT_URL, c.http.c_str());
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
  if (t->method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (t->method != "GET") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, t->method.c_str());
  }
  if (!c.body.empty()) {
    t->body = c.body;
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(t->body.size()));
    if (t->method == "GET") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "GET");
  }
  if (!c.disable_redirects) {
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);  // Go's client stops after 10
  }
  if (c.tls_skip_verify) {
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
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
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
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
        curl_easy_setopt(e, CURLOPT_URL, rewritten);
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
  return impl_->Add(t);
}

Probe* HttpClient::StartTlsConnect(const catalog::Check& c, const ProbeOptions& o, ProbeDone done) {
  Impl::Transfer* t = impl_->NewTransfer(o, std::move(done));
  t->tls_connect = true;
  t->url = c.tcp;
  const std::string url = "https://" + c.tcp + "/";
  curl_easy_setopt(t->easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(t->easy, CURLOPT_CONNECT_ONLY, 1L);
  if (c.tls_skip_verify) {
    curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(t->easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  return impl_->Add(t);
}

}  // namespace beacon::health
