// beacon: the one place that knows every module. Parses the sub-command and hands over.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "beacon/agent/agent.h"
#include "beacon/cli/commands.h"
#include "beacon/config/config.h"
#include "beacon/core/log.h"

namespace {

int RunAgent(const std::vector<std::string>& args) {
  auto cl = beacon::config::ParseAgentFlags(args);
  if (!cl.ok()) {
    std::fprintf(stderr, "==> %s\n", cl.status().message().c_str());
    return 1;
  }
  auto cfg = beacon::config::Load(cl.value());
  if (!cfg.ok()) {
    std::fprintf(stderr, "==> %s\n", cfg.status().message().c_str());
    return 1;
  }
  beacon::LogLevel level = beacon::LogLevel::kInfo;
  if (!beacon::ParseLogLevel(cfg->log_level, &level)) {
    std::fprintf(stderr, "==> invalid log level \"%s\"\n", cfg->log_level.c_str());
    return 1;
  }
  beacon::Logger log(level);
  beacon::agent::Agent agent(cl.value(), cfg.value(), log);
  beacon::Status st = agent.Start();
  if (!st.ok()) {
    BEACON_LOG(log, kError, "agent", "start failed: %s", st.message().c_str());
    return 1;
  }
  return agent.Run();
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args[0] == "agent") return RunAgent({args.begin() + 1, args.end()});
  beacon::cli::Io io{std::cout, std::cerr, std::cin, [](std::string_view name) {
                       const char* v = std::getenv(std::string(name).c_str());
                       return std::string(v == nullptr ? "" : v);
                     }};
  int rc = beacon::cli::Main(args, io);
  std::cout.flush();
  return rc;
}
