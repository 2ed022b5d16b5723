#include "agent/observe/process_source.hpp"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <set>

#include "common/inventory/process_scan.hpp"
#include "common/util/log.hpp"

namespace monsys::agent::observe {
namespace {

using Clock = std::chrono::steady_clock;
using Key = std::pair<std::string, int>;  // (path, pid)

// One pidfd per watched pid; beyond this many, the rounds alone notice an exit (an fd each, and
// the service's soft limit on open files is 1024).
constexpr std::size_t max_exit_watches = 256;

struct ExitWatch {
    ExitWatch(asio::any_io_executor executor, int fd, Key watched)
        : descriptor(executor, fd), key(std::move(watched)) {}
    asio::posix::stream_descriptor descriptor;
    Key key;
    bool cancelled = false;

    void cancel() {
        cancelled = true;
        beast::error_code ignored;
        descriptor.close(ignored);
    }
};

// What the completions need, on the io_context only. The scan thread holds only a weak pointer,
// so this is always destroyed on the io_context's side.
struct SourceState : std::enable_shared_from_this<SourceState> {
    asio::any_io_executor executor;
    std::string root;
    SourceEvents events;
    std::map<Key, std::shared_ptr<ExitWatch>> watches;
    bool stopped = false;
    bool pidfd_failure_logged = false;
    bool cap_logged = false;

    void report_exit(const Key& key) {
        if (stopped || !events.process_exited) return;
        events.process_exited(key.first, key.second, std::chrono::system_clock::now());
    }

    void watch(const Key& key) {
        if (watches.size() >= max_exit_watches) {
            if (!cap_logged) {
                log::info("process apps: more than " + std::to_string(max_exit_watches) +
                          " running; the others' exits are noticed by the rounds");
                cap_logged = true;
            }
            return;
        }
        // glibc 2.36 declares pidfd_open without extern "C" for C++, so call the system call.
        int fd = static_cast<int>(::syscall(SYS_pidfd_open, key.second, 0));
        if (fd < 0) {
            if (errno == ESRCH) {
                // Gone between the scan and now: report it (after this call returns).
                std::weak_ptr<SourceState> weak = weak_from_this();
                asio::post(executor, [weak, key]() {
                    if (auto self = weak.lock()) self->report_exit(key);
                });
            } else if (!pidfd_failure_logged) {
                log::info(std::string("process apps: no pidfd (") + std::strerror(errno) +
                          "); exits are noticed by the rounds");
                pidfd_failure_logged = true;
            }
            return;
        }
        auto exit_watch = std::make_shared<ExitWatch>(executor, fd, key);
        watches.emplace(key, exit_watch);
        std::weak_ptr<SourceState> weak = weak_from_this();
        // A pidfd turns readable when its process ends.
        exit_watch->descriptor.async_wait(
            asio::posix::stream_descriptor::wait_read,
            [weak, exit_watch](beast::error_code ec) {
                if (exit_watch->cancelled) return;
                auto self = weak.lock();
                if (!self) return;
                if (auto found = self->watches.find(exit_watch->key);
                    found != self->watches.end() && found->second == exit_watch) {
                    self->watches.erase(found);
                }
                exit_watch->cancel();
                if (ec) return;  // closed under us: the next scan watches again
                self->report_exit(exit_watch->key);
            });
    }

    void replace_watches(const std::set<Key>& wanted) {
        std::erase_if(watches, [&wanted](const auto& entry) {
            if (wanted.contains(entry.first)) return false;
            entry.second->cancel();
            return true;
        });
        for (const Key& key : wanted) {
            if (!watches.contains(key)) watch(key);
        }
    }

    void stop() {
        stopped = true;
        for (auto& entry : watches) entry.second->cancel();
        watches.clear();
    }
};

class HostProcessSource final : public ProcessSource {
  public:
    HostProcessSource(asio::any_io_executor executor, std::string root,
                      std::chrono::milliseconds scan_timeout, SourceEvents events)
        : state_(std::make_shared<SourceState>()), scan_timeout_(scan_timeout), pool_(1) {
        state_->executor = std::move(executor);
        state_->root = std::move(root);
        state_->events = std::move(events);
    }

    // A scan under way ends by its deadline; the thread is joined, never left behind.
    ~HostProcessSource() override {
        stop();
        pool_.join();
    }

    void scan(ScanRequest request,
              std::function<void(inventory::ProcessesSection)> done) override {
        std::weak_ptr<SourceState> weak = state_;
        auto executor = state_->executor;
        if (state_->stopped) {
            asio::post(executor, [done = std::move(done)]() {
                inventory::ProcessesSection section;
                section.status.error = "stopped";
                done(std::move(section));
            });
            return;
        }
        asio::post(pool_, [weak, executor, root = state_->root, timeout = scan_timeout_,
                           request = std::move(request), done = std::move(done)]() mutable {
            inventory::PathScanOptions options;
            options.paths = std::move(request.paths);
            options.hint_pids = std::move(request.hint_pids);
            options.first_match_only = true;
            options.deadline = Clock::now() + timeout;
            auto section =
                inventory::scan_processes_running(inventory::open_proc_tree(root), options);
            asio::post(executor, [weak, section = std::move(section),
                                  done = std::move(done)]() mutable {
                auto self = weak.lock();
                if (!self || self->stopped) section.status.error = "stopped";
                done(std::move(section));
            });
        });
    }

    void watch_exits(std::vector<std::pair<std::string, int>> running) override {
        if (state_->stopped || !state_->root.empty()) return;  // pidfds name this host's pids
        state_->replace_watches(std::set<Key>(running.begin(), running.end()));
    }

    void stop() override { state_->stop(); }

  private:
    std::shared_ptr<SourceState> state_;
    std::chrono::milliseconds scan_timeout_;
    asio::thread_pool pool_;
};

}  // namespace

std::unique_ptr<ProcessSource> make_process_source(asio::any_io_executor executor,
                                                   std::string root,
                                                   std::chrono::milliseconds scan_timeout,
                                                   SourceEvents events) {
    return std::make_unique<HostProcessSource>(std::move(executor), std::move(root), scan_timeout,
                                               std::move(events));
}

}  // namespace monsys::agent::observe
