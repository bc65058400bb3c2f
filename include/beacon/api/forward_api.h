// The KV, session, txn and status endpoints of a client agent (not -server): each request is
// relayed to a server's server port by an http::Forwarder (Consul's clients forward these over
// RPC; Beacon's servers serve the same HTTP API on that port).
//
// Contract:
// - AddForwardRoutes registers on `router`, with the methods the server routes have:
//     GET/PUT/DELETE /v1/kv/<key>
//     PUT /v1/session/create, /v1/session/destroy/<id>, /v1/session/renew/<id>
//     GET /v1/session/info/<id>, /v1/session/node/<node>, /v1/session/list
//     PUT /v1/txn
//     GET /v1/status/leader, /v1/status/peers (replacing the catalog's local answers)
//     GET /v1/operator/raft/configuration, DELETE /v1/operator/raft/peer
//     GET/PUT /v1/snapshot
//   Each handler calls opts.servers() (on the HTTP loop thread, once per request: it must be
//   cheap and must not block) and hands the request to Forwarder::Forward.
// - PUT /v1/session/create without a Node gets this agent's node (opts.node_name), as Consul's
//   client agents fill it in: the session belongs to the client's node, not the server's.
// - Blocking reads block on the server; the client relays its X-Consul-Index and other headers.
// - `fwd` must outlive the server the router goes to (or be stopped after it).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "beacon/http/forwarder.h"
#include "beacon/http/server.h"

namespace beacon::http {

struct ForwardApiOptions {
  // This agent's node name: the default Node of a session created through it.
  std::string node_name;
  // The live servers, "host:port" of their server port (gossip tags `port`), in preference order.
  std::function<std::vector<std::string>()> servers;
};

void AddForwardRoutes(Router& router, Forwarder& fwd, ForwardApiOptions opts);

// The path prefixes a server agent serves on its server port (HttpServerOptions::ExtraListener):
// what client agents forward, and nothing else (not /v1/agent/: script checks, reload).
std::vector<std::string> ServerPortPaths();

// Body of a forwarded session create: `body` with "Node":<node> added when it names no node.
// Bodies that are not a JSON object are left for the server to reject.
std::string SessionCreateBody(const std::string& body, const std::string& node);

}  // namespace beacon::http
