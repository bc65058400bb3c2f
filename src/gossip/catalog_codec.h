// msgpack encoding of catalog values (Node, Service, Check, Op, NodeRecord) for the catalog sync
// messages (catalog_sync_wire.h describes the field names). Private to src/gossip; pure.
// Readers return false on a bad value with the reason recorded in the mp::Reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "beacon/catalog/change.h"
#include "beacon/catalog/record.h"
#include "msgpack.h"

namespace beacon::gossip::catcodec {

// A msgpack map whose entries are counted as they are written: fields left empty are skipped.
class Fields {
 public:
  Fields() : w_(body_) {}
  mp::Writer& Key(std::string_view k) {
    ++n_;
    return w_.key(k);
  }
  void Str(std::string_view k, const std::string& v) {
    if (!v.empty()) Key(k).str(v);
  }
  void Uint(std::string_view k, std::uint64_t v) {
    if (v != 0) Key(k).uint(v);
  }
  void Bool(std::string_view k, bool v) {
    if (v) Key(k).boolean(true);
  }
  void Finish(mp::Writer& out) const {
    out.map(n_);
    out.raw(body_);
  }

 private:
  std::vector<std::uint8_t> body_;
  mp::Writer w_;
  std::size_t n_ = 0;
};

// Reads a map, calling field(key) for each entry; field reads or skips the value.
template <typename F>
bool ReadMap(mp::Reader& r, F&& field) {
  std::size_t n = 0;
  if (!r.read_map(n)) return false;
  for (std::size_t i = 0; i < n; ++i) {
    std::string key;
    if (!r.read_str(key) || !field(key)) return false;
  }
  return true;
}

// Reads an array, calling item() for each element. A count beyond the input is refused before
// anything is allocated (every element takes at least one byte).
template <typename F>
bool ReadArray(mp::Reader& r, F&& item) {
  std::size_t n = 0;
  if (!r.read_array(n)) return false;
  if (n > r.remaining()) return r.fail("array longer than its input");
  for (std::size_t i = 0; i < n; ++i) {
    if (!item()) return false;
  }
  return true;
}

void WriteNode(mp::Writer& w, const catalog::Node& n);
void WriteService(mp::Writer& w, const catalog::Service& s);
void WriteCheck(mp::Writer& w, const catalog::Check& c);
void WriteChecks(mp::Writer& w, const std::vector<catalog::Check>& cs);
void WriteOp(mp::Writer& w, const catalog::Op& op);
void WriteRecord(mp::Writer& w, const catalog::NodeRecord& r);

bool ReadNode(mp::Reader& r, catalog::Node& n);
bool ReadService(mp::Reader& r, catalog::Service& s);
bool ReadCheck(mp::Reader& r, catalog::Check& c);
bool ReadChecks(mp::Reader& r, std::vector<catalog::Check>& cs);
bool ReadOp(mp::Reader& r, catalog::Op& op);
bool ReadRecord(mp::Reader& r, catalog::NodeRecord& rec);
bool ReadStrList(mp::Reader& r, std::vector<std::string>& v);

}  // namespace beacon::gossip::catcodec
