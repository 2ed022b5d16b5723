#pragma once
// Restart of a systemd unit over sd-bus: Subscribe, match JobRemoved, RestartUnit(name,
// "replace"), wait for that job's JobRemoved within the deadline, report state before and after.
// For a token's app, the unit is resolved and judged by unit_rules before anything is restarted.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "action-wrapper/restart/restart_outcome.hpp"
#include "common/io/systemd/bus.hpp"
#include "common/io/systemd/manager.hpp"
#include "common/util/expected.hpp"

namespace monsys::action {

// Restart of a systemd app named by a token: resolves the unit first (LoadUnit, so a stopped
// service resolves too; then its Id and Names), refuses it when any of its names breaks
// unit_rules (the built-in deny list plus `policy_denied_units`), and otherwise restarts the Id.
// A refusal sets RestartOutcome::policy_refusal; nothing is restarted then. A stopped service is
// started: RestartUnit starts a unit that is not running.
RestartOutcome restart_systemd_app(const io::SystemdBusSettings& bus, const std::string& unit,
                                   const std::vector<std::string>& policy_denied_units,
                                   std::chrono::milliseconds timeout);

// Restart of a unit the wrapper chose itself (e.g. monsys-restart@ENTRY.service for a process
// restart): the same Subscribe/RestartUnit/JobRemoved path, without the unit rules.
RestartOutcome restart_systemd_unit(const io::SystemdBusSettings& bus, const std::string& unit,
                                    std::chrono::milliseconds timeout);

// Pure decisions, unit-tested with made-up inputs.

// "done" succeeds; every other job result (failed, timeout, canceled, dependency, skipped,
// anything unknown) fails.
RestartStatus status_for_job_result(std::string_view result);

// "restart job of nginx.service ended with result 'failed'" plus systemd's explanation, and
// the service's own Result when it says more than "success" (e.g. "start-limit-hit").
std::string job_failure_message(std::string_view unit, std::string_view result,
                                const std::optional<std::string>& service_result = std::nullopt);

// Success when a unit known by `identity` may be restarted for a token that named `requested`,
// else why not: unit_rules on every name, plus an Id that systemd must report.
Expected<void, std::string> check_resolved_unit_allowed(
    const std::string& requested, const io::systemd::UnitIdentity& identity,
    const std::vector<std::string>& policy_denied);

// {"LoadState":..,"ActiveState":..,"SubState":..,"MainPID":..}; {"LoadState":"not-loaded"} when
// the unit was not loaded.
nlohmann::json unit_state_json(const std::optional<io::systemd::UnitState>& state);

// "nginx.service restarted: MainPID 1234 -> 5678" for services with main PIDs, otherwise
// "x.socket restarted: active/listening"; with "restart failed" when the job did not succeed.
std::string restart_summary(std::string_view unit, RestartStatus status,
                            const std::optional<io::systemd::UnitState>& before,
                            const std::optional<io::systemd::UnitState>& after);

}  // namespace monsys::action
