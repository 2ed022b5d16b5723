#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "common/eat/keys.hpp"
#include "common/encoding/base64.hpp"

using monsys::eat::parse_public_key;
using monsys::eat::PublicKey;

namespace {

PublicKey counting_key() {
    PublicKey key;
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<unsigned char>(i * 8 + 3);
    return key;
}

std::string as_text(const PublicKey& key, monsys::encoding::Alphabet alphabet, bool pad) {
    return monsys::encoding::encode(std::span(key.data(), key.size()), alphabet, pad);
}

}  // namespace

TEST_CASE("public key: standard base64 with and without padding, and base64url") {
    using monsys::encoding::Alphabet;
    const PublicKey key = counting_key();
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
    std::string good = as_text(counting_key(), monsys::encoding::Alphabet::standard, true);
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
