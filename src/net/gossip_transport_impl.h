// GossipTransport's insides. Internal to src/net. Everything runs on the transport thread except
// the constructor, Start() (before the thread exists), Stop()'s handshake, Post() and the stats'
// relaxed reads.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "beacon/core/thread_annotations.h"
#include "beacon/net/gossip_transport.h"

namespace beacon::net {

// One TCP connection, accepted (a peer's request we serve) or outgoing (our own request).
struct GossipConn {
  uv_tcp_t handle;
  uv_timer_t timer;  // the whole exchange's timeout; also defers failures found synchronously
  uv_connect_t connect;
  uv_write_t write;
  GossipTransport::Impl* owner = nullptr;
  std::uint64_t id = 0;
  bool outgoing = false;
  bool expects_reply = true;  // outgoing: read one reply frame after writing
  std::uint64_t token = 0;    // outgoing: the core's token
  gossip::Endpoint peer;
  gossip::Bytes in;                         // bytes read, not yet a whole frame
  gossip::Bytes out;                        // the buffer being written
  std::size_t frame = 0;                    // the frame's size once StreamFrameSize knows it
  bool connected = false, written = false;  // outgoing: how far it got
  std::string failure;  // outgoing: why it failed before connecting (reported from the timer)
  bool closing = false;
  int close_left = 0;
};

class GossipTransport::Impl {
 public:
  Impl(GossipTransportOptions opts, GossipCore& core, const Logger& log);
  ~Impl();

  Status Start();
  void Stop();
  void Post(std::function<void(std::uint64_t)> fn);
  GossipStats Stats() const;
  int port() const { return port_; }
  static std::uint64_t NowMs();

  // libuv callbacks (trampolines in the .cpp files).
  void OnUdp(ssize_t n, const uv_buf_t* buf, const sockaddr* addr, unsigned flags);
  void OnTimer();
  void OnPostAsync();
  void OnStopAsync();
  void OnConnection(uv_stream_t* server, int status);
  void OnRead(GossipConn* c, ssize_t n);
  void OnConnected(GossipConn* c, int status);
  void OnWritten(GossipConn* c, int status);
  void OnConnTimer(GossipConn* c);

  char* udp_buffer() { return udp_buf_.data(); }
  std::size_t udp_buffer_size() const { return udp_buf_.size(); }

 private:
  // gossip_transport.cpp
  Status Open();  // Start() without the once-only check: binds, starts the thread
  void Run();
  void CloseLoop();  // closes every connection and handle (the loop then runs out)
  void Pump();       // after an input: flush outputs, re-arm the timer, AfterInput, flush again
  void Flush();
  void SendPacket(const gossip::OutPacket& p);
  void ArmTimer();

  // gossip_transport_tcp.cpp
  void StartStream(gossip::OutStream s);
  void ServeFrame(GossipConn* c);
  // Closes `c` and hands the reply to the core, or (nullopt) the failure's `error` text.
  void FinishOutgoing(GossipConn* c, std::optional<gossip::Bytes> reply, std::string error = {});
  // Go's net error text for an outgoing stream: "read tcp 127.0.0.1:5->127.0.0.1:7946: what".
  static std::string GoError(GossipConn* c, const char* op, const std::string& what);
  void CloseConn(GossipConn* c);
  GossipConn* NewConn(bool outgoing);
  void StartWrite(GossipConn* c);  // writes c->out

  const GossipTransportOptions opts_;
  GossipCore& core_;
  const Logger& log_;
  int port_ = 0;
  int family_ = AF_INET;  // of the bound sockets

  uv_loop_t loop_;
  bool loop_init_ = false;
  uv_udp_t udp_;
  uv_tcp_t listener_;
  uv_timer_t timer_;
  uv_async_t post_async_;
  uv_async_t stop_async_;
  std::vector<char> udp_buf_;
  std::unordered_map<std::uint64_t, GossipConn*> conns_;  // open ones, by id
  std::size_t accepted_open_ = 0;
  std::uint64_t next_conn_id_ = 1;
  bool stopping_ = false;  // transport thread: the loop is closing, never call the core again

  std::thread thread_;
  Mutex mu_;
  bool accepting_posts_ GUARDED_BY(mu_) = true;
  bool started_ GUARDED_BY(mu_) = false;
  bool running_ GUARDED_BY(mu_) = false;  // the thread exists and has not been told to stop
  std::vector<std::function<void(std::uint64_t)>> posts_ GUARDED_BY(mu_);

  std::atomic<std::uint64_t> packets_in_{0}, packets_out_{0}, bytes_in_{0}, bytes_out_{0},
      streams_in_{0}, streams_out_{0}, stream_errors_{0}, dropped_{0};
};

// Endpoint <-> sockaddr (gossip_transport.cpp). IPv4-mapped IPv6 addresses come out as 4 bytes;
// `family` is the socket's (a 4-byte endpoint on an AF_INET6 socket becomes v4-mapped).
gossip::Endpoint EndpointOf(const sockaddr* sa);
bool SockaddrOf(const gossip::Endpoint& e, int family, sockaddr_storage* out);

}  // namespace beacon::net
