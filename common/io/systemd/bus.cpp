#include "common/io/systemd/bus.hpp"

#include <cerrno>
#include <cstring>
#include <type_traits>

namespace monsys::io {

const char* to_string(SystemdBusSettings::Kind kind) {
    return kind == SystemdBusSettings::Kind::user ? "user" : "system";
}

namespace systemd {

namespace {

std::uint64_t to_usec(std::chrono::milliseconds timeout) {
    return timeout.count() <= 0 ? 1 : static_cast<std::uint64_t>(timeout.count()) * 1000U;
}

// sd-bus calls this for each matching signal; userdata is the Slot's SignalHandler.
int dispatch_signal(sd_bus_message* message, void* userdata, sd_bus_error* /*error*/) {
    (*static_cast<SignalHandler*>(userdata))(message);
    return 0;
}

}  // namespace

std::string describe(const BusError& error) {
    if (error.name.empty()) return error.message;
    return error.name + ": " + error.message;
}

BusError make_bus_error(int negative_errno, const sd_bus_error* error, const char* what) {
    BusError result;
    result.errno_value = negative_errno < 0 ? -negative_errno : negative_errno;
    if (error != nullptr && sd_bus_error_is_set(error)) {
        result.name = error->name;
        if (error->message != nullptr) result.message = error->message;
    }
    if (result.message.empty()) {
        result.message = std::string(what) + ": " + std::strerror(result.errno_value);
    }
    if (result.name.empty() && result.errno_value == ETIMEDOUT) {
        result.message = std::string(what) + ": no reply within the timeout";
    }
    return result;
}

Message& Message::operator=(Message&& other) noexcept {
    if (this != &other) {
        sd_bus_message_unref(m_);
        m_ = std::exchange(other.m_, nullptr);
    }
    return *this;
}

Message::~Message() {
    sd_bus_message_unref(m_);
}

Slot& Slot::operator=(Slot&& other) noexcept {
    if (this != &other) {
        sd_bus_slot_unref(s_);
        s_ = std::exchange(other.s_, nullptr);
        handler_ = std::move(other.handler_);
    }
    return *this;
}

Slot::~Slot() {
    sd_bus_slot_unref(s_);
}

Expected<Bus, BusError> Bus::open(const SystemdBusSettings& settings) {
    sd_bus* bus = nullptr;
    const bool user = settings.kind == SystemdBusSettings::Kind::user;
    int r = user ? sd_bus_open_user(&bus) : sd_bus_open_system(&bus);
    if (r < 0) {
        return unexpected(make_bus_error(
            r, nullptr,
            user ? "cannot connect to the user bus" : "cannot connect to the system bus"));
    }
    // Also bounds calls made inside sd-bus itself (e.g. the Hello during the handshake).
    sd_bus_set_method_call_timeout(bus, to_usec(settings.call_timeout));
    Bus opened(bus, settings.call_timeout);
    // The authentication before the Hello has sd-bus's own, fixed 90 s limit: a bus daemon that
    // accepts the connection and then says nothing (seen while one was going away) would hold
    // the caller that long. Wait for the handshake here, within the call timeout.
    const auto deadline = std::chrono::steady_clock::now() + settings.call_timeout;
    auto ready = opened.wait_until(deadline, [bus] { return sd_bus_is_ready(bus) > 0; });
    if (!ready) {
        BusError error = std::move(ready.error());
        error.message = "bus handshake failed: " + error.message;
        return unexpected(std::move(error));
    }
    if (!*ready) {
        BusError error;
        error.errno_value = ETIMEDOUT;
        error.message = std::string(user ? "the user bus" : "the system bus") +
                        " did not complete its handshake within " +
                        std::to_string(settings.call_timeout.count()) + " ms";
        return unexpected(std::move(error));
    }
    return opened;
}

Bus::Bus(Bus&& other) noexcept
    : bus_(std::exchange(other.bus_, nullptr)), call_timeout_(other.call_timeout_) {}

Bus& Bus::operator=(Bus&& other) noexcept {
    if (this != &other) {
        sd_bus_close_unref(bus_);
        bus_ = std::exchange(other.bus_, nullptr);
        call_timeout_ = other.call_timeout_;
    }
    return *this;
}

Bus::~Bus() {
    // No flush: every message this program sends is a call whose reply it already waited for,
    // and a flush would wait (up to sd-bus's 90 s) on a bus daemon that stopped reading.
    sd_bus_close_unref(bus_);
}

Expected<Message, BusError> Bus::new_method_call(const MethodRef& method) {
    sd_bus_message* request = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &request, method.destination, method.path,
                                           method.interface, method.member);
    if (r < 0) return unexpected(make_bus_error(r, nullptr, method.member));
    return Message(request);
}

Expected<Message, BusError> Bus::call(Message& request) {
    sd_bus_error error = SD_BUS_ERROR_NULL;
    sd_bus_message* reply = nullptr;
    const char* member = sd_bus_message_get_member(request.get());
    int r = sd_bus_call(bus_, request.get(), to_usec(call_timeout_), &error, &reply);
    if (r < 0) {
        BusError failure = make_bus_error(r, &error, member != nullptr ? member : "call");
        sd_bus_error_free(&error);
        return unexpected(std::move(failure));
    }
    sd_bus_error_free(&error);
    return Message(reply);
}

Expected<Slot, BusError> Bus::match_signal(const char* sender, const char* path,
                                           const char* interface, const char* member,
                                           SignalHandler handler) {
    auto owned = std::make_unique<SignalHandler>(std::move(handler));
    sd_bus_slot* slot = nullptr;
    int r = sd_bus_match_signal(bus_, &slot, sender, path, interface, member, dispatch_signal,
                                owned.get());
    if (r < 0) return unexpected(make_bus_error(r, nullptr, "add signal match"));
    return Slot(slot, std::move(owned));
}

std::uint64_t Bus::next_timeout() const {
    std::uint64_t usec = UINT64_MAX;
    if (sd_bus_get_timeout(bus_, &usec) < 0) return UINT64_MAX;
    return usec;
}

Expected<bool, BusError> Bus::process_one() {
    int r = sd_bus_process(bus_, nullptr);
    if (r < 0) return unexpected(make_bus_error(r, nullptr, "process bus messages"));
    return r > 0;
}

Expected<bool, BusError> Bus::wait_until(std::chrono::steady_clock::time_point deadline,
                                         const std::function<bool()>& done) {
    for (;;) {
        // Drain everything already queued (including signals queued during sd_bus_call).
        for (;;) {
            auto progressed = process_one();
            if (!progressed) return unexpected(std::move(progressed.error()));
            if (done()) return true;
            if (!*progressed) break;
        }
        auto now = std::chrono::steady_clock::now();
        if (now >= deadline) return false;
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now);
        int r = sd_bus_wait(bus_, static_cast<std::uint64_t>(left.count()) + 1);
        if (r < 0 && r != -EINTR) return unexpected(make_bus_error(r, nullptr, "wait on the bus"));
    }
}

namespace {

template <class T>
Expected<T, BusError> get_basic_property(Bus& bus, const char* destination, const char* path,
                                         const char* interface, const char* property, char type) {
    auto reply = bus.call(MethodRef{destination, path, kPropertiesInterface, "Get"}, "ss",
                          interface, property);
    if (!reply) return unexpected(std::move(reply.error()));
    const char contents[2] = {type, '\0'};
    int r = sd_bus_message_enter_container(reply->get(), SD_BUS_TYPE_VARIANT, contents);
    if (r <= 0) {
        return unexpected(make_bus_error(r < 0 ? r : -EBADMSG, nullptr,
                                         (std::string("decode property ") + property).c_str()));
    }
    // Strings point into the reply, so they are copied before it goes away.
    using Raw = std::conditional_t<std::is_same_v<T, std::string>, const char*, T>;
    Raw value{};
    r = sd_bus_message_read_basic(reply->get(), type, &value);
    if (r <= 0) {
        return unexpected(make_bus_error(r < 0 ? r : -EBADMSG, nullptr,
                                         (std::string("decode property ") + property).c_str()));
    }
    if constexpr (std::is_same_v<T, std::string>) {
        return std::string(value != nullptr ? value : "");
    } else {
        return value;
    }
}

}  // namespace

Expected<std::string, BusError> get_string_property(Bus& bus, const char* destination,
                                                    const char* path, const char* interface,
                                                    const char* property) {
    return get_basic_property<std::string>(bus, destination, path, interface, property, 's');
}

Expected<std::uint32_t, BusError> get_u32_property(Bus& bus, const char* destination,
                                                   const char* path, const char* interface,
                                                   const char* property) {
    return get_basic_property<std::uint32_t>(bus, destination, path, interface, property, 'u');
}

Expected<std::uint64_t, BusError> get_u64_property(Bus& bus, const char* destination,
                                                   const char* path, const char* interface,
                                                   const char* property) {
    return get_basic_property<std::uint64_t>(bus, destination, path, interface, property, 't');
}

Expected<std::vector<std::string>, BusError> get_string_array_property(
    Bus& bus, const char* destination, const char* path, const char* interface,
    const char* property, std::size_t max_items) {
    auto reply = bus.call(MethodRef{destination, path, kPropertiesInterface, "Get"}, "ss",
                          interface, property);
    if (!reply) return unexpected(std::move(reply.error()));
    const std::string what = std::string("decode property ") + property;
    int r = sd_bus_message_enter_container(reply->get(), SD_BUS_TYPE_VARIANT, "as");
    if (r > 0) r = sd_bus_message_enter_container(reply->get(), SD_BUS_TYPE_ARRAY, "s");
    if (r <= 0) return unexpected(make_bus_error(r < 0 ? r : -EBADMSG, nullptr, what.c_str()));
    std::vector<std::string> items;
    for (;;) {
        const char* item = nullptr;
        r = sd_bus_message_read_basic(reply->get(), 's', &item);
        if (r < 0) return unexpected(make_bus_error(r, nullptr, what.c_str()));
        if (r == 0) break;
        if (items.size() == max_items) {
            return unexpected(make_bus_error(-E2BIG, nullptr, what.c_str()));
        }
        items.emplace_back(item != nullptr ? item : "");
    }
    return items;
}

Expected<std::string, BusError> read_string(Message& reply, char type) {
    const char* value = nullptr;
    int r = sd_bus_message_read_basic(reply.get(), type, &value);
    if (r <= 0) return unexpected(make_bus_error(r < 0 ? r : -EBADMSG, nullptr, "decode reply"));
    return std::string(value != nullptr ? value : "");
}

}  // namespace systemd
}  // namespace monsys::io
