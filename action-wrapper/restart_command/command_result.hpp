#pragma once
// The result file of one process restart: what `monsys-action run-restart-command ENTRY` (in
// monsys-restart@ENTRY.service) writes to <restart_result_dir>/ENTRY.json, and what the wrapper
// reads back after the unit's job ended. One type, one serializer, one parser (pure).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/util/expected.hpp"

namespace monsys::action {

enum class CommandEnding {
    exited,     // ran and exited: exit_code
    signaled,   // ran and a signal ended it: signal
    timed_out,  // ran past its time and was killed with its process group
    not_run,    // refused or could not be started: error says why
};

const char* to_string(CommandEnding ending);
std::optional<CommandEnding> parse_command_ending(std::string_view text);

struct CommandOutput {
    std::string text;
    bool truncated = false;
    std::size_t total_bytes = 0;
};

struct CommandResult {
    std::string entry;
    std::string command;
    std::string user;                // the entry's user, the one the command ran as
    std::int64_t started_at_ms = 0;  // unix time in ms when run-restart-command began
    CommandEnding ending = CommandEnding::not_run;
    int exit_code = -1;  // -1 unless it exited
    int signal = 0;
    CommandOutput out;
    CommandOutput err;
    std::int64_t elapsed_ms = 0;
    std::string error;  // not_run: why
};

// The status run-restart-command exits with: the command's exit code; 128 + signal for a
// signal, as a shell reports it; 124 (as timeout(1)) for a timeout; `refusal_code` for not_run.
int exit_status_of(const CommandResult& result, int refusal_code);

nlohmann::json to_json(const CommandResult& result);

// Parses a result file's text (capped, no duplicate keys). The error is one line.
Expected<CommandResult, std::string> parse_command_result(std::string_view text);

// The file name in the result directory: "<entry>.json".
std::string command_result_file_name(std::string_view entry);

// Result files are read with this cap: both outputs at their cap, escaped, fit well below it.
inline constexpr std::size_t max_command_result_bytes = 1 << 20;

}  // namespace monsys::action
