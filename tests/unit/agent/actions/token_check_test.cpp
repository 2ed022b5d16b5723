// The agent's own check of an action token: the shared verifier, then the replay store read only.
// Tokens come from tests/fixtures/eat/tokens.json (minted with PyJWT).
#include <doctest/doctest.h>

#include <fstream>

#include "agent/actions/token_check.hpp"
#include "common/json/capped_json.hpp"

using namespace monsys;
using monsys::agent::actions::check_token;
using monsys::eat::unverified_ids;

namespace {
std::optional<std::string> unverified_jti(std::string_view token) {
    return unverified_ids(token).jti;
}
}  // namespace

namespace {

struct Fixtures {
    nlohmann::json document;
    eat::VerifierSettings settings;
    std::int64_t now = 0;
};

const Fixtures& fixtures() {
    static Fixtures loaded = [] {
        Fixtures f;
        std::ifstream in(MONSYS_FIXTURES_DIR "/eat/tokens.json");
        f.document = nlohmann::json::parse(in);
        const auto& s = f.document["settings"];
        f.settings.issuer = s["issuer"];
        f.settings.agent_id = s["agent_id"];
        f.settings.clock_skew_secs = s["clock_skew_secs"];
        f.settings.max_lifetime_secs = s["max_lifetime_secs"];
        for (const auto& [kid, key] : s["keys"].items()) {
            f.settings.keys.emplace(kid, *eat::parse_public_key(key.get<std::string>()));
        }
        f.now = f.document["now"];
        return f;
    }();
    return loaded;
}

std::string token(const char* name) {
    return fixtures().document["tokens"][name]["token"];
}

agent::actions::SeenCheck seen_returns(bool value, int* calls = nullptr) {
    return [value, calls](std::string_view) -> Expected<bool, std::string> {
        if (calls) ++*calls;
        return value;
    };
}

}  // namespace

TEST_CASE("token check: a valid token that the replay store has not seen is accepted") {
    int calls = 0;
    auto claims = check_token(token("valid"), fixtures().settings, fixtures().now,
                              seen_returns(false, &calls));
    REQUIRE(claims);
    CHECK(claims->jti == "fixture-jti");
    CHECK(claims->app.id == "app-1");
    CHECK(calls == 1);
}

TEST_CASE("token check: a token the replay store has seen is refused as replayed") {
    auto claims =
        check_token(token("valid"), fixtures().settings, fixtures().now, seen_returns(true));
    REQUIRE_FALSE(claims);
    CHECK(claims.error().reason == eat::Refusal::replayed);
}

TEST_CASE("token check: an unreadable replay store refuses the token") {
    auto failing = [](std::string_view) -> Expected<bool, std::string> {
        return unexpected(std::string("eat-replay.db: corrupt"));
    };
    auto claims = check_token(token("valid"), fixtures().settings, fixtures().now, failing);
    REQUIRE_FALSE(claims);
    CHECK(claims.error().reason == eat::Refusal::replay_store_error);
}

TEST_CASE("token check: verification comes first, a refused token never reaches the store") {
    int calls = 0;
    auto settings = fixtures().settings;
    settings.agent_id = "another-agent";
    auto claims =
        check_token(token("valid"), settings, fixtures().now, seen_returns(false, &calls));
    REQUIRE_FALSE(claims);
    CHECK(claims.error().reason == eat::Refusal::wrong_agent);
    CHECK(calls == 0);

    auto expired = check_token(token("valid"), fixtures().settings, fixtures().now + 3600,
                               seen_returns(false, &calls));
    REQUIRE_FALSE(expired);
    CHECK(expired.error().reason == eat::Refusal::expired);

    auto unpinned = fixtures().settings;
    unpinned.keys.erase("hub-1");
    auto refused =
        check_token(token("valid"), unpinned, fixtures().now, seen_returns(false, &calls));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().reason == eat::Refusal::unknown_kid);
    CHECK(calls == 0);
}

TEST_CASE("unverified jti: read for correlation only, and only from a plausible payload") {
    CHECK(unverified_jti(token("valid")) == std::optional<std::string>("fixture-jti"));
    CHECK_FALSE(unverified_jti("not a token"));
    CHECK_FALSE(unverified_jti("a.b"));
    CHECK_FALSE(unverified_jti("e30.e30.sig"));  // {} has no jti
    // {"jti": 5}
    CHECK_FALSE(unverified_jti("e30.eyJqdGkiOjV9.sig"));
    CHECK_FALSE(unverified_jti(std::string(9000, 'a') + ".b.c"));
    CHECK(unverified_ids(token("valid")).app_id == std::optional<std::string>("app-1"));
    // {"app":{"id":7}}
    CHECK_FALSE(unverified_ids("e30.eyJhcHAiOnsiaWQiOjd9fQ.sig").app_id);
    // The same split as the verifier's: {"jti":"x"} in three parts, not in four.
    CHECK(unverified_jti("e30.eyJqdGkiOiJ4In0.sig") == std::optional<std::string>("x"));
    CHECK_FALSE(unverified_jti("e30.eyJqdGkiOiJ4In0.sig.extra"));
}
