// Time rules with their exact boundaries; settings: skew 30 s, max lifetime 300 s.
#include <doctest/doctest.h>

#include "tests/unit/common/eat/eat_fixtures.hpp"

using eat_test::outcome;

TEST_CASE("eat: non-integer, missing or negative times are refused (bad_time_claims)") {
    CHECK(outcome("iat_float") == "bad_time_claims");
    CHECK(outcome("exp_string") == "bad_time_claims");
    CHECK(outcome("nbf_missing") == "bad_time_claims");
    CHECK(outcome("time_negative") == "bad_time_claims");
}

TEST_CASE("eat: exp not after iat, or before nbf, is refused (bad_time_claims)") {
    CHECK(outcome("exp_not_after_iat") == "bad_time_claims");
    CHECK(outcome("exp_before_nbf") == "bad_time_claims");
}

TEST_CASE("eat: an expired token is refused (expired)") {
    CHECK(outcome("expired") == "expired");
}

TEST_CASE("eat: exp boundary with skew: now >= exp + skew is expired") {
    CHECK(outcome("exp_skew_outside") == "expired");  // exp = now - 30
    CHECK(outcome("exp_skew_inside") == "ok");        // exp = now - 29
}

TEST_CASE("eat: exp exactly now with skew 0 is expired") {
    CHECK(eat_test::settings_for("exp_now_skew0").clock_skew_secs == 0);
    CHECK(outcome("exp_now_skew0") == "expired");
    CHECK(outcome("exp_now_plus_1_skew0") == "ok");
}

TEST_CASE("eat: the same token across the exp boundary by moving now") {
    const std::string token = eat_test::token("valid");  // exp = fixture now + 120
    auto settings = eat_test::common_settings();
    const auto exp = eat_test::fixture_now() + 120;
    CHECK(eat_test::outcome_of(token, settings, exp + 29) == "ok");
    CHECK(eat_test::outcome_of(token, settings, exp + 30) == "expired");
    settings.clock_skew_secs = 0;
    CHECK(eat_test::outcome_of(token, settings, exp - 1) == "ok");
    CHECK(eat_test::outcome_of(token, settings, exp) == "expired");
}

TEST_CASE("eat: nbf in the future is refused (not_yet_valid)") {
    CHECK(outcome("nbf_future") == "not_yet_valid");
}

TEST_CASE("eat: nbf boundary with skew: now + skew < nbf is not yet valid") {
    CHECK(outcome("nbf_skew_outside") == "not_yet_valid");  // nbf = now + 31
    CHECK(outcome("nbf_skew_inside") == "ok");              // nbf = now + 30
}

TEST_CASE("eat: iat boundary with skew: iat > now + skew is issued in the future") {
    CHECK(outcome("iat_skew_outside") == "issued_in_future");  // iat = now + 31
    CHECK(outcome("iat_skew_inside") == "ok");                 // iat = now + 30
}

TEST_CASE("eat: a lifetime over the maximum is refused (lifetime_too_long)") {
    CHECK(outcome("lifetime_too_long") == "lifetime_too_long");  // exp - iat = 301
    CHECK(outcome("lifetime_at_max") == "ok");                   // exp - iat = 300
    auto settings = eat_test::common_settings();
    settings.max_lifetime_secs = 119;
    CHECK(eat_test::outcome_of(eat_test::token("valid"), settings, eat_test::fixture_now()) ==
          "lifetime_too_long");
}
