// AsyncBus without a bus daemon: a socket that is missing, and one that accepts and never
// answers. The pump, the handshake bound, the error path of calls and the back-off run for real.
#include "common/io/systemd/async_bus.hpp"

#include <doctest/doctest.h>

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "common/io/systemd/reconnect_delay.hpp"
#include "tests/unit/run_until.hpp"

using namespace monsys;
using namespace monsys::io::systemd;
using namespace std::chrono_literals;

namespace {

// Points DBUS_SESSION_BUS_ADDRESS at `path` for the lifetime of the object.
class SessionBusAddress {
  public:
    explicit SessionBusAddress(const std::string& path) {
        if (const char* saved = std::getenv("DBUS_SESSION_BUS_ADDRESS")) previous_ = saved;
        ::setenv("DBUS_SESSION_BUS_ADDRESS", ("unix:path=" + path).c_str(), 1);
    }
    ~SessionBusAddress() {
        if (previous_) {
            ::setenv("DBUS_SESSION_BUS_ADDRESS", previous_->c_str(), 1);
        } else {
            ::unsetenv("DBUS_SESSION_BUS_ADDRESS");
        }
    }

  private:
    std::optional<std::string> previous_;
};

struct TempDirectory {
    std::string path;
    TempDirectory() {
        char name[] = "/tmp/monsys-async-bus-XXXXXX";
        REQUIRE(::mkdtemp(name) != nullptr);
        path = name;
    }
    ~TempDirectory() { std::filesystem::remove_all(path); }
};

io::SystemdBusSettings user_bus(std::chrono::milliseconds timeout) {
    io::SystemdBusSettings settings;
    settings.kind = io::SystemdBusSettings::Kind::user;
    settings.call_timeout = timeout;
    return settings;
}

}  // namespace

TEST_CASE("reconnect delay: 1 s doubling to 30 s, drawn from the upper half") {
    CHECK(reconnect_delay(1, 0.0) == 500ms);
    CHECK(reconnect_delay(1, 0.999) <= 1000ms);
    CHECK(reconnect_delay(2, 0.0) == 1000ms);
    CHECK(reconnect_delay(3, 0.5) == 3000ms);
    CHECK(reconnect_delay(6, 0.0) == 15000ms);  // ceiling 30 s, not 32
    CHECK(reconnect_delay(1000, 0.999) <= 30000ms);
    CHECK(reconnect_delay(1000, 0.0) == 15000ms);
}

TEST_CASE("async bus: a missing socket fails calls at once and keeps trying in the background") {
    TempDirectory dir;
    SessionBusAddress address(dir.path + "/no-such-bus");
    asio::io_context io;
    bool connected = false;
    auto bus = AsyncBus::create(
        io.get_executor(), user_bus(500ms), [&connected] { connected = true; },
        ReconnectPolicy{100ms, 200ms});
    bus->start();
    std::optional<CallResult> result;
    std::chrono::steady_clock::duration took{};
    const auto started = std::chrono::steady_clock::now();
    bus->call(
        manager_method("ListUnitsByNames"),
        [&](CallResult r) {
            took = std::chrono::steady_clock::now() - started;
            result = std::move(r);
        },
        std::vector<std::string>{"a.service"});
    // About 1 s at 50-200 ms per retry; a loaded machine's timers may take longer.
    REQUIRE(monsys::test::run_until(
        io, [&] { return result && bus->connect_attempts() >= 4; }, 10s));
    REQUIRE(result);
    REQUIRE_FALSE(*result);
    CHECK(result->error().message.find("cannot connect to the user bus") != std::string::npos);
    CHECK(took < 2s);
    CHECK_FALSE(connected);
    CHECK(bus->connect_attempts() >= 4);
    bus->stop();
}

TEST_CASE("async bus: a bus that never answers the handshake fails the calls within the timeout") {
    TempDirectory dir;
    const std::string path = dir.path + "/bus";
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_un socket_address{};
    socket_address.sun_family = AF_UNIX;
    std::memcpy(socket_address.sun_path, path.c_str(), path.size());
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&socket_address), sizeof socket_address) ==
            0);
    REQUIRE(::listen(listener, 16) == 0);  // connections queue; nobody ever answers them
    SessionBusAddress address(path);

    asio::io_context io;
    bool connected = false;
    auto bus = AsyncBus::create(
        io.get_executor(), user_bus(300ms), [&connected] { connected = true; },
        ReconnectPolicy{100ms, 200ms});
    bus->start();
    std::optional<CallResult> result;
    std::chrono::steady_clock::duration took{};
    const auto started = std::chrono::steady_clock::now();
    // Made while the bus is opening: it waits in sd-bus's queue, then fails with the handshake.
    bus->call(manager_method("Subscribe"), [&](CallResult r) {
        took = std::chrono::steady_clock::now() - started;
        result = std::move(r);
    });
    // About 1.5 s: the handshake timeout, then retries at 50-200 ms, each timing out again.
    const bool retried = monsys::test::run_until(
        io, [&] { return result && bus->connect_attempts() >= 3; }, 10s);
    ::close(listener);

    REQUIRE(retried);
    REQUIRE(result);
    REQUIRE_FALSE(*result);
    CHECK(result->error().message.find("did not complete its handshake within 300 ms") !=
          std::string::npos);
    CHECK(took >= 250ms);
    CHECK(took < 2s);
    CHECK_FALSE(connected);
    CHECK(bus->connect_attempts() >= 3);
    REQUIRE(bus->last_error());
}

TEST_CASE("async bus: stop completes a pending call with an error, once, and stops retrying") {
    TempDirectory dir;
    const std::string path = dir.path + "/bus";
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_un socket_address{};
    socket_address.sun_family = AF_UNIX;
    std::memcpy(socket_address.sun_path, path.c_str(), path.size());
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&socket_address), sizeof socket_address) ==
            0);
    REQUIRE(::listen(listener, 16) == 0);
    SessionBusAddress address(path);

    asio::io_context io;
    auto bus = AsyncBus::create(io.get_executor(), user_bus(5000ms), [] {});
    bus->start();
    int calls = 0;
    std::optional<CallResult> result;
    bus->call(manager_method("Subscribe"), [&](CallResult r) {
        ++calls;
        result = std::move(r);
    });
    io.run_for(100ms);
    CHECK(calls == 0);
    bus->stop();
    io.run_for(300ms);
    ::close(listener);
    CHECK(calls == 1);
    REQUIRE(result);
    CHECK_FALSE(*result);
    CHECK(bus->connect_attempts() == 1);
    // After stop, a call fails at once (and still completes exactly once).
    bus->call(manager_method("Subscribe"), [&](CallResult r) {
        ++calls;
        CHECK_FALSE(r);
    });
    io.restart();
    io.run_for(100ms);
    CHECK(calls == 2);
}
