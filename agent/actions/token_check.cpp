#include "agent/actions/token_check.hpp"

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

}  // namespace monsys::agent::actions
