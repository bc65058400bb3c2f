#include "beacon/core/base64.h"

#include <doctest.h>

#include <string>

namespace beacon::core {
namespace {

TEST_CASE("Base64Encode pads like Go's StdEncoding") {
  CHECK(Base64Encode("") == "");
  CHECK(Base64Encode("f") == "Zg==");
  CHECK(Base64Encode("fo") == "Zm8=");
  CHECK(Base64Encode("foo") == "Zm9v");
  CHECK(Base64Encode("foob") == "Zm9vYg==");
  CHECK(Base64Encode(std::string_view("\xFB\xFF\x00", 3)) == "+/8A");
}

TEST_CASE("Base64Decode accepts padded and unpadded input") {
  std::string out, err;
  REQUIRE(Base64Decode("Zm9vYg==", &out, &err));
  CHECK(out == "foob");
  REQUIRE(Base64Decode("Zm9vYg", &out, &err));
  CHECK(out == "foob");
  REQUIRE(Base64Decode("Zm8=", &out, &err));
  CHECK(out == "fo");
  REQUIRE(Base64Decode("", &out, &err));
  CHECK(out.empty());
  CHECK(err.empty());
}

TEST_CASE("Base64Decode reports Go's error text") {
  std::string out, err;
  CHECK_FALSE(Base64Decode("Zm!v", &out, &err));
  CHECK(err == "illegal base64 data at input byte 2");
  CHECK_FALSE(Base64Decode("Zm9v=Zm9", &out, &err));
  CHECK(err == "illegal base64 data at input byte 4");
  CHECK_FALSE(Base64Decode("Zm9v*", &out, nullptr));  // a null err is allowed
}

TEST_CASE("Base64 round-trips every byte value at every length mod 3") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n : {0, 1, 2, 3, 4, 5, 255, 256}) {
    const std::string in = all.substr(0, n);
    std::string out, err;
    REQUIRE(Base64Decode(Base64Encode(in), &out, &err));
    CHECK(out == in);
  }
}

}  // namespace
}  // namespace beacon::core
