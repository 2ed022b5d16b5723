#pragma once
// The hub's Ed25519 public keys, pinned in the agent's configuration by key id.
#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "common/util/expected.hpp"

namespace monsys::eat {

using PublicKey = std::array<unsigned char, 32>;

// Accepts standard base64 (with or without padding) or base64url; exactly 32 bytes decoded, which
// must be a usable Ed25519 public key (see check_public_key). Surrounding whitespace is not
// trimmed: a key with stray characters is refused, not guessed at. The error is a phrase to
// follow the key's name, e.g. "is not base64 of 32 bytes".
Expected<PublicKey, std::string> decode_public_key(std::string_view text);

// decode_public_key without the reason.
std::optional<PublicKey> parse_public_key(std::string_view text);

// Fails, saying why, when `key` cannot be a hub key. Refused: the all-zero key, points of small
// order (the identity and the other 8-torsion points, with which a forged signature can verify for
// many messages), non-canonical encodings (y >= p) and anything not on the curve's prime-order
// subgroup: libsodium's crypto_core_ed25519_is_valid_point.
Expected<void, std::string> check_public_key(const PublicKey& key);

}  // namespace monsys::eat
