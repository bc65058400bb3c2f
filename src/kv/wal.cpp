// The redo log file of the LMDB store (format and recovery rules in wal.h).
#include "wal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "beacon/core/file.h"

namespace beacon::kv::internal {
namespace {

constexpr uint32_t kWalMagic = 0x4c415742;  // "BWAL"
constexpr size_t kRecordHeader = 12;
constexpr uint8_t kHeaderType = 0, kGroupType = 1, kOpPut = 1, kOpDel = 2;

constexpr std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrcTable = MakeCrcTable();

template <typename T>
void Put(std::string* b, T v) {
  b->append(reinterpret_cast<const char*>(&v), sizeof(T));
}
template <typename T>
T Get(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::Error("kv log: " + what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

uint32_t Crc32(std::string_view data) {
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char ch : data) c = kCrcTable[(c ^ ch) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void WalPut(std::string* ops, uint8_t db, std::string_view key, std::string_view value) {
  Put<uint8_t>(ops, kOpPut);
  Put<uint8_t>(ops, db);
  Put<uint32_t>(ops, static_cast<uint32_t>(key.size()));
  ops->append(key);
  Put<uint32_t>(ops, static_cast<uint32_t>(value.size()));
  ops->append(value);
}

void WalDel(std::string* ops, uint8_t db, std::string_view key) {
  Put<uint8_t>(ops, kOpDel);
  Put<uint8_t>(ops, db);
  Put<uint32_t>(ops, static_cast<uint32_t>(key.size()));
  ops->append(key);
}

bool ForWalOps(std::string_view ops,
               const std::function<bool(bool, uint8_t, std::string_view, std::string_view)>& fn) {
  size_t p = 0;
  auto str = [&](std::string_view* out) {
    if (ops.size() - p < 4) return false;
    size_t n = Get<uint32_t>(ops.data() + p);
    p += 4;
    if (ops.size() - p < n) return false;
    *out = ops.substr(p, n);
    p += n;
    return true;
  };
  while (p < ops.size()) {
    if (ops.size() - p < 2) return false;
    uint8_t kind = static_cast<uint8_t>(ops[p]), db = static_cast<uint8_t>(ops[p + 1]);
    p += 2;
    std::string_view key, value;
    if ((kind != kOpPut && kind != kOpDel) || !str(&key)) return false;
    if (kind == kOpPut && !str(&value)) return false;
    if (!fn(kind == kOpPut, db, key, value)) return false;
  }
  return true;
}

namespace {

// The payload of the record at *p, advancing *p; nullopt if torn or corrupt.
std::optional<std::string_view> NextRecord(std::string_view buf, size_t* p) {
  if (buf.size() - *p < kRecordHeader) return std::nullopt;
  const char* h = buf.data() + *p;
  uint32_t len = Get<uint32_t>(h + 4);
  if (Get<uint32_t>(h) != kWalMagic || len == 0 || buf.size() - *p - kRecordHeader < len) {
    return std::nullopt;
  }
  std::string_view payload = buf.substr(*p + kRecordHeader, len);
  if (Crc32(payload) != Get<uint32_t>(h + 8)) return std::nullopt;
  *p += kRecordHeader + len;
  return payload;
}

bool ParseGroup(std::string_view payload, WalContents* out) {
  if (payload.size() < 9 || static_cast<uint8_t>(payload[0]) != kGroupType) return false;
  WalGroup g;
  g.index = Get<uint64_t>(payload.data() + 1);
  if (!out->groups.empty() && g.index < out->groups.back().index) return false;
  g.ops.assign(payload.substr(9));
  if (!ForWalOps(g.ops, [](bool, uint8_t db, std::string_view, std::string_view) {
        return db <= kWalMeta;
      })) {
    return false;
  }
  out->groups.push_back(std::move(g));
  return true;
}

bool ParseHeader(std::string_view payload, WalContents* out) {
  if (payload.size() < 13 || static_cast<uint8_t>(payload[0]) != kHeaderType) return false;
  uint64_t gen = Get<uint64_t>(payload.data() + 1);
  uint32_t ps = Get<uint32_t>(payload.data() + 9);
  if (ps == 0 || payload.size() < 13 + 2ULL * ps) return false;
  out->generation = gen;
  out->page_size = ps;
  out->meta_pages.assign(payload.substr(13, 2ULL * ps));
  std::string_view tail = payload.substr(13 + 2ULL * ps);
  size_t p = 0;
  while (p < tail.size()) {
    auto g = NextRecord(tail, &p);
    if (!g || !ParseGroup(*g, out)) return false;
  }
  out->has_header = true;
  return true;
}

Status ReadOne(const std::string& path, WalContents* out) {
  std::string buf;
  bool missing = false;  // a log file not yet created reads as empty
  Status st = core::ReadFile(path, &buf, &missing);
  if (!st.ok()) return Status::Error("kv log: " + st.message());
  out->file_bytes = buf.size();
  size_t p = 0;
  auto h = NextRecord(buf, &p);
  if (!h || !ParseHeader(*h, out)) {
    *out = WalContents{};
    out->file_bytes = buf.size();
    return Status::Ok();
  }
  for (;;) {
    size_t q = p;
    auto g = NextRecord(buf, &q);
    if (!g || !ParseGroup(*g, out)) break;
    p = q;
  }
  out->valid_bytes = p;
  return Status::Ok();
}

}  // namespace

std::string WalPath(const std::string& dir, int i) {
  return dir + "/wal." + std::to_string(i) + ".log";
}

Status ReadWal(const std::string& dir, WalContents* out) {
  WalContents w[2];
  for (int i = 0; i < 2; ++i) {
    Status st = ReadOne(WalPath(dir, i), &w[i]);
    if (!st.ok()) return st;
    w[i].active = i;
  }
  int pick = w[1].has_header && (!w[0].has_header || w[1].generation > w[0].generation) ? 1 : 0;
  *out = std::move(w[pick]);
  return Status::Ok();
}

Status RestoreMetaPages(const std::string& data_file, const WalContents& w) {
  int fd = ::open(data_file.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", data_file);
  struct stat st;
  Status out = Status::Ok();
  if (::fstat(fd, &st) != 0) {
    out = Errno("cannot stat", data_file);
  } else if (static_cast<uint64_t>(st.st_size) < w.meta_pages.size()) {
    out = Status::Error("kv log: " + data_file + " is shorter than its checkpoint");
  } else if (::pwrite(fd, w.meta_pages.data(), w.meta_pages.size(), 0) !=
                 static_cast<ssize_t>(w.meta_pages.size()) ||
             ::fdatasync(fd) != 0) {
    out = Errno("cannot restore the checkpoint of", data_file);
  }
  ::close(fd);
  return out;
}

WalLog::~WalLog() {
  for (int fd : fd_) {
    if (fd >= 0) ::close(fd);
  }
}

Status WalLog::Open(const std::string& dir, const WalContents& recovered) {
  for (int i = 0; i < 2; ++i) {
    path_[i] = WalPath(dir, i);
    fd_[i] = ::open(path_[i].c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_[i] < 0) return Errno("cannot open", path_[i]);
  }
  active_ = recovered.active;
  generation_ = recovered.generation;
  size_ = recovered.file_bytes;
  dirty_ = true;  // until the first checkpoint
  return Status::Ok();
}

Status WalLog::Write(int i, std::string_view payload, uint64_t* size) {
  std::string rec;
  rec.reserve(kRecordHeader + payload.size());
  Put<uint32_t>(&rec, kWalMagic);
  Put<uint32_t>(&rec, static_cast<uint32_t>(payload.size()));
  Put<uint32_t>(&rec, Crc32(payload));
  rec.append(payload);
  size_t off = 0;
  while (off < rec.size()) {
    ssize_t n = ::write(fd_[i], rec.data() + off, rec.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status st = Errno("cannot append to", path_[i]);
      if (off > 0 && ::ftruncate(fd_[i], static_cast<off_t>(*size)) != 0) {
        st = Errno("cannot truncate", path_[i]);
      }
      return st;
    }
    off += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_[i]) != 0) return Errno("cannot sync", path_[i]);
  *size += rec.size();
  if (tracking_ && i == active_) tail_.append(rec);
  return Status::Ok();
}

Status WalLog::Append(uint64_t index, std::string_view ops) {
  std::string payload;
  payload.reserve(9 + ops.size());
  Put<uint8_t>(&payload, kGroupType);
  Put<uint64_t>(&payload, index);
  payload.append(ops);
  Status st = Write(active_, payload, &size_);
  if (st.ok()) dirty_ = true;
  return st;
}

Status WalLog::TruncateTo(uint64_t bytes) {
  if (::ftruncate(fd_[active_], static_cast<off_t>(bytes)) != 0 || ::fdatasync(fd_[active_]) != 0) {
    return Errno("cannot truncate", path_[active_]);
  }
  if (tracking_ && size_ - bytes <= tail_.size()) tail_.resize(tail_.size() - (size_ - bytes));
  size_ = bytes;
  return Status::Ok();
}

void WalLog::BeginTail() {
  tracking_ = true;
  tail_.clear();
}

void WalLog::DropTail() {
  tracking_ = false;
  tail_.clear();
}

Status WalLog::Rotate(uint32_t page_size, std::string_view meta_pages) {
  int next = 1 - active_;
  std::string payload;
  payload.reserve(13 + meta_pages.size() + tail_.size());
  Put<uint8_t>(&payload, kHeaderType);
  Put<uint64_t>(&payload, generation_ + 1);
  Put<uint32_t>(&payload, page_size);
  payload.append(meta_pages);
  payload.append(tail_);
  bool carried = !tail_.empty();
  DropTail();
  uint64_t size = 0;
  if (::ftruncate(fd_[next], 0) != 0) return Errno("cannot truncate", path_[next]);
  Status st = Write(next, payload, &size);
  if (!st.ok()) return st;
  active_ = next;
  ++generation_;
  size_ = size;
  dirty_ = carried;
  return Status::Ok();
}

}  // namespace beacon::kv::internal
