#include "beacon/cli/commands.h"

#include <cstdio>

#include "beacon/config/config.h"

namespace beacon::cli {

int Version() {
  std::printf("Beacon v%s\nProtocol compatibility: Consul DNS (legacy) and HTTP API v1\n",
              BEACON_VERSION);
  return 0;
}

int Validate(const std::vector<std::string>& args) {
  std::vector<std::string> paths;
  for (const auto& a : args) {
    if (a == "-quiet" || a == "--quiet") continue;
    paths.push_back(a);
  }
  if (paths.empty()) {
    std::fprintf(stderr, "Must specify at least one config file or directory\n");
    return 1;
  }
  auto cfg = config::LoadPaths(paths);
  if (!cfg.ok()) {
    std::fprintf(stderr, "Config validation failed: %s\n", cfg.status().message().c_str());
    return 1;
  }
  std::printf("Configuration is valid!\n");
  return 0;
}

int Usage(const std::string& unknown) {
  if (!unknown.empty()) std::fprintf(stderr, "Unknown command: \"%s\"\n\n", unknown.c_str());
  std::fprintf(stderr,
               "Usage: beacon [--version] <command> [args]\n\n"
               "Available commands are:\n"
               "    agent       Runs a Beacon agent (Consul-compatible flags)\n"
               "    validate    Validate config files/directories\n"
               "    version     Prints the Beacon version\n");
  return 1;
}

}  // namespace beacon::cli
