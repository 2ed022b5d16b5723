#pragma once
// Verification of an Emergency Action Token: a JWS (RFC 7515) in compact serialization, signed
// with Ed25519 (RFC 8037) by a pinned hub key. The rules and their order are in docs/eat.md.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/eat/claims.hpp"
#include "common/eat/keys.hpp"
#include "common/eat/refusal.hpp"
#include "common/util/expected.hpp"

namespace monsys::eat {

struct VerifierSettings {
    std::string issuer;                     // iss must equal this
    std::string agent_id;                   // sub must equal this
    std::map<std::string, PublicKey> keys;  // kid -> pinned hub key; nothing else is trusted
    std::int64_t clock_skew_secs = 30;      // 0..max_clock_skew_secs
    std::int64_t max_lifetime_secs = 300;   // exp - iat may not exceed this; 1..max_lifetime_cap
    int required_level = 2;                 // lvl must be at least this
    std::string action = "restart-app";     // act must equal this
};

// Bounds on the settings, so that time arithmetic cannot overflow; outside them verify_token
// refuses with bad_settings rather than guess.
inline constexpr std::int64_t max_clock_skew_secs = 3600;
inline constexpr std::int64_t max_lifetime_cap_secs = 86400;

// Checks `token` against every rule at time `now_unix`. The signature is verified before any
// claim is read; only the header is looked at before it.
Expected<Claims, Rejection> verify_token(std::string_view token, const VerifierSettings& settings,
                                         std::int64_t now_unix);

// What a token claims to be about, read WITHOUT verification (split, decoded and parsed under the
// same caps as verify_token), only so that a refusal can name the request the hub made (the hub
// correlates by jti and app id). Nothing else may use it.
struct UnverifiedIds {
    std::optional<std::string> jti;
    std::optional<std::string> app_id;
};
UnverifiedIds unverified_ids(std::string_view token);

// Refuses with app_mismatch unless the token names the app the caller was asked to act on.
Expected<void, Rejection> check_app_id(const Claims& claims, std::string_view expected_app_id);

}  // namespace monsys::eat
