// GET /v1/agent/monitor[?loglevel=]: streams the agent's log lines at or above the level
// (default info) as a chunked text/plain response until the client leaves. The subscription's
// buffer is bounded (256 KiB); lines that do not fit while the client is slow are dropped and a
// note says how many. Loop thread; the Logger must outlive the server.
#pragma once

#include "beacon/core/log.h"
#include "beacon/http/server.h"

namespace beacon::http {

void AddMonitorRoute(Router& router, const Logger& log);

}  // namespace beacon::http
