#include "agent/commands/status_command.hpp"

#include <nlohmann/json.hpp>

#include "agent/daemon/agent_setup.hpp"
#include "agent/status/offline_view.hpp"
#include "agent/status/render.hpp"
#include "agent/status/status_file.hpp"
#include "agent/status/verdict.hpp"
#include "common/build_info.hpp"
#include "common/config/config.hpp"

namespace monsys::agent::commands {
namespace {

using Json = nlohmann::json;
namespace exit_code = status::exit_code;

constexpr const char* permission_hint = "; run as root or as a member of group monsys";

std::string with_hint(const std::string& message) {
    if (message.find("Permission denied") == std::string::npos) return message;
    return message + permission_hint;
}

int print_not_running(const StatusOptions& options, const config::Config& config,
                      const std::string& summary, const std::optional<status::Snapshot>& last,
                      std::ostream& out) {
    const status::Verdict verdict{exit_code::not_running, summary};
    const auto paths = daemon::agent_paths(config);
    const auto view =
        status::read_offline_view({paths.outbox_dir, paths.seq_file, paths.tracked_apps_file});
    if (options.json) {
        out << Json{{"verdict",
                     {{"exit_code", verdict.exit_code},
                      {"summary", verdict.summary},
                      {"daemon", "not running"}}},
                    {"snapshot", nullptr},
                    {"last_snapshot", last ? status::to_json(*last) : Json(nullptr)},
                    {"state_dir", status::to_json(view)}}
                   .dump(2, ' ', false, Json::error_handler_t::replace)
            << "\n";
    } else {
        out << status::render_offline(view, verdict, options.now());
    }
    return verdict.exit_code;
}

}  // namespace

int run_status(const StatusOptions& options, std::ostream& out, std::ostream& err) {
    const std::string config_path = options.config_path.value_or(build_info::default_config_path);
    auto config = config::load_config(config_path);
    if (!config) {
        err << "monsys-agent status: " << with_hint(config.error()) << "\n";
        return exit_code::usage;
    }
    if (options.max_disconnected_secs < 0) {
        err << "monsys-agent status: --max-disconnected must not be negative\n";
        return exit_code::usage;
    }
    const std::filesystem::path& file = config->status_file;
    auto text = status::read_status_file(file);
    if (!text) {
        err << "monsys-agent status: " << text.error().message
            << (text.error().permission_denied ? permission_hint : "") << "\n";
        return exit_code::usage;
    }
    if (!*text) {
        return print_not_running(
            options, *config,
            "the daemon is not running (no status snapshot at " + file.string() + ")", std::nullopt,
            out);
    }
    auto snapshot = status::parse_snapshot((*text)->text);
    if (!snapshot) {
        err << "monsys-agent status: " << file.string() << ": " << snapshot.error() << "\n";
        return exit_code::usage;
    }
    // An unchanged snapshot is confirmed by touching its file: its age is the file's.
    snapshot->written_at = status::confirmed_at(*snapshot, **text);
    const auto liveness = status::process_liveness(snapshot->process, options.proc_root);
    const auto now = options.now();
    const status::Thresholds thresholds{std::chrono::seconds(options.max_disconnected_secs)};
    const status::Verdict verdict = status::judge(*snapshot, liveness, now, thresholds);
    if (verdict.exit_code == exit_code::not_running) {
        return print_not_running(options, *config, verdict.summary, *snapshot, out);
    }
    if (options.json) {
        out << Json{{"verdict",
                     {{"exit_code", verdict.exit_code},
                      {"summary", verdict.summary},
                      {"daemon", "running"}}},
                    {"snapshot", status::to_json(*snapshot)}}
                   .dump(2, ' ', false, Json::error_handler_t::replace)
            << "\n";
    } else {
        out << status::render_snapshot(*snapshot, verdict, now);
    }
    return verdict.exit_code;
}

}  // namespace monsys::agent::commands
