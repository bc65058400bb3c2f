// gossip_swarm's command line and address helpers. See gossip_swarm_args.h.
#include "gossip_swarm_args.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>

namespace swarm {
namespace {

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: gossip_swarm -join ADDR:PORT [-n 1000] [-base 127.1.0.1] [-port 18301]\n"
               "       [-churn FLIPS_PER_S] [-duration S] [-join-rate PEERS_PER_S]\n"
               "       [-join-timeout S] [-dc dc1] [-paused 0|1] [-initial-critical 0.5]\n"
               "       [-announce 0|1]\n"
               "SIGUSR1: churn on, SIGUSR2: churn off, SIGINT/SIGTERM: final stats and exit\n");
  std::exit(2);
}

}  // namespace

Args ParseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (i + 1 >= argc) Usage();
    const char* v = argv[++i];
    if (k == "-n")
      a.n = std::atoi(v);
    else if (k == "-base")
      a.base = v;
    else if (k == "-port")
      a.port = std::atoi(v);
    else if (k == "-join")
      a.join = v;
    else if (k == "-churn")
      a.churn = std::atof(v);
    else if (k == "-duration")
      a.duration = std::atof(v);
    else if (k == "-join-rate")
      a.join_rate = std::atof(v);
    else if (k == "-join-timeout")
      a.join_timeout = std::atof(v);
    else if (k == "-paused")
      a.paused = std::atoi(v) != 0;
    else if (k == "-initial-critical")
      a.initial_critical = std::atof(v);
    else if (k == "-announce")
      a.announce = std::atoi(v) != 0;
    else if (k == "-dc")
      a.dc = v;
    else
      Usage();
  }
  if (a.join.empty() || a.n < 1 || a.port < 1 || a.port > 65535 || a.join_rate <= 0) Usage();
  return a;
}

bool ParseEndpoint(const std::string& text, beacon::gossip::Endpoint* out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  unsigned char b[4];
  if (inet_pton(AF_INET, text.substr(0, colon).c_str(), b) != 1) return false;
  out->ip.assign(b, b + 4);
  out->port = static_cast<uint16_t>(std::atoi(text.c_str() + colon + 1));
  return out->port != 0;
}

std::string NthAddress(const std::string& base, int i) {
  in_addr a{};
  inet_pton(AF_INET, base.c_str(), &a);
  uint32_t h = ntohl(a.s_addr);
  for (int k = 0; k < i; ++k) {
    ++h;
    while ((h & 0xff) == 0 || (h & 0xff) == 255) ++h;
  }
  a.s_addr = htonl(h);
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

}  // namespace swarm
