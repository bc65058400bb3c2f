// Membership: push-pull anti-entropy over TCP (served and requested), join and leave.
#include <cmath>
#include <string>
#include <utility>

#include "beacon/gossip/membership.h"

namespace beacon::gossip {

std::uint64_t Membership::PushPullInterval() const {
  constexpr double kScaleThreshold = 32;
  const double n = static_cast<double>(nodes_.size());
  if (n <= kScaleThreshold) return cfg_.push_pull_interval_ms;
  const double mult = std::ceil(std::log2(n) - std::log2(kScaleThreshold)) + 1.0;
  return static_cast<std::uint64_t>(mult * static_cast<double>(cfg_.push_pull_interval_ms));
}

PushPull Membership::LocalState(bool join) const {
  PushPull pp;
  pp.join = join;
  pp.nodes.reserve(nodes_.size());
  for (const MemberEntry& m : nodes_) {
    pp.nodes.push_back({m.name, m.Addr(), m.port, *m.meta, m.incarnation, m.state, m.vsn});
  }
  if (delegate_ != nullptr) pp.user_state = delegate_->LocalState(join);
  return pp;
}

void Membership::Preload(std::uint64_t now, const std::vector<Alive>& members) {
  nodes_.Reserve(nodes_.size() + members.size());
  probe_list_.reserve(probe_list_.size() + members.size());
  for (const Alive& a : members) {
    if (a.node != name_ && nodes_.Find(a.node) == nullptr) AliveNode(now, a, true);
  }
}

void Membership::MergeState(std::uint64_t now, const PushPull& remote, bool join) {
  for (const PushNodeState& r : remote.nodes) {
    switch (r.state) {
      case NodeState::kAlive:
        AliveNode(now, Alive{r.incarnation, r.name, r.addr, r.port, r.meta, r.vsn}, false);
        break;
      case NodeState::kLeft:
        DeadNode(now, Dead{r.incarnation, r.name, r.name});
        break;
      case NodeState::kDead:  // a remote death only makes us suspect: we check ourselves
      case NodeState::kSuspect:
        SuspectNode(now, Suspect{r.incarnation, r.name, name_});
        break;
    }
  }
  if (delegate_ != nullptr && !remote.user_state.empty()) {
    delegate_->MergeRemoteState(remote.user_state, join);
  }
}

void Membership::StartPushPull(std::uint64_t now, const Endpoint& to, bool join,
                               std::uint64_t join_token) {
  (void)now;
  const std::uint64_t token = next_token_++;
  streams_[token] = PendingStream{OutStream::Kind::kPushPull, join, 0, join_token, to};
  out_streams_.push_back(
      {token, OutStream::Kind::kPushPull, to, SealStream(Encode(LocalState(join)))});
}

Bytes Membership::OnStream(std::uint64_t now, const Endpoint& from, ByteView request) {
  (void)from;
  auto plain = OpenStream(request, RxKeyring(), cfg_.label, cfg_.verify_incoming);
  // As memberlist: the reason goes back in an error response (sealed with our key, so a peer
  // with a wrong key reports "No installed keys could decrypt the message").
  if (!plain.ok()) {
    auto labeled = StripLabel(request);
    if (!labeled.ok() || labeled->label != cfg_.label) return {};  // memberlist just closes
    return SealStream(Encode(ErrResp{plain.status().message()}));
  }
  if (!plain->empty() && (*plain)[0] == static_cast<std::uint8_t>(MsgType::kUser)) {
    // A reliable user message (memberlist's SendReliable): header, payload, no reply.
    auto user = DecodeUserStream(ByteView(*plain).subspan(1));
    if (user.ok() && delegate_ != nullptr) delegate_->NotifyMsg(user->payload);
    return {};
  }
  auto msg = DecodeMessage(*plain);
  if (!msg.ok()) return SealStream(Encode(ErrResp{msg.status().message()}));
  if (auto* pp = std::get_if<PushPull>(&*msg)) {
    Bytes reply = SealStream(Encode(LocalState(false)));
    MergeState(now, *pp, pp->join);
    return reply;
  }
  if (auto* ping = std::get_if<Ping>(&*msg)) {
    if (!ping->node.empty() && ping->node != name_) {
      return SealStream(Encode(ErrResp{"ping for unexpected node " + ping->node}));
    }
    return SealStream(Encode(Ack{ping->seq_no, {}}));
  }
  return SealStream(Encode(ErrResp{"unexpected stream message"}));
}

void Membership::OnStreamError(std::uint64_t now, std::uint64_t token, const std::string& error) {
  (void)now;
  auto it = streams_.find(token);
  if (it == streams_.end()) return;
  const PendingStream ps = it->second;
  streams_.erase(it);
  JoinOutcome(ps.join_token, ps.to, error);
}

void Membership::JoinOutcome(std::uint64_t join_token, const Endpoint& to,
                             const std::string& error) {
  auto it = joins_.find(join_token);
  if (it == joins_.end()) return;
  PendingJoin& j = it->second;
  if (error.empty()) {
    ++j.joined;
  } else {
    // memberlist names the IP alone ("Failed to join 10.0.0.1: ...").
    std::string ip = to_string(Endpoint{to.ip, 0});
    ip = ip.substr(0, ip.rfind(':'));
    if (!ip.empty() && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
    j.errors.push_back("Failed to join " + ip + ": " + error);
  }
  if (--j.outstanding > 0) return;
  JoinResult r{join_token, j.joined, {}};
  if (j.joined == 0 && !j.errors.empty()) {
    // hashicorp/go-multierror's ListFormatFunc.
    if (j.errors.size() == 1) {
      r.error = "1 error occurred:\n\t* " + j.errors[0] + "\n\n";
    } else {
      r.error = std::to_string(j.errors.size()) + " errors occurred:";
      for (std::size_t i = 0; i < j.errors.size(); ++i) r.error += "\n\t* " + j.errors[i];
      r.error += "\n\n";
    }
  }
  joins_.erase(it);
  join_results_.push_back(std::move(r));
}

void Membership::OnStreamReply(std::uint64_t now, std::uint64_t token, std::optional<Bytes> reply) {
  auto it = streams_.find(token);
  if (it == streams_.end()) return;
  const PendingStream ps = it->second;
  streams_.erase(it);
  if (!reply) {
    JoinOutcome(ps.join_token, ps.to, "no reply from " + to_string(ps.to));
    return;
  }
  auto plain = OpenStream(*reply, RxKeyring(), cfg_.label, cfg_.verify_incoming);
  if (!plain.ok()) {
    JoinOutcome(ps.join_token, ps.to, plain.status().message());
    return;
  }
  auto msg = DecodeMessage(*plain);
  if (!msg.ok()) {
    JoinOutcome(ps.join_token, ps.to, msg.status().message());
    return;
  }
  if (ps.kind == OutStream::Kind::kPushPull) {
    if (auto* pp = std::get_if<PushPull>(&*msg)) {
      MergeState(now, *pp, ps.join);
      joined_ += ps.join ? 1 : 0;
      JoinOutcome(ps.join_token, ps.to, {});
    } else if (auto* err = std::get_if<ErrResp>(&*msg)) {
      JoinOutcome(ps.join_token, ps.to, "remote error: " + err->error);
    } else {
      JoinOutcome(ps.join_token, ps.to, "unexpected reply to a push-pull");
    }
    return;
  }
  if (auto* ack = std::get_if<Ack>(&*msg)) {
    if (probe_ && probe_->seq == ack->seq_no && ps.seq == ack->seq_no) probe_->tcp_ok = true;
  }
}

std::uint64_t Membership::Join(std::uint64_t now, const std::vector<Endpoint>& seeds) {
  const std::uint64_t token = next_token_++;
  if (seeds.empty()) {
    join_results_.push_back({token, 0, {}});
    return token;
  }
  joins_[token] = PendingJoin{seeds.size(), 0, {}};
  for (const Endpoint& s : seeds) StartPushPull(now, s, true, token);
  return token;
}

std::vector<JoinResult> Membership::TakeJoinResults() {
  return std::exchange(join_results_, {});
}

void Membership::SendBestEffort(std::uint64_t now, const Endpoint& to, Bytes payload) {
  (void)now;
  SendRaw(to, {Encode(UserMsg{std::move(payload)})});
}

void Membership::SendReliable(std::uint64_t now, const Endpoint& to, Bytes payload) {
  (void)now;
  out_streams_.push_back({next_token_++, OutStream::Kind::kUser, to,
                          SealStream(EncodeUserStream(UserMsg{std::move(payload)}))});
}

void Membership::Leave(std::uint64_t now) {
  if (leaving_) return;
  leaving_ = true;
  probe_.reset();
  DeadNode(now, Dead{Self().incarnation, name_, name_});
  bool anyone = false;
  for (const MemberEntry& m : nodes_) anyone |= m.name != name_ && m.state == NodeState::kAlive;
  if (!anyone) queue_.Clear();
}

}  // namespace beacon::gossip
