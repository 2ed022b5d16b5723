// restart_app when the replay store cannot take the token: a replay is the token's fault
// (rejected, exit 3); a store that cannot be used is the wrapper's own failure (failed, exit 6).
// Only refusals are exercised: in each case nothing is restarted.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "action-wrapper/restart_app.hpp"
#include "common/eat/keys.hpp"
#include "common/eat/replay_store.hpp"
#include "tests/unit/trusted_dir.hpp"

namespace fs = std::filesystem;
using monsys::action::ActionStatus;
using monsys::action::ExitCode;

namespace {

const nlohmann::json& fixtures() {
    static const nlohmann::json document = [] {
        std::ifstream in(std::string(MONSYS_FIXTURES_DIR) + "/eat/tokens.json");
        return nlohmann::json::parse(in);
    }();
    return document;
}

std::int64_t fixture_now() {
    return fixtures().at("now").get<std::int64_t>();
}

monsys::config::Config config_with_state_dir(const fs::path& state_dir) {
    const auto& settings = fixtures().at("settings");
    monsys::config::Config config;
    config.issuer = settings.at("issuer").get<std::string>();
    config.agent_id = settings.at("agent_id").get<std::string>();
    config.clock_skew_secs = settings.at("clock_skew_secs").get<std::int64_t>();
    config.max_token_lifetime_secs = settings.at("max_lifetime_secs").get<std::int64_t>();
    for (const auto& [kid, encoded] : settings.at("keys").items()) {
        config.hub_keys.emplace(kid, *monsys::eat::parse_public_key(encoded.get<std::string>()));
    }
    config.state_dir = state_dir;
    return config;
}

// A docker app's token: allowed by the default policy, so the store is the step that decides.
struct DockerToken {
    std::string token = fixtures().at("tokens").at("valid_docker").at("token").get<std::string>();
    monsys::eat::Claims claims;
    explicit DockerToken(const monsys::config::Config& config) {
        auto verified = monsys::eat::verify_token(token, monsys::action::verifier_settings(config),
                                                  fixture_now());
        REQUIRE(verified);
        claims = *verified;
    }
};

monsys::action::ActionResult run(const monsys::config::Config& config, const DockerToken& token) {
    monsys::action::RestartAppRequest request{token.claims.app.id, token.token, fixture_now()};
    return monsys::action::restart_app(config, monsys::action::LocalPolicy{}, request);
}

}  // namespace

TEST_CASE("restart_app: a replayed token is rejected (exit 3)") {
    monsys::test::TrustedDir dir;
    auto config = config_with_state_dir(dir.path());
    DockerToken token(config);
    monsys::eat::ReplayStore store(monsys::config::replay_store_path(config));
    REQUIRE(store.consume(token.claims.jti, token.claims.exp + 30, fixture_now()));

    auto result = run(config, token);
    CHECK(result.status == ActionStatus::rejected);
    CHECK(result.reason == "replayed");
    CHECK(result.exit == ExitCode::rejected);
}

TEST_CASE("restart_app: a replay store that cannot be used fails with exit 6, not rejected") {
    monsys::test::TrustedDir dir;
    SUBCASE("corrupt (empty) store") {
        dir.file("eat-replay.db", 0640, "");
    }
    SUBCASE("store directory behind a link") {
        fs::create_directory_symlink(dir.directory("real"), dir.path() / "state");
    }
    SUBCASE("store directory writable by its group") {
        dir.directory("state", 0770);
    }
    SUBCASE("store directory missing") {}
    const fs::path state_dir =
        fs::exists(dir.path() / "eat-replay.db") ? dir.path() : dir.path() / "state";
    auto config = config_with_state_dir(state_dir);
    DockerToken token(config);
    auto result = run(config, token);
    CHECK(result.status == ActionStatus::failed);
    CHECK(result.reason == "replay_store_error");
    CHECK(result.exit == ExitCode::internal_error);
    CHECK(static_cast<int>(result.exit) == 6);
    CHECK(result.message.find("nothing was restarted") != std::string::npos);
    CHECK(result.jti == token.claims.jti);
    CHECK_FALSE(result.exit_code);
}

TEST_CASE("restart_app: a full replay store fails with replay_store_full, exit 6") {
    monsys::test::TrustedDir dir;
    auto config = config_with_state_dir(dir.path());
    DockerToken token(config);
    // Fill the store with live entries up to the default entry limit.
    std::string data = "monsys-eat-replay 1\n";
    const std::string keep_until = std::to_string(fixture_now() + 1000);
    for (int i = 0; i < 100000; ++i) {
        char hex[16];
        std::snprintf(hex, sizeof hex, "%08x", i);
        data += keep_until + " " + hex + "\n";
    }
    dir.file("eat-replay.db", 0640, data);
    auto result = run(config, token);
    CHECK(result.status == ActionStatus::failed);
    CHECK(result.reason == "replay_store_full");
    CHECK(result.exit == ExitCode::internal_error);
}
