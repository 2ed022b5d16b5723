#pragma once
// The hub's Ed25519 public keys, pinned in the agent's configuration by key id.
#include <array>
#include <optional>
#include <string_view>

namespace monsys::eat {

using PublicKey = std::array<unsigned char, 32>;

// Accepts standard base64 (with or without padding) or base64url; exactly 32 bytes decoded.
// Surrounding whitespace is not trimmed: a key with stray characters is refused, not guessed at.
std::optional<PublicKey> parse_public_key(std::string_view text);

}  // namespace monsys::eat
