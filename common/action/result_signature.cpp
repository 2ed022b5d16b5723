#include "common/action/result_signature.hpp"

#include <sodium.h>

#include <stdexcept>

#include "common/encoding/base64.hpp"
#include "common/json/capped_json.hpp"

namespace monsys::results {
namespace {

using Json = nlohmann::json;

static_assert(crypto_sign_SEEDBYTES == ActionKeySeed{}.size());
static_assert(crypto_sign_PUBLICKEYBYTES == ActionPublicKey{}.size());
static_assert(crypto_sign_SECRETKEYBYTES == 64);

void require_sodium() {
    // A function-local static is initialised exactly once even with concurrent callers.
    static const bool ready = sodium_init() >= 0;
    if (!ready) throw std::runtime_error("libsodium could not be initialised");
}

std::string_view as_chars(const unsigned char* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

std::string x_of(const ActionPublicKey& key) {
    return encoding::base64url_encode(as_chars(key.data(), key.size()));
}

struct Parts {
    std::string_view header;
    std::string_view payload;
    std::string_view signature;
};

Expected<Parts, std::string> split(std::string_view jws) {
    auto first = jws.find('.');
    if (first == std::string_view::npos) return unexpected(std::string("not a compact JWS"));
    auto second = jws.find('.', first + 1);
    if (second == std::string_view::npos || jws.find('.', second + 1) != std::string_view::npos) {
        return unexpected(std::string("not a compact JWS (three parts)"));
    }
    Parts parts{jws.substr(0, first), jws.substr(first + 1, second - first - 1),
                jws.substr(second + 1)};
    if (parts.header.size() > max_jws_header_bytes) {
        return unexpected(std::string("JWS header over ") + std::to_string(max_jws_header_bytes) +
                          " bytes");
    }
    return parts;
}

std::string header_text(std::string_view kid, std::string_view typ) {
    // nlohmann's objects keep members sorted, so this is alg, kid, typ.
    return Json{{"alg", "EdDSA"}, {"kid", std::string(kid)}, {"typ", std::string(typ)}}.dump();
}

}  // namespace

ActionSigningKey signing_key_from_seed(const ActionKeySeed& seed) {
    require_sodium();
    ActionSigningKey key;
    key.seed = seed;
    crypto_sign_seed_keypair(key.public_key.data(), key.secret.data(), seed.data());
    key.kid = jwk_thumbprint(key.public_key);
    return key;
}

ActionSigningKey generate_signing_key() {
    require_sodium();
    ActionKeySeed seed{};
    randombytes_buf(seed.data(), seed.size());
    ActionSigningKey key = signing_key_from_seed(seed);
    sodium_memzero(seed.data(), seed.size());
    return key;
}

Json public_jwk(const ActionPublicKey& key) {
    return Json{{"crv", "Ed25519"}, {"kty", "OKP"}, {"x", x_of(key)}};
}

std::string jwk_thumbprint(const ActionPublicKey& key) {
    require_sodium();
    // RFC 7638 section 3.2: required members only, sorted, no whitespace; x is base64url, which
    // needs no JSON escaping.
    const std::string text = R"({"crv":"Ed25519","kty":"OKP","x":")" + x_of(key) + "\"}";
    std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256(digest.data(), reinterpret_cast<const unsigned char*>(text.data()),
                       text.size());
    return encoding::base64url_encode(as_chars(digest.data(), digest.size()));
}

Expected<ActionPublicKey, std::string> public_key_from_jwk(const Json& jwk) {
    if (!jwk.is_object() || jwk.size() != 3) {
        return unexpected(std::string("jwk must be an object with exactly crv, kty and x"));
    }
    auto crv = jwk.find("crv");
    auto kty = jwk.find("kty");
    auto x = jwk.find("x");
    if (crv == jwk.end() || *crv != "Ed25519" || kty == jwk.end() || *kty != "OKP") {
        return unexpected(std::string("jwk must have kty OKP and crv Ed25519"));
    }
    if (x == jwk.end() || !x->is_string()) return unexpected(std::string("jwk has no string x"));
    auto bytes = encoding::base64url_decode(x->get_ref<const std::string&>());
    if (!bytes || bytes->size() != ActionPublicKey{}.size()) {
        return unexpected(std::string("jwk x is not base64url of 32 bytes"));
    }
    ActionPublicKey key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    require_sodium();
    if (crypto_core_ed25519_is_valid_point(key.data()) != 1) {
        return unexpected(std::string("jwk x is not a usable Ed25519 public key"));
    }
    return key;
}

std::string sign_compact(const ActionSigningKey& key, std::string_view typ,
                         std::string_view payload) {
    require_sodium();
    std::string input = encoding::base64url_encode(header_text(key.kid, typ)) + "." +
                        encoding::base64url_encode(payload);
    std::array<unsigned char, crypto_sign_BYTES> signature{};
    crypto_sign_detached(signature.data(), nullptr,
                         reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                         key.secret.data());
    return input + "." + encoding::base64url_encode(as_chars(signature.data(), signature.size()));
}

std::optional<std::string> compact_jws_kid(std::string_view jws) {
    auto parts = split(jws);
    if (!parts) return std::nullopt;
    auto header = encoding::base64url_decode(parts->header);
    if (!header) return std::nullopt;
    json::Limits limits{max_jws_header_bytes, 4, /*reject_duplicate_keys=*/true, false};
    auto parsed = json::parse(*header, limits);
    if (!parsed || !parsed->is_object()) return std::nullopt;
    auto kid = parsed->find("kid");
    if (kid == parsed->end() || !kid->is_string()) return std::nullopt;
    return kid->get<std::string>();
}

Expected<VerifiedJws, std::string> verify_compact(std::string_view jws, std::string_view typ,
                                                  const ActionPublicKey& key) {
    require_sodium();
    auto parts = split(jws);
    if (!parts) return unexpected(std::move(parts.error()));
    auto header = encoding::base64url_decode(parts->header);
    if (!header) return unexpected(std::string("JWS header is not base64url"));
    json::Limits limits{max_jws_header_bytes, 4, /*reject_duplicate_keys=*/true, false};
    auto parsed = json::parse(*header, limits);
    if (!parsed) return unexpected("JWS header: " + parsed.error().message);
    if (!parsed->is_object() || parsed->size() != 3) {
        return unexpected(std::string("JWS header must have exactly alg, kid and typ"));
    }
    auto alg = parsed->find("alg");
    auto kid = parsed->find("kid");
    auto kind = parsed->find("typ");
    if (alg == parsed->end() || *alg != "EdDSA") {
        return unexpected(std::string("JWS alg is not EdDSA"));
    }
    if (kind == parsed->end() || !kind->is_string() || *kind != std::string(typ)) {
        return unexpected("JWS typ is not " + std::string(typ));
    }
    if (kid == parsed->end() || !kid->is_string()) return unexpected(std::string("JWS has no kid"));
    if (*kid != jwk_thumbprint(key)) {
        return unexpected("JWS kid " + kid->get<std::string>() + " is not this key's");
    }
    auto signature = encoding::base64url_decode(parts->signature);
    if (!signature || signature->size() != crypto_sign_BYTES) {
        return unexpected(std::string("JWS signature is not base64url of 64 bytes"));
    }
    auto payload = encoding::base64url_decode(parts->payload);
    if (!payload) return unexpected(std::string("JWS payload is not base64url"));
    const std::size_t signed_bytes = parts->header.size() + 1 + parts->payload.size();
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature->data()),
                                    reinterpret_cast<const unsigned char*>(jws.data()),
                                    signed_bytes, key.data()) != 0) {
        return unexpected(std::string("JWS signature does not verify"));
    }
    return VerifiedJws{kid->get<std::string>(), std::move(*payload)};
}

}  // namespace monsys::results
