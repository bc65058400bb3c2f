// `beacon snapshot save|restore|inspect` (Consul's command/snapshot texts and exit codes) over
// GET/PUT /v1/snapshot and the file format of kv/snapshot.h.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <ostream>

#include "beacon/kv/snapshot.h"
#include "internal.h"

namespace beacon::cli {
namespace {

constexpr int64_t kSnapshotTimeoutMs = int64_t{10} * 60 * 1000;

bool ReadFile(const std::string& path, std::string* out, std::string* err) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    *err = "open " + path + ": no such file or directory";
    return false;
  }
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  if (f.bad()) {
    *err = "read " + path + ": I/O error";
    return false;
  }
  return true;
}

// One FILE argument, as Consul's snapshot commands want it; -1 to go on, else the exit code.
int OneFile(const config::FlagSet& fs, Io& io) {
  if (fs.Args().empty()) {
    io.err << "Missing FILE argument\n";
    return 1;
  }
  if (fs.Args().size() > 1) return TooMany(fs, 1, io);
  return -1;
}

}  // namespace

// Go's text/tabwriter as Consul's inspect formatter drives it: cells of consecutive lines that
// end in a tab form columns padded to their widest cell + padding (at least minwidth); the last
// cell of a line (no tab after it) is not padded.
std::string TabWrite(const std::vector<std::string>& lines, size_t minwidth, size_t padding) {
  std::vector<std::vector<std::string>> cells;
  for (const std::string& l : lines) {
    std::vector<std::string> row;
    size_t start = 0;
    for (size_t tab; (tab = l.find('\t', start)) != std::string::npos; start = tab + 1) {
      row.push_back(l.substr(start, tab - start));
    }
    row.push_back(l.substr(start));  // the unterminated rest
    cells.push_back(std::move(row));
  }
  // Column c's width over each block of consecutive lines that have a terminated cell c.
  std::vector<std::vector<size_t>> width(cells.size());
  for (size_t i = 0; i < cells.size(); ++i) width[i].assign(cells[i].size(), 0);
  for (size_t col = 0;; ++col) {
    bool any = false;
    for (size_t i = 0; i < cells.size();) {
      if (cells[i].size() <= col + 1) {
        ++i;
        continue;
      }
      any = true;
      size_t j = i, w = 0;
      for (; j < cells.size() && cells[j].size() > col + 1; ++j) {
        w = std::max(w, cells[j][col].size() + padding);
      }
      w = std::max(w, minwidth);
      for (size_t k = i; k < j; ++k) width[k][col] = w;
      i = j;
    }
    if (!any) break;
  }
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) out += '\n';
    for (size_t c = 0; c < cells[i].size(); ++c) {
      out += cells[i][c];
      if (c + 1 < cells[i].size()) out.append(width[i][c] - cells[i][c].size(), ' ');
    }
  }
  return out;
}

// Consul's inspect.ByteSize: "0", "62B", "1.7KB", "2MB".
std::string ByteSize(uint64_t bytes) {
  const char* unit = "B";
  double v = static_cast<double>(bytes);
  if (bytes == 0) return "0";
  const std::pair<uint64_t, const char*> units[] = {{uint64_t{1} << 40, "TB"},
                                                    {uint64_t{1} << 30, "GB"},
                                                    {uint64_t{1} << 20, "MB"},
                                                    {uint64_t{1} << 10, "KB"}};
  for (const auto& [size, name] : units) {
    if (bytes >= size) {
      v /= static_cast<double>(size);
      unit = name;
      break;
    }
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.ends_with(".0")) s.resize(s.size() - 2);
  return s + unit;
}

std::string InspectPretty(const kv::SnapshotStats& st, bool detailed) {
  std::vector<std::string> a = {
      " ID\t" + kv::SnapshotId(st.header),
      " Size\t" + std::to_string(st.size),
      " Index\t" + std::to_string(st.header.index),
      " Term\t" + std::to_string(st.header.term),
      " Version\t" + std::to_string(st.header.version),
      "",
      " Type\tCount\tSize\t",
      " ----\t----\t----\t",
  };
  for (const auto& t : st.types) {
    a.push_back(" " + t.name + "\t" + std::to_string(t.count) + "\t" + ByteSize(t.bytes) + "\t");
  }
  a.push_back(" ----\t----\t----\t");
  a.push_back(" Total\t\t" + ByteSize(st.total) + "\t");
  std::string out = TabWrite(a, 8, 6);
  if (detailed) {
    std::vector<std::string> k = {"", "", " Key Name\tCount\tSize\t", " ----\t----\t----\t"};
    for (const auto& t : st.kv) {
      k.push_back(" " + t.name + "\t" + std::to_string(t.count) + "\t" + ByteSize(t.bytes) + "\t");
    }
    k.push_back(" ----\t----\t----\t");
    k.push_back(" Total\t\t" + ByteSize(st.kv_total) + "\t");
    out += TabWrite(k, 30, 12);
  }
  return out;
}

// Consul's -format=json: json.MarshalIndent(OutputFormat, "", "   ").
std::string InspectJson(const kv::SnapshotStats& st) {
  auto stats = [](const std::vector<kv::SnapshotTypeStats>& v, const std::string& ind) {
    if (v.empty()) return std::string("null");
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) {
      auto add = [&s](const auto&... parts) { ((s += parts), ...); };
      add(i ? ",\n" : "\n", ind, "   {\n", ind, "      \"Name\": ", JsonQuote(v[i].name), ",\n",
          ind, "      \"Sum\": ", std::to_string(v[i].bytes), ",\n", ind,
          "      \"Count\": ", std::to_string(v[i].count), "\n", ind, "   }");
    }
    return s + "\n" + ind + "]";
  };
  return "{\n   \"Meta\": {\n      \"ID\": " + JsonQuote(kv::SnapshotId(st.header)) +
         ",\n      \"Size\": " + std::to_string(st.size) +
         ",\n      \"Index\": " + std::to_string(st.header.index) +
         ",\n      \"Term\": " + std::to_string(st.header.term) +
         ",\n      \"Version\": " + std::to_string(st.header.version) +
         "\n   },\n   \"Stats\": " + stats(st.types, "   ") +
         ",\n   \"StatsKV\": " + stats(st.kv, "   ") +
         ",\n   \"TotalSize\": " + std::to_string(st.total) +
         ",\n   \"TotalSizeKV\": " + std::to_string(st.kv_total) + "\n}";
}

int SnapshotSave(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, true);
  constexpr std::string_view kHelp = R"(
Usage: beacon snapshot save [options] FILE

  Retrieves an atomic, point-in-time snapshot of the state of the Beacon servers
  which includes key/value entries (with their indexes and tombstones) and sessions.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  To create a snapshot from the leader server and save it to "backup.snap":

    $ beacon snapshot save backup.snap

  To create a potentially stale snapshot from any available server (useful if no
  leader is available):

    $ beacon snapshot save -stale backup.snap
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if ((rc = OneFile(fs, io)) >= 0) return rc;
  const std::string file = fs.Args()[0];
  std::string path = "/v1/snapshot";
  if (std::string q = hf.Query(); !q.empty()) path += "?" + q;
  http::HttpClient client(hf.Options(io));
  http::ClientResponse resp;
  Status st = Call(client, "GET", path, {}, &resp, false, kSnapshotTimeoutMs);
  if (!st.ok()) return Fail(io, "Error saving snapshot", st);
  // Written next to FILE first, verified, then renamed over it; the unverified file never
  // stays behind (as Consul does).
  const std::string unverified = file + ".unverified";
  struct Cleanup {
    const std::string& path;
    ~Cleanup() { std::remove(path.c_str()); }
  } cleanup{unverified};
  {
    std::ofstream f(unverified, std::ios::binary | std::ios::trunc);
    f.write(resp.body.data(), static_cast<std::streamsize>(resp.body.size()));
    f.close();
    if (!f) {
      io.err << "Error writing unverified snapshot file: write " << unverified << " failed\n";
      return 1;
    }
  }
  std::string back, err;
  if (!ReadFile(unverified, &back, &err)) {
    io.err << "Error opening snapshot file for verify: " << err << "\n";
    return 1;
  }
  auto stats = kv::InspectSnapshot(back);
  if (!stats.ok()) {
    io.err << "Error verifying snapshot file: " << stats.status().message() << "\n";
    return 1;
  }
  if (std::rename(unverified.c_str(), file.c_str()) != 0) {
    io.err << "Error renaming \"" << unverified << "\" to \"" << file
           << "\": " << std::strerror(errno) << "\n";
    return 1;
  }
  io.out << "Saved and verified snapshot to index " << stats->header.index << "\n";
  return 0;
}

int SnapshotRestore(const Args& args, Io& io) {
  config::FlagSet fs;
  HttpFlags hf;
  hf.Register(&fs, true);
  constexpr std::string_view kHelp = R"(
Usage: beacon snapshot restore [options] FILE

  Restores an atomic, point-in-time snapshot of the state of the Beacon servers
  which includes key/value entries (with their indexes and tombstones) and sessions.

  Restores involve a potentially dangerous low-level operation and are not
  designed to handle server failures during a restore. This command is primarily
  intended to be used when recovering from a disaster, restoring into a fresh
  cluster of Beacon servers.

  If ACLs are enabled, a management token must be supplied in order to perform
  snapshot operations.

  To restore a snapshot from the file "backup.snap":

    $ beacon snapshot restore backup.snap
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if ((rc = OneFile(fs, io)) >= 0) return rc;
  std::string data, err;
  if (!ReadFile(fs.Args()[0], &data, &err)) {
    io.err << "Error opening snapshot file: " << err << "\n";
    return 1;
  }
  std::string path = "/v1/snapshot";
  if (std::string q = hf.Query(); !q.empty()) path += "?" + q;
  http::HttpClient client(hf.Options(io));
  http::ClientResponse resp;
  Status st = Call(client, "PUT", path, data, &resp, false, kSnapshotTimeoutMs);
  if (!st.ok()) return Fail(io, "Error restoring snapshot", st);
  io.out << "Restored snapshot\n";
  return 0;
}

int SnapshotInspect(const Args& args, Io& io) {
  config::FlagSet fs;
  bool kv_details = false;
  int64_t kv_depth = 2;
  std::string kv_filter, format = "pretty";
  fs.Bool("kvdetails", &kv_details,
          "Provides a detailed KV space usage breakdown for any KV data that's been stored.");
  fs.Int("kvdepth", &kv_depth,
         "Can only be used with -kvdetails. The key prefix depth used to breakdown KV store "
         "data. Defaults to 2.");
  fs.String("kvfilter", &kv_filter,
            "Can only be used with -kvdetails. Limits KV key breakdown using this prefix filter.");
  fs.String("format", &format, "Output format {pretty|json}");
  constexpr std::string_view kHelp = R"(
Usage: beacon snapshot inspect [options] FILE

  Displays information about a snapshot file on disk.

  To inspect the file "backup.snap":

    $ beacon snapshot inspect backup.snap
)";
  int rc = ParseFlags(&fs, args, kHelp, io);
  if (rc >= 0) return rc;
  if ((rc = OneFile(fs, io)) >= 0) return rc;
  std::string data, err;
  if (!ReadFile(fs.Args()[0], &data, &err)) {
    io.err << "Error opening snapshot file: " << err << "\n";
    return 1;
  }
  const int depth = kv_details ? static_cast<int>(std::max<int64_t>(kv_depth, 1)) : 0;
  auto stats = kv::InspectSnapshot(data, depth, kv_filter);
  if (!stats.ok()) {
    io.err << "Error reading snapshot: " << stats.status().message() << "\n";
    return 1;
  }
  if (format == "pretty") {
    io.out << InspectPretty(*stats, kv_details) << "\n";
  } else if (format == "json") {
    io.out << InspectJson(*stats) << "\n";
  } else {
    io.err << "Error outputting enhanced snapshot data: Unknown format: " << format << "\n";
    return 1;
  }
  return 0;
}

}  // namespace beacon::cli
