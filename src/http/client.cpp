// HttpClient over libcurl's easy interface (see client.h).
#include "beacon/http/client.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace beacon::http {
namespace {

struct Transfer {
  CURL* curl;
  ClientResponse* resp;
  const std::function<bool(std::string_view)>* on_chunk;
  const std::function<bool()>* cancel;
  bool cancelled = false;
  bool stopped = false;  // on_chunk asked to stop
};

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (t->on_chunk != nullptr && status >= 200 && status < 300) {
    if (!(*t->on_chunk)(std::string_view(data, len))) {
      t->stopped = true;
      return 0;
    }
    return len;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  if ((line == "\r\n" || line == "\n") && t->on_chunk != nullptr) {
    long status = 0;  // NOLINT(google-runtime-int): libcurl's type
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300 && !(*t->on_chunk)(std::string_view())) t->stopped = true;
    return t->stopped ? 0 : len;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name;
  for (char c : line.substr(0, colon)) {
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.remove_suffix(1);
  if (name == "x-consul-index") {
    t->resp->index = std::strtoull(std::string(value).c_str(), nullptr, 10);
  } else if (name == "x-consul-knownleader") {
    t->resp->known_leader = value == "true";
  }
  return len;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (*t->cancel && (*t->cancel)()) {
    t->cancelled = true;
    return 1;
  }
  return 0;
}

std::string MethodTitle(std::string_view method) {
  std::string out;
  for (size_t i = 0; i < method.size(); ++i) {
    auto c = static_cast<unsigned char>(method[i]);
    out += static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
  }
  return out;
}

}  // namespace

std::string UrlEscape(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

HttpClient::HttpClient(ClientOptions opts) : opts_(std::move(opts)) {
  std::string addr = opts_.address;
  if (addr.rfind("http://", 0) == 0) addr = addr.substr(7);
  if (addr.rfind("https://", 0) == 0) {
    addr = addr.substr(8);
    tls_ = true;
  }
  while (!addr.empty() && addr.back() == '/') addr.pop_back();
  hostport_ = addr;
  base_ = (tls_ ? "https://" : "http://") + addr;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl_ = curl_easy_init();
}

HttpClient::~HttpClient() {
  if (curl_ != nullptr) curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Result<ClientResponse> HttpClient::Do(std::string_view method, std::string_view path,
                                      std::string_view body, int64_t timeout_ms) {
  return Perform(method, path, body, timeout_ms == 0 ? opts_.timeout_ms : timeout_ms, nullptr);
}

Result<ClientResponse> HttpClient::Stream(std::string_view path,
                                          const std::function<bool(std::string_view)>& on_chunk) {
  return Perform("GET", path, {}, 0, &on_chunk);
}

Result<ClientResponse> HttpClient::Stream(std::string_view method, std::string_view path,
                                          std::string_view body,
                                          const std::function<bool(std::string_view)>& on_chunk) {
  return Perform(method, path, body, 0, &on_chunk);
}

Result<ClientResponse> HttpClient::Perform(std::string_view method, std::string_view path,
                                           std::string_view body, int64_t timeout_ms,
                                           const std::function<bool(std::string_view)>* on_chunk) {
  auto* curl = static_cast<CURL*>(curl_);
  if (curl == nullptr) return Status::Error("libcurl could not be initialised");
  curl_easy_reset(curl);
  ClientResponse resp;
  Transfer t{curl, &resp, on_chunk, &opts_.cancel};
  const std::string url = base_ + std::string(path);
  const std::string m(method);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, m.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, tls_ ? "https" : "http");
  if (tls_) {
    if (!opts_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, opts_.ca_file.c_str());
    if (!opts_.cert_file.empty()) {
      curl_easy_setopt(curl, CURLOPT_SSLCERT, opts_.cert_file.c_str());
    }
    if (!opts_.key_file.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, opts_.key_file.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts_.connect_timeout_ms));
  if (timeout_ms > 0) curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  if (m == "PUT" || m == "POST" || (m == "DELETE" && !body.empty())) {  // keyring -remove
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  } else if (m == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  }
  struct curl_slist* headers = nullptr;
  std::string token_header;
  if (!opts_.token.empty()) {
    token_header = "X-Consul-Token: " + opts_.token;
    headers = curl_slist_append(headers, token_header.c_str());
  }
  headers = curl_slist_append(headers, "Expect:");
  headers = curl_slist_append(headers, "Content-Type:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (t.stopped) return resp;
  if (t.cancelled) return Status::Error("cancelled");
  if (rc != CURLE_OK) {
    std::string why;
    if (rc == CURLE_COULDNT_CONNECT) {
      why = "dial tcp " + hostport_ + ": connect: connection refused";
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
      why = "context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
    } else if (rc == CURLE_COULDNT_RESOLVE_HOST) {
      why = "dial tcp: lookup " + hostport_ + ": no such host";
    } else if (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR) {
      why = "EOF";
    } else {
      why = curl_easy_strerror(rc);
    }
    return Status::Error(MethodTitle(m) + " \"" + url + "\": " + why);
  }
  long status = 0;  // NOLINT(google-runtime-int)
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  resp.status = status;
  return resp;
}

}  // namespace beacon::http
