// Cluster's keyring operations (Serf's keymanager.go over Serf's internal queries) and the
// keyring file (Serf's writeKeyringFile, Consul's loadKeyringFile). See cluster.h.
#include <simdjson.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "beacon/agent/cluster.h"
#include "beacon/core/base64.h"
#include "beacon/core/file.h"

namespace beacon::agent {

namespace {

const char* QueryName(http::KeyringApi::Op op) {
  switch (op) {
    case http::KeyringApi::Op::kList:
      return "_serf_list-keys";
    case http::KeyringApi::Op::kInstall:
      return "_serf_install-key";
    case http::KeyringApi::Op::kUse:
      return "_serf_use-key";
    case http::KeyringApi::Op::kRemove:
      return "_serf_remove-key";
  }
  return "";
}

// One node's nodeKeyResponse folded into the total, as Serf's streamKeyResp.
void Fold(http::KeyringResult& r, const gossip::QueryNodeResponse& nr) {
  ++r.num_resp;
  const auto type = static_cast<uint8_t>(gossip::SerfMsgType::kKeyResponse);
  if (nr.payload.empty() || nr.payload[0] != type) {
    r.messages[nr.from] = "Invalid key query response type";
    ++r.num_err;
    return;
  }
  auto resp = gossip::DecodeSerfKeyResponse(gossip::ByteView(nr.payload).subspan(1));
  if (!resp.ok()) {
    r.messages[nr.from] = "Failed to decode key query response";
    ++r.num_err;
    return;
  }
  if (!resp->result) {
    r.messages[nr.from] = resp->message;
    ++r.num_err;
  } else if (!resp->message.empty()) {
    r.messages[nr.from] = resp->message;
  }
  for (const std::string& k : resp->keys) ++r.keys[k];
  ++r.primary_keys[resp->primary_key];
}

void Finish(http::KeyringResult& r) {
  if (r.num_err != 0) {
    r.error =
        std::to_string(r.num_err) + "/" + std::to_string(r.num_nodes) + " nodes reported failure";
  } else if (r.num_resp != r.num_nodes) {
    r.error =
        std::to_string(r.num_resp) + "/" + std::to_string(r.num_nodes) + " nodes reported success";
  }
}

}  // namespace

std::string KeyringFilePath(const std::string& data_dir) {
  return data_dir + "/serf/local.keyring";
}

Result<std::optional<gossip::Keyring>> LoadKeyringFile(const std::string& path) {
  std::string text;
  bool missing = false;
  if (Status st = core::ReadFile(path, &text, &missing); !st.ok()) return st;
  if (missing) return std::optional<gossip::Keyring>{};
  simdjson::dom::parser parser;
  simdjson::dom::array arr;
  simdjson::padded_string buf(text);
  if (parser.parse(buf).get_array().get(arr) != simdjson::SUCCESS) {
    return Status::Error(path + ": not a JSON array of keys");
  }
  std::vector<std::string_view> keys;
  for (simdjson::dom::element e : arr) {
    std::string_view k;
    if (e.get_string().get(k) != simdjson::SUCCESS) {
      return Status::Error(path + ": not a JSON array of keys");
    }
    keys.push_back(k);
  }
  auto ring = gossip::Keyring::FromBase64(keys);
  if (!ring.ok()) return Status::Error(path + ": " + ring.status().message());
  return std::optional<gossip::Keyring>(std::move(ring.value()));
}

Status SaveKeyringFile(const std::string& path, const gossip::Keyring& keyring) {
  const std::string dir = path.substr(0, path.rfind('/'));
  if (!dir.empty() && mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Status::Error("cannot create " + dir + ": " + std::strerror(errno));
  }
  std::string text = "[";
  const char* sep = "\n  \"";
  for (const gossip::Bytes& k : keyring.keys()) {
    text += sep;
    text += core::Base64Encode(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
    text += "\"";
    sep = ",\n  \"";
  }
  text += "\n]";
  return core::WriteFileDurable(path, text);
}

void Cluster::KeyringOp(http::KeyringApi::Op op, std::string key, http::KeyringDone done) {
  std::string raw;
  if (op != http::KeyringApi::Op::kList) {
    std::string err;
    if (!core::Base64Decode(key, &raw, &err)) {
      http::KeyringResult r;
      r.request_error = err;
      done(std::move(r));
      return;
    }
  }
  gossip::Bytes payload = gossip::EncodeSerf(gossip::SerfKeyRequest{{raw.begin(), raw.end()}});
  const std::string name = QueryName(op);
  transport_->Post([this, name, payload = std::move(payload), done](uint64_t now) mutable {
    auto handle = serf_->Query(now, name, std::move(payload));
    if (!handle.ok()) {
      http::KeyringResult r;
      r.request_error = handle.status().message();
      done(std::move(r));
      return;
    }
    KeyringWaiter& w = keyring_waiters_[handle.value()];
    w.result.num_nodes = static_cast<int>(serf_->NumAliveMembers());
    w.done = std::move(done);
    PumpQueries();  // our own answer is in already
  });
}

void Cluster::PumpQueries() {
  for (gossip::QueryResult& qr : serf_->TakeQueryResults()) {
    auto it = keyring_waiters_.find(qr.handle);
    if (it == keyring_waiters_.end()) continue;
    http::KeyringResult& r = it->second.result;
    for (const gossip::QueryNodeResponse& nr : qr.responses) Fold(r, nr);
    // Serf's KeyManager stops reading once every node answered.
    if (qr.done || r.num_resp >= r.num_nodes) {
      Finish(r);
      http::KeyringDone done = std::move(it->second.done);
      http::KeyringResult out = std::move(r);
      keyring_waiters_.erase(it);
      done(std::move(out));
    }
  }
}

}  // namespace beacon::agent
