#include "agent/actions/token_check.hpp"

#include "common/encoding/base64.hpp"
#include "common/json/capped_json.hpp"

namespace monsys::agent::actions {

Expected<eat::Claims, eat::Rejection> check_token(std::string_view token,
                                                  const eat::VerifierSettings& settings,
                                                  std::int64_t now_unix, const SeenCheck& seen) {
    auto claims = eat::verify_token(token, settings, now_unix);
    if (!claims) return unexpected(claims.error());
    auto was_seen = seen(claims->jti);
    if (!was_seen) {
        return unexpected(eat::Rejection{eat::Refusal::replay_store_error, was_seen.error()});
    }
    if (*was_seen) {
        return unexpected(
            eat::Rejection{eat::Refusal::replayed, "this token id was used before"});
    }
    return claims;
}

std::optional<std::string> unverified_jti(std::string_view token) {
    if (token.size() > eat::max_token_bytes) return std::nullopt;
    auto first = token.find('.');
    if (first == std::string_view::npos) return std::nullopt;
    auto second = token.find('.', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    auto payload = encoding::base64url_decode(token.substr(first + 1, second - first - 1));
    if (!payload) return std::nullopt;
    json::Limits limits;
    limits.max_bytes = eat::max_token_bytes;
    limits.max_depth = 16;
    auto document = json::parse(*payload, limits);
    if (!document || !document->is_object()) return std::nullopt;
    auto jti = document->find("jti");
    if (jti == document->end() || !jti->is_string()) return std::nullopt;
    auto text = jti->get<std::string>();
    if (text.empty() || text.size() > eat::max_jti_bytes) return std::nullopt;
    return text;
}

}  // namespace monsys::agent::actions
