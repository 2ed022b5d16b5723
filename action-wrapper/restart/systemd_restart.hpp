#pragma once
// Restart of a systemd unit over sd-bus: Subscribe, match JobRemoved, RestartUnit(name,
// "replace"), wait for that job's JobRemoved within the deadline, report state before and after.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "action-wrapper/restart/restart_outcome.hpp"
#include "common/io/systemd/bus.hpp"
#include "common/io/systemd/manager.hpp"

namespace monsys::action {

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

// {"LoadState":..,"ActiveState":..,"SubState":..,"MainPID":..}; {"LoadState":"not-loaded"} when
// the unit was not loaded.
nlohmann::json unit_state_json(const std::optional<io::systemd::UnitState>& state);

// "nginx.service restarted: MainPID 1234 -> 5678" for services with main PIDs, otherwise
// "x.socket restarted: active/listening"; with "restart failed" when the job did not succeed.
std::string restart_summary(std::string_view unit, RestartStatus status,
                            const std::optional<io::systemd::UnitState>& before,
                            const std::optional<io::systemd::UnitState>& after);

}  // namespace monsys::action
