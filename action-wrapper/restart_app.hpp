#pragma once
// One `monsys-action restart-app <app-id>`: check the token, check the local policy, consume the
// token, restart, report. Each step refuses with a named reason; nothing runs before all pass.
#include <cstdint>
#include <string>

#include "action-wrapper/action_result.hpp"
#include "action-wrapper/policy/local_policy.hpp"
#include "common/config/config.hpp"
#include "common/eat/verifier.hpp"

namespace monsys::action {

struct RestartAppRequest {
    std::string app_id;  // from the command line; must equal the token's app.id
    std::string token;
    std::int64_t now_unix = 0;
    // Only `monsys-action verify` without --app-id turns this off; restart-app never does.
    bool require_app_id = true;
};

eat::VerifierSettings verifier_settings(const config::Config& config);

// Runs the whole restart. Never throws; every outcome is a result.
ActionResult restart_app(const config::Config& config, const LocalPolicy& policy,
                         const RestartAppRequest& request);

// The checks `restart_app` makes before it consumes the token and acts, without consuming or
// acting (for `monsys-action verify`). Returns the verified claims or a rejected result.
Expected<eat::Claims, ActionResult> check_action(const config::Config& config,
                                                 const LocalPolicy& policy,
                                                 const RestartAppRequest& request);

}  // namespace monsys::action
