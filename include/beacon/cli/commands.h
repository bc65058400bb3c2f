// Command-line sub-commands that do not run the agent. Main thread; print to stdout, errors to
// stderr; return the process exit code (0 ok, 1 error) as Consul's CLI does.
#pragma once

#include <string>
#include <vector>

namespace beacon::cli {

int Version();
// `beacon validate <dir|file>...`: loads and checks the config, prints
// "Configuration is valid!" or the error naming file, line and key.
int Validate(const std::vector<std::string>& args);
// Usage text for `beacon` with no or an unknown sub-command.
int Usage(const std::string& unknown);

}  // namespace beacon::cli
