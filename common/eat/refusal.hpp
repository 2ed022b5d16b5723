#pragma once
// Why a token was refused. Every rule of docs/eat.md has its own reason, so that a refusal in a
// log or in the hub's UI names the rule without reading the detail text.
#include <string>
#include <utility>

#include "common/util/expected.hpp"

namespace monsys::eat {

enum class Refusal {
    too_large,            // more than max_token_bytes
    malformed,            // not three '.'-separated parts, or an empty header or payload part
    bad_encoding,         // a part is not strict base64url (padding, illegal characters...)
    missing_signature,    // the signature part is empty
    bad_header,           // the header is not a JSON object, or kid is missing or not a string
    duplicate_key,        // a member name repeats in the header or the payload
    bad_alg,              // alg is not EdDSA or Ed25519
    bad_typ,              // typ is not monsys-eat+jwt
    crit_unsupported,     // the header has crit
    embedded_key,         // the header carries jwk, jku, x5u or x5c
    unknown_kid,          // kid names no pinned hub key
    bad_signature,        // not 64 bytes, or does not verify
    bad_payload,          // the payload is not a JSON object, or by/tid is not a string
    wrong_issuer,         // iss
    wrong_audience,       // aud
    wrong_agent,          // sub
    bad_jti,              // jti
    bad_time_claims,      // iat/nbf/exp missing, not integers, or inconsistent
    expired,              // now >= exp + skew
    not_yet_valid,        // now + skew < nbf
    issued_in_future,     // iat > now + skew
    lifetime_too_long,    // exp - iat > max lifetime
    insufficient_level,   // lvl
    wrong_action,         // act
    no_otp,               // amr
    bad_app,              // app is not an object with string id and type of a known type
    bad_identifier,       // app.identifier does not fit the grammar of app.type
    bad_restart_command,  // app.restart_command missing for process, bad path, or not allowed
    bad_reason,           // reason
    app_mismatch,         // app.id is not the app the caller was asked to act on
    replayed,             // jti was consumed before
    replay_store_error,   // the replay store could not be read or written, or is not trusted
    replay_store_full,    // the replay store's live entries reached its limits
    bad_settings,         // the verifier's own settings are unusable (fail closed)
};

inline constexpr Refusal all_refusals[] = {
    Refusal::too_large,
    Refusal::malformed,
    Refusal::bad_encoding,
    Refusal::missing_signature,
    Refusal::bad_header,
    Refusal::duplicate_key,
    Refusal::bad_alg,
    Refusal::bad_typ,
    Refusal::crit_unsupported,
    Refusal::embedded_key,
    Refusal::unknown_kid,
    Refusal::bad_signature,
    Refusal::bad_payload,
    Refusal::wrong_issuer,
    Refusal::wrong_audience,
    Refusal::wrong_agent,
    Refusal::bad_jti,
    Refusal::bad_time_claims,
    Refusal::expired,
    Refusal::not_yet_valid,
    Refusal::issued_in_future,
    Refusal::lifetime_too_long,
    Refusal::insufficient_level,
    Refusal::wrong_action,
    Refusal::no_otp,
    Refusal::bad_app,
    Refusal::bad_identifier,
    Refusal::bad_restart_command,
    Refusal::bad_reason,
    Refusal::app_mismatch,
    Refusal::replayed,
    Refusal::replay_store_error,
    Refusal::replay_store_full,
    Refusal::bad_settings,
};

// The snake_case name of the reason, as reported to the hub and written to logs.
const char* to_string(Refusal reason);

struct Rejection {
    Refusal reason;
    std::string detail;  // for humans; values from the token are quoted and escaped
};

// The failure of a check: `return refuse(Refusal::expired, "...");`.
inline Unexpected<Rejection> refuse(Refusal reason, std::string detail) {
    return unexpected(Rejection{reason, std::move(detail)});
}

}  // namespace monsys::eat
