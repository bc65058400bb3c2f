// A minimal MessagePack writer and reader that speak exactly the dialect of HashiCorp's
// go-msgpack (MsgpackHandle with WriteExt=false), which memberlist and Serf use on the wire.
//
// Contract: the writer emits what the Go side emits: the smallest integer form, strings AND byte
// strings as "raw" (fixstr, str16, str32; never str8 or bin), empty byte strings as nil. The reader
// accepts every form the Go side accepts (str8 and bin too, nil for empty containers). Struct
// values are maps keyed by field name; callers write fields sorted by name, as go-msgpack does.
// Reader errors are values: every read returns false and records a reason; nothing throws. The
// reader never reads past its input and limits nesting depth. Private to src/gossip; one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace beacon::gossip::mp {

class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}
  void nil() { out_.push_back(0xc0); }
  void boolean(bool v) { out_.push_back(v ? 0xc3 : 0xc2); }
  void uint(std::uint64_t v);
  void sint(std::int64_t v);
  void f64(double v);
  void str(std::string_view s);
  // Go's []byte: raw like a string; an empty one is written as nil (a nil Go slice).
  void bytes(std::span<const std::uint8_t> b);
  void map(std::size_t n);
  void array(std::size_t n);
  // A field key (struct field name).
  Writer& key(std::string_view k) {
    str(k);
    return *this;
  }
  void raw(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }

 private:
  void be(std::uint64_t v, int n);
  void container(std::size_t n, std::uint8_t fix, std::size_t fix_max, std::uint8_t b16,
                 std::uint8_t b32);
  std::vector<std::uint8_t>& out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}

  bool read_uint(std::uint64_t& v);  // any non-negative integer form
  bool read_sint(std::int64_t& v);   // any integer form that fits int64
  bool read_bool(bool& v);
  bool read_f64(double& v);                       // float32 or float64 or integer
  bool read_str(std::string& v);                  // str/bin family; nil reads as empty
  bool read_bytes(std::vector<std::uint8_t>& v);  // str/bin family; nil reads as empty
  bool read_map(std::size_t& n);                  // nil reads as 0 entries
  bool read_array(std::size_t& n);                // nil reads as 0 elements
  bool peek_nil() const { return pos_ < in_.size() && in_[pos_] == 0xc0; }
  bool skip();  // any one value, nested up to a depth limit

  template <typename T>
  bool read_u(T& v, const char* what) {
    std::uint64_t x = 0;
    if (!read_uint(x)) return false;
    if (x > static_cast<std::uint64_t>(static_cast<T>(~T{0})))
      return fail(std::string(what) + " out of range");
    v = static_cast<T>(x);
    return true;
  }

  bool fail(std::string reason);
  const std::string& error() const { return err_; }
  // True when the failure was running out of input (more bytes could complete the value), as
  // opposed to a malformed value.
  bool truncated() const { return truncated_; }
  std::size_t pos() const { return pos_; }
  std::size_t remaining() const { return in_.size() - pos_; }
  std::span<const std::uint8_t> rest() const { return in_.subspan(pos_); }

 private:
  bool need(std::size_t n);
  std::uint64_t be(std::size_t n);
  bool raw_len(std::size_t& n);
  bool skip_depth(int depth);

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  std::string err_;
  bool truncated_ = false;
};

}  // namespace beacon::gossip::mp
