#pragma once
// `monsys-agent check-config`: everything the daemon needs before it can work, checked without
// connecting: the configuration file, the hub URL, the CA file, the agent token file, the state
// directories, the action socket or command, the proxy to the hub (hub_proxy or the environment),
// and (when systemd answers) that monsys-action@.service lets a restart run as long as
// restart_timeout_secs allows. Prints one line per problem, or an "ok" line and the line that
// says which proxy, if any, the hub connection will use and why (without its credentials).
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "common/util/expected.hpp"

namespace monsys::agent::commands {

struct CheckConfigOptions {
    std::optional<std::string> config_path;
};

// 0 when the daemon can start, 1 otherwise.
int run_check_config(const CheckConfigOptions& options, std::ostream& out, std::ostream& err);

// The room monsys-action@.service must leave a restart beyond restart_timeout_secs: the
// inspection before and after it.
inline constexpr std::int64_t action_inspection_margin_secs = 60;

// Fails, with the fix, when the unit's RuntimeMaxUSec (UINT64_MAX: no limit) would end
// monsys-action before a restart of restart_timeout_secs and its inspection are done.
Expected<void, std::string> check_runtime_limit(std::uint64_t runtime_max_usec,
                                                std::int64_t restart_timeout_secs);

// Fails, with the fix, when state_dir is the old layout's /var/lib/monsys/eat.
Expected<void, std::string> check_state_dir_layout(const std::string& state_dir,
                                                   const std::string& config_path);

}  // namespace monsys::agent::commands
