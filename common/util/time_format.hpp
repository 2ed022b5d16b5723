#pragma once
#include <chrono>
#include <string>

namespace monsys {

// RFC 3339 in UTC with milliseconds, e.g. "2026-11-27T23:30:00.123Z".
std::string format_utc_millis(std::chrono::system_clock::time_point time);

}  // namespace monsys
