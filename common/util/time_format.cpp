#include "common/util/time_format.hpp"

#include <cstdio>
#include <ctime>

namespace monsys {

std::string format_utc_millis(std::chrono::system_clock::time_point time) {
    using namespace std::chrono;
    auto since_epoch = duration_cast<milliseconds>(time.time_since_epoch());
    auto seconds = floor<std::chrono::seconds>(since_epoch);
    auto millis = (since_epoch - seconds).count();
    std::time_t whole = static_cast<std::time_t>(seconds.count());
    std::tm utc{};
    gmtime_r(&whole, &utc);
    char buffer[40];
    std::size_t length = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
    std::snprintf(buffer + length, sizeof buffer - length, ".%03dZ", static_cast<int>(millis));
    return buffer;
}

}  // namespace monsys
