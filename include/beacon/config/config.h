// Agent configuration: command-line flags plus JSON/YAML config files, merged into plain structs.
//
// Contract: parsing happens once at start-up (and again on reload) on the main thread. The
// result is a plain value that other modules copy what they need from; nothing here touches the
// network. Errors name the file, the line (when the format gives one) and the key, e.g.
//   "conf/web.json:4: service.port: expected a number between 0 and 65535".
// An invalid service or check definition is an error (the agent refuses to start; a reload keeps
// the old config).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/catalog/dns_settings.h"
#include "beacon/catalog/types.h"
#include "beacon/core/status.h"

namespace beacon::config {

// The DNS settings are the catalog's type (the snapshot carries them to the DNS workers); the
// config parses into it under its config-side names.
using SoaConfig = catalog::SoaSettings;
using DnsConfig = catalog::DnsSettings;

struct Ports {
  int dns = 8600;
  int http = 8500;
  int serf_lan = 8301;
  int server = 8300;
};

// etcd client settings for kv_backend "etcd" (issue 10): `etcd { endpoints, dial_timeout,
// request_timeout, prefix, tls { ca_file, cert_file, key_file }, transport }`.
struct EtcdConfig {
  std::vector<std::string> endpoints;  // http://host:port; -etcd-endpoints a,b,c
  uint64_t dial_timeout_ms = 5000;
  uint64_t request_timeout_ms = 10000;
  std::string prefix = "/beacon/";  // Beacon's keys in etcd live under it
  std::string ca_file, cert_file, key_file;
  // transport: "grpc" (txns and the watch over gRPC, h2c; https endpoints still use the gateway)
  // or "gateway" (everything through etcd's v3 JSON gateway).
  std::string transport = "grpc";
  // compaction_interval: how often the server agents compact etcd's history (each time up to the
  // revision the previous pass saw, so at least one interval of history stays for watchers that
  // reconnect). 0 turns it off, for an etcd that compacts itself (--auto-compaction-retention).
  uint64_t compaction_interval_ms = 300000;
  // supervise / -etcd-supervise (server agents): run a local etcd member as a child, data in
  // <data_dir>/etcd, on bind_addr:client_port/peer_port (agent/etcd_supervisor.h); endpoints
  // then default to the supervised members' client URLs.
  bool supervise = false;
  int client_port = 2379;                // client_port / -etcd-client-port
  int peer_port = 2380;                  // peer_port / -etcd-peer-port
  std::string binary = "/usr/bin/etcd";  // binary: the etcd executable (Debian's etcd-server)
};

// telemetry { ... }: what /v1/agent/metrics shows (core/metrics.h).
struct Telemetry {
  // Accepted as Consul's; Beacon serves ?format=prometheus whatever its value (Consul refuses
  // the format while it is 0) and keeps no samples in memory (every series is cumulative).
  uint64_t prometheus_retention_ms = 0;
  // false (Consul's default): gauges named consul.* carry the hostname (consul.<host>.state.nodes).
  bool disable_hostname = false;
  // Beacon extension: count DNS answers by type/rcode and time them (off only to measure them).
  bool dns_metrics = true;
};

struct AgentConfig {
  std::string node_name;           // default: the hostname
  std::string datacenter = "dc1";  // lower-case
  std::string data_dir;
  std::vector<std::string> client_addrs = {"127.0.0.1"};  // DNS and HTTP listeners
  std::string bind_addr = "127.0.0.1";
  std::string advertise_addr;  // Node.Address; default: bind_addr (or 127.0.0.1 when 0.0.0.0)
  bool server = false;
  bool dev = false;
  // The web UI at /ui/ (-ui, `ui` or ui_config { enabled }): on by default with -dev, as Consul.
  bool ui = false;
  std::string log_level = "info";  // trace, debug, info, warn, error
  bool enable_script_checks = false;
  bool enable_local_script_checks = false;
  uint64_t check_output_max_size = 4096;  // bytes of check output kept (per check: output_max_size)
  std::map<std::string, std::string> node_meta;
  Ports ports;
  DnsConfig dns;
  // Beacon extension: worker threads for DNS (0 = one per core).
  int dns_workers = 0;
  // Beacon extension (dns_udp_batch_wait / -dns-udp-batch-wait): under load, how long a DNS
  // worker waits after a short UDP batch before reading again, so that batches grow (src/net/
  // udp_pacer.h); 0 turns it off. At most 1ms.
  uint64_t dns_udp_batch_wait_ns = 50'000;
  std::vector<catalog::Service> services;
  // Service checks carry service_id; node-level checks have it empty.
  std::vector<catalog::Check> checks;
  // Files read, in order (for log lines and reload).
  std::vector<std::string> sources;
  // -pid-file / pid_file: where the agent writes its pid ("" = nowhere).
  std::string pid_file;
  // Gossip (issue 8). start_join / -join: addresses joined once at start (failure is fatal, as
  // Consul); retry_join / -retry-join: retried every retry_interval until one answers, at most
  // retry_max times (0 = forever). An address without a port uses ports.serf_lan.
  std::vector<std::string> start_join;
  std::vector<std::string> retry_join;
  uint64_t retry_interval_ms = 30000;
  int retry_max = 0;
  int bootstrap_expect = 0;
  // encrypt / -encrypt: base64 gossip key (16, 24 or 32 bytes); empty = plain gossip.
  std::string encrypt;
  bool encrypt_verify_incoming = true;
  bool encrypt_verify_outgoing = true;
  // KV/session store (issue 10): "embedded" (LMDB in data_dir; in memory with -dev) or "etcd"
  // (kv_backend / -kv-backend; etcd.endpoints required).
  std::string kv_backend = "embedded";
  EtcdConfig etcd;
  Telemetry telemetry;
};

// Options given on the command line that are not config-file keys.
struct CommandLine {
  std::vector<std::string> config_dirs;
  std::vector<std::string> config_files;
  std::string catalog_seed;  // Beacon extension: JSON array of /v1/catalog/register bodies
  // Flag values that override files (applied last, as Consul does).
  std::vector<std::pair<std::string, std::string>> overrides;
  bool dev = false;
  // -config-format: "" (by extension), "json" or "yaml"; forces the parser for every file.
  std::string config_format;
};

// Parses `beacon agent` arguments (argv after "agent"). Accepts -flag value, -flag=value and the
// same with "--". Unknown flags are an error naming the flag.
Result<CommandLine> ParseAgentFlags(const std::vector<std::string>& args);

// Builds the full config: defaults (dev defaults when cl.dev), then config dirs (*.json, *.yaml,
// *.yml in alphabetical order, no subdirectories) and config files in order, then flag overrides.
// Later files replace scalars and append lists (services, checks).
Result<AgentConfig> Load(const CommandLine& cl);

// Loads and merges the given files or directories without flags; for `beacon validate`.
Result<AgentConfig> LoadPaths(const std::vector<std::string>& paths);

// Parses one config document held in memory. `name` is used in error messages; `yaml` selects
// the YAML parser instead of JSON. Merges into *cfg.
Status MergeDocument(std::string_view name, std::string_view text, bool yaml, AgentConfig* cfg);

// Reads a catalog seed file: a JSON array of Consul /v1/catalog/register bodies
// ({"Node","Address","Datacenter","TaggedAddresses","NodeMeta","Service":{...},"Check":{...},
// "Checks":[...]}), keys case-insensitive. Used by benchmarks and tests to load many nodes.
Result<std::vector<catalog::Registration>> LoadCatalogSeed(const std::string& path);
// The same file, streamed: calls fn for each entry in order (the record is only valid during the
// call, and fn may move from it) and stops at the first error, from parsing or from fn (its message
// gets the file and the entry index). *count (optional) receives the number of entries. The file is
// read and parsed about 1 MiB of entries at a time, so memory does not grow with its size: the
// agent loads its seed this way. A JSON syntax error is reported when its batch is reached, after
// the entries before it were passed to fn.
Status ForEachCatalogSeedEntry(const std::string& path,
                               const std::function<Status(catalog::Registration&)>& fn,
                               size_t* count = nullptr);

}  // namespace beacon::config
