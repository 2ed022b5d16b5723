// monsys-action's signatures: the compact JWS over exact bytes, the RFC 7638 kid, the refusals.
#include <doctest/doctest.h>

#include <sodium.h>

#include "common/action/result_signature.hpp"
#include "common/encoding/base64.hpp"

using namespace monsys::results;
using Json = nlohmann::json;

namespace {

ActionKeySeed seed_of(unsigned char first) {
    ActionKeySeed seed{};
    for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<unsigned char>(first + i);
    return seed;
}

std::string part(const std::string& jws, int index) {
    std::size_t start = 0;
    for (int i = 0; i < index; ++i) start = jws.find('.', start) + 1;
    return jws.substr(start, jws.find('.', start) - start);
}

std::string decoded(const std::string& text) {
    auto bytes = monsys::encoding::base64url_decode(text);
    REQUIRE(bytes);
    return *bytes;
}

}  // namespace

TEST_CASE("result signature: kid is the RFC 7638 thumbprint (RFC 8037 appendix A.3 key)") {
    // RFC 8037 A.1/A.3: the key with x = 11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo has the
    // thumbprint kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k.
    auto seed_bytes = monsys::encoding::base64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    REQUIRE(seed_bytes);
    ActionKeySeed seed{};
    std::copy(seed_bytes->begin(), seed_bytes->end(), seed.begin());
    const ActionSigningKey key = signing_key_from_seed(seed);
    CHECK(public_jwk(key.public_key)["x"] == "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    CHECK(key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
}

TEST_CASE("result signature: RFC 8037 A.4 signature, byte for byte") {
    // Ed25519 is deterministic: the RFC's example signature over "Example of Ed25519 signing"
    // with the RFC's header must come out exactly.
    auto seed_bytes = monsys::encoding::base64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
    REQUIRE(seed_bytes);
    ActionKeySeed seed{};
    std::copy(seed_bytes->begin(), seed_bytes->end(), seed.begin());
    const ActionSigningKey key = signing_key_from_seed(seed);
    const std::string input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    std::array<unsigned char, 64> signature{};
    REQUIRE(sodium_init() >= 0);
    crypto_sign_detached(signature.data(), nullptr,
                         reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                         key.secret.data());
    CHECK(monsys::encoding::base64url_encode(
              std::string_view(reinterpret_cast<const char*>(signature.data()), 64)) ==
          "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg");
}

TEST_CASE("result signature: the payload is the exact bytes, the header exactly alg kid typ") {
    const ActionSigningKey key = signing_key_from_seed(seed_of(1));
    const std::string result = R"({"status":"succeeded","message":"caf\u00e9 \"x\""})";
    const std::string jws = sign_compact(key, result_jws_type, result);
    CHECK(decoded(part(jws, 1)) == result);
    CHECK(Json::parse(decoded(part(jws, 0))) ==
          Json{{"alg", "EdDSA"}, {"kid", key.kid}, {"typ", "monsys-action-result+jws"}});
    CHECK(compact_jws_kid(jws) == key.kid);

    auto verified = verify_compact(jws, result_jws_type, key.public_key);
    REQUIRE(verified);
    CHECK(verified->payload == result);
    CHECK(verified->kid == key.kid);
}

TEST_CASE("result signature: a tampered payload, header or signature does not verify") {
    const ActionSigningKey key = signing_key_from_seed(seed_of(1));
    const std::string jws = sign_compact(key, result_jws_type, R"({"status":"failed"})");
    const std::string header = part(jws, 0);
    const std::string signature = part(jws, 2);
    const std::string forged_payload =
        monsys::encoding::base64url_encode(std::string(R"({"status":"succeeded"})"));
    auto tampered = verify_compact(header + "." + forged_payload + "." + signature,
                                   result_jws_type, key.public_key);
    REQUIRE_FALSE(tampered);
    CHECK(tampered.error() == "JWS signature does not verify");

    std::string flipped = jws;
    flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
    CHECK_FALSE(verify_compact(flipped, result_jws_type, key.public_key));
    CHECK_FALSE(verify_compact(jws + ".x", result_jws_type, key.public_key));
    CHECK_FALSE(verify_compact("", result_jws_type, key.public_key));
}

TEST_CASE("result signature: another key's signature is refused by kid and by signature") {
    const ActionSigningKey mine = signing_key_from_seed(seed_of(1));
    const ActionSigningKey other = signing_key_from_seed(seed_of(2));
    const std::string jws = sign_compact(other, result_jws_type, "{}");
    auto refused = verify_compact(jws, result_jws_type, mine.public_key);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().find("is not this key's") != std::string::npos);
}

TEST_CASE("result signature: a rotation statement is not a result, nor the other way round") {
    const ActionSigningKey key = signing_key_from_seed(seed_of(1));
    const std::string statement = sign_compact(key, rotation_jws_type, "{}");
    auto refused = verify_compact(statement, result_jws_type, key.public_key);
    REQUIRE_FALSE(refused);
    CHECK(refused.error() == "JWS typ is not monsys-action-result+jws");
    CHECK(verify_compact(statement, rotation_jws_type, key.public_key));
}

TEST_CASE("result signature: public_key_from_jwk refuses other shapes and unusable points") {
    const ActionSigningKey key = signing_key_from_seed(seed_of(1));
    const Json jwk = public_jwk(key.public_key);
    auto back = public_key_from_jwk(jwk);
    REQUIRE(back);
    CHECK(*back == key.public_key);

    Json extra = jwk;
    extra["d"] = "secret";
    CHECK_FALSE(public_key_from_jwk(extra));
    Json wrong_curve = jwk;
    wrong_curve["crv"] = "X25519";
    CHECK_FALSE(public_key_from_jwk(wrong_curve));
    Json zero = jwk;
    zero["x"] = monsys::encoding::base64url_encode(std::string(32, '\0'));
    CHECK_FALSE(public_key_from_jwk(zero));
    CHECK_FALSE(public_key_from_jwk(Json::array()));
}
