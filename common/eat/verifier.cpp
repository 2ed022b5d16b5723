#include "common/eat/verifier.hpp"

#include <sodium.h>

#include <array>
#include <utility>

#include "common/eat/claim_rules.hpp"
#include "common/encoding/base64.hpp"
#include "common/json/capped_json.hpp"

namespace monsys::eat {
namespace {

using detail::log_quoted;
using Json = nlohmann::json;

constexpr std::size_t signature_bytes = crypto_sign_BYTES;
static_assert(signature_bytes == 64);
static_assert(crypto_sign_PUBLICKEYBYTES == PublicKey{}.size());

// Header members that carry or point to a key. Honouring any of them would let the token choose
// the key it is checked with, so their mere presence refuses the token.
constexpr std::array<const char*, 4> embedded_key_members = {"jwk", "jku", "x5u", "x5c"};

// Both decoded parts are well under the token cap; nesting is a few levels in any real token.
constexpr json::Limits part_limits{max_token_bytes, 16, /*reject_duplicate_keys=*/true, false};

bool sodium_ready() {
    // A function-local static is initialised exactly once even with concurrent callers.
    static const bool ready = sodium_init() >= 0;
    return ready;
}

Expected<void, Rejection> check_settings(const VerifierSettings& settings, std::int64_t now) {
    if (settings.issuer.empty() || settings.agent_id.empty() || settings.action.empty() ||
        settings.keys.empty()) {
        return refuse(Refusal::bad_settings, "issuer, agent id, action and keys must be set");
    }
    if (settings.clock_skew_secs < 0 || settings.clock_skew_secs > max_clock_skew_secs ||
        settings.max_lifetime_secs < 1 || settings.max_lifetime_secs > max_lifetime_cap_secs) {
        return refuse(Refusal::bad_settings, "clock skew or max lifetime out of range");
    }
    if (now < 0 || now > detail::max_time_unix) {
        return refuse(Refusal::bad_settings, "the current time is out of range");
    }
    return {};
}

struct Parts {
    std::string_view header;
    std::string_view payload;
    std::string_view signature;
};

Expected<Parts, Rejection> split(std::string_view token) {
    auto first = token.find('.');
    auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
    if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
        return refuse(Refusal::malformed, "a token has exactly three parts separated by '.'");
    }
    Parts parts{token.substr(0, first), token.substr(first + 1, second - first - 1),
                token.substr(second + 1)};
    if (parts.header.empty() || parts.payload.empty()) {
        return refuse(Refusal::malformed, "empty header or payload part");
    }
    return parts;
}

Expected<Json, Rejection> decode_json_part(std::string_view part, const char* name,
                                           Refusal not_an_object) {
    auto text = encoding::base64url_decode(part);
    if (!text) {
        return refuse(Refusal::bad_encoding, std::string(name) + " is not strict base64url (" +
                                                 encoding::to_string(text.error()) + ")");
    }
    auto value = json::parse(*text, part_limits);
    if (!value) {
        if (value.error().kind == json::ParseFailure::duplicate_key) {
            return refuse(Refusal::duplicate_key, std::string(name) + ": " + value.error().message);
        }
        return refuse(not_an_object, std::string(name) + ": " + value.error().message);
    }
    if (!value->is_object()) {
        return refuse(not_an_object, std::string(name) + " is not a JSON object");
    }
    return std::move(*value);
}

// Returns the pinned key the header names. Nothing in the header is trusted beyond choosing
// among keys the configuration already pins.
Expected<const PublicKey*, Rejection> check_header(const Json& header,
                                                   const VerifierSettings& settings,
                                                   std::string& kid_out) {
    for (const char* name : embedded_key_members) {
        if (header.contains(name)) {
            return refuse(Refusal::embedded_key,
                          std::string("header carries ") + name + "; only pinned keys are used");
        }
    }
    if (header.contains("crit")) {
        return refuse(Refusal::crit_unsupported, "no header extension is understood");
    }
    auto alg = header.find("alg");
    if (alg == header.end() || !alg->is_string()) {
        return refuse(Refusal::bad_alg, "alg is missing or not a string");
    }
    const auto& alg_name = alg->get_ref<const std::string&>();
    if (alg_name != "EdDSA" && alg_name != "Ed25519") {
        return refuse(Refusal::bad_alg, "alg " + log_quoted(alg_name) + " is not EdDSA or Ed25519");
    }
    auto typ = header.find("typ");
    if (typ == header.end() || !typ->is_string() ||
        typ->get_ref<const std::string&>() != "monsys-eat+jwt") {
        return refuse(Refusal::bad_typ, "typ must be \"monsys-eat+jwt\"");
    }
    auto kid = header.find("kid");
    if (kid == header.end() || !kid->is_string()) {
        return refuse(Refusal::bad_header, "kid is missing or not a string");
    }
    const auto& kid_name = kid->get_ref<const std::string&>();
    auto key = settings.keys.find(kid_name);
    if (key == settings.keys.end()) {
        return refuse(Refusal::unknown_kid, "kid " + log_quoted(kid_name) + " is not a pinned key");
    }
    kid_out = kid_name;
    return &key->second;
}

Expected<void, Rejection> check_signature(const Parts& parts, std::string_view signing_input,
                                         const PublicKey& key) {
    if (parts.signature.empty()) {
        return refuse(Refusal::missing_signature, "the signature part is empty");
    }
    auto signature = encoding::base64url_decode(parts.signature);
    if (!signature) {
        return refuse(Refusal::bad_encoding, std::string("signature is not strict base64url (") +
                                                    encoding::to_string(signature.error()) + ")");
    }
    if (signature->size() != signature_bytes) {
        return refuse(Refusal::bad_signature, "signature has " + std::to_string(signature->size()) + " bytes, not 64");
    }
    if (!sodium_ready()) {
        return refuse(Refusal::bad_signature, "libsodium could not be initialised");
    }
    if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature->data()),
                                    reinterpret_cast<const unsigned char*>(signing_input.data()),
                                    signing_input.size(), key.data()) != 0) {
        return refuse(Refusal::bad_signature, "signature does not verify");
    }
    return {};
}

}  // namespace

namespace {

// A string member of `object`, if it is one of 1..max_bytes bytes.
std::optional<std::string> short_string(const Json& object, const char* name,
                                        std::size_t max_bytes) {
    auto member = object.find(name);
    if (member == object.end() || !member->is_string()) return std::nullopt;
    auto text = member->get<std::string>();
    if (text.empty() || text.size() > max_bytes) return std::nullopt;
    return text;
}

}  // namespace

UnverifiedIds unverified_ids(std::string_view token) {
    if (token.size() > max_token_bytes) return {};
    auto parts = split(token);
    if (!parts) return {};
    auto payload = decode_json_part(parts->payload, "payload", Refusal::bad_payload);
    if (!payload) return {};
    UnverifiedIds ids;
    ids.jti = short_string(*payload, "jti", max_jti_bytes);
    auto app = payload->find("app");
    if (app != payload->end() && app->is_object()) {
        ids.app_id = short_string(*app, "id", max_app_id_bytes);
    }
    return ids;
}

Expected<Claims, Rejection> verify_token(std::string_view token, const VerifierSettings& settings,
                                         std::int64_t now_unix) {
    if (token.size() > max_token_bytes) {
        return refuse(Refusal::too_large, "token of " + std::to_string(token.size()) +
                                              " bytes exceeds " + std::to_string(max_token_bytes));
    }
    if (auto checked = check_settings(settings, now_unix); !checked) {
        return unexpected(std::move(checked.error()));
    }

    auto parts = split(token);
    if (!parts) return unexpected(std::move(parts.error()));

    auto header = decode_json_part(parts->header, "header", Refusal::bad_header);
    if (!header) return unexpected(std::move(header.error()));
    std::string kid;
    auto key = check_header(*header, settings, kid);
    if (!key) return unexpected(std::move(key.error()));

    // The exact bytes received, not a re-encoding: the signature covers the text.
    std::string_view signing_input =
        token.substr(0, parts->header.size() + 1 + parts->payload.size());
    if (auto verified = check_signature(*parts, signing_input, **key); !verified) {
        return unexpected(std::move(verified.error()));
    }

    auto payload = decode_json_part(parts->payload, "payload", Refusal::bad_payload);
    if (!payload) return unexpected(std::move(payload.error()));
    return detail::read_claims(std::move(*payload), std::move(kid), settings, now_unix);
}

Expected<void, Rejection> check_app_id(const Claims& claims, std::string_view expected_app_id) {
    if (claims.app.id == expected_app_id) return {};
    return refuse(Refusal::app_mismatch, "token is for app " + log_quoted(claims.app.id) +
                                                ", not " + log_quoted(expected_app_id));
}

}  // namespace monsys::eat
