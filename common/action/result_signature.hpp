#pragma once
// monsys-action's own signatures (docs/protocol.md, "Result signatures"): a compact JWS (RFC 7515)
// with alg EdDSA (RFC 8037) over exactly the bytes it signs, and kid the RFC 7638 thumbprint of
// the key's JWK. Used for the results monsys-action prints and for the statements by which an
// old key names its successor. Pure: no files, no clock.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/util/expected.hpp"

namespace monsys::results {

using ActionPublicKey = std::array<unsigned char, 32>;
using ActionKeySeed = std::array<unsigned char, 32>;

// The JWS "typ" of each kind of statement, so one can never be taken for the other.
inline constexpr std::string_view result_jws_type = "monsys-action-result+jws";
inline constexpr std::string_view rotation_jws_type = "monsys-action-key-rotation+jws";

// A JWS made by us is short apart from its payload; this caps header and signature parts.
inline constexpr std::size_t max_jws_header_bytes = 1024;

struct ActionSigningKey {
    ActionKeySeed seed{};
    std::array<unsigned char, 64> secret{};  // libsodium's form: seed followed by public key
    ActionPublicKey public_key{};
    std::string kid;
};

// The key for a 32-byte seed (deterministic, RFC 8032).
ActionSigningKey signing_key_from_seed(const ActionKeySeed& seed);
// A fresh key from the system's random source.
ActionSigningKey generate_signing_key();

// {"crv":"Ed25519","kty":"OKP","x":<base64url>} (RFC 8037).
nlohmann::json public_jwk(const ActionPublicKey& key);
// RFC 7638: base64url(SHA-256 of the JWK's required members in lexical order, no whitespace).
std::string jwk_thumbprint(const ActionPublicKey& key);
// The key of a JWK as public_jwk writes it (exactly those members); the error names the problem.
Expected<ActionPublicKey, std::string> public_key_from_jwk(const nlohmann::json& jwk);

// header.payload.signature with header {"alg":"EdDSA","kid":<kid>,"typ":<typ>}.
std::string sign_compact(const ActionSigningKey& key, std::string_view typ,
                         std::string_view payload);

struct VerifiedJws {
    std::string kid;
    std::string payload;  // the decoded bytes that were signed
};

// The header's kid, without checking anything else (to choose the key to verify with).
std::optional<std::string> compact_jws_kid(std::string_view jws);

// Checks the form (three base64url parts, the header exactly alg EdDSA, kid, typ == `typ`, no
// duplicate members), the kid against `key`'s thumbprint and the signature. The error names the
// first problem.
Expected<VerifiedJws, std::string> verify_compact(std::string_view jws, std::string_view typ,
                                                  const ActionPublicKey& key);

}  // namespace monsys::results
