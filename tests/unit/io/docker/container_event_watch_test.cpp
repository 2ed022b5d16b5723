// The container event watch against a scripted engine on a private Unix socket: what counts as a
// live stream, what moves the generation, and that every failure ends "not live" and retries.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "common/io/docker/container_event_watch.hpp"

using monsys::io::DockerSettings;
using monsys::io::docker::ContainerEventWatch;
using monsys::io::docker::EventStreamSnapshot;
using namespace std::chrono_literals;

namespace {

// One connection's script: gets the connected fd after the request has been read. A script that
// waits must also give up once the engine is stopping (a failed check ends the test early).
using Script = std::function<void(int fd, const std::string& request)>;

std::atomic<bool> engine_stopping{false};

void wait_until_set(const std::atomic<bool>& flag) {
    while (!flag && !engine_stopping) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

class FakeEngine {
  public:
    explicit FakeEngine(Script script) : script_(std::move(script)) {
        engine_stopping = false;
        char dir[] = "/tmp/monsys-events-XXXXXX";
        REQUIRE(::mkdtemp(dir) != nullptr);
        dir_ = dir;
        path_ = dir_ + "/docker.sock";
    }
    ~FakeEngine() {
        stop();
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }

    void listen() {
        listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
        REQUIRE(::listen(listener_, 8) == 0);
        thread_ = std::thread([this] {
            for (;;) {
                int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
                if (fd < 0) return;  // the listener was shut down
                ++connections;
                std::string request;
                char chunk[1024];
                while (request.find("\r\n\r\n") == std::string::npos) {
                    ssize_t n = ::read(fd, chunk, sizeof chunk);
                    if (n <= 0) break;
                    request.append(chunk, static_cast<std::size_t>(n));
                }
                last_request = request;
                script_(fd, request);
                ::close(fd);
            }
        });
    }

    void stop() {
        engine_stopping = true;
        if (listener_ >= 0) {
            ::shutdown(listener_, SHUT_RDWR);
            ::close(listener_);
            listener_ = -1;
        }
        if (thread_.joinable()) thread_.join();
    }

    const std::string& path() const { return path_; }
    std::atomic<int> connections{0};
    std::string last_request;

  private:
    Script script_;
    std::string dir_;
    std::string path_;
    int listener_ = -1;
    std::thread thread_;
};

void send_text(int fd, const std::string& text) {
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
}

std::string chunk(const std::string& data) {
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", data.size());
    return size + data + "\r\n";
}

const std::string kHeaders =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
const std::string kEvent = R"({"Type":"container","Action":"die","Actor":{"ID":"abc"}})"
                           "\n";

// Runs a watch on its own I/O thread.
struct Watching {
    monsys::asio::io_context io;
    std::shared_ptr<ContainerEventWatch> watch;
    std::thread thread;

    Watching(const std::string& socket, ContainerEventWatch::Options options) {
        DockerSettings settings;
        settings.socket_path = socket;
        settings.timeout = 1000ms;
        watch = ContainerEventWatch::start(io.get_executor(), settings, options);
        thread = std::thread([this] { io.run(); });
    }
    ~Watching() {
        watch->stop();
        io.stop();
        thread.join();
    }
};

ContainerEventWatch::Options fast_options() {
    ContainerEventWatch::Options options;
    options.settle = 10000ms;  // long: these tests want headers to be what makes a stream live
    options.first_retry = 50ms;
    options.max_retry = 100ms;
    return options;
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit = 3000ms) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::sleep_for(5ms);
    }
    return condition();
}

}  // namespace

TEST_CASE("container event watch: live once the engine answers, every event moves the generation") {
    std::atomic<bool> send_event{false};
    std::atomic<bool> close_now{false};
    FakeEngine engine([&](int fd, const std::string&) {
        send_text(fd, kHeaders);
        wait_until_set(send_event);
        send_text(fd, chunk(kEvent));
        wait_until_set(close_now);
    });
    engine.listen();
    Watching watching(engine.path(), fast_options());
    REQUIRE(wait_for([&] { return watching.watch->snapshot().live; }));
    EventStreamSnapshot live = watching.watch->snapshot();
    // Only container events are asked for.
    CHECK(engine.last_request.rfind("GET /events?filters=", 0) == 0);
    CHECK(engine.last_request.find("%22type%22%3A%5B%22container%22%5D") != std::string::npos);

    std::this_thread::sleep_for(100ms);
    CHECK(watching.watch->snapshot().generation == live.generation);  // silence changes nothing

    send_event = true;
    REQUIRE(wait_for([&] { return watching.watch->snapshot().generation != live.generation; }));
    CHECK(watching.watch->snapshot().live);

    close_now = true;  // the engine goes away: not live, and a list made before must not stand
    REQUIRE(wait_for([&] { return !watching.watch->snapshot().live; }));
}

TEST_CASE(
    "container event watch: a stream that stays silent counts as live after the settle time") {
    // Podman sends no headers until its first event.
    std::atomic<bool> release{false};
    FakeEngine engine([&](int, const std::string&) { wait_until_set(release); });
    engine.listen();
    auto options = fast_options();
    options.settle = 200ms;
    Watching watching(engine.path(), options);
    std::this_thread::sleep_for(100ms);
    CHECK_FALSE(watching.watch->snapshot().live);
    CHECK(wait_for([&] { return watching.watch->snapshot().live; }));
    release = true;
}

TEST_CASE("container event watch: refusals and garbage are never live, and it tries again") {
    std::string reply;
    SUBCASE("an error status") {
        reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\n{}";
    }
    SUBCASE("not HTTP") {
        reply = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
    }
    SUBCASE("headers larger than the cap") {
        reply = "HTTP/1.1 200 OK\r\nX-Junk: " + std::string(70 * 1024, 'a') + "\r\n\r\n";
    }
    SUBCASE("the engine hangs up at once") {
        reply = "";
    }
    FakeEngine engine([&](int fd, const std::string&) {
        if (!reply.empty()) ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    });
    engine.listen();
    Watching watching(engine.path(), fast_options());
    REQUIRE(wait_for([&] { return engine.connections >= 3; }));
    CHECK_FALSE(watching.watch->snapshot().live);
}

TEST_CASE("container event watch: an endless chunk header ends the stream, it does not grow") {
    FakeEngine engine([&](int fd, const std::string&) {
        send_text(fd, kHeaders);
        std::string endless = "1;ext=" + std::string(64 * 1024, 'a');
        for (int i = 0; i < 8 && !engine_stopping; ++i) {
            if (::send(fd, endless.data(), endless.size(), MSG_NOSIGNAL) < 0) return;
        }
        wait_until_set(engine_stopping);
    });
    engine.listen();
    Watching watching(engine.path(), fast_options());
    // Live after the headers, then dropped: it reconnects, so the engine sees a second request.
    CHECK(wait_for([&] { return engine.connections >= 2; }));
}

TEST_CASE("container event watch: no socket yet, then an engine: it connects by itself") {
    FakeEngine engine([&](int fd, const std::string&) {
        send_text(fd, kHeaders);
        std::this_thread::sleep_for(500ms);
    });
    Watching watching(engine.path(), fast_options());
    std::this_thread::sleep_for(150ms);
    CHECK_FALSE(watching.watch->snapshot().live);
    engine.listen();
    CHECK(wait_for([&] { return watching.watch->snapshot().live; }));
}

TEST_CASE("container event watch: stop ends the stream and it stays down") {
    FakeEngine engine([&](int fd, const std::string&) {
        send_text(fd, kHeaders);
        char byte;
        (void)::read(fd, &byte, 1);  // until the watch closes its end
    });
    engine.listen();
    Watching watching(engine.path(), fast_options());
    REQUIRE(wait_for([&] { return watching.watch->snapshot().live; }));
    watching.watch->stop();
    REQUIRE(wait_for([&] { return !watching.watch->snapshot().live; }));
    std::this_thread::sleep_for(300ms);
    CHECK(engine.connections == 1);
}
