#include "tests/unit/common/eat/eat_fixtures.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "common/eat/keys.hpp"

namespace eat_test {

using monsys::eat::VerifierSettings;

const nlohmann::json& document() {
    static const nlohmann::json parsed = [] {
        std::ifstream in(MONSYS_FIXTURES_DIR "/eat/tokens.json");
        std::stringstream text;
        text << in.rdbuf();
        return nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    }();
    REQUIRE_MESSAGE(parsed.is_object(), "cannot read " MONSYS_FIXTURES_DIR "/eat/tokens.json");
    return parsed;
}

std::int64_t fixture_now() {
    return document().at("now").get<std::int64_t>();
}

VerifierSettings common_settings() {
    const auto& s = document().at("settings");
    VerifierSettings settings;
    settings.issuer = s.at("issuer").get<std::string>();
    settings.agent_id = s.at("agent_id").get<std::string>();
    settings.clock_skew_secs = s.at("clock_skew_secs").get<std::int64_t>();
    settings.max_lifetime_secs = s.at("max_lifetime_secs").get<std::int64_t>();
    settings.required_level = s.at("required_level").get<int>();
    settings.action = s.at("action").get<std::string>();
    for (const auto& [kid, text] : s.at("keys").items()) {
        auto key = monsys::eat::parse_public_key(text.get<std::string>());
        REQUIRE_MESSAGE(key.has_value(), "fixture key " << kid);
        settings.keys[kid] = *key;
    }
    return settings;
}

static const nlohmann::json& entry(std::string_view name) {
    const auto& tokens = document().at("tokens");
    auto it = tokens.find(std::string(name));
    REQUIRE_MESSAGE(it != tokens.end(), "no fixture token " << std::string(name));
    return *it;
}

VerifierSettings settings_for(std::string_view name) {
    VerifierSettings settings = common_settings();
    const auto& e = entry(name);
    if (auto it = e.find("settings"); it != e.end()) {
        if (it->contains("clock_skew_secs")) {
            settings.clock_skew_secs = it->at("clock_skew_secs").get<std::int64_t>();
        }
        if (it->contains("max_lifetime_secs")) {
            settings.max_lifetime_secs = it->at("max_lifetime_secs").get<std::int64_t>();
        }
    }
    return settings;
}

std::string token(std::string_view name) {
    return entry(name).at("token").get<std::string>();
}

std::string expected_outcome(std::string_view name) {
    return entry(name).at("expect").get<std::string>();
}

monsys::Expected<monsys::eat::Claims, monsys::eat::Rejection> verify(std::string_view name) {
    return monsys::eat::verify_token(token(name), settings_for(name), fixture_now());
}

std::string outcome_of(std::string_view token_text, const VerifierSettings& settings,
                       std::int64_t now) {
    auto result = monsys::eat::verify_token(token_text, settings, now);
    if (result) return "ok";
    return monsys::eat::to_string(result.error().reason);
}

std::string outcome(std::string_view name) {
    return outcome_of(token(name), settings_for(name), fixture_now());
}

}  // namespace eat_test
