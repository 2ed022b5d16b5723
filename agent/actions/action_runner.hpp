#pragma once
// Runs monsys-action for an action ActionDelivery verified and decided to run (docs/protocol.md),
// through a WrapperLauncher on one of max_parallel threads, and reports the JSON result the
// wrapper printed. Actions for different apps run in parallel; actions for the
// same app queue behind each other. The agent never restarts anything itself.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/actions/inflight_journal.hpp"
#include "agent/actions/wrapper_launcher.hpp"
#include "agent/hub/disk_worker.hpp"
#include "common/eat/claims.hpp"
#include "common/eat/refusal.hpp"
#include "common/eat/verifier.hpp"
#include "common/io/asio.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::actions {

struct ActionSettings {
    eat::VerifierSettings verifier;
    std::filesystem::path replay_store;
    std::vector<std::string> action_command;  // prefix; "restart-app <id>" is appended
    std::filesystem::path action_socket;      // when set, used instead of action_command
    std::vector<std::string> environment;     // the wrapper's whole environment
    std::chrono::milliseconds wrapper_timeout{150000};
    std::size_t max_parallel = 4;
};

// The runner's I/O, replaceable in tests.
struct RunnerIo {
    std::shared_ptr<WrapperLauncher> launcher;  // null: make_wrapper_launcher(settings)
    // The token check and the in-flight journal run here; null: the runner's own worker. Share
    // the link's, so a result is stored before its in-flight record is removed.
    hub::DiskWorker* disk = nullptr;
};

class ActionRunner {
  public:
    // `report` is called on `io` for every action, exactly once, except for one abandoned at
    // shutdown (its in-flight record reports it at the next start).
    using Report = std::function<void(ActionReport)>;

    ActionRunner(asio::any_io_executor io, ActionSettings settings, InflightJournal& journal,
                 Report report);
    ActionRunner(asio::any_io_executor io, ActionSettings settings, InflightJournal& journal,
                 Report report, RunnerIo runner_io);
    // Cancels what still runs and joins the threads: returns within the launcher's cancel bound.
    ~ActionRunner();

    // Called on `io` with a token that verified and that nothing has acted on yet (ActionDelivery
    // decided): queued behind its app's running action, or started.
    struct Accepted {
        std::string token;
        eat::Claims claims;
        std::chrono::steady_clock::time_point received;  // when the action frame arrived
    };
    void run(Accepted action);

    // Stops taking actions: queued ones are reported as rejected (agent_shutting_down, nothing
    // ran); `on_idle` is called on `io` once no wrapper runs any more. Running wrappers get
    // `grace`; then they are cancelled (child killed, socket closed), not reported, and their
    // in-flight records stay for the next start. Without `grace` they get all the time they take.
    void shut_down(std::function<void()> on_idle);
    void shut_down(std::function<void()> on_idle, std::chrono::milliseconds grace);

    std::size_t running() const { return running_apps_.size(); }

  private:
    struct Job {
        std::string token;
        std::string jti;
        app::AppRef app;
        std::int64_t exp = 0;
        std::chrono::steady_clock::time_point received;  // when the action frame arrived
    };
    struct Timing {
        std::chrono::steady_clock::time_point received;
        std::chrono::steady_clock::duration wrapper{};  // spawn to exit of monsys-action
    };
    void start_next(const std::string& app_id);
    void finish(const std::string& app_id, ActionReport report, Timing timing);
    void became_idle();

    std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // for handlers posted back to io
    asio::any_io_executor io_;
    ActionSettings settings_;
    InflightJournal& journal_;
    Report report_;
    std::shared_ptr<WrapperLauncher> launcher_;
    std::shared_ptr<asio::thread_pool> workers_;
    std::map<std::string, std::deque<Job>> queued_;  // app id -> waiting jobs
    std::set<std::string> running_apps_;
    bool shutting_down_ = false;
    std::function<void()> on_idle_;
    asio::steady_timer grace_timer_;
    std::unique_ptr<hub::DiskWorker> own_disk_;  // last: joined first
    hub::DiskWorker* disk_;
};

// The result in the wrapper's stdout (results::parse_wrapper_output: line 1 of the one result
// type, every field there with its type; line 2 its JWS, if any); nothing otherwise (logged).
std::optional<nlohmann::json> parse_wrapper_result(const std::string& stdout_text);

}  // namespace monsys::agent::actions
