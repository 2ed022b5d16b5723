#include "agent/actions/action_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/util/unique_fd.hpp"

namespace monsys::agent::actions {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* cancelled_text = "closed by the agent, which is stopping";

int millis_left(Clock::time_point until) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60000));
}

enum class Wait { ready, timed_out, cancelled };

// Waits for `events` on fd until the deadline or until cancel_fd (if >= 0) is readable.
Wait wait_for(int fd, short events, Clock::time_point until, int cancel_fd) {
    for (;;) {
        int left = millis_left(until);
        if (left == 0) return Wait::timed_out;
        pollfd waiting[2] = {{fd, events, 0}, {cancel_fd, POLLIN, 0}};
        int ready = ::poll(waiting, cancel_fd >= 0 ? 2 : 1, left);
        if (ready > 0 && cancel_fd >= 0 && waiting[1].revents != 0) return Wait::cancelled;
        if (ready > 0) return Wait::ready;
        if (ready < 0 && errno != EINTR) return Wait::ready;  // the next call reports the error
    }
}

}  // namespace

std::string connection_request(const std::string& app_id, const std::string& token) {
    return "restart-app " + app_id + "\n" + token + "\n";
}

Expected<std::string, std::string> exchange_over_socket(const std::filesystem::path& socket,
                                                        const std::string& request,
                                                        std::chrono::milliseconds timeout,
                                                        std::size_t cap, int cancel_fd) {
    const std::string name = "action socket " + socket.string();
    const auto until = Clock::now() + timeout;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket.native().size() >= sizeof address.sun_path) {
        return unexpected(name + ": path too long");
    }
    std::memcpy(address.sun_path, socket.c_str(), socket.native().size());
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) return unexpected(name + ": cannot create a socket: " + std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 &&
        errno != EINPROGRESS && errno != EAGAIN) {
        return unexpected("cannot connect to the " + name + ": " + std::strerror(errno) +
                          " (is monsys-action.socket running?)");
    }
    std::string_view left = request;
    while (!left.empty()) {
        auto waited = wait_for(fd.get(), POLLOUT, until, cancel_fd);
        if (waited == Wait::cancelled) return unexpected(name + ": " + cancelled_text);
        if (waited == Wait::timed_out) return unexpected(name + ": timed out sending");
        ssize_t n = ::send(fd.get(), left.data(), left.size(), MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return unexpected(name + ": cannot send: " + std::strerror(errno));
        left.remove_prefix(static_cast<std::size_t>(n));
    }
    ::shutdown(fd.get(), SHUT_WR);
    std::string response;
    char chunk[16 * 1024];
    for (;;) {
        auto waited = wait_for(fd.get(), POLLIN, until, cancel_fd);
        if (waited == Wait::cancelled) return unexpected(name + ": " + cancelled_text);
        if (waited == Wait::timed_out) {
            return unexpected(name + ": no complete answer within " +
                              std::to_string(timeout.count() / 1000) + " s");
        }
        ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return unexpected(name + ": cannot read the answer: " + std::strerror(errno));
        if (n == 0) return response;
        response.append(chunk, static_cast<std::size_t>(n));
        if (response.size() > cap) return unexpected(name + ": the answer is larger than the cap");
    }
}

}  // namespace monsys::agent::actions
