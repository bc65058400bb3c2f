// GossipTransport's TCP paths against raw sockets and fake cores: accepted streams across partial
// reads, empty and oversize; outgoing streams refused, timed out, read whole, one-way; the
// connection limit and idle timeout; Stop() with connections and streams open.
#include <doctest.h>
#include <algorithm>

#include "gossip_test_util.h"

namespace beacon::net {
using namespace nettest;

TEST_CASE("an accepted stream is served across partial reads; an empty reply closes silently") {
  Logger log(LogLevel::kError);
  FakeCore core;
  core.SetStreamReply(Bytes{'o', 'k'});
  GossipTransport t(Ephemeral(), core, log);
  REQUIRE(t.Start().ok());
  const Bytes frame = PingFrame();

  const int fd = Connect(t.port());
  REQUIRE(fd >= 0);
  SendAll(fd, Bytes(frame.begin(), frame.begin() + 3));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(core.Requests().empty());  // not a whole frame yet
  SendAll(fd, Bytes(frame.begin() + 3, frame.end()));
  CHECK(ReadToClose(fd) == Bytes{'o', 'k'});
  close(fd);
  REQUIRE(core.Requests().size() == 1);
  CHECK(core.Requests()[0] == frame);
  CHECK(t.stats().streams_in == 1);

  core.SetStreamReply(Bytes{});
  const int fd2 = Connect(t.port());
  REQUIRE(fd2 >= 0);
  SendAll(fd2, frame);
  CHECK(ReadToClose(fd2) == Bytes{});
  close(fd2);
  CHECK(t.stats().streams_in == 2);

  // A frame announcing more than max_stream_bytes is refused before it is read.
  GossipTransportOptions small = Ephemeral();
  small.max_stream_bytes = 16;
  FakeCore core2;
  GossipTransport t2(small, core2, log);
  REQUIRE(t2.Start().ok());
  const int fd3 = Connect(t2.port());
  REQUIRE(fd3 >= 0);
  Bytes big(40, 0xab);                  // more than max_stream_bytes arrive before it is whole
  const Bytes head = {10, 0, 0, 1, 0};  // encrypted, 256 bytes announced
  std::copy(head.begin(), head.end(), big.begin());
  SendAll(fd3, big);
  CHECK(ReadToClose(fd3) == Bytes{});
  close(fd3);
  CHECK(WaitFor([&] { return t2.stats().dropped == 1; }));
  CHECK(core2.Requests().empty());
}

TEST_CASE("outgoing streams: refused and silent peers fail in time, a reply is read whole") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransport t(Ephemeral(400), core, log);
  REQUIRE(t.Start().ok());

  const auto refused_at = Clock::now();
  const auto closed = static_cast<std::uint16_t>(ClosedPort());
  t.Post([&](std::uint64_t) { core.Request(1, closed, PingFrame()); });
  REQUIRE(WaitFor([&] { return core.Replies().size() == 1; }, 5000));
  CHECK(core.Replies()[0].token == 1);
  CHECK_FALSE(core.Replies()[0].bytes.has_value());
  CHECK(core.Replies()[0].at - refused_at < std::chrono::milliseconds(350));  // not the timeout
  // The reason, as Go's net package words it (memberlist's join errors quote it).
  REQUIRE(core.Errors().size() == 1);
  CHECK(core.Errors()[0] ==
        "dial tcp 127.0.0.1:" + std::to_string(closed) + ": connect: connection refused");

  SilentListener silent;
  const auto silent_at = Clock::now();
  t.Post([&](std::uint64_t) {
    core.Request(2, static_cast<std::uint16_t>(silent.port), PingFrame());
  });
  REQUIRE(WaitFor([&] { return core.Replies().size() == 2; }, 5000));
  CHECK(core.Replies()[1].token == 2);
  CHECK_FALSE(core.Replies()[1].bytes.has_value());
  CHECK(core.Replies()[1].at - silent_at >= std::chrono::milliseconds(350));
  REQUIRE(core.Errors().size() == 2);
  CHECK(core.Errors()[1].starts_with("read tcp 127.0.0.1:"));
  CHECK(core.Errors()[1].ends_with("->127.0.0.1:" + std::to_string(silent.port) + ": i/o timeout"));
  CHECK(t.stats().stream_errors == 2);

  // A server answering a whole frame in two pieces, then trailing bytes and no close: the
  // reply is complete at the frame's end.
  SilentListener server;
  std::thread serve([&] {
    timeval tv{5, 0};
    setsockopt(server.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int c = accept(server.fd, nullptr, nullptr);
    if (c < 0) return;
    std::uint8_t buf[256];
    (void)recv(c, buf, sizeof buf, 0);
    const Bytes reply = PingFrame();
    send(c, reply.data(), 2, MSG_NOSIGNAL);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Bytes rest(reply.begin() + 2, reply.end());
    rest.push_back(0xff);
    send(c, rest.data(), rest.size(), MSG_NOSIGNAL);
    (void)recv(c, buf, sizeof buf, 0);  // until the transport closes
    close(c);
  });
  t.Post([&](std::uint64_t) {
    core.Request(3, static_cast<std::uint16_t>(server.port), PingFrame());
  });
  const bool got = WaitFor([&] { return core.Replies().size() == 3; }, 5000);
  serve.join();
  REQUIRE(got);
  CHECK(core.Replies()[2].token == 3);
  CHECK(core.Replies()[2].bytes == PingFrame());
  CHECK(t.stats().streams_out == 3);
}

TEST_CASE("a one-way stream (a kind past kPing: kUser) is written and closed, no reply read") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransport t(Ephemeral(2000), core, log);
  REQUIRE(t.Start().ok());
  SilentListener server;
  Bytes received;
  bool eof = false;
  std::thread serve([&] {
    timeval tv{5, 0};
    setsockopt(server.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const int c = accept(server.fd, nullptr, nullptr);
    if (c < 0) return;
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const std::optional<Bytes> got = ReadToClose(c);  // never answers
    eof = got.has_value();
    if (got) received = *got;
    close(c);
  });
  // kUser on the gossip branch that adds it (OutStream::Kind{2}); any kind other than kPushPull
  // and kPing is one-way.
  const auto one_way = static_cast<gossip::OutStream::Kind>(2);
  t.Post([&](std::uint64_t) {
    core.Request(5, static_cast<std::uint16_t>(server.port), PingFrame(), one_way);
  });
  const bool done = WaitFor([&] { return core.Replies().size() == 1; }, 5000);
  serve.join();
  REQUIRE(done);
  CHECK(core.Replies()[0].token == 5);
  CHECK(core.Replies()[0].bytes == Bytes{});  // success, nothing read
  CHECK(eof);
  CHECK(received == PingFrame());
  CHECK(t.stats().stream_errors == 0);
}

TEST_CASE("connections over max_connections are closed at once; idle ones time out") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransportOptions o = Ephemeral(300);
  o.max_connections = 1;
  GossipTransport t(o, core, log);
  REQUIRE(t.Start().ok());
  const int first = Connect(t.port());
  REQUIRE(first >= 0);
  const int second = Connect(t.port());
  REQUIRE(second >= 0);
  CHECK(ReadToClose(second) == Bytes{});
  CHECK(WaitFor([&] { return t.stats().dropped == 1; }));
  CHECK(ReadToClose(first) == Bytes{});  // after tcp_timeout_ms without a request
  CHECK(WaitFor([&] { return t.stats().stream_errors == 1; }));
  close(first);
  close(second);
}

TEST_CASE("Stop() with connections and streams open is prompt and calls the core no more") {
  Logger log(LogLevel::kError);
  FakeCore core;
  GossipTransport t(Ephemeral(10000), core, log);
  REQUIRE(t.Start().ok());
  SilentListener silent;
  t.Post([&](std::uint64_t) {
    core.Request(9, static_cast<std::uint16_t>(silent.port), PingFrame());
  });
  const int fd = Connect(t.port());
  REQUIRE(fd >= 0);
  SendAll(fd, Bytes{6});  // the first byte of a push-pull
  REQUIRE(WaitFor([&] { return t.stats().streams_out == 1; }));
  const auto before = Clock::now();
  t.Stop();
  CHECK(Clock::now() - before < std::chrono::seconds(2));
  CHECK(ReadToClose(fd) == Bytes{});
  close(fd);
  CHECK(core.Replies().empty());
  t.Stop();  // idempotent
  bool ran = false;
  t.Post([&](std::uint64_t) { ran = true; });  // dropped after Stop
  CHECK_FALSE(ran);
}

}  // namespace beacon::net
