#include "agent/actions/wrapper_launcher.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>

#include "agent/actions/action_runner.hpp"
#include "agent/actions/action_socket.hpp"
#include "agent/actions/agent_results.hpp"
#include "common/action/action_result.hpp"
#include "common/action/wrapper_output.hpp"
#include "common/io/process/child_process.hpp"
#include "common/util/log.hpp"
#include "common/util/time_format.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::agent::actions {
namespace {

constexpr std::size_t max_wrapper_output = results::max_wrapper_output_bytes;

std::string now_utc() {
    return format_utc_millis(std::chrono::system_clock::now());
}

using SteadyClock = std::chrono::steady_clock;

// When a run began: the wall clock for started_at, the steady clock for duration_ms.
struct RunStart {
    std::string utc = now_utc();
    SteadyClock::time_point steady = SteadyClock::now();
};

// The report when monsys-action could not be reached or gave no usable answer. Its duration is
// the real one, from the spawn (or the connect) to the end, timeouts included.
ActionReport wrapper_failed(const WrapperRequest& request, const RunStart& started,
                            std::string message, std::string stderr_text = {},
                            std::optional<int> wrapper_exit_code = std::nullopt) {
    AgentResultFields failure;
    failure.jti = request.jti;
    failure.app = request.app;
    failure.status = "failed";
    failure.reason = "wrapper_failed";
    failure.message = std::move(message);
    failure.stderr_text = std::move(stderr_text);
    failure.started_at = started.utc;
    failure.finished_at = now_utc();
    failure.measured =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started.steady);
    failure.wrapper_exit_code = wrapper_exit_code;
    return make_report(request.jti, "agent", agent_result(failure));
}

// What monsys-action printed, if it is a result (and, from a wrapper that signs, its JWS): the
// result kept both parsed and as its exact bytes, the JWS as printed. Nothing otherwise (logged).
std::optional<ActionReport> relayed(const WrapperRequest& request, const std::string& printed) {
    auto output = results::parse_wrapper_output(printed);
    if (!output) {
        log::warning("monsys-action printed no valid result: " + output.error());
        return std::nullopt;
    }
    ActionReport report = make_report(request.jti, "monsys-action", std::move(output->result));
    report.result_text = std::move(output->result_text);
    report.result_jws = std::move(output->result_jws);
    return report;
}

class RealLauncher final : public WrapperLauncher {
  public:
    explicit RealLauncher(const ActionSettings& settings) : settings_(settings) {
        int ends[2];
        if (::pipe2(ends, O_CLOEXEC | O_NONBLOCK) == 0) {
            cancel_read_.reset(ends[0]);
            cancel_write_.reset(ends[1]);
        }
    }

    ActionReport run(const WrapperRequest& request) override {
        ActionReport report =
            settings_.action_socket.empty() ? run_child_wrapper(request) : run_over_socket(request);
        // A result monsys-action printed is reported even when the cancel came meanwhile.
        report.cancelled = cancelled_.load() && report.reported_by != "monsys-action";
        return report;
    }

    void cancel() override {
        cancelled_ = true;
        // Never read: the pipe stays readable, so every run, now or later, sees it.
        if (cancel_write_.valid()) (void)!::write(cancel_write_.get(), "x", 1);
    }

  private:
    ActionReport run_over_socket(const WrapperRequest& request) {
        const RunStart started;
        auto answer = exchange_over_socket(
            settings_.action_socket, connection_request(request.app.id, request.token),
            settings_.wrapper_timeout, max_wrapper_output, cancel_read_.get());
        if (answer) {
            if (auto report = relayed(request, *answer)) return std::move(*report);
        }
        if (!answer) return wrapper_failed(request, started, answer.error());
        return wrapper_failed(request, started,
                              "monsys-action answered on " + settings_.action_socket.string() +
                                  " without a valid result",
                              answer->substr(0, 4096));
    }

    ActionReport run_child_wrapper(const WrapperRequest& request) {
        io::process::ChildSpec spec;
        spec.path = settings_.action_command.front();
        spec.argv = settings_.action_command;
        spec.argv.push_back("restart-app");
        spec.argv.push_back(request.app.id);
        spec.env = settings_.environment;
        spec.stdin_data = request.token + "\n";
        io::process::ChildLimits limits;
        limits.timeout = settings_.wrapper_timeout;
        limits.output_cap_bytes = max_wrapper_output;
        limits.cancel_fd = cancel_read_.get();

        const RunStart started;
        auto ran = io::process::run_child(spec, limits);
        if (!ran) return wrapper_failed(request, started, ran.error());
        if (auto report = relayed(request, ran->out.text)) return std::move(*report);
        std::string stderr_text = ran->err.text.substr(0, 4096);
        switch (ran->ending) {
            case io::process::ChildEnding::timed_out:
                return wrapper_failed(
                    request, started,
                    cancelled_ ? "monsys-action was stopped because the agent is stopping"
                               : "monsys-action did not finish within " +
                                     std::to_string(settings_.wrapper_timeout.count() / 1000) +
                                     " s and was stopped",
                    stderr_text);
            case io::process::ChildEnding::signaled:
                return wrapper_failed(request, started,
                                      "monsys-action was ended by signal " +
                                          std::to_string(ran->signal) + " and printed no result",
                                      stderr_text);
            case io::process::ChildEnding::exited:
                break;
        }
        return wrapper_failed(request, started,
                              "monsys-action exited with " + std::to_string(ran->exit_code) +
                                  " and printed no valid result",
                              stderr_text, ran->exit_code);
    }

    ActionSettings settings_;
    UniqueFd cancel_read_;
    UniqueFd cancel_write_;
    std::atomic<bool> cancelled_{false};
};

}  // namespace

std::unique_ptr<WrapperLauncher> make_wrapper_launcher(const ActionSettings& settings) {
    return std::make_unique<RealLauncher>(settings);
}

}  // namespace monsys::agent::actions
