#include "common/io/systemd/async_bus.hpp"

#include <poll.h>

#include <cerrno>
#include <limits>

namespace monsys::io::systemd {

// What sd-bus holds (by address) as a match's userdata. A signal is posted to the executor and
// delivered only if the match (this state) and its bus are both still alive then.
struct AsyncMatch::State {
    SignalHandler handler;
    asio::any_io_executor executor;
    std::weak_ptr<State> self;
    std::weak_ptr<AsyncBus> bus;
};

namespace {

// Messages dispatched per turn before the pump yields to the other handlers of the io_context.
constexpr int kMaxDispatchPerTurn = 64;

std::uint64_t to_usec(std::chrono::milliseconds timeout) {
    return timeout.count() <= 0 ? 1 : static_cast<std::uint64_t>(timeout.count()) * 1000U;
}

BusError local_error(int errno_value, std::string message) {
    BusError error;
    error.errno_value = errno_value;
    error.message = std::move(message);
    return error;
}

int on_signal(sd_bus_message* message, void* userdata, sd_bus_error* /*error*/) {
    auto* state = static_cast<AsyncMatch::State*>(userdata);
    auto held = std::make_shared<Message>(sd_bus_message_ref(message));
    asio::post(state->executor, [weak = state->self, held] {
        auto alive = weak.lock();
        if (!alive) return;
        auto bus = alive->bus.lock();
        if (!bus || bus->stopped()) return;
        // sd-bus may have read into the body while matching arguments.
        sd_bus_message_rewind(held->get(), 1);
        alive->handler(held->get());
    });
    return 0;
}

}  // namespace

AsyncMatch::AsyncMatch(AsyncMatch&& other) noexcept
    : slot_(std::exchange(other.slot_, nullptr)), state_(std::move(other.state_)) {}

AsyncMatch& AsyncMatch::operator=(AsyncMatch&& other) noexcept {
    if (this != &other) {
        reset();
        slot_ = std::exchange(other.slot_, nullptr);
        state_ = std::move(other.state_);
    }
    return *this;
}

AsyncMatch::~AsyncMatch() {
    reset();
}

void AsyncMatch::reset() {
    // The slot goes first: sd-bus then no longer holds the state's address.
    sd_bus_slot_unref(std::exchange(slot_, nullptr));
    state_.reset();
}

std::shared_ptr<AsyncBus> AsyncBus::create(asio::any_io_executor executor,
                                           SystemdBusSettings settings,
                                           std::function<void()> on_connected,
                                           ReconnectPolicy policy) {
    return std::shared_ptr<AsyncBus>(
        new AsyncBus(std::move(executor), settings, std::move(on_connected), policy));
}

AsyncBus::AsyncBus(asio::any_io_executor executor, SystemdBusSettings settings,
                   std::function<void()> on_connected, ReconnectPolicy policy)
    : executor_(executor),
      settings_(settings),
      on_connected_(std::move(on_connected)),
      policy_(policy),
      descriptor_(executor),
      bus_timer_(executor),
      handshake_timer_(executor),
      reopen_timer_(executor),
      random_(std::random_device{}()) {}

AsyncBus::~AsyncBus() {
    // The executor may already be gone: pending handlers are dropped here, not posted.
    ++generation_;
    for (auto& [id, pending] : pending_) sd_bus_slot_unref(pending->slot);
    pending_.clear();
    if (descriptor_.is_open()) descriptor_.release();
    sd_bus_close_unref(bus_);
}

const char* AsyncBus::bus_label() const {
    return settings_.kind == SystemdBusSettings::Kind::user ? "the user bus" : "the system bus";
}

void AsyncBus::start() {
    if (state_ != State::idle) return;
    open();
}

void AsyncBus::stop() {
    if (state_ == State::stopped) return;
    state_ = State::stopped;
    on_connected_ = nullptr;
    reopen_timer_.cancel();
    close_connection(local_error(ECANCELED, std::string(bus_label()) + " connection was closed"));
}

void AsyncBus::force_reconnect() {
    if (state_ == State::idle || state_ == State::stopped) return;
    if (state_ == State::waiting) {
        reopen_timer_.cancel();
        schedule_reopen(std::chrono::milliseconds(0));
        return;
    }
    lose(local_error(ECONNRESET, std::string(bus_label()) + " connection was dropped on request"),
         true);
}

void AsyncBus::open() {
    ++connect_attempts_;
    const bool user = settings_.kind == SystemdBusSettings::Kind::user;
    sd_bus* bus = nullptr;
    // Neither blocks: they connect a non-blocking socket and queue the handshake.
    int r = user ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
    if (r < 0) {
        lose(make_bus_error(
                 r, nullptr,
                 user ? "cannot connect to the user bus" : "cannot connect to the system bus"),
             false);
        return;
    }
    sd_bus_set_method_call_timeout(bus, to_usec(settings_.call_timeout));
    int fd = sd_bus_get_fd(bus);
    boost::system::error_code ec;
    if (fd >= 0) descriptor_.assign(fd, ec);
    if (fd < 0 || ec) {
        sd_bus_close_unref(bus);
        lose(local_error(fd < 0 ? -fd : ec.value(),
                         std::string("cannot watch ") + bus_label() + "'s descriptor"),
             false);
        return;
    }
    bus_ = bus;
    state_ = State::opening;
    handshake_timer_.expires_after(settings_.call_timeout);
    handshake_timer_.async_wait(
        [weak = weak_from_this(), generation = generation_](const boost::system::error_code& e) {
            auto self = weak.lock();
            if (!self || e) return;
            self->handshake_timed_out(generation);
        });
    pump();
}

void AsyncBus::handshake_timed_out(std::uint64_t generation) {
    if (generation != generation_ || state_ != State::opening) return;
    lose(local_error(ETIMEDOUT, std::string(bus_label()) +
                                    " did not complete its handshake within " +
                                    std::to_string(settings_.call_timeout.count()) + " ms"),
         false);
}

void AsyncBus::pump() {
    if (bus_ == nullptr) return;
    for (int dispatched = 0;; ++dispatched) {
        if (dispatched == kMaxDispatchPerTurn) {
            // Let the other handlers run; the rest is dispatched from a fresh turn.
            asio::post(executor_, [weak = weak_from_this(), generation = generation_] {
                auto self = weak.lock();
                if (self && self->generation_ == generation) self->pump();
            });
            return;
        }
        int r = sd_bus_process(bus_, nullptr);
        if (r < 0) {
            lose(make_bus_error(r, nullptr,
                                (std::string(bus_label()) + " connection ended").c_str()),
                 false);
            return;
        }
        if (r == 0) break;
    }
    if (sd_bus_is_open(bus_) <= 0) {
        lose(local_error(ENOTCONN, std::string(bus_label()) + " connection was closed"), false);
        return;
    }
    if (state_ == State::opening && sd_bus_is_ready(bus_) > 0) after_handshake();
    arm();
}

void AsyncBus::after_handshake() {
    state_ = State::ready;
    failures_ = 0;
    handshake_timer_.cancel();
    asio::post(executor_, [weak = weak_from_this(), generation = generation_] {
        auto self = weak.lock();
        if (!self || self->generation_ != generation || self->state_ != State::ready) return;
        // A copy: the owner may stop() (and so clear on_connected_) from inside it.
        auto on_connected = self->on_connected_;
        if (on_connected) on_connected();
    });
}

void AsyncBus::arm() {
    if (bus_ == nullptr) return;
    int events = sd_bus_get_events(bus_);
    if (events < 0) {
        lose(make_bus_error(events, nullptr, "bus events"), false);
        return;
    }
    if ((events & POLLIN) != 0) wait_readable();
    if ((events & POLLOUT) != 0) wait_writable();
    arm_timer();
}

void AsyncBus::wait_readable() {
    if (reading_) return;
    reading_ = true;
    descriptor_.async_wait(
        asio::posix::stream_descriptor::wait_read,
        [weak = weak_from_this(), generation = generation_](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (!self || self->generation_ != generation) return;
            self->reading_ = false;
            if (ec) {
                self->lose(local_error(ec.value(), "waiting on the bus: " + ec.message()), false);
                return;
            }
            self->pump();
        });
}

void AsyncBus::wait_writable() {
    if (writing_) return;
    writing_ = true;
    descriptor_.async_wait(
        asio::posix::stream_descriptor::wait_write,
        [weak = weak_from_this(), generation = generation_](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (!self || self->generation_ != generation) return;
            self->writing_ = false;
            if (ec) {
                self->lose(local_error(ec.value(), "waiting on the bus: " + ec.message()), false);
                return;
            }
            self->pump();
        });
}

void AsyncBus::arm_timer() {
    std::uint64_t usec = UINT64_MAX;
    int r = sd_bus_get_timeout(bus_, &usec);
    if (r < 0) {
        lose(make_bus_error(r, nullptr, "bus timeout"), false);
        return;
    }
    // UINT64_MAX means no timeout; anything too large for the clock is as good as none.
    constexpr auto kMaxUsec =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::steady_clock::duration::max())
                                       .count() /
                                   2);
    if (usec == UINT64_MAX || usec > kMaxUsec) {
        if (bus_timer_armed_) {
            bus_timer_armed_ = false;
            bus_timer_.cancel();
        }
        return;
    }
    const std::chrono::steady_clock::time_point at(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::microseconds(usec)));
    if (bus_timer_armed_ && at == bus_timer_at_) return;
    bus_timer_armed_ = true;
    bus_timer_at_ = at;
    bus_timer_.expires_at(at);  // cancels an earlier wait: its handler sees operation_aborted
    bus_timer_.async_wait(
        [weak = weak_from_this(), generation = generation_](const boost::system::error_code& ec) {
            if (ec == asio::error::operation_aborted) return;
            auto self = weak.lock();
            if (!self || self->generation_ != generation) return;
            self->bus_timer_armed_ = false;
            self->pump();
        });
}

void AsyncBus::lose(BusError why, bool retry_at_once) {
    if (state_ == State::stopped) return;
    last_error_ = why;
    close_connection(why);
    state_ = State::waiting;
    if (retry_at_once) {
        schedule_reopen(std::chrono::milliseconds(0));
        return;
    }
    ++failures_;
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    schedule_reopen(reconnect_delay(failures_, uniform(random_), policy_));
}

void AsyncBus::close_connection(const BusError& why) {
    ++generation_;  // completions of this connection still queued are dropped
    reading_ = false;
    writing_ = false;
    bus_timer_armed_ = false;
    bus_timer_.cancel();
    handshake_timer_.cancel();
    // sd-bus owns the descriptor: Asio lets go of it without closing it.
    if (descriptor_.is_open()) descriptor_.release();
    auto abandoned = std::move(pending_);
    pending_.clear();
    for (auto& [id, pending] : abandoned) {
        sd_bus_slot_unref(pending->slot);  // cancels the call inside sd-bus
        post_result(std::move(pending->done), unexpected(why));
    }
    // No flush: a bus daemon that stopped reading would hold it (up to sd-bus's 90 s).
    sd_bus_close_unref(std::exchange(bus_, nullptr));
}

void AsyncBus::schedule_reopen(std::chrono::milliseconds delay) {
    reopen_timer_.expires_after(delay);
    reopen_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
        auto self = weak.lock();
        if (!self || ec || self->state_ != State::waiting) return;
        self->open();
    });
}

CallResult AsyncBus::new_method_call(const MethodRef& method) {
    if (bus_ == nullptr) {
        std::string message = std::string(bus_label()) + " is not connected";
        if (last_error_) message += ": " + last_error_->message;
        return unexpected(local_error(ENOTCONN, std::move(message)));
    }
    sd_bus_message* request = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &request, method.destination, method.path,
                                           method.interface, method.member);
    if (r < 0) return unexpected(make_bus_error(r, nullptr, method.member));
    return Message(request);
}

void AsyncBus::send(CallResult request, CallHandler done) {
    if (!request) {
        post_result(std::move(done), std::move(request));
        return;
    }
    const char* member = sd_bus_message_get_member(request->get());
    auto pending = std::make_unique<Pending>();
    pending->owner = this;
    pending->id = next_call_id_++;
    pending->member = member != nullptr ? member : "call";
    pending->done = std::move(done);
    int r = sd_bus_call_async(bus_, &pending->slot, request->get(), &AsyncBus::on_reply,
                              pending.get(), to_usec(settings_.call_timeout));
    if (r < 0) {
        post_result(std::move(pending->done),
                    unexpected(make_bus_error(r, nullptr, pending->member.c_str())));
        return;
    }
    pending_.emplace(pending->id, std::move(pending));
    arm();  // the request may wait for POLLOUT, and its deadline may be the next timeout
}

int AsyncBus::on_reply(sd_bus_message* reply, void* userdata, sd_bus_error* /*error*/) {
    auto* pending = static_cast<Pending*>(userdata);
    AsyncBus* owner = pending->owner;
    const std::uint64_t id = pending->id;
    if (sd_bus_message_is_method_error(reply, nullptr)) {
        // Also how sd-bus reports a timeout or a connection lost before the reply.
        int errno_value = sd_bus_message_get_errno(reply);
        owner->complete(id, unexpected(make_bus_error(-(errno_value > 0 ? errno_value : EIO),
                                                      sd_bus_message_get_error(reply),
                                                      pending->member.c_str())));
    } else {
        owner->complete(id, Message(sd_bus_message_ref(reply)));
    }
    return 0;  // `pending` is gone now
}

void AsyncBus::complete(std::uint64_t id, CallResult result) {
    auto found = pending_.find(id);
    if (found == pending_.end()) return;
    std::unique_ptr<Pending> pending = std::move(found->second);
    pending_.erase(found);
    // sd-bus holds its own reference while the callback runs, so this is safe from inside it.
    sd_bus_slot_unref(pending->slot);
    post_result(std::move(pending->done), std::move(result));
}

void AsyncBus::post_result(CallHandler done, CallResult result) {
    if (!done) return;
    auto held = std::make_shared<CallResult>(std::move(result));
    asio::post(executor_, [done = std::move(done), held] { done(std::move(*held)); });
}

template <class Install>
Expected<AsyncMatch, BusError> AsyncBus::install_match(SignalHandler handler, Install install) {
    if (bus_ == nullptr) {
        return unexpected(local_error(ENOTCONN, std::string(bus_label()) + " is not connected"));
    }
    auto state = std::make_shared<AsyncMatch::State>();
    state->handler = std::move(handler);
    state->executor = executor_;
    state->self = state;
    state->bus = weak_from_this();
    sd_bus_slot* slot = nullptr;
    // No install callback: if the bus daemon refuses the match (e.g. over its per-connection
    // quota), sd-bus closes the connection, and the owner adds its matches again on reconnect.
    int r = install(&slot, state.get());
    if (r < 0) return unexpected(make_bus_error(r, nullptr, "add signal match"));
    arm();
    return AsyncMatch(slot, std::move(state));
}

Expected<AsyncMatch, BusError> AsyncBus::match_signal(const char* sender, const char* path,
                                                      const char* interface, const char* member,
                                                      SignalHandler handler) {
    return install_match(std::move(handler), [&](sd_bus_slot** slot, void* userdata) {
        return sd_bus_match_signal_async(bus_, slot, sender, path, interface, member, on_signal,
                                         nullptr, userdata);
    });
}

Expected<AsyncMatch, BusError> AsyncBus::add_match(const std::string& rule, SignalHandler handler) {
    return install_match(std::move(handler), [&](sd_bus_slot** slot, void* userdata) {
        return sd_bus_add_match_async(bus_, slot, rule.c_str(), on_signal, nullptr, userdata);
    });
}

}  // namespace monsys::io::systemd
