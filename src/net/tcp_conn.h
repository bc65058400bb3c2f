// A DNS-over-TCP connection owned by a DnsWorker. Internal to src/net.
#pragma once

#include <uv.h>

#include <cstdint>
#include <vector>

namespace beacon::net {

class DnsWorker;

struct TcpConn {
  uv_tcp_t handle;
  uv_timer_t idle;
  DnsWorker* worker = nullptr;
  uint64_t id = 0;
  std::vector<uint8_t> in;       // bytes received, not yet a whole message
  std::vector<uint8_t> pending;  // replies waiting for the write in flight
  std::vector<uint8_t> writing;  // the buffer of the write in flight
  uv_write_t req;
  bool write_in_flight = false;
  bool closing = false;
  int close_left = 0;       // handles still to close
  sockaddr_storage peer{};  // the client (family 0: unknown)
};

// Sends c->pending (REQUIRES: no write in flight).
void TcpStartWrite(TcpConn* c);

}  // namespace beacon::net
