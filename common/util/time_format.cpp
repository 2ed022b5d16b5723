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

namespace {

// The digits at text[at, at + count) as a number, or -1 when any of them is not a digit.
int digits_at(std::string_view text, std::size_t at, std::size_t count) {
    int value = 0;
    for (std::size_t i = at; i < at + count; ++i) {
        if (text[i] < '0' || text[i] > '9') return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_utc_millis(std::string_view text) {
    using namespace std::chrono;
    // 012345678901234567890123
    // YYYY-MM-DDTHH:MM:SS.mmmZ
    if (text.size() != 24 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
        text[13] != ':' || text[16] != ':' || text[19] != '.' || text[23] != 'Z') {
        return std::nullopt;
    }
    const int y = digits_at(text, 0, 4);
    const int mo = digits_at(text, 5, 2);
    const int d = digits_at(text, 8, 2);
    const int h = digits_at(text, 11, 2);
    const int mi = digits_at(text, 14, 2);
    const int s = digits_at(text, 17, 2);
    const int ms = digits_at(text, 20, 3);
    if (y < 1970 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59 ||
        ms < 0) {
        return std::nullopt;
    }
    const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                              day{static_cast<unsigned>(d)}};
    if (!date.ok()) return std::nullopt;
    const milliseconds since_epoch =
        sys_days(date).time_since_epoch() + hours(h) + minutes(mi) + seconds(s) + milliseconds(ms);
    // libstdc++'s system_clock counts nanoseconds in 64 bits, which ends in 2262.
    if (since_epoch >
        duration_cast<milliseconds>(system_clock::time_point::max().time_since_epoch())) {
        return std::nullopt;
    }
    return system_clock::time_point(since_epoch);
}

}  // namespace monsys
