// AES-GCM as memberlist's security.go frames it, on OpenSSL's EVP interface.
#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "beacon/core/base64.h"
#include "beacon/gossip/envelope.h"

namespace beacon::gossip {

namespace {
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kBlockSize = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const EVP_CIPHER* cipher_for(std::size_t key_size) {
  switch (key_size) {
    case 16:
      return EVP_aes_128_gcm();
    case 24:
      return EVP_aes_192_gcm();
    case 32:
      return EVP_aes_256_gcm();
    default:
      return nullptr;
  }
}

int len_int(std::size_t n) {
  return static_cast<int>(n);
}

// Opens version byte + nonce + ciphertext + tag with one key; nullopt when the tag does not match.
std::optional<Bytes> open_with(ByteView key, ByteView sealed, ByteView aad) {
  const EVP_CIPHER* cipher = cipher_for(key.size());
  if (cipher == nullptr) return std::nullopt;
  ByteView nonce = sealed.subspan(1, kNonceSize);
  ByteView body = sealed.subspan(1 + kNonceSize, sealed.size() - 1 - kNonceSize - kTagSize);
  ByteView tag = sealed.last(kTagSize);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) return std::nullopt;
  Bytes plain(body.size() + kBlockSize);
  int n = 0, fin = 0;
  bool ok = EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, key.data(), nonce.data()) == 1;
  if (ok && !aad.empty())
    ok = EVP_DecryptUpdate(ctx.get(), nullptr, &n, aad.data(), len_int(aad.size())) == 1;
  ok = ok && EVP_DecryptUpdate(ctx.get(), plain.data(), &n, body.data(), len_int(body.size())) == 1;
  Bytes tag_copy(tag.begin(), tag.end());
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, len_int(kTagSize),
                                 tag_copy.data()) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), plain.data() + n, &fin) == 1;
  if (!ok) return std::nullopt;
  plain.resize(static_cast<std::size_t>(n) + static_cast<std::size_t>(fin));
  return plain;
}
}  // namespace

Result<Keyring> Keyring::make(std::vector<Bytes> keys) {
  if (keys.empty()) return Status::Error("keyring: no keys");
  for (const Bytes& k : keys)
    if (cipher_for(k.size()) == nullptr)
      return Status::Error("keyring: key is " + std::to_string(k.size()) +
                           " bytes, want 16, 24 or 32");
  return Keyring(std::move(keys));
}

Result<Keyring> Keyring::FromBase64(const std::vector<std::string_view>& keys) {
  std::vector<Bytes> raw;
  for (std::string_view k : keys) {
    std::string out, err;
    if (!core::Base64Decode(k, &out, &err)) return Status::Error("keyring: bad base64 key: " + err);
    raw.emplace_back(out.begin(), out.end());
  }
  return make(std::move(raw));
}

Status Keyring::AddKey(Bytes key) {
  if (cipher_for(key.size()) == nullptr)
    return Status::Error("key size must be 16, 24 or 32 bytes");
  for (const Bytes& k : keys_)
    if (k == key) return Status::Ok();
  keys_.push_back(std::move(key));
  return Status::Ok();
}

Status Keyring::UseKey(const Bytes& key) {
  auto it = std::find(keys_.begin(), keys_.end(), key);
  if (it == keys_.end()) return Status::Error("Requested key is not in the keyring");
  std::rotate(keys_.begin(), it, it + 1);  // the new primary first, the others in their order
  return Status::Ok();
}

Status Keyring::RemoveKey(const Bytes& key) {
  if (key == keys_.front()) return Status::Error("Removing the primary key is not allowed");
  keys_.erase(std::remove(keys_.begin(), keys_.end(), key), keys_.end());
  return Status::Ok();
}

Result<Bytes> encrypt(std::uint8_t version, ByteView key, ByteView plain, ByteView aad,
                      ByteView nonce) {
  const EVP_CIPHER* cipher = cipher_for(key.size());
  if (cipher == nullptr) return Status::Error("encrypt: key must be 16, 24 or 32 bytes");
  if (version > 1) return Status::Error("encrypt: unsupported version " + std::to_string(version));
  if (nonce.size() != kNonceSize) return Status::Error("encrypt: nonce must be 12 bytes");
  Bytes src(plain.begin(), plain.end());
  if (version == 0) {
    auto pad = static_cast<std::uint8_t>(kBlockSize - src.size() % kBlockSize);
    src.insert(src.end(), pad, pad);
  }
  Bytes out{version};
  out.insert(out.end(), nonce.begin(), nonce.end());
  std::size_t head = out.size();
  out.resize(head + src.size() + kBlockSize);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int n = 0, fin = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), nonce.data()) == 1;
  if (ok && !aad.empty())
    ok = EVP_EncryptUpdate(ctx.get(), nullptr, &n, aad.data(), len_int(aad.size())) == 1;
  ok = ok &&
       EVP_EncryptUpdate(ctx.get(), out.data() + head, &n, src.data(), len_int(src.size())) == 1;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out.data() + head + n, &fin) == 1;
  if (!ok) return Status::Error("encrypt: OpenSSL AES-GCM failed");
  out.resize(head + static_cast<std::size_t>(n) + static_cast<std::size_t>(fin));
  std::uint8_t tag[kTagSize];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, len_int(kTagSize), tag) != 1)
    return Status::Error("encrypt: OpenSSL could not produce the GCM tag");
  out.insert(out.end(), tag, tag + kTagSize);
  return out;
}

Result<Bytes> decrypt(const Keyring& ring, ByteView sealed, ByteView aad) {
  if (sealed.empty()) return Status::Error("decrypt: empty payload");
  std::uint8_t version = sealed[0];
  if (version > 1)
    return Status::Error("decrypt: unsupported encryption version " + std::to_string(version));
  std::size_t min = 1 + kNonceSize + kTagSize + (version == 0 ? kBlockSize : 0);
  if (sealed.size() < min)
    return Status::Error("decrypt: payload too small (" + std::to_string(sealed.size()) +
                         " bytes)");
  for (const Bytes& key : ring.keys()) {
    std::optional<Bytes> plain = open_with(key, sealed, aad);
    if (!plain) continue;
    if (version == 0) {
      std::uint8_t pad = plain->empty() ? 0 : plain->back();
      if (pad == 0 || pad > kBlockSize || pad > plain->size())
        return Status::Error("decrypt: bad PKCS7 padding");
      plain->resize(plain->size() - pad);
    }
    return std::move(*plain);
  }
  // memberlist's text: a peer with another key sees exactly this.
  return Status::Error("No installed keys could decrypt the message");
}

}  // namespace beacon::gossip
