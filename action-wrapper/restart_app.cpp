#include "action-wrapper/restart_app.hpp"

#include <chrono>

#include "action-wrapper/restart/compose_restart.hpp"
#include "action-wrapper/restart/docker_restart.hpp"
#include "action-wrapper/restart/process_restart.hpp"
#include "action-wrapper/restart/systemd_restart.hpp"
#include "common/app/identifier.hpp"
#include "common/eat/replay_store.hpp"
#include "common/util/log.hpp"
#include "common/io/settings_from_config.hpp"

namespace monsys::action {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ActionResult rejected(const RestartAppRequest& request, std::string reason, std::string message,
                      ExitCode exit) {
    ActionResult result;
    result.app_id = request.app_id;
    result.status = ActionStatus::rejected;
    result.reason = std::move(reason);
    result.message = std::move(message);
    result.exit = exit;
    return result;
}

// Fills what the verified token says about the app into a result.
void describe_app(ActionResult& result, const eat::Claims& claims) {
    result.jti = claims.jti;
    result.type = claims.app.type;
    result.identifier = claims.app.identifier;
}

RestartOutcome run_restart(const config::Config& config, const LocalPolicy& policy,
                           const app::AppRef& app) {
    const milliseconds timeout = seconds(config.restart_timeout_secs);
    const io::DockerSettings docker = io::docker_settings_from(config);

    switch (app.type) {
        case app::AppType::systemd:
            return restart_systemd_app(io::systemd_bus_settings_from(config), app.identifier,
                                       policy.denied_units, timeout);
        case app::AppType::docker:
            return restart_docker_container(docker, app.identifier, timeout);
        case app::AppType::compose: {
            // The verifier has checked the grammar, so this parse succeeds.
            auto service = app::parse_compose_identifier(app.identifier);
            return restart_compose_service(docker, *service, timeout);
        }
        case app::AppType::process: {
            // check_policy_allows has found the entry, so this lookup succeeds.
            ProcessRestartRequest process;
            process.entry = restart_entry_for(policy, app).value_or("");
            process.app_path = app.identifier;
            process.command = app.restart_command;
            process.result_dir = config.restart_result_dir;
            process.timeout = timeout;
            process.settle = milliseconds(config.restart_settle_ms);
            process.output_cap_bytes = static_cast<std::size_t>(config.output_cap_bytes);
            return restart_process_app(io::systemd_bus_settings_from(config), process);
        }
    }
    return RestartOutcome{};
}

// One line for the operator. The systemd, docker and compose methods put their summary on stdout
// and the reason for a failure on stderr; a process restart words its verdict itself (the
// restart command's output is its own).
std::string outcome_message(const app::AppRef& app, const RestartOutcome& outcome,
                            const CapturedOutput& out, const CapturedOutput& err) {
    auto first_line = [](const std::string& text) { return text.substr(0, text.find('\n')); };
    if (app.type == app::AppType::process) return outcome.message;
    if (outcome.status == RestartStatus::succeeded || err.text.empty()) return first_line(out.text);
    return first_line(err.text);
}

ExitCode exit_for(RestartStatus status) {
    switch (status) {
        case RestartStatus::succeeded:
            return ExitCode::succeeded;
        case RestartStatus::timeout:
            return ExitCode::timeout;
        case RestartStatus::failed:
            return ExitCode::failed;
    }
    return ExitCode::failed;
}

ActionStatus action_status_for(RestartStatus status) {
    switch (status) {
        case RestartStatus::succeeded:
            return ActionStatus::succeeded;
        case RestartStatus::timeout:
            return ActionStatus::timeout;
        case RestartStatus::failed:
            return ActionStatus::failed;
    }
    return ActionStatus::failed;
}

}  // namespace

eat::VerifierSettings verifier_settings(const config::Config& config) {
    eat::VerifierSettings settings;
    settings.issuer = config.issuer;
    settings.agent_id = config.agent_id;
    settings.keys = config.hub_keys;
    settings.clock_skew_secs = config.clock_skew_secs;
    settings.max_lifetime_secs = config.max_token_lifetime_secs;
    return settings;
}

Expected<eat::Claims, ActionResult> check_action(const config::Config& config,
                                                 const LocalPolicy& policy,
                                                 const RestartAppRequest& request) {
    auto claims = eat::verify_token(request.token, verifier_settings(config), request.now_unix);
    if (!claims) {
        return unexpected(rejected(request, eat::to_string(claims.error().reason),
                                   "token refused: " + claims.error().detail, ExitCode::rejected));
    }
    if (auto named = request.require_app_id ? eat::check_app_id(*claims, request.app_id)
                                            : Expected<void, eat::Rejection>();
        !named) {
        auto result = rejected(request, eat::to_string(named.error().reason),
                               "token refused: " + named.error().detail, ExitCode::rejected);
        describe_app(result, *claims);
        return unexpected(std::move(result));
    }
    // A process app's command is opened and checked by run-restart-command, as root, on the
    // descriptor it then executes; here only the policy's entry for it is looked up.
    if (auto allowed = check_policy_allows(policy, claims->app); !allowed) {
        auto result = rejected(request, "policy_denied", allowed.error(), ExitCode::policy_denied);
        describe_app(result, *claims);
        return unexpected(std::move(result));
    }
    return std::move(*claims);
}

ActionResult restart_app(const config::Config& config, const LocalPolicy& policy,
                         const RestartAppRequest& request) {
    const auto started = std::chrono::system_clock::now();
    auto finish = [started](ActionResult result) {
        result.started_at = started;
        result.finished_at = std::chrono::system_clock::now();
        return result;
    };

    auto claims = check_action(config, policy, request);
    if (!claims) return finish(std::move(claims.error()));

    // Consuming is the last step before acting, so a refused token is not burnt, and a token is
    // consumed before it acts, so a crash after this point cannot lead to a second use.
    eat::ReplayStore store(config::replay_store_path(config));
    if (auto consumed =
            store.consume(claims->jti, claims->exp + config.clock_skew_secs, request.now_unix);
        !consumed) {
        // Only a replay is the token's fault; a store that cannot be used (I/O, lock, trust,
        // corruption, full) is the wrapper's own failure, with its own status and exit code.
        const eat::Rejection& refusal = consumed.error();
        auto result = rejected(request, eat::to_string(refusal.reason),
                               "token refused: " + refusal.detail, ExitCode::rejected);
        if (refusal.reason != eat::Refusal::replayed) {
            result.status = ActionStatus::failed;
            result.message = "replay store: " + refusal.detail + "; nothing was restarted";
            result.exit = ExitCode::internal_error;
        }
        describe_app(result, *claims);
        return finish(std::move(result));
    }

    const std::string app_type(app::to_string(claims->app.type));
    log::event(log::Level::notice, log::Event::action_accepted,
               "token accepted, restarting " + app_type + " " + claims->app.identifier,
               {claims->jti, request.app_id, app_type, ""});
    RestartOutcome outcome = run_restart(config, policy, claims->app);
    if (outcome.policy_refusal) {
        // Refused where only the bus could tell (an alias of a denied unit): nothing ran.
        auto result = rejected(request, "policy_denied", *outcome.policy_refusal,
                               ExitCode::policy_denied);
        describe_app(result, *claims);
        return finish(std::move(result));
    }
    ActionResult result;
    result.app_id = request.app_id;
    describe_app(result, *claims);
    result.status = action_status_for(outcome.status);
    result.exit = exit_for(outcome.status);
    result.exit_code = outcome.exit_code;
    result.stdout_output = std::move(outcome.stdout_output);
    result.stderr_output = std::move(outcome.stderr_output);
    result.before = std::move(outcome.before);
    result.after = std::move(outcome.after);
    result.message =
        outcome_message(claims->app, outcome, result.stdout_output, result.stderr_output);
    return finish(std::move(result));
}

}  // namespace monsys::action
