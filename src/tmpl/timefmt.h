// Go's time.Format for a UTC instant (consul-template's timestamp uses time.Now().UTC()).
//
// Contract: every Go layout element (2006 06 01 1 Jan January 02 2 _2 002 15 03 3 04 4 05 5 PM
// pm Mon Monday MST Z07:00 -07:00 -0700 Z0700 -07 .000 .999 ,000 ...) is replaced; anything
// else is copied. The zone is always UTC ("Z", "+00:00", "UTC"). Pure, any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace beacon::tmpl {

inline constexpr std::string_view kRFC3339 = "2006-01-02T15:04:05Z07:00";

std::string FormatTime(std::chrono::system_clock::time_point t, std::string_view layout);

}  // namespace beacon::tmpl
