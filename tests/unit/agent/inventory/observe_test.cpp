#include <doctest/doctest.h>

#include "agent/inventory/observe.hpp"

using monsys::inventory::container_list_still_valid;
using monsys::io::docker::EventStreamSnapshot;
using namespace std::chrono_literals;

TEST_CASE("observe: a container list stands only while the event stream stayed live and silent") {
    const auto max_age = 60s;
    EventStreamSnapshot now{true, 7};
    CHECK(container_list_still_valid(7, 5s, now, max_age));
    // An event (or the stream going down and up again) since the list.
    CHECK_FALSE(container_list_still_valid(6, 5s, now, max_age));
    // The stream is down now: nothing tells whether something changed.
    CHECK_FALSE(container_list_still_valid(7, 5s, EventStreamSnapshot{false, 7}, max_age));
    // Old enough: made again, even with no event (a missed event heals within max_age).
    CHECK_FALSE(container_list_still_valid(7, 60s, now, max_age));
    CHECK(container_list_still_valid(7, 59s, now, max_age));
    // A clock that went backwards is not a fresh list.
    CHECK_FALSE(container_list_still_valid(7, -1s, now, max_age));
}
