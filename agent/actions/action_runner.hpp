#pragma once
// What the agent does with an `action` from the hub (docs/protocol.md): check the token
// (token_check), then run `action_command restart-app <app id>` with the token on stdin on a
// worker thread, and report the JSON result the wrapper printed. Actions for different apps run
// in parallel; actions for the same app queue behind each other. The agent never restarts
// anything itself.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/actions/inflight_journal.hpp"
#include "common/eat/verifier.hpp"
#include "common/io/asio.hpp"

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

struct ActionReport {
    std::string jti;          // may be empty when the token named none
    std::string reported_by;  // "monsys-action" or "agent"
    nlohmann::json result;
};

class ActionRunner {
  public:
    // `report` is called on `io` for every action, exactly once.
    using Report = std::function<void(ActionReport)>;

    ActionRunner(asio::any_io_executor io, ActionSettings settings, InflightJournal& journal,
                 Report report);
    ~ActionRunner();

    // Called on `io` with the token from an `action` frame.
    void submit(std::string token);

    // Stops taking actions: queued ones are reported as rejected (agent_shutting_down, nothing
    // ran); `on_idle` is called on `io` once no wrapper runs any more.
    void shut_down(std::function<void()> on_idle);

    std::size_t running() const { return running_apps_.size(); }

  private:
    struct Job {
        std::string token;
        std::string jti;
        app::AppRef app;
        std::chrono::steady_clock::time_point received;  // when the action frame arrived
    };
    struct Timing {
        std::chrono::steady_clock::time_point received;
        std::chrono::steady_clock::duration wrapper{};  // spawn to exit of monsys-action
    };
    void start_next(const std::string& app_id);
    void finish(const std::string& app_id, ActionReport report, Timing timing);
    void reject(const std::string& token, const std::string& reason, const std::string& detail);

    asio::any_io_executor io_;
    ActionSettings settings_;
    InflightJournal& journal_;
    Report report_;
    asio::thread_pool workers_;
    std::map<std::string, std::deque<Job>> queued_;  // app id -> waiting jobs
    std::set<std::string> running_apps_;
    std::set<std::string> jtis_taken_;  // handed over or queued in this process
    bool shutting_down_ = false;
    std::function<void()> on_idle_;
};

// The wrapper's stdout, if it is the JSON result object it documents; nothing otherwise.
std::optional<nlohmann::json> parse_wrapper_result(const std::string& stdout_text);

}  // namespace monsys::agent::actions
