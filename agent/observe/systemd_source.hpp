#pragma once
// The systemd unit source: ListUnitsByNames and the manager's change signals over one persistent
// sd-bus connection on the daemon's io_context (common/io/systemd/async_bus.hpp).
//
// Pushed to SourceEvents:
// - unit_changed(name, now) for a watched unit when a PropertiesChanged on its object path
//   changes or invalidates ActiveState, SubState, MainPID or Result, and when the manager sends
//   UnitNew or UnitRemoved for it;
// - units_resync() each time a connection is ready (the first one included: the matches are then
//   in place, and anything before them may have been missed), and when a daemon-reload finished
//   (Reloading(false)).
#include <memory>
#include <string>
#include <vector>

#include "agent/observe/sources.hpp"
#include "common/io/asio.hpp"
#include "common/io/systemd/bus.hpp"

namespace monsys::agent::observe {

class SystemdWatcher;  // systemd_source.cpp: the shared state that async operations point to

// Connects at once, asynchronously (nothing in the constructor blocks), and reconnects by itself
// (1 s doubling to 30 s, jitter). Every call is bounded by settings.call_timeout.
class SystemdSource final : public UnitSource {
  public:
    SystemdSource(asio::any_io_executor executor, io::SystemdBusSettings settings,
                  SourceEvents events);
    ~SystemdSource() override;  // stop()
    SystemdSource(const SystemdSource&) = delete;
    SystemdSource& operator=(const SystemdSource&) = delete;

    void list_units(std::vector<std::string> names,
                    std::function<void(inventory::SystemdSection)> done) override;
    void watch(std::vector<std::string> names) override;
    void stop() override;

    // Drops the bus connection as if it had gone away; a new one is opened at once. For tests of
    // the reconnect path.
    void force_reconnect();

  private:
    std::shared_ptr<SystemdWatcher> watcher_;
};

std::unique_ptr<UnitSource> make_systemd_source(asio::any_io_executor executor,
                                                io::SystemdBusSettings settings,
                                                SourceEvents events);

}  // namespace monsys::agent::observe
