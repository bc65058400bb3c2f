// Catalog seed files: a JSON array of /v1/catalog/register bodies. Built for bulk loads (300k
// entries): the file is read block by block and parsed about 1 MiB of entries at a time
// (ArrayStream) with one reused DOM parser, keys matched without allocating, strings copied once;
// the whole file is never in memory at once.
#include <simdjson.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <system_error>
#include <vector>

#include "array_stream.h"
#include "beacon/config/config.h"
#include "beacon/config/registration_body.h"
#include "beacon/core/duration.h"

namespace beacon::config {
namespace {

namespace dom = simdjson::dom;
using catalog::Check;
using catalog::Registration;
using catalog::Service;

char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

// A key folded to lower case without '_' into buf; longer keys match nothing we know.
class Key {
 public:
  explicit Key(std::string_view k) {
    for (char ch : k) {
      if (ch == '_') continue;
      if (len_ == sizeof buf_) {
        len_ = 0;
        return;
      }
      buf_[len_++] = AsciiLower(ch);
    }
  }
  bool operator==(std::string_view canon) const { return std::string_view(buf_, len_) == canon; }

 private:
  char buf_[40];
  size_t len_ = 0;
};

// Where a value sits, e.g. [12].Service.Port; a chain of stack frames, turned into text only
// when an error is reported.
struct Path {
  static constexpr size_t kRoot = SIZE_MAX;  // as `index`: the document itself, printed as ""
  const Path* parent = nullptr;
  std::string_view key;  // empty: an array index
  size_t index = 0;

  Path Field(std::string_view k) const { return Path{this, k, 0}; }
  Path At(size_t i) const { return Path{this, {}, i}; }
  std::string Str() const {
    std::string s = parent != nullptr ? parent->Str() : std::string();
    if (key.empty() && index == kRoot) return s;
    if (key.empty()) return s + "[" + std::to_string(index) + "]";
    if (!s.empty()) s += '.';
    s.append(key);
    return s;
  }
};

// `strict` (seed files): Node, Address, the service name and the check ID are required. An API
// body is decoded with strict off; the caller checks those with Consul's own messages.
class SeedParser {
 public:
  explicit SeedParser(const std::string& file, bool strict = true) : file_(file), strict_(strict) {}

  Status Err(const Path& path, std::string_view what) const {
    const std::string where = file_.empty() ? path.Str() : file_ + ": " + path.Str();
    return Status::Error(where + ": " + std::string(what));
  }

  Status Duration(dom::element e, const Path& path, uint64_t* ms) const {
    std::string_view s;
    int64_t ns = 0;
    if (!e.get_string().get(s) && core::ParseDurationMs(s, ms)) return Status::Ok();
    if (!e.get_int64().get(ns) && ns >= 0) {
      *ms = static_cast<uint64_t>(ns) / 1000000;  // integer nanoseconds
      return Status::Ok();
    }
    return Err(path, "expected a duration such as \"10s\"");
  }

  Status Str(dom::element e, const Path& path, std::string* out) const {
    std::string_view s;
    if (e.get_string().get(s)) return Err(path, "expected a string");
    out->assign(s);
    return Status::Ok();
  }

  Status Bool(dom::element e, const Path& path, bool* out) const {
    if (e.get_bool().get(*out)) return Err(path, "expected true or false");
    return Status::Ok();
  }

  Status Int(dom::element e, const Path& path, int64_t lo, int64_t hi, int64_t* out) const {
    if (e.get_int64().get(*out) || *out < lo || *out > hi) {
      return Err(path,
                 "expected a number between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    return Status::Ok();
  }

  Status StrMap(dom::element e, const Path& path, std::map<std::string, std::string>* out) const {
    dom::object obj;
    if (e.get_object().get(obj)) return Err(path, "expected an object of strings");
    for (dom::key_value_pair kv : obj) {
      std::string_view v;
      if (kv.value.get_string().get(v)) return Err(path.Field(kv.key), "expected a string");
      out->emplace(kv.key, v);
    }
    return Status::Ok();
  }

  Status StrList(dom::element e, const Path& path, std::vector<std::string>* out) const {
    dom::array arr;
    if (e.get_array().get(arr)) return Err(path, "expected a list of strings");
    out->reserve(arr.size());
    for (dom::element item : arr) {
      std::string_view v;
      if (item.get_string().get(v)) return Err(path.At(out->size()), "expected a string");
      out->emplace_back(v);
    }
    return Status::Ok();
  }

  Status ParseService(dom::element e, const Path& path, Service* svc) const {
    dom::object obj;
    if (e.get_object().get(obj)) return Err(path, "expected an object");
    Status st;
    int64_t n = 0;
    for (dom::key_value_pair kv : obj) {
      if (kv.value.is_null()) continue;
      Key k(kv.key);
      const std::string_view key = kv.key;
      if (k == "id") {
        st = Str(kv.value, path.Field(key), &svc->id);
      } else if (k == "service" || k == "name") {
        st = Str(kv.value, path.Field(key), &svc->name);
      } else if (k == "tags") {
        st = StrList(kv.value, path.Field(key), &svc->tags);
      } else if (k == "address") {
        st = Str(kv.value, path.Field(key), &svc->address);
      } else if (k == "port") {
        st = Int(kv.value, path.Field(key), 0, 65535, &n);
        svc->port = static_cast<uint16_t>(n);
      } else if (k == "meta") {
        st = StrMap(kv.value, path.Field(key), &svc->meta);
      } else if (k == "weights") {
        st = ParseWeights(kv.value, path.Field(key), &svc->weights);
      } else if (k == "taggedaddresses") {
        st = ParseTagged(kv.value, path.Field(key), &svc->tagged_addresses);
      } else if (k == "enabletagoverride") {
        st = Bool(kv.value, path.Field(key), &svc->enable_tag_override);
      } else if (k == "kind") {
        st = Str(kv.value, path.Field(key), &svc->kind);
      }
      if (!st.ok()) return st;
    }
    if (strict_ && svc->name.empty())
      return Err(path.Field("Service"), "missing required key (the service name)");
    if (svc->id.empty()) svc->id = svc->name;
    return Status::Ok();
  }

  Status ParseWeights(dom::element e, const Path& path, catalog::Weights* w) const {
    dom::object obj;
    if (e.get_object().get(obj)) return Err(path, "expected an object");
    for (dom::key_value_pair kv : obj) {
      Key k(kv.key);
      int64_t n = 0;
      Status st;
      if (k == "passing") {
        st = Int(kv.value, path.Field(kv.key), 1, 0xFFFFFFFFLL, &n);
        w->passing = static_cast<uint32_t>(n);
      } else if (k == "warning") {
        st = Int(kv.value, path.Field(kv.key), 0, 0xFFFFFFFFLL, &n);
        w->warning = static_cast<uint32_t>(n);
      }
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  Status ParseTagged(dom::element e, const Path& path,
                     std::map<std::string, catalog::TaggedAddress>* out) const {
    dom::object obj;
    if (e.get_object().get(obj)) return Err(path, "expected an object");
    for (dom::key_value_pair kv : obj) {
      const Path p = path.Field(kv.key);
      dom::object inner;
      if (kv.value.get_object().get(inner)) return Err(p, "expected {\"Address\", \"Port\"}");
      catalog::TaggedAddress ta;
      for (dom::key_value_pair f : inner) {
        Key k(f.key);
        Status st;
        int64_t n = 0;
        if (k == "address") {
          st = Str(f.value, p.Field(f.key), &ta.address);
        } else if (k == "port") {
          st = Int(f.value, p.Field(f.key), 0, 65535, &n);
          ta.port = static_cast<uint16_t>(n);
        }
        if (!st.ok()) return st;
      }
      out->emplace(kv.key, std::move(ta));
    }
    return Status::Ok();
  }

  Status ParseCheck(dom::element e, const Path& path, const Registration& reg, Check* chk) const {
    dom::object obj;
    if (e.get_object().get(obj)) return Err(path, "expected an object");
    Status st;
    for (dom::key_value_pair kv : obj) {
      if (kv.value.is_null()) continue;
      Key k(kv.key);
      const std::string_view key = kv.key;
      if (k == "checkid" || k == "id") {
        st = Str(kv.value, path.Field(key), &chk->id);
      } else if (k == "name") {
        st = Str(kv.value, path.Field(key), &chk->name);
      } else if (k == "status") {
        std::string s;
        st = Str(kv.value, path.Field(key), &s);
        if (st.ok() && !s.empty() &&
            (!catalog::ParseHealth(s, &chk->status) ||
             chk->status == catalog::Health::kMaintenance)) {
          st = Err(path.Field(key), "expected passing, warning or critical, got \"" + s + "\"");
        }
      } else if (k == "serviceid") {
        st = Str(kv.value, path.Field(key), &chk->service_id);
      } else if (k == "servicename") {
        st = Str(kv.value, path.Field(key), &chk->service_name);
      } else if (k == "notes") {
        st = Str(kv.value, path.Field(key), &chk->notes);
      } else if (k == "output") {
        st = Str(kv.value, path.Field(key), &chk->output);
      } else if (k == "definition") {
        st = ParseDefinition(kv.value, path.Field(key), chk);
      }
      if (!st.ok()) return st;
    }
    if (chk->id.empty()) chk->id = chk->name;
    if (strict_ && chk->id.empty())
      return Err(path.Field("CheckID"), "missing required key (or Name)");
    if (!chk->service_id.empty() && chk->service_name.empty()) {
      for (const Service& s : reg.services) {
        if (s.id == chk->service_id) chk->service_name = s.name;
      }
    }
    return Status::Ok();
  }

  // HealthCheckDefinition: kept for display (catalog checks are not run).
  Status ParseDefinition(dom::element e, const Path& path, Check* chk) const {
    dom::object obj;
    if (e.get_object().get(obj)) return Err(path, "expected an object");
    for (dom::key_value_pair kv : obj) {
      if (kv.value.is_null()) continue;
      Key k(kv.key);
      const Path p = path.Field(kv.key);
      Status st;
      if (k == "http") {
        st = Str(kv.value, p, &chk->http);
      } else if (k == "tcp") {
        st = Str(kv.value, p, &chk->tcp);
      } else if (k == "interval") {
        st = Duration(kv.value, p, &chk->interval_ms);
      } else if (k == "timeout") {
        st = Duration(kv.value, p, &chk->timeout_ms);
      } else if (k == "deregistercriticalserviceafter") {
        st = Duration(kv.value, p, &chk->deregister_critical_after_ms);
      }
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  Status ParseEntry(dom::element e, const Path& path, Registration* reg) const {
    dom::object obj;
    if (e.get_object().get(obj)) return Err(path, "expected a register body object");
    Status st;
    dom::element check, checks;
    bool has_check = false, has_checks = false;
    for (dom::key_value_pair kv : obj) {
      if (kv.value.is_null()) continue;
      Key k(kv.key);
      const std::string_view key = kv.key;
      if (k == "node") {
        st = Str(kv.value, path.Field(key), &reg->node.name);
      } else if (k == "id") {
        st = Str(kv.value, path.Field(key), &reg->node.id);
      } else if (k == "address") {
        st = Str(kv.value, path.Field(key), &reg->node.address);
      } else if (k == "datacenter") {
        st = Str(kv.value, path.Field(key), &reg->node.datacenter);
        for (char& ch : reg->node.datacenter) ch = AsciiLower(ch);
      } else if (k == "taggedaddresses") {
        st = StrMap(kv.value, path.Field(key), &reg->node.tagged_addresses);
      } else if (k == "nodemeta") {
        st = StrMap(kv.value, path.Field(key), &reg->node.meta);
      } else if (k == "service") {
        reg->services.emplace_back();
        st = ParseService(kv.value, path.Field(key), &reg->services.back());
      } else if (k == "check") {
        check = kv.value;
        has_check = true;
      } else if (k == "checks") {
        checks = kv.value;
        has_checks = true;
      } else if (k == "skipnodeupdate") {
        st = Bool(kv.value, path.Field(key), &reg->skip_node_update);
      }
      if (!st.ok()) return st;
    }
    if (strict_ && reg->node.name.empty()) return Err(path.Field("Node"), "missing required key");
    if (strict_ && reg->node.address.empty())
      return Err(path.Field("Address"), "missing required key");
    // Checks last, so that a check naming the entry's service gets its name whatever the order.
    if (has_check) {
      reg->checks.emplace_back();
      st = ParseCheck(check, path.Field("Check"), *reg, &reg->checks.back());
      if (!st.ok()) return st;
    }
    if (has_checks) {
      dom::array arr;
      if (checks.get_array().get(arr))
        return Err(path.Field("Checks"), "expected a list of checks");
      size_t i = 0;
      for (dom::element c : arr) {
        reg->checks.emplace_back();
        const Path list = path.Field("Checks");
        st = ParseCheck(c, list.At(i++), *reg, &reg->checks.back());
        if (!st.ok()) return st;
      }
    }
    return Status::Ok();
  }

 private:
  std::string file_;
  bool strict_;
};

// The seed file's bytes with simdjson's padding after them. Large files are mapped (the page
// cache is used in place, no copy) when the zero bytes after the end of the file within its last
// page cover the padding; otherwise, or if mapping fails, the file is read into a padded buffer.
class SeedInput {
 public:
  SeedInput() = default;
  SeedInput(const SeedInput&) = delete;
  SeedInput& operator=(const SeedInput&) = delete;
  ~SeedInput() {
    if (map_ != nullptr) munmap(map_, size_);
  }

  const char* data() const {
    return map_ != nullptr ? static_cast<const char*>(map_) : buf_.data();
  }
  size_t size() const { return size_; }

  Status Open(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::Error(path + ": cannot read: " + std::strerror(errno));
    struct stat sb = {};
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
      close(fd);
      return Status::Error(path + ": cannot read: not a regular file");
    }
    size_ = static_cast<size_t>(sb.st_size);
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t tail = size_ % page;
    if (size_ >= kMapAtLeast && tail != 0 && page - tail >= simdjson::SIMDJSON_PADDING) {
      void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (m != MAP_FAILED) {
        map_ = m;
        close(fd);
        return Status::Ok();
      }
    }
    buf_ = simdjson::padded_string(size_);
    size_t got = 0;
    while (got < size_) {
      ssize_t n = read(fd, buf_.data() + got, size_ - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    close(fd);
    if (got != size_) return Status::Error(path + ": read error");
    return Status::Ok();
  }

 private:
  static constexpr size_t kMapAtLeast = 1 << 20;
  void* map_ = nullptr;
  size_t size_ = 0;
  simdjson::padded_string buf_;
};

}  // namespace

Status ForEachCatalogSeedEntry(const std::string& path,
                               const std::function<Status(catalog::Registration&)>& fn,
                               size_t* count) {
  internal::ArrayStream stream;
  bool is_array = false;
  Status st = stream.Open(path, &is_array);
  if (!st.ok()) return st;
  dom::parser parser;
  dom::element root;
  if (!is_array) {  // parsed whole only to say what is wrong with it
    SeedInput input;
    st = input.Open(path);
    if (!st.ok()) return st;
    if (auto err = parser.parse(input.data(), input.size(), false).get(root)) {
      return Status::Error(path + ": invalid JSON: " + simdjson::error_message(err));
    }
    return Status::Error(path + ": expected a JSON array of /v1/catalog/register bodies");
  }
  // One record, reused: the peak is one batch's document plus whatever `fn` keeps.
  const SeedParser p(path);
  Registration reg;
  size_t i = 0;
  for (;;) {
    const char* batch = nullptr;
    size_t len = 0, n = 0;
    st = stream.Next(&batch, &len, &n);
    if (!st.ok()) return st;
    if (n == 0) break;
    if (auto err = parser.parse(batch, len, /*realloc_if_needed=*/false).get(root)) {
      return Status::Error(path + ": invalid JSON: " + simdjson::error_message(err) + " (entries " +
                           std::to_string(i) + " to " + std::to_string(i + n - 1) + ")");
    }
    dom::array arr;
    if (root.get_array().get(arr)) return Status::Error(path + ": invalid JSON");
    for (dom::element e : arr) {
      reg = Registration();
      Status s = p.ParseEntry(e, Path{nullptr, {}, i}, &reg);
      if (!s.ok()) return s;
      s = fn(reg);
      if (!s.ok()) return Status::Error(path + ": [" + std::to_string(i) + "]: " + s.message());
      ++i;
    }
  }
  if (count != nullptr) *count = i;
  return Status::Ok();
}

Result<std::vector<catalog::Registration>> LoadCatalogSeed(const std::string& path) {
  std::vector<Registration> out;
  Status st = ForEachCatalogSeedEntry(path, [&](Registration& r) {
    out.push_back(std::move(r));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

// Declared in registration_body.h: one API body, decoded by the seed-file parser (strict off).
Status DecodeCatalogRegister(std::string_view json, catalog::Registration* out) {
  const simdjson::padded_string padded(json);
  dom::parser parser;
  dom::element root;
  if (auto err = parser.parse(padded).get(root)) {
    return Status::Error(std::string("invalid JSON: ") + simdjson::error_message(err));
  }
  *out = Registration();
  return SeedParser(std::string(), /*strict=*/false)
      .ParseEntry(root, Path{nullptr, {}, Path::kRoot}, out);
}

}  // namespace beacon::config
