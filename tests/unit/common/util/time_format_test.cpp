#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "common/util/time_format.hpp"

using monsys::format_utc_millis;
using monsys::parse_utc_millis;
using namespace std::chrono;

TEST_CASE("time_format: format and parse are inverses to the millisecond") {
    const system_clock::time_point times[] = {
        system_clock::time_point{},
        system_clock::time_point{milliseconds(1)},
        system_clock::time_point{milliseconds(1795857243120)},  // 2026-11-28T09:14:03.120Z
        system_clock::time_point{sys_days{year{2024} / February / 29}.time_since_epoch() +
                                 hours(23) + minutes(59) + seconds(59) + milliseconds(999)},
        system_clock::time_point{sys_days{year{2262} / January / 1}.time_since_epoch()},
    };
    for (auto time : times) {
        const std::string text = format_utc_millis(time);
        CAPTURE(text);
        auto parsed = parse_utc_millis(text);
        REQUIRE(parsed);
        CHECK(*parsed == time);
    }
    CHECK(format_utc_millis(system_clock::time_point{milliseconds(1795857243120)}) ==
          "2026-11-28T09:14:03.120Z");
    auto parsed = parse_utc_millis("2026-11-28T09:14:03.120Z");
    REQUIRE(parsed);
    CHECK(duration_cast<milliseconds>(parsed->time_since_epoch()).count() == 1795857243120);
}

TEST_CASE("time_format: parse refuses anything but the exact format") {
    const char* bad[] = {
        "",
        "2026-11-28T09:14:03Z",           // no milliseconds
        "2026-11-28T09:14:03.1200Z",      // microseconds
        "2026-11-28T09:14:03.120+00:00",  // an offset
        "2026-11-28 09:14:03.120Z",       // a space
        "2026-11-28t09:14:03.120z",       // lower case
        "2026-13-01T00:00:00.000Z",       // month 13
        "2026-00-01T00:00:00.000Z",       // month 0
        "2026-02-29T00:00:00.000Z",       // not a leap year
        "2026-04-31T00:00:00.000Z",       // April has 30 days
        "2026-11-00T00:00:00.000Z",       // day 0
        "2026-11-28T24:00:00.000Z",       // hour 24
        "2026-11-28T23:60:00.000Z",       // minute 60
        "2016-12-31T23:59:60.000Z",       // leap second
        "1969-12-31T23:59:59.999Z",       // before the epoch
        "2026-11-28T09:14:0x.120Z",       // not a digit
        "+026-11-28T09:14:03.120Z",       // sign
        "2026-11-28T09:14:03.120Z\n",     // trailing byte
        "9999-12-31T23:59:59.999Z",       // past what system_clock holds
    };
    for (const char* text : bad) {
        CAPTURE(text);
        CHECK_FALSE(parse_utc_millis(text));
    }
}
