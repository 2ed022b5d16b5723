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
        return unexpected(eat::Rejection{eat::Refusal::replayed, "this token id was used before"});
    }
    return claims;
}

namespace {

// A string member of `object`, if it is one of 1..max_bytes bytes.
std::optional<std::string> short_string(const json::Json& object, const char* name,
                                        std::size_t max_bytes) {
    auto member = object.find(name);
    if (member == object.end() || !member->is_string()) return std::nullopt;
    auto text = member->get<std::string>();
    if (text.empty() || text.size() > max_bytes) return std::nullopt;
    return text;
}

}  // namespace

UnverifiedIds unverified_ids(std::string_view token) {
    if (token.size() > eat::max_token_bytes) return {};
    auto first = token.find('.');
    if (first == std::string_view::npos) return {};
    auto second = token.find('.', first + 1);
    if (second == std::string_view::npos) return {};
    auto payload = encoding::base64url_decode(token.substr(first + 1, second - first - 1));
    if (!payload) return {};
    json::Limits limits;
    limits.max_bytes = eat::max_token_bytes;
    limits.max_depth = 16;
    auto document = json::parse(*payload, limits);
    if (!document || !document->is_object()) return {};
    UnverifiedIds ids;
    ids.jti = short_string(*document, "jti", eat::max_jti_bytes);
    auto app = document->find("app");
    if (app != document->end() && app->is_object()) {
        ids.app_id = short_string(*app, "id", eat::max_app_id_bytes);
    }
    return ids;
}

}  // namespace monsys::agent::actions
