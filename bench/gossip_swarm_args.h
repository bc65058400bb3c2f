// gossip_swarm's command line and address helpers (see gossip_swarm.cpp for the tool).
#pragma once

#include <string>

#include "beacon/gossip/membership.h"

namespace swarm {

struct Args {
  int n = 1000;
  std::string base = "127.1.0.1";
  int port = 18301;
  std::string join;      // ADDR:PORT of the target agent
  double churn = 10;     // flips per second, cluster-wide
  double duration = 60;  // seconds of churn (after the joins); 0: until SIGINT/SIGTERM
  double join_rate = 100;
  double join_timeout = 120;
  std::string dc = "dc1";
  bool paused = false;            // start with churn off (SIGUSR1 turns it on)
  double initial_critical = 0.5;  // share of peers whose check starts critical
  bool announce = false;          // gossip each joiner's record to everyone (a real agent does)
};

// Parses argv; prints the usage and exits 2 on a bad or missing flag.
Args ParseArgs(int argc, char** argv);
// "1.2.3.4:8301" into an endpoint; false when it is not an IPv4 address and a port.
bool ParseEndpoint(const std::string& text, beacon::gossip::Endpoint* out);
// The i-th address from base, skipping .0 and .255 in the last byte.
std::string NthAddress(const std::string& base, int i);

}  // namespace swarm
