#pragma once
// How the agent runs monsys-action for one token: over monsys-action.socket or as a child
// process (docs/security.md). The runner takes it as an interface, so its queueing and shutdown
// are tested with a fake.
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/app/app.hpp"

namespace monsys::agent::actions {

struct ActionSettings;

struct ActionReport {
    std::string jti;          // may be empty when the token named none
    std::string reported_by;  // "monsys-action" or "agent"
    nlohmann::json result;
    // When reported_by is "monsys-action": what it printed, byte for byte (without the final
    // newline), to relay unchanged (HubLink::send with PreSerialized{"result", result_text}).
    std::string result_text;
    // monsys-action's signature over result_text (a compact JWS, its stdout's line 2), relayed
    // unchanged as the frame's result_jws; none from an older wrapper and for agent-built results.
    std::optional<std::string> result_jws;
    // The run was ended by cancel(): what the wrapper did is unknown, nothing is reported now and
    // the in-flight record stays, so the next start reports the action as interrupted.
    bool cancelled = false;
};

// A report with the result object only (no wrapper output to relay byte for byte).
inline ActionReport make_report(std::string jti, std::string reported_by, nlohmann::json result) {
    ActionReport report;
    report.jti = std::move(jti);
    report.reported_by = std::move(reported_by);
    report.result = std::move(result);
    return report;
}

struct WrapperRequest {
    std::string token;
    std::string jti;
    app::AppRef app;
};

class WrapperLauncher {
  public:
    virtual ~WrapperLauncher() = default;
    // Runs monsys-action once for this token and returns what to report. Blocking: called on one
    // of the runner's threads, several at once for different apps.
    virtual ActionReport run(const WrapperRequest& request) = 0;
    // Any thread: every run in progress, and any later one, ends soon (the child's group gets
    // SIGTERM, then SIGKILL after 5 s; the socket is closed at once) with cancelled set.
    virtual void cancel() = 0;
};

std::unique_ptr<WrapperLauncher> make_wrapper_launcher(const ActionSettings& settings);

}  // namespace monsys::agent::actions
