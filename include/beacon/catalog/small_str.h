// SmallStr: a 16-byte string for the short names the catalog holds by the hundred thousand
// (node and service names, addresses, wire-form names).
//
// Contract:
// - Up to 15 bytes live inline (no heap block); longer strings own one exact-size heap block.
// - A value type: copies are deep, moves steal. Not thread-safe to mutate; const use from any
//   thread is safe. Reading (data/size/view) never allocates.
// - Converts implicitly to std::string_view; assign from anything convertible to one.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace beacon::catalog {

class SmallStr {
 public:
  SmallStr() { Clear(); }
  explicit SmallStr(std::string_view s) { Init(s); }
  SmallStr(const SmallStr& o) { Init(o.view()); }
  SmallStr(SmallStr&& o) noexcept {
    std::memcpy(raw_, o.raw_, sizeof raw_);
    o.Clear();
  }
  SmallStr& operator=(const SmallStr& o) {
    if (this != &o) Reset(o.view());
    return *this;
  }
  SmallStr& operator=(SmallStr&& o) noexcept {
    if (this != &o) {
      Free();
      std::memcpy(raw_, o.raw_, sizeof raw_);
      o.Clear();
    }
    return *this;
  }
  SmallStr& operator=(std::string_view s) {
    Reset(s);
    return *this;
  }
  ~SmallStr() { Free(); }

  const char* data() const { return heap() ? HeapPtr() : raw_; }
  size_t size() const { return heap() ? HeapLen() : static_cast<uint8_t>(raw_[kTag]); }
  bool empty() const { return size() == 0; }
  std::string_view view() const { return {data(), size()}; }
  operator std::string_view() const { return view(); }  // NOLINT: implicit by design
  std::string str() const { return std::string(view()); }

  friend bool operator==(const SmallStr& a, const SmallStr& b) { return a.view() == b.view(); }
  friend bool operator==(const SmallStr& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const SmallStr& a, const char* b) { return a.view() == b; }
  friend bool operator==(const SmallStr& a, const std::string& b) { return a.view() == b; }

 private:
  static constexpr size_t kTag = 15;
  static constexpr uint8_t kHeap = 0xff;

  bool heap() const { return static_cast<uint8_t>(raw_[kTag]) == kHeap; }
  char* HeapPtr() const {
    char* p;
    std::memcpy(&p, raw_, sizeof p);
    return p;
  }
  size_t HeapLen() const {
    uint32_t n;
    std::memcpy(&n, raw_ + 8, sizeof n);
    return n;
  }
  void Clear() { std::memset(raw_, 0, sizeof raw_); }
  void Init(std::string_view s) {
    Clear();
    if (s.size() <= kTag) {
      if (!s.empty()) std::memcpy(raw_, s.data(), s.size());  // an empty view may hold null
      raw_[kTag] = static_cast<char>(s.size());
      return;
    }
    char* p = new char[s.size()];
    std::memcpy(p, s.data(), s.size());
    const auto n = static_cast<uint32_t>(s.size());
    std::memcpy(raw_, &p, sizeof p);
    std::memcpy(raw_ + 8, &n, sizeof n);
    raw_[kTag] = static_cast<char>(kHeap);
  }
  void Free() {
    if (heap()) delete[] HeapPtr();
  }
  void Reset(std::string_view s) {
    if (heap() && s.data() >= HeapPtr() && s.data() < HeapPtr() + HeapLen()) {
      SmallStr tmp(s);  // s points into this string
      *this = std::move(tmp);
      return;
    }
    Free();
    Init(s);
  }

  alignas(8) char raw_[16];
};

}  // namespace beacon::catalog
