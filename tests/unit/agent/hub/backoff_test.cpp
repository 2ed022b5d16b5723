#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "agent/hub/backoff.hpp"

using monsys::agent::hub::Backoff;
using monsys::agent::hub::BackoffPolicy;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

TEST_CASE("backoff: the ceiling doubles per failure from 1 s") {
    Backoff backoff;
    const milliseconds expected[] = {1s, 2s, 4s, 8s, 16s, 32s, 64s, 128s, 256s};
    for (milliseconds ceiling : expected) {
        CHECK(backoff.current_ceiling() == ceiling);
        backoff.next_delay(0.5);
    }
    CHECK(backoff.failures() == 9);
}

TEST_CASE("backoff: the ceiling stops at the cap of 300 s") {
    Backoff backoff;
    for (int i = 0; i < 9; ++i) backoff.next_delay(0.0);
    CHECK(backoff.current_ceiling() == 300s);
    for (int i = 0; i < 100; ++i) backoff.next_delay(0.0);
    CHECK(backoff.failures() == 109);
    CHECK(backoff.current_ceiling() == 300s);
    CHECK(backoff.next_delay(0.5) == 150s);
}

TEST_CASE("backoff: 2^failures cannot overflow, however many failures") {
    BackoffPolicy policy;
    policy.base = milliseconds(3);
    policy.cap = milliseconds::max();
    Backoff backoff(policy);
    for (int i = 0; i < 200; ++i) {
        const milliseconds before = backoff.current_ceiling();
        backoff.next_delay(0.0);
        CHECK(backoff.current_ceiling() >= before);
    }
    CHECK(backoff.current_ceiling() == milliseconds::max());
    CHECK(backoff.next_delay(0.999) < milliseconds::max());
    CHECK(backoff.next_delay(1.0) < milliseconds::max());
    CHECK(backoff.next_delay(std::nextafter(1.0, 0.0)) < milliseconds::max());
}

TEST_CASE("backoff: full jitter draws from zero up to the ceiling") {
    Backoff backoff;
    CHECK(backoff.next_delay(0.0) == 0ms);       // ceiling 1 s
    CHECK(backoff.next_delay(0.999) == 1998ms);  // ceiling 2 s
    CHECK(backoff.next_delay(0.5) == 2000ms);    // ceiling 4 s
    for (int i = 0; i < 20; ++i) backoff.next_delay(0.0);
    CHECK(backoff.next_delay(0.999) == 299700ms);
    CHECK(backoff.next_delay(0.0) == 0ms);

    // A draw just below 1 must not reach the ceiling through rounding.
    CHECK(backoff.next_delay(std::nextafter(1.0, 0.0)) == 299999ms);
    // A broken source cannot push the delay out of range.
    CHECK(backoff.next_delay(1.0) == 299999ms);
    CHECK(backoff.next_delay(7.0) == 299999ms);
    CHECK(backoff.next_delay(-0.5) == 0ms);
    CHECK(backoff.next_delay(std::numeric_limits<double>::quiet_NaN()) == 0ms);
}

TEST_CASE("backoff: a stable connection resets the count, a short one does not") {
    Backoff backoff;
    for (int i = 0; i < 5; ++i) backoff.next_delay(0.5);
    CHECK(backoff.current_ceiling() == 32s);

    backoff.connection_ended(59999ms);
    CHECK(backoff.failures() == 5);
    CHECK(backoff.current_ceiling() == 32s);
    backoff.next_delay(0.5);
    CHECK(backoff.current_ceiling() == 64s);

    backoff.connection_ended(60s);
    CHECK(backoff.failures() == 0);
    CHECK(backoff.current_ceiling() == 1s);
    CHECK(backoff.next_delay(0.5) == 500ms);

    for (int i = 0; i < 3; ++i) backoff.next_delay(0.5);
    backoff.connection_ended(std::chrono::hours(5));
    CHECK(backoff.failures() == 0);
}

TEST_CASE("backoff: a custom policy") {
    BackoffPolicy policy;
    policy.base = 250ms;
    policy.cap = 1s;
    policy.stable_after = 5s;
    Backoff backoff(policy);
    CHECK(backoff.current_ceiling() == 250ms);
    backoff.next_delay(0);
    CHECK(backoff.current_ceiling() == 500ms);
    backoff.next_delay(0);
    CHECK(backoff.current_ceiling() == 1s);
    backoff.next_delay(0);
    CHECK(backoff.current_ceiling() == 1s);
    backoff.connection_ended(4s);
    CHECK(backoff.failures() == 3);
    backoff.connection_ended(5s);
    CHECK(backoff.failures() == 0);

    // A cap below the base is the ceiling from the start; a zero base never waits.
    policy.base = 10s;
    CHECK(Backoff(policy).current_ceiling() == 1s);
    policy.base = 0ms;
    Backoff zero(policy);
    CHECK(zero.next_delay(0.9) == 0ms);
    CHECK(zero.current_ceiling() == 0ms);
}
