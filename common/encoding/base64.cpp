#include "common/encoding/base64.hpp"

#include <array>
#include <cstdint>

namespace monsys::encoding {
namespace {

constexpr std::string_view standard_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::int8_t not_in_alphabet = -1;

using DecodeTable = std::array<std::int8_t, 256>;

constexpr DecodeTable make_table(std::string_view chars) {
    DecodeTable table{};
    for (auto& entry : table) entry = not_in_alphabet;
    for (std::size_t i = 0; i < chars.size(); ++i) {
        table[static_cast<unsigned char>(chars[i])] = static_cast<std::int8_t>(i);
    }
    return table;
}

constexpr DecodeTable standard_table = make_table(standard_chars);
constexpr DecodeTable url_table = make_table(url_chars);

}  // namespace

const char* to_string(DecodeError error) {
    switch (error) {
        case DecodeError::illegal_character:
            return "illegal_character";
        case DecodeError::bad_padding:
            return "bad_padding";
        case DecodeError::bad_length:
            return "bad_length";
        case DecodeError::non_canonical:
            return "non_canonical";
    }
    return "unknown";
}

Expected<std::string, DecodeError> decode(std::string_view text, Alphabet alphabet,
                                          Padding padding) {
    const DecodeTable& table = alphabet == Alphabet::standard ? standard_table : url_table;

    std::size_t data_length = text.size();
    while (data_length > 0 && text[data_length - 1] == '=') --data_length;
    const std::size_t pad_count = text.size() - data_length;

    // Characters first, so that a stray '=' inside the data reads as padding in the wrong place
    // and anything else outside the alphabet as an illegal character.
    for (std::size_t i = 0; i < data_length; ++i) {
        char c = text[i];
        if (c == '=') return unexpected(DecodeError::bad_padding);
        if (table[static_cast<unsigned char>(c)] == not_in_alphabet) {
            return unexpected(DecodeError::illegal_character);
        }
    }

    const std::size_t remainder = data_length % 4;
    if (remainder == 1) return unexpected(DecodeError::bad_length);
    const std::size_t expected_pad = remainder == 0 ? 0 : 4 - remainder;
    switch (padding) {
        case Padding::forbidden:
            if (pad_count != 0) return unexpected(DecodeError::bad_padding);
            break;
        case Padding::optional:
            if (pad_count != 0 && pad_count != expected_pad) {
                return unexpected(DecodeError::bad_padding);
            }
            break;
        case Padding::required:
            if (pad_count != expected_pad) return unexpected(DecodeError::bad_padding);
            break;
    }

    std::string out;
    out.reserve(data_length / 4 * 3 + 2);
    std::uint32_t accumulator = 0;
    int bits = 0;
    for (std::size_t i = 0; i < data_length; ++i) {
        accumulator = (accumulator << 6) |
                      static_cast<std::uint32_t>(table[static_cast<unsigned char>(text[i])]);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((accumulator >> bits) & 0xFF));
        }
    }
    // What is left over (2 or 4 bits) belongs to no byte; RFC 4648 section 3.5 lets a decoder
    // refuse it when not zero, which keeps one spelling per value.
    if (bits > 0 && (accumulator & ((1u << bits) - 1)) != 0) {
        return unexpected(DecodeError::non_canonical);
    }
    return out;
}

std::string encode(std::span<const unsigned char> bytes, Alphabet alphabet, bool pad) {
    std::string_view chars = alphabet == Alphabet::standard ? standard_chars : url_chars;
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t triple = (std::uint32_t{bytes[i]} << 16) |
                               (std::uint32_t{bytes[i + 1]} << 8) | std::uint32_t{bytes[i + 2]};
        out.push_back(chars[(triple >> 18) & 0x3F]);
        out.push_back(chars[(triple >> 12) & 0x3F]);
        out.push_back(chars[(triple >> 6) & 0x3F]);
        out.push_back(chars[triple & 0x3F]);
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        std::uint32_t value = std::uint32_t{bytes[i]} << 16;
        out.push_back(chars[(value >> 18) & 0x3F]);
        out.push_back(chars[(value >> 12) & 0x3F]);
        if (pad) out.append("==");
    } else if (rest == 2) {
        std::uint32_t value = (std::uint32_t{bytes[i]} << 16) | (std::uint32_t{bytes[i + 1]} << 8);
        out.push_back(chars[(value >> 18) & 0x3F]);
        out.push_back(chars[(value >> 12) & 0x3F]);
        out.push_back(chars[(value >> 6) & 0x3F]);
        if (pad) out.push_back('=');
    }
    return out;
}

}  // namespace monsys::encoding
