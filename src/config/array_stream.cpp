// ArrayStream: element boundaries of a JSON array found block by block (see array_stream.h).
#include "array_stream.h"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace beacon::config::internal {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

}  // namespace

ArrayStream::~ArrayStream() {
  if (fd_ >= 0) close(fd_);
}

Status ArrayStream::Open(const std::string& path, bool* is_array) {
  path_ = path;
  *is_array = false;
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) return Status::Error(path + ": cannot read: " + std::strerror(errno));
  block_.resize(kBlock);
  batch_.reserve(kBatchBytes + kBatchBytes / 4);
  while (Fill()) {
    while (pos_ < have_ && IsSpace(block_[pos_])) ++pos_;
    if (pos_ == have_) continue;
    if (block_[pos_] != '[') return Status::Ok();
    ++pos_;
    *is_array = true;
    return Status::Ok();
  }
  return Status::Ok();  // empty (or only spaces): not an array
}

bool ArrayStream::Fill() {
  if (state_ == State::kInElement) {  // the element goes on in the next block
    batch_.append(block_.data() + start_, have_ - start_);
    start_ = 0;
  }
  offset_ += have_;
  have_ = 0;
  pos_ = 0;
  for (;;) {
    const ssize_t got = read(fd_, block_.data(), block_.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;  // the end (a read error shows as a truncated array)
    have_ = static_cast<size_t>(got);
    return true;
  }
}

Status ArrayStream::Syntax(const char* what) const {
  return Status::Error(path_ + ": invalid JSON: " + what + " (byte " +
                       std::to_string(offset_ + pos_) + ")");
}

void ArrayStream::EndElement(size_t end) {
  batch_.append(block_.data() + start_, end - start_);
  ++count_;
  state_ = State::kAfterElement;
}

Status ArrayStream::Next(const char** batch, size_t* len, size_t* n) {
  batch_.assign(1, '[');
  count_ = 0;
  for (;;) {
    if (pos_ == have_ && !Fill()) {
      if (state_ != State::kEnded) return Syntax("the array is not closed");
      break;
    }
    const char c = block_[pos_];
    if (state_ == State::kEnded) {
      if (!IsSpace(c)) return Syntax("text after the array");
      ++pos_;
      continue;
    }
    if (state_ == State::kAfterElement) {
      if (IsSpace(c)) {
        ++pos_;
      } else if (c == ',') {
        ++pos_;
        state_ = State::kBeforeElement;
        after_comma_ = true;
        if (batch_.size() >= kBatchBytes) break;
      } else if (c == ']') {
        ++pos_;
        state_ = State::kEnded;
      } else {
        return Syntax("expected ',' or ']' after an array element");
      }
      continue;
    }
    if (state_ == State::kBeforeElement) {
      if (IsSpace(c)) {
        ++pos_;
        continue;
      }
      if (c == ']') {
        if (after_comma_) return Syntax("expected a value after ','");
        ++pos_;
        state_ = State::kEnded;
        continue;
      }
      if (count_ > 0) batch_ += ',';
      after_comma_ = false;
      start_ = pos_;
      state_ = State::kInElement;
      depth_ = 0;
      in_string_ = false;
      escaped_ = false;
    }
    // In an element.
    if (in_string_) {
      if (escaped_) {
        escaped_ = false;
        ++pos_;
        continue;
      }
      // Strings are most of the bytes: jump to the next quote or backslash.
      const char* p = block_.data() + pos_;
      const size_t left = have_ - pos_;
      const void* q = std::memchr(p, '"', left);
      const size_t to_quote = q ? static_cast<size_t>(static_cast<const char*>(q) - p) : left;
      const void* b = std::memchr(p, '\\', to_quote);
      if (b != nullptr) {
        pos_ += static_cast<size_t>(static_cast<const char*>(b) - p) + 1;
        escaped_ = true;
      } else if (q != nullptr) {
        pos_ += to_quote + 1;
        in_string_ = false;
        if (depth_ == 0) EndElement(pos_);  // a string element
      } else {
        pos_ = have_;
      }
      continue;
    }
    if (c == '"') {
      in_string_ = true;
      ++pos_;
    } else if (c == '{' || c == '[') {
      ++depth_;
      ++pos_;
    } else if (c == '}' || c == ']') {
      if (depth_ == 0) {
        EndElement(pos_);  // a number or literal just before the closing bracket
        continue;
      }
      ++pos_;
      if (--depth_ == 0) EndElement(pos_);
    } else if (depth_ == 0 && (c == ',' || IsSpace(c))) {
      EndElement(pos_);
    } else {
      ++pos_;
    }
  }
  *n = count_;
  if (count_ == 0) {
    *batch = nullptr;
    *len = 0;
    return Status::Ok();
  }
  batch_ += ']';
  *len = batch_.size();
  batch_.append(simdjson::SIMDJSON_PADDING, '\0');
  *batch = batch_.data();
  return Status::Ok();
}

}  // namespace beacon::config::internal
