// Socket helpers shared by the DNS listeners and the gossip transport (private to src/net).
#pragma once

#include <sys/socket.h>

#include <string>

namespace beacon::net::detail {

// "1.2.3.4" or "::1" and a port into a sockaddr; false when `addr` is not an IP literal.
bool ParseSockaddr(const std::string& addr, int port, sockaddr_storage* ss, socklen_t* len);

struct SocketOptions {
  bool reuse_port = false;  // SO_REUSEPORT (several sockets share the port)
  bool reuse_addr = false;  // SO_REUSEADDR (TCP listeners: restart without TIME_WAIT trouble)
  int rcvbuf = 0;           // SO_RCVBUF for datagram sockets; 0 keeps the default
};

// A bound, non-blocking, close-on-exec socket of `type` on addr:port (IPv6 sockets are
// v6-only), or -errno. *bound_port (optional) receives the port it got.
int BoundSocket(const std::string& addr, int port, int type, const SocketOptions& o,
                int* bound_port);

}  // namespace beacon::net::detail
