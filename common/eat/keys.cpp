#include "common/eat/keys.hpp"

#include <algorithm>

#include "common/encoding/base64.hpp"

namespace monsys::eat {

std::optional<PublicKey> parse_public_key(std::string_view text) {
    using encoding::Alphabet;
    using encoding::Padding;
    // A key can only be valid in one of the two alphabets (or both, when it has neither "+/" nor
    // "-_"), so trying both cannot turn one key into another.
    auto bytes = encoding::decode(text, Alphabet::standard, Padding::optional);
    if (!bytes) bytes = encoding::decode(text, Alphabet::url, Padding::optional);
    if (!bytes || bytes->size() != PublicKey{}.size()) return std::nullopt;
    PublicKey key;
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
}

}  // namespace monsys::eat
