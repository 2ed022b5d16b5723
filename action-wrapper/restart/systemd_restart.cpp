#include "action-wrapper/restart/systemd_restart.hpp"

#include <algorithm>
#include <vector>

#include "action-wrapper/policy/unit_rules.hpp"

namespace monsys::action {

namespace {

using Clock = std::chrono::steady_clock;
using io::systemd::Bus;
using io::systemd::BusError;
using io::systemd::JobRemoved;
using io::systemd::UnitState;

constexpr const char* kNoSuchUnit = "org.freedesktop.systemd1.NoSuchUnit";
// JobRemoved signals kept while waiting for ours; others' jobs beyond this are dropped.
constexpr std::size_t kMaxJobsSeen = 4096;

// Collects JobRemoved signals, from the moment the match is installed.
struct JobWatch {
    std::vector<JobRemoved> removed;
    std::optional<JobRemoved> find(const std::string& job_path) const {
        for (const auto& job : removed) {
            if (job.job_path == job_path) return job;
        }
        return std::nullopt;
    }
};

void on_job_removed(JobWatch& watch, sd_bus_message* signal) {
    auto job = io::systemd::decode_job_removed(signal);
    if (job && watch.removed.size() < kMaxJobsSeen) watch.removed.push_back(std::move(*job));
}

// Every call gets the bus's call timeout, shortened to what is left of the overall deadline.
void fit_call_timeout(Bus& bus, std::chrono::milliseconds configured, Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    bus.set_call_timeout(std::clamp(left, std::chrono::milliseconds(1), configured));
}

// How the state of the unit is looked up: GetUnit sees only loaded units; LoadUnit loads it, so a
// stopped service the manager has unloaded reads as inactive with MainPID 0.
enum class Lookup { get, load };

// The unit's state, or nullopt when systemd has not loaded it (NoSuchUnit from GetUnit).
Expected<std::optional<UnitState>, BusError> observe_unit(Bus& bus, const std::string& unit,
                                                          Lookup lookup) {
    auto path = lookup == Lookup::load ? io::systemd::load_unit(bus, unit)
                                       : io::systemd::get_unit(bus, unit);
    if (!path) {
        if (path.error().name == kNoSuchUnit) return std::optional<UnitState>{};
        return unexpected(std::move(path.error()));
    }
    auto state = io::systemd::read_unit_state(bus, *path, io::systemd::is_service_unit(unit));
    if (!state) return unexpected(std::move(state.error()));
    return std::optional<UnitState>(std::move(*state));
}

RestartOutcome failed(std::string message, RestartStatus status = RestartStatus::failed) {
    RestartOutcome outcome;
    outcome.status = status;
    outcome.exit_code = 1;
    outcome.stderr_output.text = std::move(message);
    return outcome;
}

RestartOutcome refused(std::string reason) {
    RestartOutcome outcome = failed(reason);
    outcome.policy_refusal = std::move(reason);
    return outcome;
}

}  // namespace

RestartStatus status_for_job_result(std::string_view result) {
    return result == "done" ? RestartStatus::succeeded : RestartStatus::failed;
}

std::string job_failure_message(std::string_view unit, std::string_view result,
                                const std::optional<std::string>& service_result) {
    std::string message =
        "restart job of " + std::string(unit) + " ended with result '" + std::string(result) + "'";
    if (result == "failed") {
        message += ": the unit failed to start (see its journal)";
    } else if (result == "timeout") {
        message += ": systemd's own job timeout expired";
    } else if (result == "canceled") {
        message += ": the job was canceled, e.g. replaced by a stop";
    } else if (result == "dependency") {
        message += ": a unit it requires failed";
    } else if (result == "skipped") {
        message += ": a condition of the unit was not met";
    }
    if (service_result && !service_result->empty() && *service_result != "success") {
        message += " (service result: " + *service_result + ")";
    }
    return message;
}

nlohmann::json unit_state_json(const std::optional<UnitState>& state) {
    if (!state) return {{"LoadState", "not-loaded"}};
    nlohmann::json out = {{"LoadState", state->load_state},
                          {"ActiveState", state->active_state},
                          {"SubState", state->sub_state}};
    if (state->main_pid) out["MainPID"] = *state->main_pid;
    if (state->result) out["Result"] = *state->result;
    return out;
}

std::string restart_summary(std::string_view unit, RestartStatus status,
                            const std::optional<UnitState>& before,
                            const std::optional<UnitState>& after) {
    std::string text(unit);
    text += status == RestartStatus::succeeded ? " restarted: " : " restart failed: ";
    auto pid = [](const std::optional<UnitState>& s) -> std::string {
        return s && s->main_pid ? std::to_string(*s->main_pid) : std::string("none");
    };
    bool has_pid = (before && before->main_pid) || (after && after->main_pid);
    if (has_pid) text += "MainPID " + pid(before) + " -> " + pid(after);
    if (after && (!has_pid || status != RestartStatus::succeeded)) {
        if (has_pid) text += ", now ";
        text += after->active_state + "/" + after->sub_state;
    }
    if (!after && !has_pid) text += "state unknown";
    return text;
}

namespace {

// Subscribe, RestartUnit, wait for its JobRemoved, states before and after, on an open bus.
RestartOutcome restart_on_bus(Bus& bus, const io::SystemdBusSettings& settings,
                              const std::string& unit, Lookup lookup,
                              std::chrono::milliseconds timeout, Clock::time_point deadline) {
    fit_call_timeout(bus, settings.call_timeout, deadline);

    // The match is in place before RestartUnit, so the JobRemoved cannot slip by.
    JobWatch watch;
    auto slot = bus.match_signal(io::systemd::kSystemdService, io::systemd::kManagerPath,
                                 io::systemd::kManagerInterface, "JobRemoved",
                                 [&watch](sd_bus_message* m) { on_job_removed(watch, m); });
    if (!slot) return failed(io::systemd::describe(slot.error()));
    if (auto subscribed = io::systemd::subscribe(bus); !subscribed) {
        return failed(io::systemd::describe(subscribed.error()));
    }

    auto before = observe_unit(bus, unit, lookup);
    if (!before) return failed(io::systemd::describe(before.error()));

    fit_call_timeout(bus, settings.call_timeout, deadline);
    auto job_path = io::systemd::restart_unit(bus, unit, "replace");
    if (!job_path) {
        RestartOutcome outcome = failed(io::systemd::describe(job_path.error()));
        outcome.before = unit_state_json(*before);
        return outcome;
    }

    auto seen =
        bus.wait_until(deadline, [&watch, &job_path] { return watch.find(*job_path).has_value(); });
    if (!seen) {
        RestartOutcome outcome = failed(io::systemd::describe(seen.error()));
        outcome.before = unit_state_json(*before);
        return outcome;
    }
    std::optional<JobRemoved> job = watch.find(*job_path);

    RestartOutcome outcome;
    outcome.before = unit_state_json(*before);
    fit_call_timeout(bus, settings.call_timeout, deadline + std::chrono::seconds(1));
    auto after = observe_unit(bus, unit, lookup);
    if (after) outcome.after = unit_state_json(*after);

    if (!job) {
        outcome.status = RestartStatus::timeout;
        outcome.exit_code = 1;
        outcome.stderr_output.text = "restart job " + *job_path + " of " + unit +
                                     " did not finish within " + std::to_string(timeout.count()) +
                                     " ms";
    } else {
        outcome.status = status_for_job_result(job->result);
        outcome.exit_code = outcome.status == RestartStatus::succeeded ? 0 : 1;
        if (outcome.status != RestartStatus::succeeded) {
            std::optional<std::string> service_result;
            if (after && *after) service_result = (*after)->result;
            outcome.stderr_output.text = job_failure_message(unit, job->result, service_result);
        }
    }
    if (!after) {
        outcome.stderr_output.text += (outcome.stderr_output.text.empty() ? "" : "; ") +
                                      std::string("cannot read the state after: ") +
                                      io::systemd::describe(after.error());
    }
    outcome.stdout_output.text =
        restart_summary(unit, outcome.status, *before, after ? *after : std::optional<UnitState>{});
    return outcome;
}

}  // namespace

Expected<void, std::string> check_resolved_unit_allowed(
    const std::string& requested, const io::systemd::UnitIdentity& identity,
    const std::vector<std::string>& policy_denied) {
    if (identity.id.empty()) return unexpected("systemd reports no Id for " + requested);
    return check_unit_allowed(UnitNames{requested, identity.id, identity.names}, policy_denied);
}

RestartOutcome restart_systemd_app(const io::SystemdBusSettings& settings, const std::string& unit,
                                   const std::vector<std::string>& policy_denied_units,
                                   std::chrono::milliseconds timeout) {
    // The name alone first: a template or a denied name never reaches the bus.
    if (auto allowed = check_unit_name_allowed(unit, policy_denied_units); !allowed) {
        return refused(std::move(allowed.error()));
    }

    const auto deadline = Clock::now() + timeout;
    auto bus = Bus::open(settings);
    if (!bus) return failed(io::systemd::describe(bus.error()));
    fit_call_timeout(*bus, settings.call_timeout, deadline);

    // LoadUnit, not GetUnit: a stopped service may not be loaded, and must resolve all the same.
    auto path = io::systemd::load_unit(*bus, unit);
    if (!path) return failed("cannot resolve " + unit + ": " + io::systemd::describe(path.error()));
    auto identity = io::systemd::read_unit_identity(*bus, *path);
    if (!identity) {
        return failed("cannot read the names of " + unit + ": " +
                      io::systemd::describe(identity.error()));
    }
    if (auto allowed = check_resolved_unit_allowed(unit, *identity, policy_denied_units);
        !allowed) {
        return refused(std::move(allowed.error()));
    }
    // The Id, not the name asked for: what was judged is what is restarted.
    return restart_on_bus(*bus, settings, identity->id, Lookup::load, timeout, deadline);
}

RestartOutcome restart_systemd_unit(const io::SystemdBusSettings& settings, const std::string& unit,
                                    std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    auto bus = Bus::open(settings);
    if (!bus) return failed(io::systemd::describe(bus.error()));
    return restart_on_bus(*bus, settings, unit, Lookup::get, timeout, deadline);
}

}  // namespace monsys::action
