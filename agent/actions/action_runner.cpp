#include "agent/actions/action_runner.hpp"

#include "agent/actions/agent_results.hpp"
#include "common/action/action_result.hpp"
#include "common/action/wrapper_output.hpp"
#include "common/util/log.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::actions {
namespace {

std::string now_utc() {
    return format_utc_millis(std::chrono::system_clock::now());
}

}  // namespace

std::optional<nlohmann::json> parse_wrapper_result(const std::string& stdout_text) {
    auto output = results::parse_wrapper_output(stdout_text);
    if (!output) {
        log::warning("monsys-action printed no valid result: " + output.error());
        return std::nullopt;
    }
    return std::move(output->result);
}

ActionRunner::ActionRunner(asio::any_io_executor io, ActionSettings settings,
                           InflightJournal& journal, Report report)
    : ActionRunner(std::move(io), std::move(settings), journal, std::move(report), RunnerIo{}) {}

ActionRunner::ActionRunner(asio::any_io_executor io, ActionSettings settings,
                           InflightJournal& journal, Report report, RunnerIo runner_io)
    : io_(io),
      settings_(std::move(settings)),
      journal_(journal),
      report_(std::move(report)),
      launcher_(runner_io.launcher
                    ? std::move(runner_io.launcher)
                    : std::shared_ptr<WrapperLauncher>(make_wrapper_launcher(settings_))),
      workers_(
          std::make_shared<asio::thread_pool>(std::max<std::size_t>(1, settings_.max_parallel))),
      grace_timer_(io),
      own_disk_(runner_io.disk ? nullptr : std::make_unique<hub::DiskWorker>()),
      disk_(runner_io.disk ? runner_io.disk : own_disk_.get()) {}

ActionRunner::~ActionRunner() {
    // Whatever still runs is abandoned (its in-flight record stays): joining must not wait for a
    // restart that takes minutes.
    launcher_->cancel();
    workers_->join();
}

void ActionRunner::run(Accepted action) {
    const eat::Claims& claims = action.claims;
    if (shutting_down_) {
        report_(make_report(claims.jti, "agent",
                            agent_result(refusal_fields(
                                claims.jti, claims.app, "agent_shutting_down",
                                "the agent is shutting down; nothing was restarted", now_utc()))));
        return;
    }
    const std::string type = app::to_string(claims.app.type);
    log::event(log::Level::info, log::Event::action_accepted,
               "action " + claims.jti + ": restart of app " + claims.app.id + " (" + type + " " +
                   claims.app.identifier + ") accepted",
               {claims.jti, claims.app.id, type, ""});
    const std::string app_id = claims.app.id;
    queued_[app_id].push_back(
        Job{std::move(action.token), claims.jti, claims.app, claims.exp, action.received});
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

    InflightAction record{job.jti,   job.app.id, app::to_string(job.app.type), job.app.identifier,
                          now_utc(), job.exp};
    // The record is durable before the wrapper starts (both on the disk worker, in order), so a
    // crash while it runs is found at the next start. The journal is a directory name: a copy
    // keeps the job independent of the runner's lifetime.
    std::weak_ptr<int> alive = alive_;
    disk_->post([this, alive, io = io_, journal = journal_, record = std::move(record),
                 workers = workers_, launcher = launcher_, app_id, job = std::move(job)]() mutable {
        if (auto recorded = journal.record(record); !recorded) {
            // Still run it: the hub asked for it and the result goes to the outbox; only the
            // recovery after a crash is lost.
            log::error("action " + record.jti +
                       ": cannot record it as in flight: " + recorded.error());
        }
        asio::post(*workers, [this, alive, io, launcher, app_id, job]() {
            Timing timing{job.received};
            const auto spawned = std::chrono::steady_clock::now();
            ActionReport report = launcher->run(WrapperRequest{job.token, job.jti, job.app});
            timing.wrapper = std::chrono::steady_clock::now() - spawned;
            asio::post(io, [this, alive, app_id, report = std::move(report), timing]() mutable {
                if (alive.lock()) finish(app_id, std::move(report), timing);
            });
        });
    });
}

void ActionRunner::finish(const std::string& app_id, ActionReport report, Timing timing) {
    running_apps_.erase(app_id);
    const std::string jti = report.jti;
    if (report.cancelled) {
        log::warning("action " + jti + ": app " + app_id +
                     ": monsys-action was ended because the agent is stopping; the next start "
                     "reports it as interrupted");
    } else {
        const std::string status = report.result.value("status", std::string("?"));
        auto type_of = report.result.find("type");  // null when no app type is known
        const std::string type = type_of != report.result.end() && type_of->is_string()
                                     ? type_of->get<std::string>()
                                     : std::string();
        const std::string reported_by = report.reported_by;
        report_(std::move(report));  // into the outbox, before the in-flight record goes
        // The agent's own share: frame to result handed to the link, minus monsys-action's run.
        using std::chrono::duration_cast;
        using std::chrono::microseconds;
        auto total =
            duration_cast<microseconds>(std::chrono::steady_clock::now() - timing.received);
        auto wrapper = duration_cast<microseconds>(timing.wrapper);
        log::event(log::Level::notice, log::Event::action_result,
                   "action " + jti + ": app " + app_id + " " + status + " (reported by " +
                       reported_by + "); frame to result " + std::to_string(total.count()) +
                       " us, monsys-action " + std::to_string(wrapper.count()) +
                       " us, agent overhead " + std::to_string((total - wrapper).count()) + " us",
                   {jti, app_id, type, status});
        // Queued behind the result's own store when the link shares this worker.
        disk_->post([journal = journal_, jti]() mutable { journal.remove(jti); });
    }
    if (!shutting_down_) {
        start_next(app_id);
    } else if (running_apps_.empty()) {
        became_idle();
    }
}

void ActionRunner::became_idle() {
    grace_timer_.cancel();
    if (!on_idle_) return;
    auto on_idle = std::move(on_idle_);
    on_idle_ = nullptr;
    on_idle();
}

void ActionRunner::shut_down(std::function<void()> on_idle) {
    shut_down(std::move(on_idle), std::chrono::milliseconds::max());
}

void ActionRunner::shut_down(std::function<void()> on_idle, std::chrono::milliseconds grace) {
    shutting_down_ = true;
    for (auto& [app_id, jobs] : queued_) {
        for (const Job& job : jobs) {
            report_(make_report(
                job.jti, "agent",
                agent_result(refusal_fields(job.jti, job.app, "agent_shutting_down",
                                            "the agent stopped before running this action; "
                                            "nothing was restarted",
                                            now_utc()))));
        }
    }
    queued_.clear();
    if (running_apps_.empty()) {
        asio::post(io_, std::move(on_idle));
        return;
    }
    on_idle_ = std::move(on_idle);
    if (grace == std::chrono::milliseconds::max()) return;
    std::weak_ptr<int> alive = alive_;
    grace_timer_.expires_after(grace);
    grace_timer_.async_wait([this, alive](beast::error_code ec) {
        if (ec || !alive.lock()) return;
        log::warning(std::to_string(running_apps_.size()) +
                     " action(s) still running after the shutdown grace; ending monsys-action");
        launcher_->cancel();
    });
}

}  // namespace monsys::agent::actions
