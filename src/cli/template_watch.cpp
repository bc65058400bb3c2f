// Watcher over libcurl multi: one easy handle per watched path, re-added after each answer.
#include "template_watch.h"

#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>

namespace beacon::cli::tpl {
namespace {

constexpr int64_t kWaitMs = 60000;                                      // consul-template's default
constexpr int64_t kTransferTimeoutMs = kWaitMs + kWaitMs / 16 + 10000;  // + server jitter + margin
constexpr int64_t kConnectTimeoutMs = 5000;
constexpr int64_t kNoIndexPollMs = 1000;  // an answer without X-Consul-Index: poll gently

}  // namespace

// One watched path (outside the anonymous namespace: Watcher::Impl holds them).
struct TemplateWatch {
  std::string path;
  CURL* easy = nullptr;
  bool in_flight = false;
  uint64_t index = 0;
  std::optional<tmpl::Fetch> fetch;
  int failures = 0;
  // current transfer
  std::string body;
  uint64_t resp_index = 0;
  char error[CURL_ERROR_SIZE] = {};

  ~TemplateWatch() {
    if (easy != nullptr) curl_easy_cleanup(easy);
  }
};

namespace {

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  static_cast<TemplateWatch*>(user)->body.append(data, size * n);
  return size * n;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  const size_t len = size * n;
  std::string_view line(data, len);
  constexpr std::string_view kName = "x-consul-index:";
  if (line.size() > kName.size()) {
    bool match = true;
    for (size_t i = 0; i < kName.size() && match; ++i) {
      match = std::tolower(static_cast<unsigned char>(line[i])) == kName[i];
    }
    if (match) {
      std::string v(line.substr(kName.size()));
      static_cast<TemplateWatch*>(user)->resp_index = std::strtoull(v.c_str(), nullptr, 10);
    }
  }
  return len;
}

// Sockets are close-on-exec, so commands and the exec child do not inherit the watches.
curl_socket_t OpenSocket(void* /*user*/, curlsocktype /*purpose*/, curl_sockaddr* a) {
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

}  // namespace

struct Watcher::Impl {
  std::string base;
  std::string token_header;
  curl_slist* headers = nullptr;
  const Logger& log;
  Retry retry;
  CURLM* multi = nullptr;
  std::map<std::string, std::unique_ptr<TemplateWatch>> watches;
  std::map<CURL*, TemplateWatch*> by_easy;
  size_t failing = 0;                           // watches whose last attempt failed
  std::multimap<int64_t, std::string> retries;  // (steady ms, path) of delayed re-issues
  // curl's sockets live in an epoll set (curl_multi_socket_action: only sockets with activity
  // are touched, so a change costs the same with 5 watches or 5,000).
  int epfd = -1;
  int extra = -1;         // the caller's fd, registered in the epoll set too
  int64_t timer_at = -1;  // curl's timer deadline (steady ms), -1 = none

  Impl(const std::string& address, const std::string& token, const Logger& l, Retry retries)
      : log(l), retry(retries) {
    base = address.find("://") == std::string::npos ? "http://" + address : address;
    while (!base.empty() && base.back() == '/') base.pop_back();
    if (!token.empty()) {
      token_header = "X-Consul-Token: " + token;
      headers = curl_slist_append(headers, token_header.c_str());
    }
    epfd = epoll_create1(EPOLL_CLOEXEC);
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 4096L);
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &Impl::OnSocket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &Impl::OnTimer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
  }
  ~Impl() {
    for (auto& [p, w] : watches) {
      if (w->in_flight) curl_multi_remove_handle(multi, w->easy);
    }
    watches.clear();
    curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
    if (epfd >= 0) close(epfd);
  }

  static int OnSocket(CURL* /*easy*/, curl_socket_t s, int what, void* user, void* /*sockp*/) {
    auto* m = static_cast<Impl*>(user);
    if (what == CURL_POLL_REMOVE) {
      epoll_ctl(m->epfd, EPOLL_CTL_DEL, s, nullptr);
      return 0;
    }
    epoll_event ev{};
    ev.events =
        ((what & CURL_POLL_IN) != 0 ? EPOLLIN : 0u) | ((what & CURL_POLL_OUT) != 0 ? EPOLLOUT : 0u);
    ev.data.fd = s;
    if (epoll_ctl(m->epfd, EPOLL_CTL_MOD, s, &ev) != 0) epoll_ctl(m->epfd, EPOLL_CTL_ADD, s, &ev);
    return 0;
  }

  static int OnTimer(CURLM* /*multi*/, long timeout_ms,  // NOLINT(google-runtime-int)
                     void* user) {
    auto* m = static_cast<Impl*>(user);
    m->timer_at = timeout_ms < 0 ? -1 : SteadyNowMs() + timeout_ms;
    return 0;
  }

  // Hands finished transfers to Done.
  Status Drain(std::vector<std::string>* changed, bool* any) {
    Status result;
    CURLMsg* msg;
    int left = 0;
    while ((msg = curl_multi_info_read(multi, &left)) != nullptr) {
      if (msg->msg != CURLMSG_DONE) continue;
      auto it = by_easy.find(msg->easy_handle);
      if (it == by_easy.end()) continue;
      *any = true;
      Status st = Done(it->second, msg->data.result, changed);
      if (!st.ok() && result.ok()) result = st;
    }
    return result;
  }

  void Issue(TemplateWatch* w) {
    std::string url = base + w->path;
    url += w->path.find('?') == std::string::npos ? '?' : '&';
    url += "stale";
    if (w->index > 0) url += "&index=" + std::to_string(w->index);
    url += "&wait=" + std::to_string(kWaitMs) + "ms";
    if (w->easy == nullptr) {
      w->easy = curl_easy_init();
      curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(w->easy, CURLOPT_PROTOCOLS_STR, "http");
      curl_easy_setopt(w->easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(kConnectTimeoutMs));
      curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS, static_cast<long>(kTransferTimeoutMs));
      curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, &OnBody);
      curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
      curl_easy_setopt(w->easy, CURLOPT_HEADERFUNCTION, &OnHeader);
      curl_easy_setopt(w->easy, CURLOPT_HEADERDATA, w);
      curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->error);
      curl_easy_setopt(w->easy, CURLOPT_OPENSOCKETFUNCTION, &OpenSocket);
      if (headers != nullptr) curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, headers);
      by_easy[w->easy] = w;
    }
    curl_easy_setopt(w->easy, CURLOPT_URL, url.c_str());
    w->body.clear();
    w->resp_index = 0;
    w->error[0] = '\0';
    BEACON_LOG(log, kTrace, "view", "GET %s", url.c_str());
    curl_multi_add_handle(multi, w->easy);
    w->in_flight = true;
  }

  // One finished transfer. Returns an error when the watch ran out of retries.
  Status Done(TemplateWatch* w, CURLcode code, std::vector<std::string>* changed) {
    curl_multi_remove_handle(multi, w->easy);
    w->in_flight = false;
    long status = 0;  // NOLINT(google-runtime-int): libcurl's type
    curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
    std::string err;
    if (code != CURLE_OK) {
      err = w->error[0] != '\0' ? w->error : curl_easy_strerror(code);
    } else if (status != 200 && status != 404) {
      std::string body = w->body.substr(0, 200);
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      err = "Unexpected response code: " + std::to_string(status) + " (" + body + ")";
    }
    if (!err.empty()) {
      if (w->failures++ == 0 && failing++ == 0) {
        BEACON_LOG(log, kWarn, "view", "lost agent at %s: %s (%s); retrying with backoff",
                   base.c_str(), err.c_str(), w->path.c_str());
      }
      if (retry.attempts > 0 && w->failures >= retry.attempts) {
        return Status::Error(w->path + ": " + err + " (giving up after " +
                             std::to_string(w->failures) + " attempts)");
      }
      const int64_t backoff =
          std::min(retry.max_backoff_ms, retry.backoff_ms << std::min(w->failures - 1, 20));
      BEACON_LOG(log, kDebug, "view", "%s: %s (retry attempt %d after %lldms)", w->path.c_str(),
                 err.c_str(), w->failures, static_cast<long long>(backoff));
      retries.emplace(SteadyNowMs() + backoff, w->path);
      // The retry does not block: a restarted agent answers at once (so recovery shows), and
      // one that lost its data (a -dev agent) has indexes below ours that would block a minute.
      w->index = 0;
      return Status::Ok();
    }
    if (w->failures > 0) {
      w->failures = 0;
      if (--failing == 0)
        BEACON_LOG(log, kInfo, "view", "agent at %s reachable again", base.c_str());
    }
    const uint64_t old = w->index;
    w->index = w->resp_index;
    if (w->resp_index < old) {
      BEACON_LOG(log, kDebug, "view", "%s: index went backwards (%llu < %llu), resetting",
                 w->path.c_str(), static_cast<unsigned long long>(w->resp_index),
                 static_cast<unsigned long long>(old));
      w->index = 0;
    }
    if (!w->fetch || w->fetch->status != status || w->fetch->body != w->body) {
      w->fetch = tmpl::Fetch{static_cast<int>(status), std::move(w->body)};
      w->body.clear();
      BEACON_LOG(log, kDebug, "view", "%s: received data (index %llu)", w->path.c_str(),
                 static_cast<unsigned long long>(w->index));
      changed->push_back(w->path);
    }
    // Re-issue now (a blocking query), or after a pause when there is no index to block on.
    if (w->resp_index == 0) {
      retries.emplace(SteadyNowMs() + kNoIndexPollMs, w->path);
    } else {
      Issue(w);
    }
    return Status::Ok();
  }
};

Watcher::Watcher(const std::string& address, const std::string& token, const Logger& log,
                 Retry retry)
    : impl_(std::make_unique<Impl>(address, token, log, retry)) {}

Watcher::~Watcher() = default;

void Watcher::Add(const std::string& path) {
  auto& w = impl_->watches[path];
  if (w) return;
  w = std::make_unique<TemplateWatch>();
  w->path = path;
  BEACON_LOG(impl_->log, kDebug, "watcher", "adding %s", path.c_str());
  impl_->Issue(w.get());
}

void Watcher::Remove(const std::string& path) {
  auto it = impl_->watches.find(path);
  if (it == impl_->watches.end()) return;
  TemplateWatch* w = it->second.get();
  if (w->in_flight) curl_multi_remove_handle(impl_->multi, w->easy);
  if (w->failures > 0 && impl_->failing > 0) --impl_->failing;
  if (w->easy != nullptr) impl_->by_easy.erase(w->easy);
  BEACON_LOG(impl_->log, kDebug, "watcher", "removing %s", path.c_str());
  impl_->watches.erase(it);
}

bool Watcher::Has(const std::string& path) const {
  return impl_->watches.count(path) > 0;
}

std::vector<std::string> Watcher::Paths() const {
  std::vector<std::string> out;
  for (const auto& [p, w] : impl_->watches) out.push_back(p);
  return out;
}

const tmpl::Fetch* Watcher::Get(const std::string& path) const {
  auto it = impl_->watches.find(path);
  if (it == impl_->watches.end() || !it->second->fetch) return nullptr;
  return &*it->second->fetch;
}

Status Watcher::Poll(int64_t timeout_ms, int extra_fd, bool* fd_ready,
                     std::vector<std::string>* changed) {
  *fd_ready = false;
  Impl& m = *impl_;
  if (extra_fd != m.extra) {
    if (m.extra >= 0) epoll_ctl(m.epfd, EPOLL_CTL_DEL, m.extra, nullptr);
    m.extra = extra_fd;
    if (extra_fd >= 0) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.fd = extra_fd;
      epoll_ctl(m.epfd, EPOLL_CTL_ADD, extra_fd, &ev);
    }
  }
  int64_t now = SteadyNowMs();
  int64_t wait = timeout_ms;
  while (!m.retries.empty() && m.retries.begin()->first <= now) {
    auto it = m.watches.find(m.retries.begin()->second);
    m.retries.erase(m.retries.begin());
    if (it != m.watches.end() && !it->second->in_flight) m.Issue(it->second.get());
  }
  if (!m.retries.empty()) wait = std::min(wait, m.retries.begin()->first - now);
  int running = 0;
  Status result;
  bool any = false;
  if (m.timer_at >= 0) wait = std::min(wait, std::max<int64_t>(0, m.timer_at - now));
  epoll_event events[64];
  int n = epoll_wait(m.epfd, events, 64, static_cast<int>(std::max<int64_t>(0, wait)));
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == m.extra) {
      *fd_ready = true;
      continue;
    }
    int bits = 0;
    if ((events[i].events & EPOLLIN) != 0) bits |= CURL_CSELECT_IN;
    if ((events[i].events & EPOLLOUT) != 0) bits |= CURL_CSELECT_OUT;
    if ((events[i].events & (EPOLLERR | EPOLLHUP)) != 0) bits |= CURL_CSELECT_ERR;
    curl_multi_socket_action(m.multi, fd, bits, &running);
  }
  // curl's timers, including the 0 ms ones it sets for work to do at once (a new transfer, a
  // retry on a fresh connection after a dead reused one): run until none is due.
  for (int round = 0; round < 8; ++round) {
    Status st = m.Drain(changed, &any);
    if (!st.ok() && result.ok()) result = st;
    now = SteadyNowMs();
    if (m.timer_at < 0 || m.timer_at > now) break;
    m.timer_at = -1;
    curl_multi_socket_action(m.multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  Status st = m.Drain(changed, &any);
  if (!st.ok() && result.ok()) result = st;
  return result;
}

}  // namespace beacon::cli::tpl
