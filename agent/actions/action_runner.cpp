#include "agent/actions/action_runner.hpp"

#include <ctime>

#include "agent/actions/action_socket.hpp"
#include "agent/actions/agent_results.hpp"
#include "agent/actions/token_check.hpp"
#include "common/eat/replay_store.hpp"
#include "common/io/process/child_process.hpp"
#include "common/json/capped_json.hpp"
#include "common/util/log.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::actions {
namespace {

// The wrapper prints one object; its outputs are capped at output_cap_bytes (16 MiB at most)
// per stream, JSON-escaped, so 40 MiB bounds it.
constexpr std::size_t max_wrapper_output = 40u << 20;
constexpr std::size_t max_jtis_remembered = 10000;

std::string now_utc() {
    return format_utc_millis(std::chrono::system_clock::now());
}

std::int64_t now_unix() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

// The report when monsys-action could not be reached or gave no usable answer.
ActionReport wrapper_failed(const std::string& jti, const app::AppRef& app,
                            const std::string& started, std::string message,
                            std::string stderr_text = {},
                            std::optional<int> wrapper_exit_code = std::nullopt) {
    AgentResultFields failure;
    failure.jti = jti;
    failure.app = app;
    failure.status = "failed";
    failure.reason = "wrapper_failed";
    failure.message = std::move(message);
    failure.stderr_text = std::move(stderr_text);
    failure.started_at = started;
    failure.finished_at = now_utc();
    failure.wrapper_exit_code = wrapper_exit_code;
    return {jti, "agent", agent_result(failure)};
}

// Hands the token to monsys-action through its socket; blocking, on a worker thread.
ActionReport run_wrapper_over_socket(const ActionSettings& settings, const std::string& token,
                                     const std::string& jti, const app::AppRef& app) {
    const std::string started = now_utc();
    auto answer = exchange_over_socket(settings.action_socket, connection_request(app.id, token),
                                       settings.wrapper_timeout, max_wrapper_output);
    if (answer) {
        if (auto result = parse_wrapper_result(*answer)) {
            return {jti, "monsys-action", std::move(*result)};
        }
    }
    if (!answer) return wrapper_failed(jti, app, started, answer.error());
    return wrapper_failed(
        jti, app, started,
        "monsys-action answered on " + settings.action_socket.string() + " without a valid result",
        answer->substr(0, 4096));
}

// Runs the wrapper once; blocking, on a worker thread.
ActionReport run_wrapper(const ActionSettings& settings, const std::string& token,
                         const std::string& jti, const app::AppRef& app) {
    if (!settings.action_socket.empty()) return run_wrapper_over_socket(settings, token, jti, app);
    io::process::ChildSpec spec;
    spec.path = settings.action_command.front();
    spec.argv = settings.action_command;
    spec.argv.push_back("restart-app");
    spec.argv.push_back(app.id);
    spec.env = settings.environment;
    spec.stdin_data = token + "\n";
    io::process::ChildLimits limits;
    limits.timeout = settings.wrapper_timeout;
    limits.output_cap_bytes = max_wrapper_output;

    const std::string started = now_utc();
    auto ran = io::process::run_child(spec, limits);
    if (!ran) return wrapper_failed(jti, app, started, ran.error());
    if (auto result = parse_wrapper_result(ran->out.text)) {
        return {jti, "monsys-action", std::move(*result)};
    }
    std::string stderr_text = ran->err.text.substr(0, 4096);
    switch (ran->ending) {
        case io::process::ChildEnding::timed_out:
            return wrapper_failed(jti, app, started,
                                  "monsys-action did not finish within " +
                                      std::to_string(settings.wrapper_timeout.count() / 1000) +
                                      " s and was stopped",
                                  stderr_text);
        case io::process::ChildEnding::signaled:
            return wrapper_failed(jti, app, started,
                                  "monsys-action was ended by signal " +
                                      std::to_string(ran->signal) + " and printed no result",
                                  stderr_text);
        case io::process::ChildEnding::exited:
            break;
    }
    return wrapper_failed(jti, app, started,
                          "monsys-action exited with " + std::to_string(ran->exit_code) +
                              " and printed no valid result",
                          stderr_text, ran->exit_code);
}

}  // namespace

std::optional<nlohmann::json> parse_wrapper_result(const std::string& stdout_text) {
    json::Limits limits;
    limits.max_bytes = max_wrapper_output;
    limits.max_depth = 16;
    auto document = json::parse(stdout_text, limits);
    if (!document || !document->is_object()) return std::nullopt;
    auto status = document->find("status");
    if (status == document->end() || !status->is_string()) return std::nullopt;
    return std::move(*document);
}

ActionRunner::ActionRunner(asio::any_io_executor io, ActionSettings settings,
                           InflightJournal& journal, Report report)
    : io_(std::move(io)),
      settings_(std::move(settings)),
      journal_(journal),
      report_(std::move(report)),
      workers_(settings_.max_parallel) {}

ActionRunner::~ActionRunner() {
    workers_.join();
}

void ActionRunner::reject(const std::string& token, const std::string& reason,
                          const std::string& detail) {
    auto ids = eat::unverified_ids(token);
    log::warning("refused an action token: " + reason + " (" + detail + ")");
    auto fields = refusal_fields(std::nullopt, std::nullopt, reason, detail, now_utc());
    fields.app_id = ids.app_id.value_or("");  // for correlation only; jti and type stay null
    report_({ids.jti.value_or(""), "agent", agent_result(fields)});
}

void ActionRunner::submit(std::string token) {
    const auto received = std::chrono::steady_clock::now();
    if (shutting_down_) {
        reject(token, "agent_shutting_down", "the agent is shutting down; nothing was restarted");
        return;
    }
    eat::ReplayStore store(settings_.replay_store);
    auto claims =
        check_token(token, settings_.verifier, now_unix(),
                    [&store](std::string_view jti) { return store.seen(jti, now_unix()); });
    if (!claims) {
        reject(token, eat::to_string(claims.error().reason), claims.error().detail);
        return;
    }
    if (jtis_taken_.count(claims->jti) != 0) {
        // Not consumed yet (the wrapper has not run or is running), but already handed over.
        report_({claims->jti, "agent",
                 agent_result(refusal_fields(claims->jti, claims->app, "replayed",
                                             "this token is already being acted on", now_utc()))});
        return;
    }
    if (jtis_taken_.size() >= max_jtis_remembered) jtis_taken_.clear();  // the store remembers
    jtis_taken_.insert(claims->jti);
    log::info("action " + claims->jti + ": restart of app " + claims->app.id + " (" +
              app::to_string(claims->app.type) + " " + claims->app.identifier + ") accepted");
    const std::string app_id = claims->app.id;
    queued_[app_id].push_back(Job{std::move(token), claims->jti, claims->app, received});
    if (running_apps_.count(app_id) == 0) start_next(app_id);
}

void ActionRunner::start_next(const std::string& app_id) {
    auto queue = queued_.find(app_id);
    if (queue == queued_.end() || queue->second.empty()) {
        if (queue != queued_.end()) queued_.erase(queue);
        return;
    }
    Job job = std::move(queue->second.front());
    queue->second.pop_front();
    running_apps_.insert(app_id);

    InflightAction record{job.jti, job.app.id, app::to_string(job.app.type), job.app.identifier,
                          now_utc()};
    if (auto recorded = journal_.record(record); !recorded) {
        // Still run it: the hub asked for it and the result goes to the outbox; only the
        // recovery after a crash is lost.
        log::error("action " + job.jti + ": cannot record it as in flight: " + recorded.error());
    }
    asio::post(workers_, [this, app_id, job = std::move(job)]() {
        Timing timing{job.received};
        const auto spawned = std::chrono::steady_clock::now();
        ActionReport report = run_wrapper(settings_, job.token, job.jti, job.app);
        timing.wrapper = std::chrono::steady_clock::now() - spawned;
        asio::post(io_, [this, app_id, report = std::move(report), timing]() mutable {
            finish(app_id, std::move(report), timing);
        });
    });
}

void ActionRunner::finish(const std::string& app_id, ActionReport report, Timing timing) {
    const std::string status = report.result.value("status", std::string("?"));
    const std::string reported_by = report.reported_by;
    std::string jti = report.jti;
    report_(std::move(report));  // into the outbox, durably, before the in-flight record goes
    // The agent's own share: frame to result handed to the link, minus monsys-action's run.
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    auto total = duration_cast<microseconds>(std::chrono::steady_clock::now() - timing.received);
    auto wrapper = duration_cast<microseconds>(timing.wrapper);
    log::notice("action " + jti + ": app " + app_id + " " + status + " (reported by " +
                reported_by + "); frame to result " + std::to_string(total.count()) +
                " us, monsys-action " + std::to_string(wrapper.count()) + " us, agent overhead " +
                std::to_string((total - wrapper).count()) + " us");
    journal_.remove(jti);
    running_apps_.erase(app_id);
    if (!shutting_down_) {
        start_next(app_id);
    } else if (running_apps_.empty() && on_idle_) {
        auto on_idle = std::move(on_idle_);
        on_idle_ = nullptr;
        on_idle();
    }
}

void ActionRunner::shut_down(std::function<void()> on_idle) {
    shutting_down_ = true;
    for (auto& [app_id, jobs] : queued_) {
        for (const Job& job : jobs) {
            report_({job.jti, "agent",
                     agent_result(refusal_fields(job.jti, job.app, "agent_shutting_down",
                                                 "the agent stopped before running this action; "
                                                 "nothing was restarted",
                                                 now_utc()))});
        }
    }
    queued_.clear();
    if (running_apps_.empty()) {
        asio::post(io_, std::move(on_idle));
    } else {
        on_idle_ = std::move(on_idle);
    }
}

}  // namespace monsys::agent::actions
