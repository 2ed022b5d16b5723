#pragma once
// The verifier settings of tests/fixtures/eat/tokens.json ("settings" and "now"), so that the
// fixture tokens used as seeds verify.
#include <cstdint>

#include "common/eat/verifier.hpp"

namespace monsys::fuzz {

inline constexpr std::int64_t fixture_now = 1767225600;

inline eat::VerifierSettings fixture_settings() {
    eat::VerifierSettings settings;
    settings.issuer = "monsys-hub";
    settings.agent_id = "agent-test";
    settings.clock_skew_secs = 30;
    settings.max_lifetime_secs = 300;
    settings.required_level = 2;
    settings.action = "restart-app";
    settings.keys["hub-1"] = *eat::parse_public_key("7ScHDqTl1rPEq426Y0Hk/y3WguDkftsfU+FOpsH2mIU=");
    settings.keys["hub-2"] = *eat::parse_public_key("uSXwnFR0Ye2+9/6t3VvrKJ8U0COlmIdZ6ZrQtJHR3wg=");
    return settings;
}

// What verify_token promises about the claims it returns, whatever the token.
inline bool claims_keep_the_rules(const eat::Claims& claims, const eat::VerifierSettings& settings) {
    return claims.iss == settings.issuer && claims.sub == settings.agent_id &&
           claims.act == settings.action && claims.lvl >= settings.required_level &&
           settings.keys.count(claims.kid) == 1 && claims.exp > claims.iat &&
           claims.exp - claims.iat <= settings.max_lifetime_secs && claims.exp >= claims.nbf &&
           !claims.jti.empty() && claims.jti.size() <= eat::max_jti_bytes &&
           claims.payload.is_object();
}

}  // namespace monsys::fuzz
