// Base64, the standard alphabet (RFC 4648 section 4), as Go encodes []byte in JSON and Consul
// sends KV values.
//
// Contract: pure functions, any thread. Base64Encode always pads with '='. Base64Decode accepts
// the padded form and also a missing padding; on a bad character or length it returns false,
// sets *err (when not null) to Go's "illegal base64 data at input byte N", and *out is then
// unspecified.
#pragma once

#include <string>
#include <string_view>

namespace beacon::core {

std::string Base64Encode(std::string_view in);
bool Base64Decode(std::string_view in, std::string* out, std::string* err);

}  // namespace beacon::core
