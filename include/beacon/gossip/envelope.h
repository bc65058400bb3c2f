// Memberlist's framing around messages: compound packets, the CRC32 wrapper, LZW compression and
// AES-GCM encryption with a keyring, for UDP packets and TCP streams.
//
// Contract: sans-I/O and pure; no sockets, clocks or randomness of its own (a caller that
// encrypts passes the 12-byte nonce it drew). Every decoder returns a value or an error Status
// with a reason and never crashes, throws or reads out of bounds. Keyring is a plain value (its
// owner changes it with AddKey/UseKey/RemoveKey, memberlist's keyring operations). Any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "beacon/gossip/memberlist_wire.h"

namespace beacon::gossip {

// --- compound (type 7): count byte, a big-endian uint16 length per part, then the parts.
// Fails past 255 parts or a part over 65535 bytes.
Result<Bytes> MakeCompound(const std::vector<Bytes>& msgs);
struct CompoundParts {
  std::vector<ByteView> parts;  // views into the input
  std::size_t truncated = 0;    // parts announced but cut off (memberlist tolerates this)
};
// `body` excludes the type byte.
Result<CompoundParts> SplitCompound(ByteView body);

// --- CRC (type 12): the type byte, a big-endian CRC32 (IEEE) of the rest, then the message.
std::uint32_t Crc32Ieee(ByteView data);
Bytes AddCrc(ByteView msg);
// `packet` starts with the hasCrc type byte; returns the checked inner message.
Result<ByteView> CheckCrc(ByteView packet);

// --- compression (type 9): msgpack {Algo: 0, Buf: <LZW, LSB order, 8-bit literals>}, like Go's
// compress/lzw. lzw_decode refuses output beyond max_out bytes.
Result<Bytes> LzwDecode(ByteView data, std::size_t max_out = 20u << 20);
Bytes LzwEncode(ByteView data);
Bytes compress(ByteView msg);             // the whole type 9 message
Result<Bytes> Decompress(ByteView body);  // body excludes the type byte

// --- encryption: AES-GCM with a 16, 24 or 32-byte key. Version 0 pads with PKCS7, version 1
// does not. The sealed form is version byte, 12-byte nonce, ciphertext, 16-byte tag.
class Keyring {
 public:
  // Fails on an empty list or a key of the wrong size. The first key is the primary.
  static Result<Keyring> make(std::vector<Bytes> keys);
  // Keys as `serf keygen` prints them (standard base64).
  static Result<Keyring> FromBase64(const std::vector<std::string_view>& keys);
  const Bytes& primary() const { return keys_.front(); }
  const std::vector<Bytes>& keys() const { return keys_; }
  // memberlist's keyring.go, same rules and error texts: AddKey validates the size and ignores a
  // key already there; UseKey makes an installed key the primary ("Requested key is not in the
  // keyring"); RemoveKey refuses the primary ("Removing the primary key is not allowed") and
  // ignores a key not there.
  Status AddKey(Bytes key);
  Status UseKey(const Bytes& key);
  Status RemoveKey(const Bytes& key);

 private:
  explicit Keyring(std::vector<Bytes> keys) : keys_(std::move(keys)) {}
  std::vector<Bytes> keys_;
};

inline constexpr std::size_t kNonceSize = 12;
Result<Bytes> encrypt(std::uint8_t version, ByteView key, ByteView plain, ByteView aad,
                      ByteView nonce);
// Tries every key of the ring; the error says why when none fits.
Result<Bytes> decrypt(const Keyring& ring, ByteView sealed, ByteView aad);

// --- labels (memberlist >= 0.3, absent from 0.2.x): type 244, a length byte (1..255), the label.
// Outermost on packets and streams; with encryption the label is also additional data. A peer
// drops traffic whose label differs from its own (no header = the empty label).
inline constexpr std::uint8_t kHasLabel = 244;
Result<Bytes> AddLabel(std::string_view label, ByteView data);  // empty label: data unchanged
struct Labeled {
  std::string label;
  ByteView rest;  // a view into the input
};
Result<Labeled> StripLabel(ByteView data);

// --- whole UDP packets.
struct PacketOptions {
  const Keyring* keyring = nullptr;  // encrypt with its primary key (version 1) when set
  ByteView nonce;                    // kNonceSize random bytes, required with a keyring
  bool crc = false;                  // add the CRC wrapper (peers speaking protocol 5)
  std::uint8_t version = 1;          // encryption version: 1, or 0 for protocol 1 peers
  std::string_view label;            // cluster label, empty for none
  bool compress = false;             // LZW-wrap the (compound) message, before CRC and encryption
};
// One message as is, several as a compound; then compression, CRC, encryption and label as
// asked (memberlist's order).
Result<Bytes> PackPacket(const std::vector<Bytes>& msgs, const PacketOptions& opt);
// Decrypts (when a keyring is given), checks the CRC, decompresses and splits compounds,
// returning the plain messages (type byte + body) in order.
// A label different from `label` is an error. With a keyring and verify_incoming false
// (memberlist's GossipVerifyIncoming), a packet no key opens is read as plaintext.
Result<std::vector<Bytes>> UnpackPacket(ByteView packet, const Keyring* keyring,
                                        std::string_view label = {}, bool verify_incoming = true);

// --- whole TCP stream messages (push-pull, user message, ping, error).
// With a keyring: type 10, a big-endian uint32 length, then the sealed message, whose additional
// data is those first 5 bytes.
Result<Bytes> SealStream(ByteView msg, const Keyring* keyring, ByteView nonce,
                         std::uint8_t version = 1, std::string_view label = {});
// Reverses seal_stream and a compress wrapper; returns the plain message (type byte + body).
// Refuses an unencrypted stream when a keyring is given (unless verify_incoming is false), and
// an encrypted one without.
Result<Bytes> OpenStream(ByteView stream, const Keyring* keyring, std::string_view label = {},
                         bool verify_incoming = true);

// How many bytes the first stream message in `buffered` takes (label, encryption, compression
// and the message itself), so a TCP reader knows when it has one whole message without waiting
// for the peer to close: 0 while more bytes are needed, an error when the bytes cannot start a
// valid message. Encrypted messages are sized from their header, without a key.
Result<std::size_t> StreamFrameSize(ByteView buffered);

}  // namespace beacon::gossip
