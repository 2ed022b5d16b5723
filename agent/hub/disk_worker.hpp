#pragma once
// One thread for the agent's durable files (the outbox, the seq counter with its lock, the
// in-flight journal, reads of the replay store): a write, an fsync or a lock wait never runs on
// the reactor thread. Jobs run one at a time, in the order they were posted, so a file that must
// be durable before another is removed (a result before its in-flight record) stays so when both
// go through the same worker.
#include <memory>
#include <utility>

#include "common/io/asio.hpp"

namespace monsys::agent::hub {

class DiskWorker {
  public:
    DiskWorker() : pool_(1) {}
    // Runs what was posted, then ends the thread: nothing posted is dropped.
    ~DiskWorker() { pool_.join(); }
    DiskWorker(const DiskWorker&) = delete;
    DiskWorker& operator=(const DiskWorker&) = delete;

    // Runs `job()` on the worker thread.
    template <class Job>
    void post(Job job) {
        asio::post(pool_, std::move(job));
    }

    // Runs `job()` on the worker thread, then `done(result)` on `io`.
    template <class Job, class Done>
    void call(asio::any_io_executor io, Job job, Done done) {
        asio::post(pool_, [io, job = std::move(job), done = std::move(done)]() mutable {
            auto result = job();
            asio::post(io, [done = std::move(done), result = std::move(result)]() mutable {
                done(std::move(result));
            });
        });
    }

  private:
    asio::thread_pool pool_;
};

}  // namespace monsys::agent::hub
