#include "action-wrapper/restart/process_restart.hpp"

#include <string.h>

#include <thread>

#include "action-wrapper/restart/systemd_restart.hpp"
#include "common/util/trusted_file.hpp"

namespace monsys::action {
namespace {

std::int64_t unix_millis_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string pid_list(const std::vector<inventory::RunningProcess>& processes) {
    std::string text;
    for (const auto& process : processes) {
        if (!text.empty()) text += ", ";
        text += std::to_string(process.pid);
    }
    return text;
}

std::string pids_phrase(const std::vector<inventory::RunningProcess>& processes) {
    return (processes.size() == 1 ? "pid " : "pids ") + pid_list(processes);
}

nlohmann::json runs_json(const inventory::PathRuns& runs) {
    nlohmann::json pids = nlohmann::json::array();
    for (const auto& process : runs.processes) {
        pids.push_back({{"pid", process.pid},
                        {"start_ticks", process.start_ticks},
                        {"identity", inventory::to_string(process.identity)}});
    }
    nlohmann::json out = {{"processes", pids}};
    if (runs.unidentified > 0) out["unidentified"] = runs.unidentified;
    if (runs.error) out["error"] = *runs.error;
    return out;
}

std::string signal_name(int signal) {
    const char* name = sigabbrev_np(signal);
    return name != nullptr ? std::string("SIG") + name : "unknown";
}

Expected<CommandResult, std::string> read_command_result(const std::filesystem::path& dir,
                                                         const std::string& entry) {
    auto text = read_trusted_file(dir / command_result_file_name(entry), max_command_result_bytes);
    if (!text) return unexpected(text.error().message);
    if (text->empty())
        return unexpected((dir / command_result_file_name(entry)).string() + " is empty");
    auto result = parse_command_result(*text);
    if (!result) {
        return unexpected((dir / command_result_file_name(entry)).string() + ": " + result.error());
    }
    return result;
}

CapturedOutput capped(const CommandOutput& output, std::size_t cap) {
    if (output.text.size() <= cap) return {output.text, output.truncated};
    return {output.text.substr(0, cap), true};
}

RestartOutcome failed(std::string message, RestartStatus status = RestartStatus::failed) {
    RestartOutcome outcome;
    outcome.status = status;
    outcome.exit_code = -1;
    outcome.message = std::move(message);
    return outcome;
}

}  // namespace

PathRunsReader host_path_runs() {
    return [](const std::string& path) { return inventory::processes_running("", path); };
}

std::string restart_unit_name(std::string_view entry) {
    return "monsys-restart@" + std::string(entry) + ".service";
}

std::string describe_duration(std::chrono::milliseconds duration) {
    if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
    return std::to_string(duration.count()) + " ms";
}

Expected<void, std::string> check_result_is_current(const CommandResult& result,
                                                    std::string_view entry,
                                                    std::int64_t issued_at_ms) {
    if (result.entry != entry) {
        return unexpected("the result file names entry '" + result.entry + "', not '" +
                          std::string(entry) + "'");
    }
    if (result.started_at_ms < issued_at_ms) {
        return unexpected("the result file is from an earlier run (started " +
                          std::to_string(issued_at_ms - result.started_at_ms) +
                          " ms before this restart was asked for)");
    }
    return ok();
}

ProcessVerdict judge_process_restart(const CommandResult& result, bool job_done,
                                     const inventory::PathRuns& before,
                                     const std::optional<inventory::PathRuns>& after,
                                     std::string_view app_path, std::chrono::milliseconds settle) {
    const std::string command = "restart command " + result.command;
    const std::string path(app_path);
    switch (result.ending) {
        case CommandEnding::not_run:
            return {RestartStatus::failed, "the restart command was not run: " + result.error};
        case CommandEnding::timed_out:
            return {RestartStatus::timeout, command + " timed out and was killed"};
        case CommandEnding::signaled:
            return {RestartStatus::failed, command + " was killed by signal " +
                                               std::to_string(result.signal) + " (" +
                                               signal_name(result.signal) + ")"};
        case CommandEnding::exited:
            break;
    }
    if (result.exit_code != 0) {
        return {RestartStatus::failed, command + " exited " + std::to_string(result.exit_code)};
    }
    const std::string exited = command + " exited 0, but ";
    if (!job_done)
        return {RestartStatus::failed, exited + "its unit's restart job did not succeed"};
    if (before.error) {
        return {RestartStatus::failed,
                exited + "the processes before the restart are unknown: " + *before.error};
    }
    if (!after || after->error) {
        return {RestartStatus::failed, exited + "whether " + path + " runs is unknown: " +
                                           (after ? *after->error : std::string("not looked at"))};
    }
    auto fresh = inventory::new_processes(before, *after);
    if (!fresh.empty()) {
        std::string message = command + " exited 0; " + path + " runs as " + pids_phrase(fresh) +
                              inventory::identity_note(fresh.front().identity) + " (before: " +
                              (before.processes.empty() ? std::string("not running")
                                                        : pids_phrase(before.processes)) +
                              ")";
        return {RestartStatus::succeeded, std::move(message)};
    }
    if (after->processes.empty()) {
        std::string message =
            exited + path + " is not running " + describe_duration(settle) + " later";
        if (after->unidentified > 0) {
            message += " (as far as this user can tell: " + std::to_string(after->unidentified) +
                       " processes of other users could not be identified)";
        }
        return {RestartStatus::failed, std::move(message)};
    }
    return {RestartStatus::failed,
            exited + path + " still runs only as the old " + pids_phrase(after->processes)};
}

RestartOutcome restart_process_app(const io::SystemdBusSettings& bus,
                                   const ProcessRestartRequest& request,
                                   const PathRunsReader& path_runs) {
    const std::string unit = restart_unit_name(request.entry);
    const inventory::PathRuns before = path_runs(request.app_path);
    const std::int64_t issued_at_ms = unix_millis_now();

    RestartOutcome job = restart_systemd_unit(bus, unit, request.timeout);
    nlohmann::json before_json = {{"unit", unit}, {"app", runs_json(before)}};
    if (!job.before.empty()) before_json["unit_state"] = job.before;

    if (job.status == RestartStatus::timeout) {
        RestartOutcome outcome =
            failed(unit + " did not finish within " + describe_duration(request.timeout) +
                       " (the restart command may still run)",
                   RestartStatus::timeout);
        outcome.before = std::move(before_json);
        outcome.after = {{"unit_state", job.after}};
        return outcome;
    }
    const bool job_done = job.status == RestartStatus::succeeded;
    auto result = read_command_result(request.result_dir, request.entry);
    if (result) {
        auto current = check_result_is_current(*result, request.entry, issued_at_ms);
        if (!current) result = unexpected(std::move(current.error()));
    }
    if (!result) {
        std::string problem = "no result from " + unit + ": " + result.error();
        // Without a result, the job's own failure (e.g. the unit does not exist) says the most.
        if (!job_done && !job.stderr_output.text.empty()) {
            problem = job.stderr_output.text + "; " + problem;
        }
        RestartOutcome outcome = failed(std::move(problem));
        outcome.before = std::move(before_json);
        outcome.after = {{"unit_state", job.after}};
        return outcome;
    }

    std::optional<inventory::PathRuns> after;
    if (job_done && result->ending == CommandEnding::exited && result->exit_code == 0) {
        std::this_thread::sleep_for(request.settle);
        after = path_runs(request.app_path);
    }
    ProcessVerdict verdict =
        judge_process_restart(*result, job_done, before, after, request.app_path, request.settle);

    RestartOutcome outcome;
    outcome.status = verdict.status;
    outcome.message = std::move(verdict.message);
    outcome.exit_code = result->exit_code;
    outcome.signal = result->signal;
    outcome.stdout_output = capped(result->out, request.output_cap_bytes);
    outcome.stderr_output = capped(result->err, request.output_cap_bytes);
    outcome.before = std::move(before_json);
    outcome.after = {{"unit_state", job.after},
                     {"entry", result->entry},
                     {"user", result->user},
                     {"ending", to_string(result->ending)},
                     {"elapsed_ms", result->elapsed_ms},
                     {"stdout_bytes", result->out.total_bytes},
                     {"stderr_bytes", result->err.total_bytes},
                     {"settle_ms", request.settle.count()}};
    if (result->signal != 0) outcome.after["signal_name"] = signal_name(result->signal);
    if (!result->error.empty()) outcome.after["error"] = result->error;
    if (after) outcome.after["app"] = runs_json(*after);
    return outcome;
}

}  // namespace monsys::action
