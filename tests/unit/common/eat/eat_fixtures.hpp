#pragma once
// The committed token fixtures (tests/fixtures/eat/tokens.json, minted by PyJWT through
// tests/tools/make_eat_fixtures.py) and the settings and fixed time they are verified with.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/eat/verifier.hpp"

namespace eat_test {

const nlohmann::json& document();
std::int64_t fixture_now();
monsys::eat::VerifierSettings common_settings();
monsys::eat::VerifierSettings settings_for(std::string_view name);  // with the entry's override
std::string token(std::string_view name);
std::string expected_outcome(std::string_view name);

monsys::Expected<monsys::eat::Claims, monsys::eat::Rejection> verify(std::string_view name);
// "ok" or the refusal's name, so that a failed CHECK prints both sides readably.
std::string outcome(std::string_view name);
std::string outcome_of(std::string_view token, const monsys::eat::VerifierSettings& settings,
                       std::int64_t now);

}  // namespace eat_test
