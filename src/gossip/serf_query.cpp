// Serf's queries (query.go, serf.go's Query/handleQuery/handleQueryResponse) and the internal
// queries Serf answers itself (internal_query.go): ping, conflict and the keyring operations.
#include <algorithm>
#include <cmath>
#include <limits>

#include "beacon/core/base64.h"
#include "beacon/gossip/serf.h"

namespace beacon::gossip {

namespace {
constexpr std::uint32_t kQueryFlagAck = 1, kQueryFlagNoBroadcast = 2;
constexpr std::uint64_t kQueryTimeoutMult = 16;
constexpr std::size_t kMinEncodedKeyLength = 25;

std::string KeyText(const Bytes& key) {
  return core::Base64Encode(
      std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
}
}  // namespace

std::uint64_t Serf::DefaultQueryTimeoutMs() const {
  const double n = static_cast<double>(ml_->NumAlive());
  const auto mult = static_cast<std::uint64_t>(std::ceil(std::log10(n + 1)));
  return cfg_.memberlist.gossip_interval_ms * kQueryTimeoutMult * std::max<std::uint64_t>(1, mult);
}

Result<std::uint64_t> Serf::Query(std::uint64_t now, const std::string& name, Bytes payload,
                                  QueryParams params) {
  now_ = now;
  if (params.timeout_ms == 0) params.timeout_ms = DefaultQueryTimeoutMs();
  const MemberState& self = members_.at(name_);
  SerfQuery q;
  q.ltime = query_clock_.t;
  q.id = static_cast<std::uint32_t>(rng_() & 0x7fffffffu);
  q.addr = self.info.addr;
  q.port = self.info.port;
  q.source_node = name_;
  q.flags = params.request_ack ? kQueryFlagAck : 0;
  q.timeout_ns = static_cast<std::int64_t>(params.timeout_ms) * 1000000;
  q.name = name;
  q.payload = std::move(payload);
  Bytes raw = EncodeSerf(q);
  if (raw.size() > kQuerySizeLimit) {
    return Status::Error("query exceeds limit of " + std::to_string(kQuerySizeLimit) + " bytes");
  }
  const std::uint64_t handle = next_query_handle_++;
  OutQuery& out = out_queries_[q.ltime];
  out = OutQuery{};
  out.handle = handle;
  out.id = q.id;
  out.deadline_ms = now + params.timeout_ms;
  out.pending.handle = handle;
  HandleQuery(q);  // as Serf: processed locally first (we answer our own query too)
  query_broadcasts_.Queue({}, std::move(raw));
  return handle;
}

std::vector<QueryResult> Serf::TakeQueryResults() {
  std::vector<QueryResult> out = std::exchange(query_results_, {});
  for (auto& [ltime, q] : out_queries_) {
    if (q.pending.acks.empty() && q.pending.responses.empty()) continue;
    out.push_back(std::exchange(q.pending, QueryResult{q.handle, {}, {}, false}));
  }
  return out;
}

void Serf::QueryTimeouts(std::uint64_t now) {
  for (auto it = out_queries_.begin(); it != out_queries_.end();) {
    if (it->second.deadline_ms > now) {
      ++it;
      continue;
    }
    QueryResult r = std::move(it->second.pending);
    r.handle = it->second.handle;
    r.done = true;
    query_results_.push_back(std::move(r));
    it = out_queries_.erase(it);
  }
  std::erase_if(in_queries_, [now](const auto& kv) { return kv.second.deadline_ms <= now; });
}

std::uint64_t Serf::QueryDeadline() const {
  std::uint64_t d = std::numeric_limits<std::uint64_t>::max();
  for (const auto& [ltime, q] : out_queries_) d = std::min(d, q.deadline_ms);
  for (const auto& [id, q] : in_queries_) d = std::min(d, q.deadline_ms);
  return d;
}

bool Serf::HandleQuery(const SerfQuery& q) {
  query_clock_.Witness(q.ltime);
  const std::uint64_t size = query_buffer_.size();
  const std::uint64_t cur = query_clock_.t;
  if (cur > size && q.ltime < cur - size) return false;  // too old
  auto& seen = query_buffer_[q.ltime % size];
  if (seen && seen->ltime == q.ltime) {
    if (std::find(seen->ids.begin(), seen->ids.end(), q.id) != seen->ids.end()) return false;
  } else {
    seen = SeenQueries{q.ltime, {}};
  }
  seen->ids.push_back(q.id);
  const bool rebroadcast = (q.flags & kQueryFlagNoBroadcast) == 0;
  // Filters: a query for named nodes or tags we cannot check is not for us (Serf drops queries
  // whose filters fail); it still travels on.
  if (!q.filters.empty()) return rebroadcast;
  if ((q.flags & kQueryFlagAck) != 0) {
    SendQueryResponse(q, SerfQueryResponse{q.ltime, q.id, name_, kQueryFlagAck, {}});
  }
  if (q.name.starts_with(kInternalQueryPrefix)) {
    HandleInternalQuery(q);
    return rebroadcast;
  }
  const std::uint64_t id = next_in_query_++;
  const auto timeout_ms =
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, q.timeout_ns) / 1000000);
  in_queries_[id] = InQuery{q, now_ + timeout_ms};
  SerfEvent ev;
  ev.kind = SerfEvent::Kind::kQuery;
  ev.name = q.name;
  ev.payload = q.payload;
  ev.ltime = q.ltime;
  ev.query_id = id;
  ev.source_node = q.source_node;
  events_.push_back(std::move(ev));
  return rebroadcast;
}

Status Serf::RespondQuery(std::uint64_t now, std::uint64_t query_id, Bytes payload) {
  now_ = now;
  auto it = in_queries_.find(query_id);
  if (it == in_queries_.end()) return Status::Error("response already sent");
  if (now > it->second.deadline_ms) {
    in_queries_.erase(it);
    return Status::Error("response is past the deadline");
  }
  SerfQueryResponse r{it->second.q.ltime, it->second.q.id, name_, 0, std::move(payload)};
  if (EncodeSerf(r).size() > kQueryResponseSizeLimit) {
    return Status::Error("response exceeds limit of " + std::to_string(kQueryResponseSizeLimit) +
                         " bytes");
  }
  const SerfQuery q = std::move(it->second.q);
  in_queries_.erase(it);
  SendQueryResponse(q, r);
  return Status::Ok();
}

void Serf::SendQueryResponse(const SerfQuery& q, const SerfQueryResponse& r) {
  const MemberState& self = members_.at(name_);
  if (q.source_node == name_ && q.addr == self.info.addr && q.port == self.info.port) {
    HandleQueryResponse(r);  // Serf sends it to itself over UDP; same outcome
    return;
  }
  ml_->SendBestEffort(now_, Endpoint{q.addr, q.port}, EncodeSerf(r));
}

void Serf::HandleQueryResponse(const SerfQueryResponse& r) {
  auto it = out_queries_.find(r.ltime);
  if (it == out_queries_.end() || it->second.id != r.id) return;  // Serf logs and drops
  OutQuery& q = it->second;
  if ((r.flags & kQueryFlagAck) != 0) {
    if (q.acks.insert(r.from).second) q.pending.acks.push_back(r.from);
  } else if (q.responses.insert(r.from).second) {
    q.pending.responses.push_back({r.from, r.payload});
  }
}

void Serf::HandleInternalQuery(const SerfQuery& q) {
  const std::string op = q.name.substr(std::string_view(kInternalQueryPrefix).size());
  if (op == "conflict") {
    const std::string node(q.payload.begin(), q.payload.end());
    if (node == name_) return;
    SerfConflictResponse resp;
    if (const MemberState* m = [&]() -> const MemberState* {
          auto f = members_.find(node);
          return f == members_.end() ? nullptr : &f->second;
        }()) {
      const SerfMemberInfo& i = m->info;
      resp.member = SerfMember{
          i.name,     i.addr,     i.port,     i.tags,     static_cast<std::int64_t>(i.status),
          i.vsn.pmin, i.vsn.pmax, i.vsn.pcur, i.vsn.dmin, i.vsn.dmax,
          i.vsn.dcur};
    }
    SendQueryResponse(q, SerfQueryResponse{q.ltime, q.id, name_, 0, EncodeSerf(resp)});
  } else if (op == "install-key" || op == "use-key" || op == "remove-key" || op == "list-keys") {
    AnswerKeyQuery(q, op);
  }
  // "ping" needs no answer; unknown internal queries are ignored (Serf logs them).
}

void Serf::AnswerKeyQuery(const SerfQuery& q, const std::string& op) {
  SerfKeyResponse resp;
  Keyring* ring = ml_->keyring();
  if (op == "list-keys") {
    if (ring == nullptr) {
      resp.message = "Keyring is empty (encryption not enabled)";
    } else {
      for (const Bytes& k : ring->keys()) resp.keys.push_back(KeyText(k));
      resp.primary_key = KeyText(ring->primary());
      resp.result = true;
    }
    // Serf truncates the list until the response fits.
    const std::size_t actual = resp.keys.size();
    for (std::size_t keep = std::min(actual, kQueryResponseSizeLimit / kMinEncodedKeyLength);;
         --keep) {
      if (resp.keys.size() > keep) {
        resp.keys.resize(keep);
        resp.message = "truncated key list response, showing first " + std::to_string(keep) +
                       " of " + std::to_string(actual) + " keys";
      }
      SerfQueryResponse r{q.ltime, q.id, name_, 0, EncodeSerf(resp)};
      if (EncodeSerf(r).size() <= kQueryResponseSizeLimit) {
        SendQueryResponse(q, r);
        return;
      }
      if (keep == 0) return;  // Serf: "Failed to truncate response so that it fits"
    }
  }
  Status st = Status::Ok();
  auto req = q.payload.empty() ? Result<SerfKeyRequest>(Status::Error("empty key request"))
                               : DecodeSerfKeyRequest(ByteView(q.payload).subspan(1));
  if (!req.ok()) {
    st = Status::Error("");  // Serf answers an empty failure message
  } else if (ring == nullptr) {
    st = Status::Error("No keyring to modify (encryption not enabled)");
  } else {
    if (op == "install-key") {
      st = ring->AddKey(req->key);
    } else if (op == "use-key") {
      st = ring->UseKey(req->key);
    } else {
      st = ring->RemoveKey(req->key);
    }
    if (st.ok() && cfg_.keyring_saver) st = cfg_.keyring_saver(*ring);
  }
  resp.result = st.ok();
  if (!st.ok()) resp.message = st.message();
  SendQueryResponse(q, SerfQueryResponse{q.ltime, q.id, name_, 0, EncodeSerf(resp)});
}

}  // namespace beacon::gossip
