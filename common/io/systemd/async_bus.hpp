#pragma once
// A persistent sd-bus connection driven by the caller's io_context, after sdbusplus's asio
// connection: the bus fd sits on an asio::posix::stream_descriptor, waited on for reading or
// writing as sd_bus_get_events() asks; a steady_timer follows sd_bus_get_timeout() (an absolute
// CLOCK_MONOTONIC time, which is what std::chrono::steady_clock counts); each wake-up drains
// sd_bus_process() until it has nothing left.
//
// Opening is asynchronous: sd_bus_open_user/system only connect a non-blocking socket and queue
// the authentication and the Hello; the handshake then runs on this pump, bounded by the call
// timeout with our own timer (sd-bus's own limit for it is 90 s).
//
// If the bus goes away (the peer closes, sd_bus_process fails, the handshake does not finish in
// time), every pending call completes with an error and the bus is opened again after
// 1 s doubling to 30 s, with jitter. The bus re-installs nothing by itself: each time a connection
// is ready it calls `on_connected`, where the owner adds its matches again and resyncs.
//
// Everything runs on the executor it was created with; handlers are posted to it, never run from
// inside sd_bus_process, so a handler may call back into the bus.
#include <systemd/sd-bus.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "common/io/asio.hpp"
#include "common/io/systemd/bus.hpp"
#include "common/io/systemd/reconnect_delay.hpp"
#include "common/io/systemd/typed_message.hpp"

namespace monsys::io::systemd {

using CallResult = Expected<Message, BusError>;
// Runs once on the executor with the reply (a method error reply is an error) or the failure.
using CallHandler = std::function<void(CallResult)>;

class AsyncBus;

// One signal match. Destroying it removes the match; its handler is not called afterwards, not
// even for a signal already received. A match belongs to the connection it was added on: after a
// reconnect it no longer fires, and the owner adds a new one from on_connected.
class AsyncMatch {
  public:
    AsyncMatch() = default;
    AsyncMatch(AsyncMatch&& other) noexcept;
    AsyncMatch& operator=(AsyncMatch&& other) noexcept;
    AsyncMatch(const AsyncMatch&) = delete;
    AsyncMatch& operator=(const AsyncMatch&) = delete;
    ~AsyncMatch();

    explicit operator bool() const { return slot_ != nullptr; }

    struct State;  // the handler and the executor it runs on (async_bus.cpp)

  private:
    friend class AsyncBus;
    AsyncMatch(sd_bus_slot* slot, std::shared_ptr<State> state)
        : slot_(slot), state_(std::move(state)) {}
    void reset();

    sd_bus_slot* slot_ = nullptr;
    std::shared_ptr<State> state_;  // what sd-bus holds as userdata (by address)
};

class AsyncBus : public std::enable_shared_from_this<AsyncBus> {
  public:
    // Nothing happens until start(). `on_connected` runs on the executor each time a connection
    // has completed its handshake (the first one included).
    static std::shared_ptr<AsyncBus> create(asio::any_io_executor executor,
                                            SystemdBusSettings settings,
                                            std::function<void()> on_connected,
                                            ReconnectPolicy policy = {});
    ~AsyncBus();
    AsyncBus(const AsyncBus&) = delete;
    AsyncBus& operator=(const AsyncBus&) = delete;

    // Opens the bus (from a posted handler: start() itself returns at once).
    void start();
    // Closes the bus and stops reconnecting. Pending calls complete with an error; on_connected
    // and match handlers do not run any more.
    void stop();

    // True while a connection has completed its handshake.
    bool connected() const { return state_ == State::ready; }
    bool stopped() const { return state_ == State::stopped; }
    // Opening attempts so far (the first one included).
    std::uint64_t connect_attempts() const { return connect_attempts_; }
    // Why the last connection ended or failed, if one did.
    const std::optional<BusError>& last_error() const { return last_error_; }

    // Calls a method with typed arguments (typed_message.hpp), bounded by the settings'
    // call_timeout. While the bus is opening, the call waits in sd-bus's queue (bounded by the
    // handshake's limit, then its own); while it is down between attempts, `done` gets an error
    // at once.
    template <class... Args>
    void call(const MethodRef& method, CallHandler done, const Args&... args) {
        auto request = new_method_call(method);
        if (request) {
            int r = append_all(request->get(), args...);
            if (r < 0) request = unexpected(make_bus_error(r, nullptr, "append arguments"));
        }
        send(std::move(request), std::move(done));
    }

    // Adds a match for a signal (nullptr = any), installed asynchronously (AddMatch is queued
    // before any call made after this returns, so the bus daemon applies it first). `handler`
    // runs on the executor; the message is valid during the call and read from its start.
    Expected<AsyncMatch, BusError> match_signal(const char* sender, const char* path,
                                                const char* interface, const char* member,
                                                SignalHandler handler);

    // The same for a full match rule (e.g. with path_namespace=, which match_signal lacks).
    Expected<AsyncMatch, BusError> add_match(const std::string& rule, SignalHandler handler);

    // Drops the connection as if the bus had gone away and opens a new one at once (no back-off
    // wait). For tests of the reconnect path, and for an owner that knows the bus is wedged.
    void force_reconnect();

  private:
    enum class State { idle, opening, ready, waiting, stopped };
    struct Pending {
        AsyncBus* owner = nullptr;
        std::uint64_t id = 0;
        sd_bus_slot* slot = nullptr;
        std::string member;  // for error messages
        CallHandler done;
    };

    AsyncBus(asio::any_io_executor executor, SystemdBusSettings settings,
             std::function<void()> on_connected, ReconnectPolicy policy);

    CallResult new_method_call(const MethodRef& method);
    void send(CallResult request, CallHandler done);
    static int on_reply(sd_bus_message* reply, void* userdata, sd_bus_error* error);
    void complete(std::uint64_t id, CallResult result);
    void post_result(CallHandler done, CallResult result);
    // Installs a match through `install` (sd_bus_match_signal_async or sd_bus_add_match_async).
    template <class Install>
    Expected<AsyncMatch, BusError> install_match(SignalHandler handler, Install install);

    void open();
    void pump();
    void arm();
    void wait_readable();
    void wait_writable();
    void arm_timer();
    void after_handshake();
    void handshake_timed_out(std::uint64_t generation);
    void lose(BusError why, bool retry_at_once);
    void close_connection(const BusError& why);
    void schedule_reopen(std::chrono::milliseconds delay);
    const char* bus_label() const;

    asio::any_io_executor executor_;
    SystemdBusSettings settings_;
    std::function<void()> on_connected_;
    ReconnectPolicy policy_;

    State state_ = State::idle;
    sd_bus* bus_ = nullptr;
    asio::posix::stream_descriptor descriptor_;
    asio::steady_timer bus_timer_;        // sd_bus_get_timeout
    asio::steady_timer handshake_timer_;  // our bound on the handshake
    asio::steady_timer reopen_timer_;     // the back-off wait
    bool reading_ = false;
    bool writing_ = false;
    bool bus_timer_armed_ = false;
    std::chrono::steady_clock::time_point bus_timer_at_{};
    // Bumped whenever a connection ends, so completions of the old one are recognised and dropped.
    std::uint64_t generation_ = 0;

    std::map<std::uint64_t, std::unique_ptr<Pending>> pending_;
    std::uint64_t next_call_id_ = 1;
    std::uint32_t failures_ = 0;
    std::uint64_t connect_attempts_ = 0;
    std::optional<BusError> last_error_;
    std::minstd_rand random_;
};

}  // namespace monsys::io::systemd
