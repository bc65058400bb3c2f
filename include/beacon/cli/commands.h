// The `beacon` command line (everything except `beacon agent`): a table of Consul-compatible
// commands that talk HTTP to an agent.
//
// Contract: Main runs on the calling thread and returns the process exit code (0 ok, 1 error,
// 2 where Consul uses it). Output goes through Io so tests can capture it; child processes
// started by watch/lock inherit the real file descriptors 0-2. Commands that run until
// interrupted (watch, lock, monitor) block SIGINT/SIGTERM while they run and end cleanly when
// one is pending.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::cli {

struct Io {
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  // Environment lookup; "" when unset.
  std::function<std::string(std::string_view)> env;
};

// argv after the program name; args[0] is the command. `agent` is not handled here.
int Main(const std::vector<std::string>& args, Io& io);

// Kept for main.cpp and older callers.
int Version();
int Validate(const std::vector<std::string>& args);
int Usage(const std::string& unknown);

}  // namespace beacon::cli
