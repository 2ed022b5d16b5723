#include "agent/daemon/status_publisher.hpp"

#include "common/util/log.hpp"

namespace monsys::agent::daemon {

StatusPublisher::StatusPublisher(asio::any_io_executor executor, StatusSource source,
                                 StatusFileIo io, std::chrono::milliseconds tick,
                                 std::chrono::milliseconds heartbeat)
    : executor_(executor),
      source_(std::move(source)),
      io_(std::move(io)),
      tick_(tick),
      heartbeat_(heartbeat),
      timer_(executor) {}

void StatusPublisher::start() {
    if (!io_.write) return;
    publish();
    schedule();
}

void StatusPublisher::stop() {
    if (stopped_) return;
    stopped_ = true;
    timer_.cancel();
    if (!io_.write) return;
    // After a write in flight: the worker runs its jobs in order.
    if (io_.remove) worker_.post(io_.remove);
}

void StatusPublisher::schedule() {
    timer_.expires_after(tick_);
    timer_.async_wait([this](beast::error_code ec) {
        if (ec || stopped_) return;
        publish();
        schedule();
    });
}

void StatusPublisher::publish() {
    if (writing_ || stopped_) return;
    status::Snapshot snapshot = source_.build();
    const std::optional<std::uint64_t> apps_version = source_.apps_version();
    const auto now = std::chrono::steady_clock::now();
    const bool heartbeat_due = now - last_write_ >= heartbeat_;
    const bool apps_unchanged = apps_version && apps_version == last_apps_version_;
    if (last_ && apps_unchanged && (!heartbeat_due || io_.touch)) {
        // Equal but for the time it was built: nothing to write. Serialised only when written.
        const status::Time built = snapshot.written_at;
        snapshot.written_at = last_->written_at;
        if (snapshot == *last_) {
            if (heartbeat_due) touch(now);
            return;
        }
        snapshot.written_at = built;
    }
    last_ = snapshot;
    last_apps_version_ = apps_version;
    snapshot.apps = source_.apps();
    last_write_ = now;
    writing_ = true;
    ++writes_;
    worker_.call(
        executor_,
        // Serialised on the writer's thread too: the reactor only builds and compares.
        [write = io_.write, snapshot = std::move(snapshot)]() {
            return write(status::to_json(snapshot).dump(2, ' ', false,
                                                        nlohmann::json::error_handler_t::replace));
        },
        [this, alive = std::weak_ptr<int>(alive_)](Expected<void, std::string> written) {
            if (alive.expired()) return;
            on_written(std::move(written));
        });
}

// The heartbeat of a snapshot that did not change: the file's time says the daemon is alive.
void StatusPublisher::touch(std::chrono::steady_clock::time_point now) {
    last_write_ = now;
    writing_ = true;
    ++touches_;
    worker_.call(
        executor_, io_.touch,
        [this, alive = std::weak_ptr<int>(alive_)](Expected<void, std::string> touched) {
            if (alive.expired()) return;
            on_written(std::move(touched));
        });
}

void StatusPublisher::on_written(Expected<void, std::string> written) {
    writing_ = false;
    if (written) {
        if (!last_problem_.empty()) log::notice("the status snapshot is written again");
        last_problem_.clear();
        return;
    }
    // Not fatal: the agent works without it; `monsys-agent status` then reports it not running.
    if (written.error() != last_problem_) {
        log::warning("cannot write the status snapshot: " + written.error());
        last_problem_ = written.error();
    }
    last_.reset();  // the next tick tries again
    last_apps_version_.reset();
}

}  // namespace monsys::agent::daemon
