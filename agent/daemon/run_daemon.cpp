#include "agent/daemon/run_daemon.hpp"

#include <csignal>
#include <memory>

#include "agent/daemon/agent_setup.hpp"
#include "agent/daemon/daemon.hpp"
#include "agent/daemon/daemon_io.hpp"
#include "agent/hub/outbox.hpp"
#include "agent/hub/sequence_counter.hpp"
#include "agent/hub/tracked_apps_store.hpp"
#include "common/io/journal/journal_sink.hpp"
#include "common/io/process/malloc_settings.hpp"
#include "common/util/log.hpp"

namespace monsys::agent::daemon {

int run_daemon(const DaemonOptions& options) {
    // Before any thread allocates: few arenas and a fixed mmap threshold, so the peak of a rare
    // inventory does not stay resident until the next one (the agent's threads are mostly idle).
    monsys::io::process::apply_malloc_settings();
    log::init_from_environment();
    monsys::io::log_to_journal_if_connected();
    auto setup = prepare_agent(options.config_path);
    if (!setup) {
        log::error(setup.error());
        return 1;
    }
    // Where the link goes through, without credentials (describe() leaves them out).
    log::info("hub " + setup->config.hub_url + ": " + hub::describe(setup->proxy));
    if (auto dirs = prepare_state_dirs(setup->paths); !dirs) {
        log::error(dirs.error());
        return 1;
    }
    auto counter = hub::SequenceCounter::open(setup->paths.seq_file);
    if (!counter) {
        log::error(counter.error());
        return 1;
    }
    auto outbox = hub::Outbox::open(setup->paths.outbox_dir, std::move(*counter));
    if (!outbox) {
        log::error(outbox.error());
        return 1;
    }
    for (const auto& problem : outbox->problems()) log::warning("outbox: " + problem);
    auto tracked = hub::load_tracked_apps(setup->paths.tracked_apps_file);
    if (!tracked) {
        // The hub sends the list again on connect; a broken copy only costs the first reports.
        log::warning(tracked.error() + "; starting with no tracked apps until the hub sends them");
        tracked = hub::TrackedAppsFile{};
    }
    asio::io_context io(1);
    int exit_code = 0;
    {
        auto daemon_io = real_daemon_io(io.get_executor(), *setup);
        auto daemon =
            std::make_unique<Daemon>(io.get_executor(), std::move(*setup), std::move(*outbox),
                                     std::move(*tracked), std::move(daemon_io));
        asio::signal_set signals(io, SIGTERM, SIGINT);
        // Both outlive io.run(), so the handlers hold plain pointers.
        signals.async_wait([running = daemon.get()](beast::error_code ec, int signal) {
            if (!ec) running->stop(signal == SIGTERM ? "received SIGTERM" : "received SIGINT");
        });
        daemon->start([context = &io, waiting = &signals](int) {
            waiting->cancel();
            context->stop();
        });
        try {
            io.run();
            exit_code = daemon->exit_code();
        } catch (const std::exception& error) {
            // A handler threw: the loop it belonged to is gone. Exit non-zero; systemd restarts.
            log::error(std::string("monsys-agent: unexpected error: ") + error.what());
            exit_code = 1;
        }
        // The daemon's parts end here: the observer's sources, the collection thread and the
        // action workers are joined, each bounded by its own timeout.
    }
    log::notice("monsys-agent stopped");
    return exit_code;
}

}  // namespace monsys::agent::daemon
