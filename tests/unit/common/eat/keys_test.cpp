#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/eat/keys.hpp"
#include "common/encoding/base64.hpp"

using monsys::eat::parse_public_key;
using monsys::eat::PublicKey;

namespace {

// The public key of RFC 8032's test 2 (7.1), a valid point whose base64 has '+' and '/'.
PublicKey rfc8032_key() {
    const std::string hex = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    PublicKey key;
    for (std::size_t i = 0; i < key.size(); ++i) {
        key[i] = static_cast<unsigned char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
    }
    return key;
}

PublicKey from_hex(std::string_view hex) {
    PublicKey key{};
    REQUIRE(hex.size() == 64);
    for (std::size_t i = 0; i < key.size(); ++i) {
        key[i] =
            static_cast<unsigned char>(std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16));
    }
    return key;
}

std::string as_text(const PublicKey& key, monsys::encoding::Alphabet alphabet, bool pad) {
    return monsys::encoding::encode(std::span(key.data(), key.size()), alphabet, pad);
}

}  // namespace

TEST_CASE("public key: standard base64 with and without padding, and base64url") {
    using monsys::encoding::Alphabet;
    const PublicKey key = rfc8032_key();
    std::string padded = as_text(key, Alphabet::standard, true);
    REQUIRE(padded.back() == '=');
    CHECK(parse_public_key(padded) == key);
    CHECK(parse_public_key(as_text(key, Alphabet::standard, false)) == key);
    std::string url = as_text(key, Alphabet::url, false);
    REQUIRE(url.find_first_of("-_") != std::string::npos);  // the alphabets really differ here
    CHECK(parse_public_key(url) == key);
    CHECK(parse_public_key(as_text(key, Alphabet::url, true)) == key);
}

TEST_CASE("public key: anything but exactly 32 bytes of clean base64 is refused") {
    CHECK_FALSE(parse_public_key(""));
    CHECK_FALSE(parse_public_key(std::string(42, 'A')));  // 31 bytes
    CHECK_FALSE(parse_public_key(std::string(44, 'A')));  // 33 bytes
    std::string good = as_text(rfc8032_key(), monsys::encoding::Alphabet::standard, true);
    CHECK_FALSE(parse_public_key(good + "\n"));
    CHECK_FALSE(parse_public_key(" " + good));
    CHECK_FALSE(parse_public_key(good.substr(0, 20) + "-" + good.substr(21, 10) + "+" +
                                 good.substr(32)));  // mixed alphabets
    CHECK_FALSE(parse_public_key("-----BEGIN PUBLIC KEY-----"));
}

TEST_CASE("public key: the committed fixture keys parse") {
    std::ifstream in(MONSYS_FIXTURES_DIR "/eat/keys.json");
    std::stringstream text;
    text << in.rdbuf();
    auto keys = nlohmann::json::parse(text.str(), nullptr, false);
    REQUIRE(keys.is_object());
    CHECK(keys.size() == 3);
    for (const auto& [kid, entry] : keys.items()) {
        INFO(kid);
        CHECK(parse_public_key(entry.at("public_key").get<std::string>()));
    }
}

TEST_CASE("public key: all-zero, small-order and non-canonical points are refused") {
    using monsys::encoding::Alphabet;
    // The eight points of small order (the 8-torsion: identity, order 2, 4 and 8), the all-zero
    // encoding among them, and non-canonical encodings (y >= p).
    const char* refused[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",  // all zero (order 4)
        "0100000000000000000000000000000000000000000000000000000000000000",  // identity
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // order 2
        "0000000000000000000000000000000000000000000000000000000000000080",  // order 4
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",  // order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",  // order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",  // order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",  // order 8
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // y = p (0)
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // y = p + 1 (1)
        "0100000000000000000000000000000000000000000000000000000000000080",  // identity, x sign
    };
    for (const char* hex : refused) {
        INFO(hex);
        const PublicKey key = from_hex(hex);
        CHECK_FALSE(monsys::eat::check_public_key(key));
        auto decoded = monsys::eat::decode_public_key(as_text(key, Alphabet::standard, true));
        REQUIRE_FALSE(decoded);
        CHECK_FALSE(parse_public_key(as_text(key, Alphabet::url, false)));
    }
    auto zero = monsys::eat::decode_public_key(as_text(PublicKey{}, Alphabet::standard, true));
    REQUIRE_FALSE(zero);
    CHECK(zero.error().find("all zeros") != std::string::npos);
    auto small =
        monsys::eat::decode_public_key(as_text(from_hex(refused[4]), Alphabet::standard, true));
    REQUIRE_FALSE(small);
    CHECK(small.error().find("small order") != std::string::npos);
    CHECK(monsys::eat::check_public_key(rfc8032_key()));
}
