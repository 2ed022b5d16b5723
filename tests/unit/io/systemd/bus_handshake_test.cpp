// Bus::open against a "bus" that accepts the connection and never answers: the handshake is
// bounded by the call timeout, not by sd-bus's own 90 s.
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

#include "common/io/systemd/bus.hpp"

using monsys::io::SystemdBusSettings;
using monsys::io::systemd::Bus;

TEST_CASE("bus: a bus daemon that never answers the handshake gives up within the call timeout") {
    char dir_template[] = "/tmp/monsys-silent-bus-XXXXXX";
    REQUIRE(::mkdtemp(dir_template) != nullptr);
    const std::string path = std::string(dir_template) + "/bus";
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size());
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener, 4) == 0);  // connections queue; nobody ever answers them

    const char* saved = std::getenv("DBUS_SESSION_BUS_ADDRESS");
    std::optional<std::string> previous = saved ? std::optional<std::string>(saved) : std::nullopt;
    ::setenv("DBUS_SESSION_BUS_ADDRESS", ("unix:path=" + path).c_str(), 1);

    SystemdBusSettings settings;
    settings.kind = SystemdBusSettings::Kind::user;
    settings.call_timeout = std::chrono::milliseconds(300);
    const auto started = std::chrono::steady_clock::now();
    auto bus = Bus::open(settings);
    const auto took = std::chrono::steady_clock::now() - started;

    if (previous) {
        ::setenv("DBUS_SESSION_BUS_ADDRESS", previous->c_str(), 1);
    } else {
        ::unsetenv("DBUS_SESSION_BUS_ADDRESS");
    }
    ::close(listener);
    std::filesystem::remove_all(dir_template);

    REQUIRE_FALSE(bus);
    CHECK(bus.error().message.find("did not complete its handshake") != std::string::npos);
    CHECK(took < std::chrono::seconds(5));
}
