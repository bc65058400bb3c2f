// Whole-file reads, and whole-file writes that never leave a torn file behind: the data goes to
// `path + ".tmp"`, which is then renamed over `path`, so a reader (or the next start) sees the
// old content or the new, never a mix.
//
// Contract: blocking file I/O; call from a thread that may block (never the DNS or HTTP loop
// threads). Any thread otherwise: no shared state. Two writers of the same path at once race on
// the temp file: callers serialise writes per path. The file is created with mode 0600. On
// failure the temp file is removed, `path` is unchanged, and the Status says
// "cannot write <path>: <strerror(errno)>".
#pragma once

#include <string>
#include <string_view>

#include "beacon/core/status.h"

namespace beacon::core {

// Survives a machine crash: fsync of the file before the rename and of the directory after it.
Status WriteFileDurable(const std::string& path, std::string_view data);

// Reads the whole file into *out (replacing its content). Errors say
// "<path>: cannot read: <strerror(errno)>". With `missing` given, a file that does not exist is
// not an error: *missing is set, *out is empty and the Status is ok.
Status ReadFile(const std::string& path, std::string* out, bool* missing = nullptr);

// Atomic against readers and against this process dying, but not against a machine crash (no
// fsync): for state that is cheap to lose, written often.
Status WriteFileAtomic(const std::string& path, std::string_view data);

// Writes `data` to `path + ".tmp"` only: no sync, no rename. For callers that make many files
// durable at once (agent::Persister: temps, one syncfs, renames). On failure the temp file is
// removed and the Status says "cannot write <path>: <reason>".
Status WriteTempFile(const std::string& path, std::string_view data);

}  // namespace beacon::core
