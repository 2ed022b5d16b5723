#pragma once
// `monsys-action run-restart-command [--policy P] [--result-dir D] ENTRY`: the one program that
// monsys-restart@ENTRY.service runs (as root). It looks ENTRY up in the root-owned policy, opens
// the entry's command once as a trusted executable, opens the result file D/ENTRY.json, becomes
// the entry's user, runs the command from the opened file, writes the result and exits with the
// command's status. Nothing it does is chosen by a token: the instance name selects an entry,
// and the policy says the rest.
#include <filesystem>
#include <ostream>
#include <string>

#include "action-wrapper/restart_command/command_runner.hpp"

namespace monsys::action {

struct RunRestartCommandOptions {
    std::string entry;
    std::filesystem::path policy_path;
    std::filesystem::path result_dir;
    CommandLimits limits;
};

// Exit statuses besides the command's own (see exit_status_of): a bad entry name or no result
// directory, nothing was run and no result written; a refusal, written to the result file.
inline constexpr int run_restart_usage_status = 2;
inline constexpr int run_restart_refused_status = 4;
inline constexpr int run_restart_internal_status = 6;

// Does all of it; one line about the outcome goes to `log` (the unit's journal). Returns the
// status to exit with.
int run_restart_command(const RunRestartCommandOptions& options, std::ostream& log);

}  // namespace monsys::action
