// One DNS worker: a libuv loop with its UDP and TCP listeners, send queue and forwarder.
// Internal to src/net. Everything here runs on the worker's own thread except Stop() and the
// counters' relaxed reads.
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "beacon/catalog/hub.h"
#include "beacon/core/log.h"
#include "beacon/dns/answer.h"
#include "beacon/dns/wire.h"
#include "beacon/net/dns_metrics.h"
#include "beacon/net/udp_pacer.h"

namespace beacon::net {

struct TcpConn;

class DnsWorker {
 public:
  // udp_wait_ns: receive coalescing under load (udp_pacer.h); 0 turns it off.
  DnsWorker(int index, catalog::SnapshotHub& hub, const Logger& log, uint32_t tcp_idle_ms,
            uint32_t max_tcp_conns, uint64_t udp_wait_ns);
  ~DnsWorker();

  // Before Run(): adopt already-bound sockets (UDP datagram fd / TCP listening fd).
  int AddUdp(int fd);
  int AddTcp(int fd);
  // Worker thread: runs the loop until Stop().
  void Run();
  // Any thread.
  void Stop();

  dns::Counters Snapshot() const;
  // Before Run(): whether answers are counted by type/rcode and timed (dns_metrics.h).
  void EnableMetrics(bool on) { metrics_on_ = on; }
  const DnsWorkerMetrics& metrics() const { return qm_; }

  // A UDP listening socket: readiness from libuv (uv_poll_t), reads and writes by the worker.
  struct UdpListener {
    uv_poll_t poll;
    int fd;
    UdpPacer pacer;
  };

  // Callbacks (libuv C trampolines live in the .cpp).
  void OnUdpReadable(UdpListener* u);
  void OnCheck();
  void OnConnection(uv_stream_t* server);
  void OnTcpData(TcpConn* c, ssize_t n, const uv_buf_t* buf);
  void CloseConn(TcpConn* c);
  void OnUpstream(ssize_t n, const uv_buf_t* buf, const sockaddr* addr);
  void OnForwardTimeout(uint16_t up_id);

  uv_loop_t* loop() { return &loop_; }

 private:
  // A query waiting on the recursors (forwarder.cpp): either relayed as it is (kRelay) or a
  // hostname lookup whose reply completes our own answer (kResolve).
 public:
  struct UpstreamTcp;

 private:
  struct Pending {
    enum Mode : uint8_t { kRelay, kResolve };
    DnsWorker* worker = nullptr;
    Mode mode = kRelay;
    bool tcp = false;  // ask the recursor over TCP (a TCP client's relayed query)
    uint16_t up_id = 0;
    uint16_t client_id = 0;
    std::vector<uint8_t> client_query;  // as the client sent it
    std::vector<uint8_t> up_query;      // what goes to the recursor (its ID is up_id)
    std::vector<uint8_t> fallback;      // kResolve: the reply to send if no recursor answers
    sockaddr_storage client{};
    int client_fd = -1;     // UDP client: the socket it came in on
    uint64_t tcp_conn = 0;  // TCP client: its connection id
    std::vector<sockaddr_storage> recursors;
    size_t tried = 0;
    size_t next = 0;
    uint32_t timeout_ms = 2000;
    UpstreamTcp* up_tcp = nullptr;
    uv_timer_t timer;
  };

  struct Datagram {
    int fd;  // the listening socket it came in on (the reply leaves through it)
    const uint8_t* pkt;
    size_t len;
    const sockaddr* addr;
  };
  void AnswerBatch();
  void AnswerOne(const Datagram& d);
  void Flush();
  void SendEach(int fd, const msghdr& gso);  // a refused GSO message's replies, one by one
  void Pin();
  void Unpin();
  // Starts a recursor exchange for a client query. `fallback` (kResolve) is the reply already
  // built, sent as it is when no recursor answers.
  void Forward(Pending::Mode mode, const uint8_t* q, size_t len, const sockaddr* client, int via_fd,
               uint64_t tcp_conn, const uint8_t* fallback, size_t fallback_len);
  void SendToRecursor(Pending& p);
  void FinishForward(Pending& p, const uint8_t* reply, size_t len);
  // An upstream answer for p (UDP or TCP): a response with NOERROR/NXDOMAIN finishes it.
  void Answered(Pending& p, const uint8_t* reply, size_t len);

 public:
  void OnUpstreamReply(uint16_t up_id, const uint8_t* reply, size_t len);
  void OnUpstreamFailure(uint16_t up_id);

 private:
  void ReplyTo(const Pending& p, const uint8_t* data, size_t len);
  void PublishCounters();
  // Metrics (dns_metrics.h): a reply leaving for a query of `qtype`; a relayed one by its bytes.
  // A FORMERR's question may not have parsed: its type is "other" (0).
  void CountReply(uint16_t qtype, uint8_t rcode) {
    if (metrics_on_) qm_.Record(rcode == dns::kFormErr ? 0 : qtype, rcode);
  }
  void CountRelayed(const std::vector<uint8_t>& query, const uint8_t* reply, size_t len);
  static uint64_t NowNs();

  int index_;
  const Logger& log_;
  uint32_t tcp_idle_ms_;
  uint32_t max_tcp_conns_;
  uint64_t udp_wait_ns_;
  std::unique_ptr<catalog::SnapshotHub::Reader> reader_;
  const catalog::Snapshot* snap_ = nullptr;  // pinned for the current batch

  uv_loop_t loop_;
  uv_async_t stop_;
  uv_check_t check_;
  std::vector<std::unique_ptr<UdpListener>> udp_;
  std::vector<std::unique_ptr<uv_tcp_t>> tcp_;

  // Upstream (recursor) replies land here (64 KiB, through libuv).
  std::vector<char> rbuf_;
  // UDP queries: one recvmmsg(2) reads up to kRecv datagrams into slots of kSlot bytes each
  // (spaced kSlotStride apart so that their first lines do not share a cache set).
  static constexpr size_t kRecv = 64;
  static constexpr size_t kSlot = 4096;
  static constexpr size_t kSlotStride = kSlot + 64;
  std::vector<uint8_t> slots_;
  mmsghdr rmsgs_[kRecv];
  iovec riovs_[kRecv];
  sockaddr_storage rfrom_[kRecv];
  // The datagrams answered together (their catalog lookups prefetched in stages first).
  static constexpr size_t kBatch = 32;
  Datagram batch_[kBatch];
  size_t nbatch_ = 0;
  // Send queue: replies written into one arena, sent with sendmmsg.
  static constexpr size_t kArena = 1 << 20;
  static constexpr size_t kMaxQueue = 256;
  std::vector<uint8_t> arena_;
  size_t arena_used_ = 0;
  struct Out {
    int fd;
    sockaddr_storage addr;
    socklen_t addrlen;
    size_t off, len;
  };
  std::vector<Out> queue_;
  // One message per reply, or per group of equal-length replies to one destination sent with UDP
  // GSO (Flush). Groups stay at or below 512-byte replies, which fit any path MTU a DNS client
  // can use, and at most 64 segments (the kernel's UDP_MAX_SEGMENTS).
  static constexpr size_t kGsoMaxSegment = 512;
  static constexpr size_t kGsoMaxSegments = 64;
  union Cmsg {
    cmsghdr h;
    char space[CMSG_SPACE(sizeof(uint16_t))];
  };
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  std::vector<Cmsg> cmsgs_;
  std::vector<int> msg_fd_;
  bool gso_ = true;  // off after the kernel refuses a segmented send

  dns::Scratch scratch_;
  dns::Counters counters_;
  uint64_t send_errors_ = 0;
  // Published copies of counters_ for other threads.
  std::atomic<uint64_t> pub_[10] = {};
  uint64_t batches_ = 0;
  bool metrics_on_ = true;
  DnsWorkerMetrics qm_;  // own cache lines, written by this worker only

  // TCP.
  uint64_t next_conn_id_ = 1;
  std::unordered_map<uint64_t, TcpConn*> conns_;
  uint64_t tcp_rejected_ = 0;
  std::vector<uint8_t> tcp_out_;

  // Forwarder.
  std::unique_ptr<uv_udp_t> up_;
  bool up_open_ = false;
  std::unordered_map<uint16_t, std::unique_ptr<Pending>> pending_;
  std::vector<uint8_t> fwd_out_;  // replies rebuilt after a hostname resolution
};

}  // namespace beacon::net
