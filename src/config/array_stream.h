// ArrayStream: reads a file holding one JSON array block by block and hands out its elements in
// batches of whole elements, without parsing them, so that a large file (a catalog seed of
// 300,000 entries) is parsed a batch at a time instead of as one document.
//
// Contract:
// - Each batch is the text "[e1,e2,...]" (the elements as they appear in the file, joined by
//   commas) followed by simdjson's padding, ready for a DOM parse; it holds at least one element
//   and grows until it passes the batch size (or the array ends).
// - Only the structure needed to find element boundaries is checked (strings and escapes,
//   nesting depth, commas, the closing bracket, nothing after it). Anything else wrong inside an
//   element is found by the parser of its batch; a syntax error is thus reported after the
//   batches before it were handed out.
// - Memory: one read block plus the batch being filled (and one element, when it is larger).
// - Internal to src/config; single thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "beacon/core/status.h"

namespace beacon::config::internal {

class ArrayStream {
 public:
  ArrayStream() = default;
  ArrayStream(const ArrayStream&) = delete;
  ArrayStream& operator=(const ArrayStream&) = delete;
  ~ArrayStream();

  // Opens the file. *is_array is false (and Ok returned) when its first non-space byte is not
  // '[': the caller then parses it whole to report what it is.
  Status Open(const std::string& path, bool* is_array);
  // The next batch: *batch points at it and *len is its length (padding excluded), *n its
  // element count. Returns Ok with *n == 0 once the array has ended.
  Status Next(const char** batch, size_t* len, size_t* n);

 private:
  enum class State { kBeforeElement, kAfterElement, kInElement, kEnded };
  bool Fill();  // reads the next block; false at the end of the file
  Status Syntax(const char* what) const;
  void EndElement(size_t end);

  static constexpr size_t kBlock = size_t{256} << 10;
  static constexpr size_t kBatchBytes = size_t{256} << 10;

  std::string path_;
  int fd_ = -1;
  std::vector<char> block_;
  size_t have_ = 0;      // bytes in block_
  size_t pos_ = 0;       // scan position in block_
  size_t start_ = 0;     // where the current element starts in block_ (State::kInElement)
  uint64_t offset_ = 0;  // file offset of block_[0], for messages
  State state_ = State::kBeforeElement;
  int depth_ = 0;  // of the current element
  bool in_string_ = false;
  bool escaped_ = false;
  bool after_comma_ = false;  // a ',' was read since the last element
  std::string batch_;         // "[" elements... (closed with "]" and padded when handed out)
  size_t count_ = 0;          // elements in batch_
};

}  // namespace beacon::config::internal
