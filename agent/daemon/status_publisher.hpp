#pragma once
// Keeps the daemon's status snapshot file current for `monsys-agent status` (docs/status.md).
//
// Every tick (1 s) it builds the snapshot but for its apps on the reactor thread (a few small
// lists), compares it with the last one written (operator==, no serialising) and asks for the
// apps' version: it writes the whole snapshot, apps included, when something but its time
// changed or the version moved: at most one write a second. The apps (a thousand, on a big host)
// are thus neither built nor compared at a tick that finds nothing new. At every heartbeat (10 s) without a change it only touches the file (its
// modification time becomes now), so a reader can tell a hung daemon by the file's age without
// the daemon serialising a thousand apps every 10 s. The write (a temporary file and a rename,
// no fsync: the file lives on a tmpfs) and the touch run on the publisher's own thread: they
// cannot block the reactor even when status_file is on a slow disk, and never wait behind the
// outbox's fsyncs on the disk worker. One at a time; a tick that finds one still running skips
// (the next tick retries).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/hub/disk_worker.hpp"
#include "agent/status/status_snapshot.hpp"
#include "common/io/asio.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::daemon {

struct StatusFileIo {
    // Replaces the file with the text (on the publisher's thread). Empty: no snapshot is kept.
    std::function<Expected<void, std::string>(const std::string& text)> write;
    // Sets the file's modification time to now: the heartbeat of an unchanged snapshot (on the
    // publisher's thread). Empty: the heartbeat rewrites the file.
    std::function<Expected<void, std::string>()> touch;
    // Removes the file (on the publisher's thread, after any write).
    std::function<void()> remove;
};

// Where the snapshot comes from (the daemon's state, on the reactor thread).
struct StatusSource {
    // The snapshot as of now, without its apps.
    std::function<status::Snapshot()> build;
    // A version of the apps' part that moves whenever it changes; none when it changes at every
    // tick (an app not observed yet is reported as of now).
    std::function<std::optional<std::uint64_t>()> apps_version;
    // The apps' part, built only for a write.
    std::function<std::vector<status::AppStatus>()> apps;
};

class StatusPublisher {
  public:
    StatusPublisher(asio::any_io_executor executor, StatusSource source, StatusFileIo io,
                    std::chrono::milliseconds tick, std::chrono::milliseconds heartbeat);
    StatusPublisher(const StatusPublisher&) = delete;
    StatusPublisher& operator=(const StatusPublisher&) = delete;

    // Writes the first snapshot now, then keeps it current.
    void start();
    // No more writes; the file is removed once a write in flight is done (the daemon is gone, so
    // is its view). Idempotent.
    void stop();

    // How many snapshots went to the writer, and how many heartbeats only touched the file
    // (tests: a tick without a change writes nothing).
    std::size_t writes() const { return writes_; }
    std::size_t touches() const { return touches_; }

  private:
    void schedule();
    void publish();
    void touch(std::chrono::steady_clock::time_point now);
    void on_written(Expected<void, std::string> written);

    asio::any_io_executor executor_;
    StatusSource source_;
    StatusFileIo io_;
    std::chrono::milliseconds tick_;
    std::chrono::milliseconds heartbeat_;
    asio::steady_timer timer_;
    std::optional<status::Snapshot> last_;  // the last one written, without its apps
    std::optional<std::uint64_t> last_apps_version_;
    std::chrono::steady_clock::time_point last_write_{};  // or touch
    bool writing_ = false;
    bool stopped_ = false;
    std::string last_problem_;  // logged once until a write succeeds
    std::size_t writes_ = 0;
    std::size_t touches_ = 0;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);
    hub::DiskWorker worker_;  // last: joined first, while the rest still exists
};

}  // namespace monsys::agent::daemon
