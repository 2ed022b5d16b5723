#pragma once
// The observer's narrow I/O: one source per kind of app, each on the daemon's io_context.
//
// A source answers two things: "what is the state now" (list/scan, completed through a handler
// on the io_context) and "something may have changed" (events pushed to SourceEvents, also on
// the io_context). The observer (observer.hpp) turns the second into the first, coalesced, so a
// change reaches the hub within a second without polling. Real sources: systemd_source (sd-bus
// on Asio), docker_source (the Engine API on Asio), process_source (a /proc scan on a bounded
// pool, a pidfd per watched pid). Tests use fakes.
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/inventory/model.hpp"

namespace monsys::agent::observe {

using SystemTime = std::chrono::system_clock::time_point;

// One container event of the engine's /events stream, reduced to what identifies the tracked
// apps it may concern. `at` is the engine's own time of the event (timeNano) when it gave one.
struct ContainerEvent {
    std::string id;
    std::string name;             // without Docker's leading '/'
    std::string compose_project;  // label com.docker.compose.project, if any
    std::string compose_service;  // label com.docker.compose.service, if any
    std::string action;           // "die", "start", "exec_die", ... (may_change_container_state)
    SystemTime at;
};

// Where sources push what they notice. Every callback runs on the io_context; any may be empty.
struct SourceEvents {
    // Something about this unit (its exact name, as watched) changed at `at`.
    std::function<void(const std::string& unit, SystemTime at)> unit_changed;
    // The bus came (back), systemd reloaded, or a unit appeared or vanished: observe every unit.
    std::function<void()> units_resync;
    std::function<void(const ContainerEvent& event)> container_changed;
    // The events stream (re)opened after a gap, or events may have been lost: list again.
    std::function<void()> containers_resync;
    // The process that ran this tracked path (pid given to watch_exits) ended at `at`.
    std::function<void(const std::string& path, int pid, SystemTime at)> process_exited;
};

class UnitSource {
  public:
    virtual ~UnitSource() = default;
    // The current state of these units (ListUnitsByNames); an error is in section.status.error.
    // `done` runs on the io_context exactly once, also after stop() (with an error).
    virtual void list_units(std::vector<std::string> names,
                            std::function<void(inventory::SystemdSection)> done) = 0;
    // Replaces the set of units whose changes are pushed as unit_changed.
    virtual void watch(std::vector<std::string> names) = 0;
    // Cancels everything; no callback runs after it returns, except pending `done`s (with errors).
    virtual void stop() = 0;
};

class ContainerSource {
  public:
    virtual ~ContainerSource() = default;
    // The engine's containers and compose services, as the inventory lists them.
    virtual void list_containers(std::function<void(inventory::DockerSection)> done) = 0;
    // Opens (true) or closes (false) the events stream; idempotent.
    virtual void watch(bool on) = 0;
    virtual void stop() = 0;
};

class ProcessSource {
  public:
    virtual ~ProcessSource() = default;
    struct ScanRequest {
        std::vector<std::string> paths;  // tracked paths that exist on the host
        std::vector<int> hint_pids;      // pids that ran one of them last time: looked at first
    };
    // Which processes run the paths (first match per path), off the reactor thread.
    virtual void scan(ScanRequest request,
                      std::function<void(inventory::ProcessesSection)> done) = 0;
    // Replaces the watched set: for each (path, pid), process_exited(path, pid, at) once that
    // pid ends. A pid that is already gone is reported at once.
    virtual void watch_exits(std::vector<std::pair<std::string, int>> running) = 0;
    virtual void stop() = 0;
};

}  // namespace monsys::agent::observe
