// Watcher: the blocking queries behind `beacon template`. Each watched Consul path (with its
// query string) is one libcurl easy transfer in one curl multi handle, re-issued with
// `index=<X-Consul-Index>&wait=60000ms&stale` as consul-template's client does, so an idle
// watch costs one parked request per minute. The latest answer per path (200 with its body, or
// 404) is kept; a failed request is retried with backoff (250 ms doubling to 1 min) and the
// last good answer stays; the retry asks without an index, so it answers at once. After
// retry.attempts consecutive failures of one path (0 = never) Poll returns an error, as
// consul-template gives up after its retry attempts.
//
// Contract: single thread (the runner's). Poll drives every transfer and waits at most
// timeout_ms (also waking when `extra_fd` is readable); pointers from Get stay valid until the
// next Poll or Remove. No curl type appears here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "beacon/core/log.h"
#include "beacon/core/status.h"
#include "beacon/tmpl/template.h"
#include "template_internal.h"

namespace beacon::cli::tpl {

class Watcher {
 public:
  Watcher(const std::string& address, const std::string& token, const Logger& log, Retry retry);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Starts watching `path` (no-op when watched already).
  void Add(const std::string& path);
  void Remove(const std::string& path);
  bool Has(const std::string& path) const;
  std::vector<std::string> Paths() const;
  // Latest answer; nullptr before the first one arrived.
  const tmpl::Fetch* Get(const std::string& path) const;

  // Runs transfers for up to timeout_ms. *changed gets the paths whose answer changed;
  // *fd_ready tells whether extra_fd (-1: none) became readable.
  Status Poll(int64_t timeout_ms, int extra_fd, bool* fd_ready, std::vector<std::string>* changed);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace beacon::cli::tpl
