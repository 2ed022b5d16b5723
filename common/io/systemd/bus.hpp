#pragma once
// A thin, blocking sd-bus adapter: a bus opened by kind, method calls that always carry an
// explicit timeout, property reads, and signal matches. Errors come back as values.
//
// Blocking is deliberate: monsys-action is a one-shot process, and the agent runs these calls on
// a worker thread, never on its reactor. fd()/events()/next_timeout() expose what an Asio pump
// needs (sdbusplus style) should the agent want one later.
#include <systemd/sd-bus.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/util/expected.hpp"

namespace monsys::io {

struct SystemdBusSettings {
    enum class Kind { system, user } kind = Kind::system;
    // Applies to every single method call (sd_bus_call's usec) and to the connection handshake.
    std::chrono::milliseconds call_timeout{5000};
};

const char* to_string(SystemdBusSettings::Kind kind);

namespace systemd {

// A failed call: the D-Bus error name (e.g. "org.freedesktop.systemd1.NoSuchUnit") when the peer
// sent one, and a human message (systemd's own text, e.g. "Unit foo.service not found.").
struct BusError {
    std::string name;  // empty for local failures (connect, timeout, decode)
    std::string message;
    int errno_value = 0;  // positive errno, 0 if unknown
};

// "name: message", or just the message when there is no name.
std::string describe(const BusError& error);

// Builds a BusError from a negative sd-bus return value and the sd_bus_error it filled, if any.
BusError make_bus_error(int negative_errno, const sd_bus_error* error, const char* what);

// Well-known names of the systemd manager.
inline constexpr const char* kSystemdService = "org.freedesktop.systemd1";
inline constexpr const char* kManagerPath = "/org/freedesktop/systemd1";
inline constexpr const char* kManagerInterface = "org.freedesktop.systemd1.Manager";
inline constexpr const char* kUnitInterface = "org.freedesktop.systemd1.Unit";
inline constexpr const char* kServiceInterface = "org.freedesktop.systemd1.Service";
inline constexpr const char* kPropertiesInterface = "org.freedesktop.DBus.Properties";

// Owns one sd_bus_message reference.
class Message {
  public:
    Message() = default;
    explicit Message(sd_bus_message* adopted) : m_(adopted) {}
    Message(Message&& other) noexcept : m_(std::exchange(other.m_, nullptr)) {}
    Message& operator=(Message&& other) noexcept;
    Message(const Message&) = delete;
    Message& operator=(const Message&) = delete;
    ~Message();

    sd_bus_message* get() const { return m_; }
    explicit operator bool() const { return m_ != nullptr; }

  private:
    sd_bus_message* m_ = nullptr;
};

// Runs for each signal that matches; the message is only valid during the call.
using SignalHandler = std::function<void(sd_bus_message*)>;

// Owns one match: the sd_bus_slot and its handler. Destroying it removes the match.
class Slot {
  public:
    Slot() = default;
    Slot(sd_bus_slot* adopted, std::unique_ptr<SignalHandler> handler)
        : s_(adopted), handler_(std::move(handler)) {}
    Slot(Slot&& other) noexcept
        : s_(std::exchange(other.s_, nullptr)), handler_(std::move(other.handler_)) {}
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

  private:
    sd_bus_slot* s_ = nullptr;
    std::unique_ptr<SignalHandler> handler_;  // its address is what sd-bus holds as userdata
};

// Identifies one method: destination, object path, interface, member.
struct MethodRef {
    const char* destination;
    const char* path;
    const char* interface;
    const char* member;
};

inline MethodRef manager_method(const char* member) {
    return {kSystemdService, kManagerPath, kManagerInterface, member};
}

// Owns one bus connection (closed without a flush on destruction).
class Bus {
  public:
    // Opens the system bus or the user bus (sd_bus_open_user honours DBUS_SESSION_BUS_ADDRESS).
    static Expected<Bus, BusError> open(const SystemdBusSettings& settings);

    Bus(Bus&& other) noexcept;
    Bus& operator=(Bus&& other) noexcept;
    Bus(const Bus&) = delete;
    Bus& operator=(const Bus&) = delete;
    ~Bus();

    sd_bus* get() const { return bus_; }
    std::chrono::milliseconds call_timeout() const { return call_timeout_; }
    // Lowers or raises the timeout of the following calls (e.g. to fit an overall deadline).
    void set_call_timeout(std::chrono::milliseconds timeout) { call_timeout_ = timeout; }

    // Calls a method with arguments appended per `types` (sd_bus_message_append syntax: pass
    // C strings, not std::string) and waits at most call_timeout() for the reply. Signals that
    // arrive meanwhile are queued and dispatched by the next process()/wait_until().
    template <class... Args>
    Expected<Message, BusError> call(const MethodRef& method, const char* types, Args... args) {
        auto request = new_method_call(method);
        if (!request) return unexpected(std::move(request.error()));
        if (types != nullptr && *types != '\0') {
            int r = sd_bus_message_append(request->get(), types, args...);
            if (r < 0) return unexpected(make_bus_error(r, nullptr, "append arguments"));
        }
        return call(*request);
    }
    Expected<Message, BusError> call(const MethodRef& method) { return call(method, nullptr); }
    // Sends a prepared method call, waiting at most call_timeout().
    Expected<Message, BusError> call(Message& request);
    Expected<Message, BusError> new_method_call(const MethodRef& method);

    // Adds a match for a signal (installed synchronously, so no signal sent after this returns
    // is missed); `handler` runs from wait_until()/process_one() for each match. The match lives
    // as long as the returned Slot, which must not outlive the Bus. nullptr = any.
    Expected<Slot, BusError> match_signal(const char* sender, const char* path,
                                          const char* interface, const char* member,
                                          SignalHandler handler);

    // Dispatches everything queued, then waits for traffic until `done()` is true or the
    // deadline passes. Returns true when done() became true, false on deadline; a bus failure
    // is an error.
    Expected<bool, BusError> wait_until(std::chrono::steady_clock::time_point deadline,
                                        const std::function<bool()>& done);

    // For an event-loop pump: the descriptor, the events to wait for, the absolute
    // CLOCK_MONOTONIC timeout in microseconds (UINT64_MAX = none), and one dispatch round.
    int fd() const { return sd_bus_get_fd(bus_); }
    int events() const { return sd_bus_get_events(bus_); }
    std::uint64_t next_timeout() const;
    Expected<bool, BusError> process_one();

  private:
    Bus(sd_bus* bus, std::chrono::milliseconds call_timeout)
        : bus_(bus), call_timeout_(call_timeout) {}

    sd_bus* bus_ = nullptr;
    std::chrono::milliseconds call_timeout_;
};

// Property reads (org.freedesktop.DBus.Properties.Get) with the bus's call timeout.
Expected<std::string, BusError> get_string_property(Bus& bus, const char* destination,
                                                    const char* path, const char* interface,
                                                    const char* property);
Expected<std::uint32_t, BusError> get_u32_property(Bus& bus, const char* destination,
                                                   const char* path, const char* interface,
                                                   const char* property);
Expected<std::uint64_t, BusError> get_u64_property(Bus& bus, const char* destination,
                                                   const char* path, const char* interface,
                                                   const char* property);
// An array-of-strings property ("as"), e.g. a unit's Names. More than `max_items` entries is
// an error (E2BIG), not a silent cut: a caller that judges every entry must see them all.
Expected<std::vector<std::string>, BusError> get_string_array_property(
    Bus& bus, const char* destination, const char* path, const char* interface,
    const char* property, std::size_t max_items = 1024);

// Reads one basic value from a reply (type: 's', 'o', 'u', 't', 'b', ...).
Expected<std::string, BusError> read_string(Message& reply, char type = 's');

}  // namespace systemd
}  // namespace monsys::io
