#pragma once
// Base64 and base64url (RFC 4648). The decoder is strict by default because the bytes it reads
// are signed: one value must have exactly one accepted spelling, so it refuses whitespace,
// characters of the other alphabet, misplaced or (where forbidden) any padding, and non-zero
// unused bits in the last character.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "common/util/expected.hpp"

namespace monsys::encoding {

enum class Alphabet { standard, url };  // "+/" or "-_" for the values 62 and 63

enum class Padding {
    forbidden,  // no '=' at all (JWS compact serialization)
    optional,   // either none or exactly the padding the length calls for
    required,   // the length must be a multiple of 4 (RFC 4648 section 4)
};

enum class DecodeError {
    illegal_character,  // outside the alphabet, including whitespace and the other alphabet
    bad_padding,        // '=' where the mode forbids it, misplaced, or the wrong amount
    bad_length,         // a length no encoding produces (one character left over)
    non_canonical,      // unused bits in the last character are not zero
};

const char* to_string(DecodeError error);

// Decoded bytes are returned in a std::string so that JSON text can be parsed from them directly.
Expected<std::string, DecodeError> decode(std::string_view text, Alphabet alphabet,
                                          Padding padding);

// The JWS form: base64url, no padding.
inline Expected<std::string, DecodeError> base64url_decode(std::string_view text) {
    return decode(text, Alphabet::url, Padding::forbidden);
}

std::string encode(std::span<const unsigned char> bytes, Alphabet alphabet, bool pad);

inline std::string encode(std::string_view bytes, Alphabet alphabet, bool pad) {
    return encode(std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()),
                  alphabet, pad);
}

inline std::string base64url_encode(std::string_view bytes) {
    return encode(bytes, Alphabet::url, false);
}

}  // namespace monsys::encoding
