#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace monsys {

// RFC 3339 in UTC with milliseconds, e.g. "2026-11-27T23:30:00.123Z".
std::string format_utc_millis(std::chrono::system_clock::time_point time);

// The inverse of format_utc_millis: exactly "YYYY-MM-DDTHH:MM:SS.mmmZ" with a real calendar
// date from 1970 up to the end of what system_clock holds (2262 with libstdc++). Anything else
// (other offsets, other precisions, leap seconds) is no value.
std::optional<std::chrono::system_clock::time_point> parse_utc_millis(std::string_view text);

}  // namespace monsys
