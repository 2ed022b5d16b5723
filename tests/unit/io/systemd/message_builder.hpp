#pragma once
// Real sd_bus_messages for decoder tests, without a bus daemon: sd-bus creates messages only for
// a bus that has been started, so a bus is started on one end of a socketpair that nobody ever
// answers. A sealed message reads like one received.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "common/io/systemd/bus.hpp"

namespace monsys::testing {

class OfflineBus {
  public:
    OfflineBus() {
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds_) == 0);
        REQUIRE(sd_bus_new(&bus_) >= 0);
        REQUIRE(sd_bus_set_fd(bus_, fds_[0], fds_[0]) >= 0);
        REQUIRE(sd_bus_start(bus_) >= 0);
    }
    ~OfflineBus() {
        sd_bus_close_unref(bus_);  // closes fds_[0]
        ::close(fds_[1]);
    }
    OfflineBus(const OfflineBus&) = delete;
    OfflineBus& operator=(const OfflineBus&) = delete;

    io::systemd::Message method_call(const char* member = "Test") {
        sd_bus_message* message = nullptr;
        REQUIRE(sd_bus_message_new_method_call(bus_, &message, "org.example.Test", "/org/example",
                                               "org.example.Test", member) >= 0);
        return io::systemd::Message(message);
    }
    io::systemd::Message signal(const char* path, const char* interface, const char* member) {
        sd_bus_message* message = nullptr;
        REQUIRE(sd_bus_message_new_signal(bus_, &message, path, interface, member) >= 0);
        return io::systemd::Message(message);
    }
    // Seals a built message so that it can be read from its start.
    static void seal(io::systemd::Message& message) {
        REQUIRE(sd_bus_message_seal(message.get(), 1, 0) >= 0);
        REQUIRE(sd_bus_message_rewind(message.get(), 1) >= 0);
    }

  private:
    int fds_[2] = {-1, -1};
    sd_bus* bus_ = nullptr;
};

}  // namespace monsys::testing
