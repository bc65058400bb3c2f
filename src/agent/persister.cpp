#include "beacon/agent/persister.h"
#include "beacon/core/file.h"
#include "beacon/core/thread_name.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace beacon::agent {
namespace {

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

Persister::Persister(const Logger& log)
    : log_(log), thread_([this] {
        core::SetThreadName("beacon-persist");
        Loop();
      }) {}

Persister::~Persister() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Persister::Enqueue(std::vector<FileOp> ops, Done done) {
  {
    MutexLock lock(&mu_);
    queue_.push_back(Request{std::move(ops), std::move(done)});
    ++queued_;
  }
  cv_.notify_all();
}

void Persister::Flush() {
  UniqueLock lock(&mu_);
  const uint64_t target = queued_;
  cv_.wait(lock.native(), [&]() NO_THREAD_SAFETY_ANALYSIS { return applied_ >= target; });
}

void Persister::Loop() {
  for (;;) {
    std::vector<Request> batch;
    {
      UniqueLock lock(&mu_);
      cv_.wait(lock.native(), [&]() NO_THREAD_SAFETY_ANALYSIS { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      batch.swap(queue_);
    }
    Apply(batch);
    for (Request& r : batch) r.ops.clear();
    {
      MutexLock lock(&mu_);
      applied_ += batch.size();
    }
    cv_.notify_all();
  }
}

void Persister::Apply(std::vector<Request>& batch) {
  std::map<std::string, const FileOp*> last;  // the op that decides each path's final state
  for (const Request& r : batch) {
    for (const FileOp& op : r.ops) last[op.path] = &op;
  }
  std::map<std::string, std::string> errors;
  std::set<std::string> dirs;
  bool durable = false;
  for (const auto& [path, op] : last) {
    if (op->kind == FileOp::Kind::kRemove) continue;
    const Status st = core::WriteTempFile(path, op->data);
    if (!st.ok()) {
      errors[path] = st.message();
      continue;
    }
    durable |= op->kind == FileOp::Kind::kDurable;
  }
  if (durable && !last.empty()) {  // one sync for every temp file of the batch
    const int fd = ::open(DirOf(last.begin()->first).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
      ::syncfs(fd);
      ::close(fd);
    }
  }
  for (const auto& [path, op] : last) {
    if (errors.count(path) != 0) continue;
    if (op->kind == FileOp::Kind::kRemove) {
      if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
        BEACON_LOG(log_, kWarn, "agent", "cannot remove %s: %s", path.c_str(),
                   std::strerror(errno));
      }
    } else if (std::rename((path + ".tmp").c_str(), path.c_str()) != 0) {
      errors[path] = "cannot write " + path + ": " + std::strerror(errno);
      ::unlink((path + ".tmp").c_str());
      continue;
    }
    if (op->kind != FileOp::Kind::kAtomic) dirs.insert(DirOf(path));
  }
  for (const std::string& d : dirs) {  // the renames and removes themselves
    const int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    ::fsync(fd);
    ::close(fd);
  }
  for (const auto& [path, err] : errors) BEACON_LOG(log_, kError, "agent", "%s", err.c_str());
  for (Request& r : batch) {
    std::string err;
    for (const FileOp& op : r.ops) {
      auto it = errors.find(op.path);
      if (it != errors.end()) {
        err = it->second;
        break;
      }
    }
    if (r.done) r.done(err);
  }
}

}  // namespace beacon::agent
