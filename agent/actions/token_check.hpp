#pragma once
// The agent's check of an incoming token before it hands it to monsys-action: the shared
// verifier (signature, every claim rule), then the replay store, read only. The agent never
// consumes a jti; monsys-action does, atomically, so a token is used once even if the agent is
// compromised and replays it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/eat/claims.hpp"
#include "common/eat/refusal.hpp"
#include "common/eat/verifier.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::actions {

// Whether the replay store holds the jti; an error means it could not be read.
using SeenCheck = std::function<Expected<bool, std::string>(std::string_view jti)>;

Expected<eat::Claims, eat::Rejection> check_token(std::string_view token,
                                                  const eat::VerifierSettings& settings,
                                                  std::int64_t now_unix, const SeenCheck& seen);

}  // namespace monsys::agent::actions
