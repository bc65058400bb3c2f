// Names the calling thread (Linux: up to 15 bytes, longer names are cut), so `top -H`, `ps -L`
// and the benchmarks (bench/procstat.py --threads) can tell the agent's threads apart:
// beacon-dns-N (DNS workers), beacon-http, beacon-health, beacon-kv, beacon-wal, beacon-persist,
// and on etcd beacon-etcdwN (store writers), beacon-etcdwat (its watch), beacon-etcdval, etcd-*.
// The agent's own loop keeps the process name.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>

namespace beacon::core {

inline void SetThreadName(std::string_view name) {
  const std::string n(name.substr(0, 15));
  pthread_setname_np(pthread_self(), n.c_str());
}

}  // namespace beacon::core
