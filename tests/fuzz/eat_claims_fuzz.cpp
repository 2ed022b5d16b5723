// The token verifier past the signature: the header and payload JSON and every claim rule
// (common/eat/claim_rules). Random bytes never carry a valid Ed25519 signature, so this target
// signs what it is given with a key of its own, pinned under the fixture's key ids.
// Input: the header JSON, a newline, the payload JSON.
// Properties: verified claims keep every rule, their payload is the signed JSON, and the
// unverified peek names the same jti.
#include <sodium.h>

#include <array>
#include <string>

#include "common/encoding/base64.hpp"
#include "tests/fuzz/eat_settings.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

struct SigningKey {
    std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> public_key{};
    std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret_key{};
};

const SigningKey& fuzz_key() {
    static const SigningKey key = [] {
        SigningKey k;
        std::array<unsigned char, crypto_sign_SEEDBYTES> seed{};
        seed.fill(0x42);  // fixed: a crash must reproduce
        FUZZ_CHECK(sodium_init() >= 0);
        crypto_sign_seed_keypair(k.public_key.data(), k.secret_key.data(), seed.data());
        return k;
    }();
    return key;
}

std::string signed_token(std::string_view header, std::string_view payload) {
    std::string input = monsys::encoding::base64url_encode(header) + "." +
                        monsys::encoding::base64url_encode(payload);
    std::array<unsigned char, crypto_sign_BYTES> signature{};
    crypto_sign_detached(signature.data(), nullptr,
                         reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                         fuzz_key().secret_key.data());
    return input + "." +
           monsys::encoding::base64url_encode(std::string_view(
               reinterpret_cast<const char*>(signature.data()), signature.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const auto settings = [] {
        auto s = monsys::fuzz::fixture_settings();
        for (auto& [kid, key] : s.keys) std::copy(fuzz_key().public_key.begin(), fuzz_key().public_key.end(), key.begin());
        return s;
    }();
    auto text = monsys::fuzz::as_text(data, size);
    auto newline = text.find('\n');
    if (newline == std::string_view::npos) return 0;
    auto header = text.substr(0, newline);
    auto payload = text.substr(newline + 1);
    if (header.empty() || payload.empty()) return 0;

    std::string token = signed_token(header, payload);
    auto ids = monsys::eat::unverified_ids(token);
    auto claims = monsys::eat::verify_token(token, settings, monsys::fuzz::fixture_now);
    if (!claims) return 0;
    FUZZ_CHECK(monsys::fuzz::claims_keep_the_rules(*claims, settings));
    FUZZ_CHECK(nlohmann::json::parse(payload) == claims->payload);
    FUZZ_CHECK(ids.jti.has_value() && *ids.jti == claims->jti);
    return 0;
}
