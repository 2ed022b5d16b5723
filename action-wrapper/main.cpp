// monsys-action: verifies an Emergency Action Token and restarts one app.
// main() only parses arguments and hands over; see docs/monsys-action.md.
#include <pwd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ctime>
#include <functional>
#include <iostream>

#include "action-wrapper/connection_request.hpp"
#include "action-wrapper/policy/local_policy.hpp"
#include "action-wrapper/restart_app.hpp"
#include "action-wrapper/restart_command/run_restart_command.hpp"
#include "action-wrapper/token_input.hpp"
#include "common/action/action_key.hpp"
#include "common/action/wrapper_output.hpp"
#include "common/build_info.hpp"
#include "common/config/config.hpp"
#include "common/eat/replay_store.hpp"
#include "common/io/journal/journal_sink.hpp"
#include "common/util/log.hpp"
#include "common/util/trusted_file.hpp"

namespace {

using monsys::action::ActionResult;
using monsys::action::ActionStatus;
using monsys::action::ExitCode;

struct Options {
    std::string config_path = monsys::build_info::default_config_path;
    std::string policy_path = monsys::build_info::default_policy_path;
    std::string eat_file;
    std::string app_id;
};

int to_int(ExitCode code) {
    return static_cast<int>(code);
}

// Output from restarted programs may be any bytes: replace what is not UTF-8 rather than fail.
std::string to_text(const nlohmann::json& value) {
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void print_json(const nlohmann::json& value) {
    std::cout << to_text(value) << '\n';
}

// The result, then (when the key could be loaded) the JWS over exactly the bytes of that line
// (docs/protocol.md, "Result signatures").
void print_result(const nlohmann::json& result, const monsys::results::ActionSigningKey* key) {
    const std::string line = to_text(result);
    if (key == nullptr) {
        std::cout << line << '\n';
        return;
    }
    std::cout << monsys::results::format_wrapper_output(
        line, monsys::results::sign_compact(*key, monsys::results::result_jws_type, line));
}

// The config and policy decide which keys are trusted and what may run, so they are only read
// from files that nobody but root (or this user) can change, whatever path the caller passed.
// `for_actions`: also require what acting on a token needs (hub keys, agent id); the key commands
// run at install time, before the admin filled those in.
monsys::Expected<monsys::config::Config, std::string> load_trusted_config(const std::string& path,
                                                                          bool for_actions = true) {
    // Opened once without following links and read from the descriptor that was checked.
    constexpr std::size_t max_config_bytes = 1 << 20;  // as config::load_config
    auto text = monsys::read_trusted_file(path, max_config_bytes);
    if (!text) {
        if (text.error().not_found()) return monsys::unexpected("config " + text.error().message);
        return monsys::unexpected("config " + path + " is not trusted: " + text.error().message);
    }
    auto config = monsys::config::parse_config(*text);
    if (!config) return monsys::unexpected("config " + path + ": " + config.error());
    if (!for_actions) return config;
    if (auto fields = monsys::config::check_fields_for_actions(*config); !fields) {
        return monsys::unexpected("config " + path + ": " + fields.error());
    }
    return config;
}

// The policy, knowing its own path (refusals name it).
monsys::Expected<monsys::action::LocalPolicy, std::string> load_local_policy(
    const std::string& path) {
    auto policy = monsys::action::load_policy(path);
    if (policy) policy->path = path;
    return policy;
}

monsys::Expected<std::string, std::string> read_token(const Options& options) {
    if (!options.eat_file.empty()) return monsys::action::read_token_file(options.eat_file);
    if (isatty(STDIN_FILENO)) {
        return monsys::unexpected(
            std::string("no token given (pass it on stdin or with --eat-file)"));
    }
    return monsys::action::read_token(stdin);
}

// A failure before the token could be looked at: still one JSON result, for the audit log
// (signed when the key was loaded by then).
int fail_early(const Options& options, const std::string& message,
               const monsys::results::ActionSigningKey* key = nullptr,
               ExitCode exit = ExitCode::usage, const std::string& reason = "usage") {
    std::cerr << "monsys-action: " << message << '\n';
    ActionResult result;
    result.app_id = options.app_id;
    result.status = ActionStatus::failed;
    result.reason = reason;
    result.message = message;
    result.started_at = result.finished_at = std::chrono::system_clock::now();
    result.exit = exit;
    print_result(monsys::action::to_json(result), key);
    return to_int(exit);
}

// One journal event per result, so `journalctl MONSYS_JTI=<jti>` shows the wrapper's part next
// to the agent's.
void log_result(const ActionResult& result) {
    const std::string jti = result.jti.value_or("");
    const std::string type = result.type ? monsys::app::to_string(*result.type) : "";
    const std::string status = monsys::action::to_string(result.status);
    if (result.status == ActionStatus::rejected) {
        monsys::log::event(monsys::log::Level::warning, monsys::log::Event::token_refused,
                           "refused: " + result.reason.value_or("") + ": " + result.message,
                           {jti, result.app_id, type, status});
        return;
    }
    monsys::log::event(result.status == ActionStatus::succeeded ? monsys::log::Level::notice
                                                                : monsys::log::Level::warning,
                       monsys::log::Event::action_result, status + ": " + result.message,
                       {jti, result.app_id, type, status});
}

// `token` is read by the caller only after the config and the policy loaded.
int restart_with_token(const Options& options,
                       const std::function<monsys::Expected<std::string, std::string>()>& read) {
    auto config = load_trusted_config(options.config_path);
    if (!config) return fail_early(options, config.error());
    auto policy = load_local_policy(options.policy_path);
    if (!policy) return fail_early(options, "policy " + policy.error());
    // Nothing is done that could not be signed: the key is loaded (made on first use) before the
    // token is even read.
    auto key = monsys::results::load_action_key(config->state_dir, /*create=*/true);
    if (!key) {
        return fail_early(options, "signing key: " + key.error(), nullptr, ExitCode::internal_error,
                          "signing_key_error");
    }
    auto token = read();
    if (!token) return fail_early(options, token.error(), &key->key);

    monsys::action::RestartAppRequest request{options.app_id, std::move(*token),
                                              std::time(nullptr)};
    ActionResult result = monsys::action::restart_app(*config, *policy, request);
    print_result(monsys::action::to_json(result), &key->key);
    log_result(result);
    return to_int(result.exit);
}

// init-key, show-key, rotate-key: the key in the configuration's state_dir. Prints the public
// document (what the agent reports in hello).
enum class KeyCommand { init, show, rotate };

int run_key_command(const Options& options, KeyCommand command) {
    auto fail = [](const std::string& message, ExitCode code) {
        std::cerr << "monsys-action: " << message << '\n';
        return to_int(code);
    };
    auto config = load_trusted_config(options.config_path, /*for_actions=*/false);
    if (!config) return fail(config.error(), ExitCode::usage);
    const auto& dir = config->state_dir;
    auto state = command == KeyCommand::rotate
                     ? monsys::results::rotate_action_key(dir, std::chrono::system_clock::now())
                     : monsys::results::load_action_key(dir, command == KeyCommand::init);
    if (!state) return fail(state.error(), ExitCode::internal_error);
    print_json(monsys::results::public_key_document(*state));
    return to_int(ExitCode::succeeded);
}

int run_restart_app(const Options& options) {
    return restart_with_token(options, [&options]() { return read_token(options); });
}

// One connection of monsys-action.socket (Accept=yes): stdin and stdout are the socket. Only
// root and `peer_user` (the agent's user) may ask; the request is read with a cap and a deadline.
int run_serve_connection(Options options, const std::string& peer_user) {
    auto uid = monsys::action::peer_uid(STDIN_FILENO);
    if (!uid) return fail_early(options, uid.error());
    // Read (capped) before answering even a refused peer: closing with unread bytes would reset
    // the connection and the peer would never see why.
    auto bytes = monsys::action::read_connection_request(STDIN_FILENO, std::chrono::seconds(10));
    const passwd* allowed = ::getpwnam(peer_user.c_str());
    if (*uid != 0 && (allowed == nullptr || allowed->pw_uid != *uid)) {
        return fail_early(options, "connection from uid " + std::to_string(*uid) +
                                       " refused: only root and user " + peer_user +
                                       " may ask for restarts");
    }
    if (!bytes) return fail_early(options, bytes.error());
    auto request = monsys::action::parse_connection_request(*bytes);
    if (!request) return fail_early(options, request.error());
    options.app_id = request->app_id;
    return restart_with_token(options, [&request]() -> monsys::Expected<std::string, std::string> {
        return std::move(request->token);
    });
}

int run_verify(const Options& options) {
    auto fail = [](const std::string& message) {
        std::cerr << "monsys-action: " << message << '\n';
        return to_int(ExitCode::usage);
    };
    auto config = load_trusted_config(options.config_path);
    if (!config) return fail(config.error());
    auto policy = load_local_policy(options.policy_path);
    if (!policy) return fail("policy " + policy.error());
    auto token = read_token(options);
    if (!token) return fail(token.error());

    monsys::action::RestartAppRequest request{options.app_id, std::move(*token), std::time(nullptr),
                                              /*require_app_id=*/!options.app_id.empty()};
    auto checked = monsys::action::check_action(*config, *policy, request);
    if (!checked) {
        const ActionResult& refusal = checked.error();
        print_json({{"valid", false},
                    {"reason", refusal.reason.value_or("unknown")},
                    {"message", refusal.message}});
        return to_int(refusal.exit);
    }
    monsys::eat::ReplayStore store(monsys::config::replay_store_path(*config));
    auto seen = store.seen(checked->jti, request.now_unix);
    if (!seen) {
        std::cerr << "monsys-action: replay store: " << seen.error() << '\n';
        return to_int(ExitCode::internal_error);
    }
    if (*seen) {
        print_json({{"valid", false},
                    {"reason", "replayed"},
                    {"message", "token refused: jti " + checked->jti + " was already used"}});
        return to_int(ExitCode::rejected);
    }
    print_json({{"valid", true}, {"kid", checked->kid}, {"claims", checked->payload}});
    return to_int(ExitCode::succeeded);
}

}  // namespace

int main(int argc, char** argv) {
    monsys::log::init_from_environment();
    monsys::io::log_to_journal_if_connected();
    Options options;
    CLI::App app{
        "monsys-action: verifies a hub-signed Emergency Action Token (EAT) and restarts one app.\n"
        "Exit codes: 0 succeeded, 1 restart failed, 2 usage or configuration error, 3 token\n"
        "rejected, 4 refused by the local policy, 5 timed out, 6 internal error (its own\n"
        "bookkeeping failed; nothing was attempted). run-restart-command exits with the command's\n"
        "status (128+N for signal N, 124 for its timeout), 2 for a bad entry name, 4 when it\n"
        "refused to run the command, 6 when it could not write the result.",
        "monsys-action"};
    app.set_version_flag("--version", std::string("monsys-action ") + monsys::build_info::version);
    app.require_subcommand(1);
    app.fallthrough();
    app.add_option("--config", options.config_path,
                   "Configuration file; must be owned by root and not writable by others")
        ->capture_default_str();
    app.add_option("--policy", options.policy_path,
                   "Local policy file (optional; defaults apply when it does not exist)")
        ->capture_default_str();

    auto* restart = app.add_subcommand(
        "restart-app",
        "Verify the EAT (stdin or --eat-file) for <app-id>, consume it, restart the app and print "
        "one JSON result");
    restart->add_option("app-id", options.app_id, "The app id the token must name")->required();
    restart->add_option("--eat-file", options.eat_file, "Read the token from this file, not stdin");

    auto* verify = app.add_subcommand(
        "verify", "Verify an EAT and print its claims; consumes nothing and restarts nothing");
    verify->add_option("--app-id", options.app_id, "Also check that the token names this app id");
    verify->add_option("--eat-file", options.eat_file, "Read the token from this file, not stdin");

    monsys::action::RunRestartCommandOptions restart_command;
    restart_command.result_dir = monsys::build_info::default_restart_result_dir;
    std::int64_t command_timeout_secs = 3600;
    auto* run_command = app.add_subcommand(
        "run-restart-command",
        "Run the restart command of ENTRY of the policy's restart_commands as the entry's user and "
        "write its result to <result-dir>/ENTRY.json (what monsys-restart@ENTRY.service runs, as "
        "root); exits with the command's status");
    run_command->add_option("entry", restart_command.entry, "The policy entry's name")->required();
    run_command
        ->add_option("--result-dir", restart_command.result_dir,
                     "Directory of the result files (restart_result_dir of the configuration)")
        ->capture_default_str();
    run_command
        ->add_option("--timeout-secs", command_timeout_secs,
                     "Kill the command (and its process group) after this long")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();

    std::string peer_user = "monsys";
    auto* serve = app.add_subcommand(
        "serve-connection",
        "Serve one connection of monsys-action.socket on stdin/stdout: read \"restart-app "
        "<app-id>\\n<token>\\n\", then act as restart-app and write its JSON result");
    serve
        ->add_option("--peer-user", peer_user,
                     "The only user besides root allowed to connect (the agent's)")
        ->capture_default_str();

    auto* init_key = app.add_subcommand(
        "init-key",
        "Make the signing key in the configuration's state_dir unless there is one (what the "
        "package's postinst runs); print its public document");
    auto* show_key = app.add_subcommand(
        "show-key", "Print the public document of the signing key (kid, jwk, rotations)");
    auto* rotate_key = app.add_subcommand(
        "rotate-key",
        "Make a new signing key; the old key signs a statement naming the new one, so a hub that "
        "pinned the old key follows it. Run as root (or as the key's owner)");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        return app.exit(error) == 0 ? 0 : to_int(ExitCode::usage);
    }
    if (restart->parsed()) return run_restart_app(options);
    if (serve->parsed()) return run_serve_connection(options, peer_user);
    if (init_key->parsed()) return run_key_command(options, KeyCommand::init);
    if (show_key->parsed()) return run_key_command(options, KeyCommand::show);
    if (rotate_key->parsed()) return run_key_command(options, KeyCommand::rotate);
    if (run_command->parsed()) {
        restart_command.policy_path = options.policy_path;
        restart_command.limits.timeout = std::chrono::seconds(command_timeout_secs);
        return monsys::action::run_restart_command(restart_command, std::cerr);
    }
    return run_verify(options);
}
