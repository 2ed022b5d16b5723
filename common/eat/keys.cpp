#include "common/eat/keys.hpp"

#include <sodium.h>

#include <algorithm>

#include "common/encoding/base64.hpp"

namespace monsys::eat {

Expected<void, std::string> check_public_key(const PublicKey& key) {
    if (std::all_of(key.begin(), key.end(), [](unsigned char byte) { return byte == 0; })) {
        return unexpected(std::string("is all zeros, not a public key"));
    }
    if (crypto_core_ed25519_is_valid_point(key.data()) != 1) {
        return unexpected(std::string(
            "is not a usable Ed25519 public key (a point of small order, a non-canonical "
            "encoding or not a point of the prime-order group)"));
    }
    return ok();
}

Expected<PublicKey, std::string> decode_public_key(std::string_view text) {
    using encoding::Alphabet;
    using encoding::Padding;
    // A key can only be valid in one of the two alphabets (or both, when it has neither "+/" nor
    // "-_"), so trying both cannot turn one key into another.
    auto bytes = encoding::decode(text, Alphabet::standard, Padding::optional);
    if (!bytes) bytes = encoding::decode(text, Alphabet::url, Padding::optional);
    if (!bytes || bytes->size() != PublicKey{}.size()) {
        return unexpected(std::string("is not base64 of 32 bytes (an Ed25519 public key)"));
    }
    PublicKey key;
    std::copy(bytes->begin(), bytes->end(), key.begin());
    if (auto usable = check_public_key(key); !usable) return unexpected(std::move(usable.error()));
    return key;
}

std::optional<PublicKey> parse_public_key(std::string_view text) {
    auto key = decode_public_key(text);
    if (!key) return std::nullopt;
    return *key;
}

}  // namespace monsys::eat
