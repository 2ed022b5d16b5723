// What monsys-action prints: the result line and the JWS line, as the agent splits them.
#include <doctest/doctest.h>

#include "common/action/result_signature.hpp"
#include "common/action/wrapper_output.hpp"
#include "common/util/time_format.hpp"

using namespace monsys::results;

namespace {

std::string result_line() {
    ActionResult result;
    result.jti = "jti-1";
    result.app_id = "app-9";
    result.status = ActionStatus::succeeded;
    result.message = "ok";
    result.finished_at = *monsys::parse_utc_millis("2026-11-28T09:16:40.342Z");
    return to_json(result).dump();
}

}  // namespace

TEST_CASE("wrapper output: two lines give the exact result bytes and the JWS") {
    ActionKeySeed seed{};
    seed[0] = 7;
    const ActionSigningKey key = signing_key_from_seed(seed);
    const std::string line = result_line();
    const std::string jws = sign_compact(key, result_jws_type, line);
    auto parsed = parse_wrapper_output(format_wrapper_output(line, jws));
    REQUIRE(parsed);
    CHECK(parsed->result_text == line);
    CHECK(parsed->result_jws == jws);
    CHECK(parsed->result.at("status") == "succeeded");
    auto verified = verify_compact(*parsed->result_jws, result_jws_type, key.public_key);
    REQUIRE(verified);
    CHECK(verified->payload == parsed->result_text);
}

TEST_CASE("wrapper output: one line (an older wrapper, or an unsigned early failure)") {
    auto parsed = parse_wrapper_output(result_line() + "\n");
    REQUIRE(parsed);
    CHECK_FALSE(parsed->result_jws);
    CHECK(parsed->result_text == result_line());
}

TEST_CASE("wrapper output: anything but a JWS after the result is refused") {
    const std::string line = result_line();
    CHECK_FALSE(parse_wrapper_output(line + "\n{\"status\":\"failed\"}\n"));
    CHECK_FALSE(parse_wrapper_output(line + "\na.b.c\nextra\n"));
    CHECK_FALSE(parse_wrapper_output(line + "\na..c\n"));
    CHECK_FALSE(parse_wrapper_output(line + "\na.b.c=\n"));
    CHECK_FALSE(parse_wrapper_output("not json\na.b.c\n"));
    CHECK(parse_wrapper_output(line + "\na.b.c\n"));  // the form only; the hub verifies
}
