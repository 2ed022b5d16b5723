#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/encoding/base64.hpp"

using monsys::encoding::Alphabet;
using monsys::encoding::base64url_decode;
using monsys::encoding::base64url_encode;
using monsys::encoding::decode;
using monsys::encoding::DecodeError;
using monsys::encoding::encode;
using monsys::encoding::Padding;

namespace {

struct Vector {
    const char* plain;
    const char* encoded;
};

// RFC 4648 section 10.
constexpr Vector rfc4648[] = {{"", ""},
                              {"f", "Zg=="},
                              {"fo", "Zm8="},
                              {"foo", "Zm9v"},
                              {"foob", "Zm9vYg=="},
                              {"fooba", "Zm9vYmE="},
                              {"foobar", "Zm9vYmFy"}};

std::string without_padding(std::string text) {
    while (!text.empty() && text.back() == '=') text.pop_back();
    return text;
}

DecodeError url_error(std::string_view text) {
    return base64url_decode(text).error();
}

}  // namespace

TEST_CASE("base64: RFC 4648 test vectors, standard alphabet with padding") {
    for (const auto& v : rfc4648) {
        INFO(v.plain);
        CHECK(encode(std::string_view(v.plain), Alphabet::standard, true) == v.encoded);
        auto decoded = decode(v.encoded, Alphabet::standard, Padding::required);
        REQUIRE(decoded);
        CHECK(*decoded == v.plain);
    }
}

TEST_CASE("base64url: RFC 4648 test vectors without padding") {
    for (const auto& v : rfc4648) {
        INFO(v.plain);
        std::string unpadded = without_padding(v.encoded);
        CHECK(base64url_encode(v.plain) == unpadded);
        auto decoded = base64url_decode(unpadded);
        REQUIRE(decoded);
        CHECK(*decoded == v.plain);
    }
}

TEST_CASE("base64url: the two url characters and every byte value round-trip") {
    // 0xfb 0xff encodes to "-_8" in base64url and "+/8" in standard base64.
    std::string bytes = "\xfb\xff";
    CHECK(base64url_encode(bytes) == "-_8");
    CHECK(encode(bytes, Alphabet::standard, true) == "+/8=");
    for (std::size_t length = 0; length < 300; ++length) {
        std::string data;
        for (std::size_t i = 0; i < length; ++i) data.push_back(static_cast<char>((i * 37) & 0xFF));
        auto back = base64url_decode(base64url_encode(data));
        REQUIRE(back);
        CHECK(*back == data);
        auto standard =
            decode(encode(data, Alphabet::standard, true), Alphabet::standard, Padding::required);
        REQUIRE(standard);
        CHECK(*standard == data);
    }
}

TEST_CASE("base64url: padding is refused") {
    CHECK(url_error("Zg==") == DecodeError::bad_padding);
    CHECK(url_error("Zm8=") == DecodeError::bad_padding);
    CHECK(url_error("Zm9v=") == DecodeError::bad_padding);
    CHECK(url_error("=") == DecodeError::bad_padding);
    CHECK(url_error("Zg=g") == DecodeError::bad_padding);  // '=' inside the data
}

TEST_CASE("base64url: characters of the standard alphabet are refused") {
    CHECK(url_error("+_8") == DecodeError::illegal_character);
    CHECK(url_error("-/8") == DecodeError::illegal_character);
}

TEST_CASE("base64url: whitespace and other illegal characters are refused") {
    for (std::string_view text : {"Zm9v Yg", "Zm9v\nYg", "Zm9vYg\n", " Zm9v", "Zm9v\tYg", "Zm9v.Yg",
                                  "Zm9v*Yg", "Zm9v%Yg", "Zm9v\xc3\xa9"}) {
        INFO(text);
        CHECK(url_error(text) == DecodeError::illegal_character);
    }
    CHECK(url_error(std::string_view("Zm9v\0Yg", 7)) == DecodeError::illegal_character);
}

TEST_CASE("base64url: a length no encoder produces is refused") {
    CHECK(url_error("Z") == DecodeError::bad_length);
    CHECK(url_error("Zm9vY") == DecodeError::bad_length);
}

TEST_CASE("base64url: non-zero unused bits are refused (one spelling per value)") {
    CHECK(*base64url_decode("Zg") == "f");
    CHECK(url_error("Zh") == DecodeError::non_canonical);
    CHECK(*base64url_decode("Zm8") == "fo");
    CHECK(url_error("Zm9") == DecodeError::non_canonical);
}

TEST_CASE("base64 standard: padding optional, required and forbidden") {
    CHECK(*decode("Zg", Alphabet::standard, Padding::optional) == "f");
    CHECK(*decode("Zg==", Alphabet::standard, Padding::optional) == "f");
    CHECK(decode("Zg=", Alphabet::standard, Padding::optional).error() == DecodeError::bad_padding);
    CHECK(decode("Zg===", Alphabet::standard, Padding::optional).error() ==
          DecodeError::bad_padding);
    CHECK(decode("Zm9v=", Alphabet::standard, Padding::optional).error() ==
          DecodeError::bad_padding);
    CHECK(decode("Zg", Alphabet::standard, Padding::required).error() == DecodeError::bad_padding);
    CHECK(decode("Zg==", Alphabet::standard, Padding::forbidden).error() ==
          DecodeError::bad_padding);
    CHECK(decode("-_8", Alphabet::standard, Padding::optional).error() ==
          DecodeError::illegal_character);
}

TEST_CASE("base64: error names") {
    CHECK(std::string(to_string(DecodeError::illegal_character)) == "illegal_character");
    CHECK(std::string(to_string(DecodeError::bad_padding)) == "bad_padding");
    CHECK(std::string(to_string(DecodeError::bad_length)) == "bad_length");
    CHECK(std::string(to_string(DecodeError::non_canonical)) == "non_canonical");
}
