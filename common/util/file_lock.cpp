#include "common/util/file_lock.hpp"

#include <sys/file.h>

#include <cerrno>
#include <thread>

#include "common/util/durable_file.hpp"

namespace monsys {

Expected<void, std::string> lock_with_timeout(int fd, bool exclusive,
                                              const std::filesystem::path& path,
                                              std::chrono::milliseconds timeout) {
    constexpr auto poll_interval = std::chrono::milliseconds(2);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    const int operation = (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB;
    while (::flock(fd, operation) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            return unexpected(errno_message("cannot lock", path, errno));
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return unexpected("timed out waiting for the lock on " + path.string());
        }
        std::this_thread::sleep_for(poll_interval);
    }
    return ok();
}

}  // namespace monsys
