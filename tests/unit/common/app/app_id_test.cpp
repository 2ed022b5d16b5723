// The one app id grammar, and the token's app.id held to it (claim rules). The hub protocol's
// tracked apps and serve-connection's request apply the same function; their tests are in
// tests/unit/agent/hub/messages_test.cpp and tests/unit/action-wrapper/connection_request_test.cpp.
#include <doctest/doctest.h>

#include <string>

#include "common/app/identifier.hpp"
#include "common/eat/claim_rules.hpp"
#include "common/encoding/base64.hpp"
#include "tests/unit/common/eat/eat_fixtures.hpp"

using monsys::app::is_valid_app_id;

namespace {

// The payload of a valid fixture token, for the claim rules to read with a changed app.id.
nlohmann::json valid_payload() {
    std::string token = eat_test::token("valid");
    auto first = token.find('.');
    auto second = token.find('.', first + 1);
    auto bytes = monsys::encoding::base64url_decode(token.substr(first + 1, second - first - 1));
    REQUIRE(bytes);
    return nlohmann::json::parse(*bytes);
}

monsys::Expected<monsys::eat::Claims, monsys::eat::Rejection> claims_with_app_id(
    const nlohmann::json& id) {
    nlohmann::json payload = valid_payload();
    payload["app"]["id"] = id;
    return monsys::eat::detail::read_claims(payload, "hub-1", eat_test::common_settings(),
                                            eat_test::fixture_now());
}

}  // namespace

TEST_CASE("app id: the grammar") {
    for (const char* good : {"app-1", "a", "A9", "nginx.web_1", "tenant:app@eu-1", "0"}) {
        INFO(good);
        CHECK(is_valid_app_id(good));
    }
    CHECK(is_valid_app_id(std::string(128, 'a')));
    CHECK_FALSE(is_valid_app_id(std::string(129, 'a')));
    for (const char* bad :
         {"", "app 1", " app", "app\n", "app\t1", "-app", ".app", "_app", ":app", "@app", "app/1",
          "../x", "app;reboot", "app$1", "äpp", "app\x7f", "app\"1", "app'1", "app*"}) {
        INFO(bad);
        CHECK_FALSE(is_valid_app_id(bad));
    }
    CHECK_FALSE(is_valid_app_id(std::string("app\0x", 5)));
}

TEST_CASE("app id: the token's app.id is held to the grammar (bad_app)") {
    REQUIRE(claims_with_app_id("app-1"));
    for (const char* bad : {"app 1", "", "app/1", "-app"}) {
        INFO(bad);
        auto claims = claims_with_app_id(bad);
        REQUIRE_FALSE(claims);
        CHECK(claims.error().reason == monsys::eat::Refusal::bad_app);
        CHECK(claims.error().detail.find(monsys::app::app_id_rule) != std::string::npos);
    }
    CHECK_FALSE(claims_with_app_id(std::string(129, 'a')));
    CHECK_FALSE(claims_with_app_id(7));
}
