// The token as a whole: size, structure, encoding, header and signature rules, and what a valid
// token yields. Tokens come from tests/fixtures/eat/tokens.json (PyJWT); the few built here only
// exercise rules that are decided before the signature is checked.
#include <doctest/doctest.h>

#include <string>

#include "common/eat/verifier.hpp"
#include "common/encoding/base64.hpp"
#include "tests/unit/common/eat/eat_fixtures.hpp"

using eat_test::outcome;
using eat_test::outcome_of;
using monsys::eat::check_app_id;
using monsys::eat::Refusal;
using monsys::eat::verify_token;

namespace {

// A token whose header is `header_json`; payload and signature are placeholders, so only use it
// for rules decided before the signature.
std::string with_header(std::string_view header_json) {
    return monsys::encoding::base64url_encode(header_json) + ".e30." + std::string(86, 'A');
}

}  // namespace

TEST_CASE("eat: a valid token is accepted and its claims are read") {
    auto claims = eat_test::verify("valid");
    REQUIRE_MESSAGE(claims, (claims ? "" : claims.error().detail));
    CHECK(claims->kid == "hub-1");
    CHECK(claims->iss == "monsys-hub");
    CHECK(claims->sub == "agent-test");
    CHECK(claims->jti == "fixture-jti");
    CHECK(claims->act == "restart-app");
    CHECK(claims->aud == std::vector<std::string>{"monsys-agent"});
    CHECK(claims->amr == std::vector<std::string>{"otp"});
    CHECK(claims->iat == eat_test::fixture_now());
    CHECK(claims->nbf == eat_test::fixture_now());
    CHECK(claims->exp == eat_test::fixture_now() + 120);
    CHECK(claims->lvl == 2);
    CHECK(claims->app.id == "app-1");
    CHECK(claims->app.type == monsys::app::AppType::systemd);
    CHECK(claims->app.identifier == "nginx.service");
    CHECK(claims->app.restart_command.empty());
    CHECK(claims->reason == "minted for a test");
    CHECK_FALSE(claims->by);
    CHECK_FALSE(claims->tid);
    CHECK(claims->payload.at("iss") == "monsys-hub");
}

TEST_CASE("eat: valid variants (second pinned key, alg Ed25519, process/docker/compose apps)") {
    for (const char* name : {"valid_hub2", "valid_alg_ed25519", "valid_docker", "valid_compose",
                             "valid_lvl_3", "valid_jti_128", "at_size_limit"}) {
        INFO(name);
        CHECK(outcome(name) == "ok");
    }
    CHECK(eat_test::verify("valid_hub2")->kid == "hub-2");
    CHECK(eat_test::verify("valid_lvl_3")->lvl == 3);

    auto process = eat_test::verify("valid_process");
    REQUIRE(process);
    CHECK(process->app.type == monsys::app::AppType::process);
    CHECK(process->app.identifier == "/opt/worker/bin/worker");
    CHECK(process->app.restart_command == "/opt/worker/bin/restart");

    auto optional = eat_test::verify("valid_optional_claims");
    REQUIRE(optional);
    CHECK(optional->by == "alice@example.org");
    CHECK(optional->tid == "ticket-42");
    CHECK(optional->reason->size() == 1024);

    auto unknown = eat_test::verify("valid_unknown_claim");
    REQUIRE(unknown);
    CHECK(unknown->payload.at("ext").at("note") == "kept in payload");
}

TEST_CASE("eat: a token over 8 KiB is refused before anything else (too_large)") {
    CHECK(eat_test::token("oversized").size() == 8193);
    CHECK(outcome("oversized") == "too_large");
    CHECK(eat_test::token("at_size_limit").size() == 8192);
    CHECK(outcome("at_size_limit") == "ok");
    // Garbage is refused for its size, not its shape.
    auto settings = eat_test::common_settings();
    CHECK(outcome_of(std::string(8193, '.'), settings, 0) == "too_large");
    CHECK(outcome_of(std::string(1 << 20, 'A'), settings, 0) == "too_large");
}

TEST_CASE("eat: anything but three parts is malformed") {
    CHECK(outcome("two_parts") == "malformed");
    CHECK(outcome("four_parts") == "malformed");
    CHECK(outcome("empty_payload_part") == "malformed");
    auto settings = eat_test::common_settings();
    auto now = eat_test::fixture_now();
    CHECK(outcome_of("", settings, now) == "malformed");
    CHECK(outcome_of("..", settings, now) == "malformed");
    CHECK(outcome_of("abc", settings, now) == "malformed");
}

TEST_CASE("eat: a removed signature is refused (missing_signature)") {
    CHECK(outcome("signature_removed") == "missing_signature");
}

TEST_CASE("eat: base64url padding in any part is refused (bad_encoding)") {
    CHECK(outcome("padded_header") == "bad_encoding");
    CHECK(outcome("padded_payload") == "bad_encoding");
    CHECK(outcome("padded_signature") == "bad_encoding");
}

TEST_CASE("eat: illegal base64url characters are refused (bad_encoding)") {
    CHECK(outcome("plus_in_payload") == "bad_encoding");
    CHECK(outcome("slash_in_header") == "bad_encoding");
    CHECK(outcome("space_in_payload") == "bad_encoding");
    CHECK(outcome("newline_in_payload") == "bad_encoding");
    CHECK(outcome("star_in_signature") == "bad_encoding");
    // A trailing newline, as a careless reader of stdin would leave it, is not trimmed.
    CHECK(outcome_of(eat_test::token("valid") + "\n", eat_test::common_settings(),
                     eat_test::fixture_now()) == "bad_encoding");
}

TEST_CASE("eat: alg none is refused (bad_alg)") {
    CHECK(outcome("alg_none") == "bad_alg");
    CHECK(outcome("alg_none_signed") == "bad_alg");
}

TEST_CASE("eat: alg HS256 keyed with the public key is refused (bad_alg)") {
    CHECK(outcome("alg_hs256") == "bad_alg");
}

TEST_CASE("eat: alg RS256 is refused (bad_alg)") {
    CHECK(outcome("alg_rs256") == "bad_alg");
}

TEST_CASE("eat: a missing or differently spelled alg is refused (bad_alg)") {
    CHECK(outcome("alg_missing") == "bad_alg");
    auto settings = eat_test::common_settings();
    for (const char* header : {R"({"alg":"eddsa","typ":"monsys-eat+jwt","kid":"hub-1"})",
                               R"({"alg":"ED25519","typ":"monsys-eat+jwt","kid":"hub-1"})",
                               R"({"alg":"Ed448","typ":"monsys-eat+jwt","kid":"hub-1"})",
                               R"({"alg":["EdDSA"],"typ":"monsys-eat+jwt","kid":"hub-1"})"}) {
        INFO(header);
        CHECK(outcome_of(with_header(header), settings, eat_test::fixture_now()) == "bad_alg");
    }
}

TEST_CASE("eat: a wrong or missing typ is refused (bad_typ)") {
    CHECK(outcome("typ_jwt") == "bad_typ");
    CHECK(outcome("typ_missing") == "bad_typ");
}

TEST_CASE("eat: a header that is not a JSON object, or has no kid, is refused (bad_header)") {
    CHECK(outcome("header_not_json") == "bad_header");
    CHECK(outcome("header_array") == "bad_header");
    CHECK(outcome("kid_missing") == "bad_header");
}

TEST_CASE("eat: an unknown kid is refused (unknown_kid)") {
    CHECK(outcome("kid_unknown") == "unknown_kid");
}

TEST_CASE("eat: a rotated-out key is refused (unknown_kid)") {
    CHECK(outcome("kid_rotated_out") == "unknown_kid");
}

TEST_CASE("eat: the old key under a kid now pinned to a new key is refused (bad_signature)") {
    CHECK(outcome("old_key_under_new_kid") == "bad_signature");
}

TEST_CASE("eat: a wrong signature is refused (bad_signature)") {
    CHECK(outcome("signature_flipped") == "bad_signature");
    CHECK(outcome("signature_short") == "bad_signature");
}

TEST_CASE("eat: a payload tampered with after signing is refused (bad_signature)") {
    CHECK(outcome("payload_tampered") == "bad_signature");
    CHECK(outcome("payload_tampered_app") == "bad_signature");
}

TEST_CASE("eat: no claim is looked at before the signature verifies") {
    // A forged payload that would fail claim rules, or is not even JSON, still gets
    // bad_signature: the claims are never read.
    std::string valid = eat_test::token("valid");
    auto first = valid.find('.');
    auto second = valid.find('.', first + 1);
    auto now = eat_test::fixture_now();
    auto settings = eat_test::common_settings();
    for (std::string_view payload : {R"({"iss":"evil","exp":1})", "not json", "[]"}) {
        INFO(payload);
        std::string forged = valid.substr(0, first + 1) +
                             monsys::encoding::base64url_encode(payload) + valid.substr(second);
        CHECK(outcome_of(forged, settings, now) == "bad_signature");
    }
}

TEST_CASE("eat: duplicate member names in the header are refused (duplicate_key)") {
    CHECK(outcome("header_duplicate_alg") == "duplicate_key");
    CHECK(outcome("header_duplicate_kid") == "duplicate_key");
}

TEST_CASE("eat: duplicate member names in the payload are refused (duplicate_key)") {
    CHECK(outcome("payload_duplicate_sub") == "duplicate_key");
    CHECK(outcome("payload_duplicate_nested") == "duplicate_key");
}

TEST_CASE("eat: a payload that is not a JSON object is refused (bad_payload)") {
    CHECK(outcome("payload_not_json") == "bad_payload");
    CHECK(outcome("payload_array") == "bad_payload");
}

TEST_CASE("eat: a crit header is refused (crit_unsupported)") {
    CHECK(outcome("crit") == "crit_unsupported");
}

TEST_CASE("eat: a key embedded in the header is refused (embedded_key)") {
    CHECK(outcome("embedded_jwk") == "embedded_key");
    CHECK(outcome("embedded_jku") == "embedded_key");
    CHECK(outcome("embedded_x5u") == "embedded_key");
    CHECK(outcome("embedded_x5c") == "embedded_key");
}

TEST_CASE("eat: details quote values from the token without control characters") {
    auto settings = eat_test::common_settings();
    auto result = verify_token(
        with_header("{\"alg\":\"EdDSA\",\"typ\":\"monsys-eat+jwt\",\"kid\":\"x\\nFAKE LOG\"}"),
        settings, eat_test::fixture_now());
    REQUIRE_FALSE(result);
    CHECK(result.error().reason == Refusal::unknown_kid);
    CHECK(result.error().detail.find('\n') == std::string::npos);
    CHECK(result.error().detail.find("\\x0a") != std::string::npos);
}

TEST_CASE("eat: the caller's app id is compared (app_mismatch)") {
    auto claims = eat_test::verify("valid");
    REQUIRE(claims);
    CHECK(check_app_id(*claims, "app-1"));
    auto mismatch = check_app_id(*claims, "app-2");
    REQUIRE_FALSE(mismatch);
    CHECK(mismatch.error().reason == Refusal::app_mismatch);
    CHECK(mismatch.error().detail == "token is for app \"app-1\", not \"app-2\"");
    CHECK(check_app_id(*claims, "").error().reason == Refusal::app_mismatch);
    CHECK(check_app_id(*claims, "app-1 ").error().reason == Refusal::app_mismatch);
}

TEST_CASE("eat: unusable settings fail closed (bad_settings)") {
    const std::string valid = eat_test::token("valid");
    const auto now = eat_test::fixture_now();
    auto check = [&valid, now](monsys::eat::VerifierSettings settings) {
        return outcome_of(valid, settings, now);
    };
    auto settings = eat_test::common_settings();
    CHECK(check(settings) == "ok");
    auto no_keys = settings;
    no_keys.keys.clear();
    CHECK(check(no_keys) == "bad_settings");
    auto no_issuer = settings;
    no_issuer.issuer.clear();
    CHECK(check(no_issuer) == "bad_settings");
    auto no_agent = settings;
    no_agent.agent_id.clear();
    CHECK(check(no_agent) == "bad_settings");
    auto negative_skew = settings;
    negative_skew.clock_skew_secs = -1;
    CHECK(check(negative_skew) == "bad_settings");
    auto huge_skew = settings;
    huge_skew.clock_skew_secs = INT64_MAX;
    CHECK(check(huge_skew) == "bad_settings");
    auto zero_lifetime = settings;
    zero_lifetime.max_lifetime_secs = 0;
    CHECK(check(zero_lifetime) == "bad_settings");
    CHECK(outcome_of(valid, settings, -1) == "bad_settings");
    CHECK(outcome_of(valid, settings, INT64_MAX) == "bad_settings");
}
