#include "beacon/core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace beacon::core {
namespace {

bool WriteAll(int fd, std::string_view data) {
  for (size_t off = 0; off < data.size();) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Best effort: a directory that cannot be opened or synced leaves the rename done but maybe not
// yet durable, as every filesystem without directory fsync does.
void SyncParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return;
  ::fsync(dfd);
  ::close(dfd);
}

Status Write(const std::string& path, std::string_view data, bool durable) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && WriteAll(fd, data);
  if (ok && durable) ok = ::fsync(fd) == 0;
  int err = errno;
  if (fd >= 0 && ::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    if (fd >= 0) ::unlink(tmp.c_str());
    return Status::Error("cannot write " + path + ": " + std::strerror(err));
  }
  if (durable) SyncParentDir(path);
  return Status::Ok();
}

}  // namespace

Status ReadFile(const std::string& path, std::string* out, bool* missing) {
  out->clear();
  if (missing != nullptr) *missing = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && missing != nullptr) {
    *missing = true;
    return Status::Ok();
  }
  if (fd < 0) return Status::Error(path + ": cannot read: " + std::strerror(errno));
  char chunk[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      out->clear();
      return Status::Error(path + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    out->append(chunk, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status::Ok();
}

Status WriteFileDurable(const std::string& path, std::string_view data) {
  return Write(path, data, true);
}

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  return Write(path, data, false);
}

Status WriteTempFile(const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && WriteAll(fd, data);
  int err = errno;
  if (fd >= 0 && ::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok) return Status::Ok();
  if (fd >= 0) ::unlink(tmp.c_str());
  return Status::Error("cannot write " + path + ": " + std::strerror(err));
}

}  // namespace beacon::core
