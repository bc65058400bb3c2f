// See http_text.h.
#include "http_text.h"

#include <cctype>
#include <utility>

namespace beacon::health {

// Go's text for the status codes a check commonly sees (used when the server sent no reason).
const char* ReasonPhrase(long code) {
  static constexpr std::pair<long, const char*> kPhrases[] = {{200, "OK"},
                                                              {201, "Created"},
                                                              {202, "Accepted"},
                                                              {204, "No Content"},
                                                              {301, "Moved Permanently"},
                                                              {302, "Found"},
                                                              {304, "Not Modified"},
                                                              {400, "Bad Request"},
                                                              {401, "Unauthorized"},
                                                              {403, "Forbidden"},
                                                              {404, "Not Found"},
                                                              {429, "Too Many Requests"},
                                                              {500, "Internal Server Error"},
                                                              {502, "Bad Gateway"},
                                                              {503, "Service Unavailable"},
                                                              {504, "Gateway Timeout"}};
  for (const auto& [c, text] : kPhrases) {
    if (c == code) return text;
  }
  return "";
}

bool HasHeader(const catalog::Check& c, std::string_view name) {
  for (const auto& [k, v] : c.header) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) return true;
  }
  return false;
}

}  // namespace beacon::health
