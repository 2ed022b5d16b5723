#include "agent/commands/check_config_command.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "agent/daemon/agent_setup.hpp"
#include "agent/hub/agent_token.hpp"

namespace monsys::agent::commands {

int run_check_config(const CheckConfigOptions& options, std::ostream& out, std::ostream& err) {
    const std::string prefix = "monsys-agent check-config: ";
    auto setup = daemon::prepare_agent(options.config_path);
    if (!setup) {
        err << prefix << setup.error() << "\n";
        return 1;
    }
    std::vector<std::string> problems;
    if (auto token = hub::read_agent_token(setup->config.hub_token_file); !token) {
        problems.push_back(token.error());
    }
    // The agent's own state: its directory, or the nearest existing parent it would be made in.
    auto hub_dir = setup->paths.hub_dir;
    while (!hub_dir.empty() && ::access(hub_dir.c_str(), F_OK) != 0 &&
           hub_dir != hub_dir.parent_path()) {
        hub_dir = hub_dir.parent_path();
    }
    if (::access(hub_dir.c_str(), W_OK | X_OK) != 0) {
        problems.push_back((setup->config.hub_state_dir.empty() ? "state_dir " : "hub_state_dir ") +
                           hub_dir.string() +
                           ": not writable by this user (the agent keeps its outbox there)");
    }
    struct stat info {};
    const auto& socket = setup->config.action_socket;
    if (!socket.empty()) {
        if (::stat(socket.c_str(), &info) != 0 || !S_ISSOCK(info.st_mode)) {
            problems.push_back("action_socket: " + socket.string() +
                               " is not a socket (systemctl enable --now monsys-action.socket)");
        } else if (::access(socket.c_str(), W_OK) != 0) {
            problems.push_back("action_socket: " + socket.string() +
                               " cannot be used by this user (run as the agent's user)");
        }
    } else {
        const std::string& wrapper = setup->config.action_command.front();
        if (::stat(wrapper.c_str(), &info) != 0 || !S_ISREG(info.st_mode) ||
            ::access(wrapper.c_str(), X_OK) != 0) {
            problems.push_back("action_command: " + wrapper + " is not an executable file");
        }
    }
    for (const auto& problem : problems) err << prefix << problem << "\n";
    if (!problems.empty()) return 1;
    out << "config " << setup->config_path.string() << " is ok: agent " << setup->config.agent_id
        << ", hub " << setup->config.hub_url << ", " << setup->config.hub_keys.size()
        << " pinned hub key(s)\n";
    return 0;
}

}  // namespace monsys::agent::commands
