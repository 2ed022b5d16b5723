#include "agent/commands/check_config_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <limits>
#include <vector>

#include "agent/daemon/agent_setup.hpp"
#include "agent/hub/agent_token.hpp"
#include "agent/hub/proxy_choice.hpp"
#include "agent/hub/url_authority.hpp"
#include "common/io/systemd/manager.hpp"

namespace monsys::agent::commands {
namespace {

// Any instance shows the template's settings and drop-ins; LoadUnit loads it without starting.
constexpr const char* action_unit_probe = "monsys-action@check.service";

// RuntimeMaxUSec of monsys-action@.service on the system manager, or nothing when that cannot
// be told (no system bus, no systemd, the unit not installed, a call refused or timed out).
std::optional<std::uint64_t> read_action_runtime_max_usec(std::chrono::milliseconds timeout) {
    namespace sd = io::systemd;
    auto bus = sd::Bus::open({io::SystemdBusSettings::Kind::system, timeout});
    if (!bus) return std::nullopt;
    auto path = sd::load_unit(*bus, action_unit_probe);
    if (!path) return std::nullopt;
    auto load_state = sd::get_string_property(*bus, sd::kSystemdService, path->c_str(),
                                              sd::kUnitInterface, "LoadState");
    if (!load_state || *load_state != "loaded") return std::nullopt;
    auto limit = sd::get_u64_property(*bus, sd::kSystemdService, path->c_str(),
                                      sd::kServiceInterface, "RuntimeMaxUSec");
    if (!limit) return std::nullopt;
    return *limit;
}

}  // namespace

Expected<void, std::string> check_runtime_limit(std::uint64_t runtime_max_usec,
                                                std::int64_t restart_timeout_secs) {
    if (runtime_max_usec == std::numeric_limits<std::uint64_t>::max()) return ok();
    const auto needed_secs = static_cast<std::uint64_t>(restart_timeout_secs) +
                             static_cast<std::uint64_t>(action_inspection_margin_secs);
    if (runtime_max_usec >= needed_secs * 1000000U) return ok();
    return unexpected(
        "monsys-action@.service: RuntimeMaxSec=" + std::to_string(runtime_max_usec / 1000000U) +
        "s ends a restart before restart_timeout_secs (" + std::to_string(restart_timeout_secs) +
        " s) and its inspection (" + std::to_string(action_inspection_margin_secs) +
        " s) are done; raise it to at least " + std::to_string(needed_secs) +
        "s in the drop-in (systemctl cat monsys-action@.service) or lower "
        "restart_timeout_secs");
}

Expected<void, std::string> check_state_dir_layout(const std::string& state_dir,
                                                   const std::string& config_path) {
    auto normal = std::filesystem::path(state_dir).lexically_normal();
    if (normal.has_relative_path() && !normal.has_filename()) normal = normal.parent_path();
    if (normal != "/var/lib/monsys/eat") return ok();
    return unexpected(
        "state_dir " + state_dir +
        ": the old layout's directory, inside the agent's own /var/lib/monsys, where the "
        "agent's user could replace the replay store; remove the \"state_dir\" line from " +
        config_path + " (the default /var/lib/monsys-action is the packaged one)");
}

int run_check_config(const CheckConfigOptions& options, std::ostream& out, std::ostream& err) {
    const std::string prefix = "monsys-agent check-config: ";
    auto setup = daemon::prepare_agent(options.config_path);
    if (!setup) {
        err << prefix << setup.error() << "\n";
        return 1;
    }
    const auto& config = setup->config;
    std::vector<std::string> problems;
    if (auto token = hub::read_agent_token(config.hub_token_file); !token) {
        problems.push_back(token.error());
    }
    if (auto layout =
            check_state_dir_layout(config.state_dir.string(), setup->config_path.string());
        !layout) {
        problems.push_back(layout.error());
    }
    // The agent's own state: its directory, or the nearest existing parent it would be made in.
    auto hub_dir = setup->paths.hub_dir;
    while (!hub_dir.empty() && ::access(hub_dir.c_str(), F_OK) != 0 &&
           hub_dir != hub_dir.parent_path()) {
        hub_dir = hub_dir.parent_path();
    }
    if (::access(hub_dir.c_str(), W_OK | X_OK) != 0) {
        problems.push_back("hub_state_dir " + hub_dir.string() +
                           ": not writable by this user (the agent keeps its outbox there)");
    }
    struct stat info {};
    const auto& socket = config.action_socket;
    if (!socket.empty()) {
        if (::stat(socket.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode)) {
            problems.push_back("action_socket: " + socket.string() +
                               " is not a socket (systemctl enable --now monsys-action.socket)");
        } else if (::access(socket.c_str(), W_OK) != 0) {
            problems.push_back("action_socket: " + socket.string() +
                               " cannot be used by this user (run as the agent's user)");
        }
        const std::chrono::milliseconds timeout{config.source_timeout_secs * 1000};
        if (auto limit = read_action_runtime_max_usec(timeout)) {
            if (auto fits = check_runtime_limit(*limit, config.restart_timeout_secs); !fits) {
                problems.push_back(fits.error());
            }
        }
    } else {
        const std::string& wrapper = config.action_command.front();
        if (::stat(wrapper.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
            ::access(wrapper.c_str(), X_OK) != 0) {
            problems.push_back("action_command: " + wrapper + " is not an executable file");
        }
    }
    for (const auto& problem : problems) err << prefix << problem << "\n";
    if (!problems.empty()) return 1;
    out << "config " << setup->config_path.string() << " is ok: agent " << config.agent_id
        << ", hub " << config.hub_url << ", " << config.hub_keys.size() << " pinned hub key(s)\n";
    // Which proxy the daemon will use, and why (prepare_agent chose it); never its credentials.
    const auto& proxy = setup->proxy;
    out << "hub connection: " << hub::describe(proxy) << "\n";
    if (proxy.proxy && proxy.proxy->tls) {
        out << "proxy certificate: checked against "
            << (config.hub_proxy_ca_file.empty()
                    ? std::string("the system CAs")
                    : "hub_proxy_ca_file " + config.hub_proxy_ca_file.string())
            << (hub::is_ip_literal(proxy.proxy->host) ? ", for the address " : ", for the name ")
            << proxy.proxy->host << "\n";
    }
    return 0;
}

}  // namespace monsys::agent::commands
