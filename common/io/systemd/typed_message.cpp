#include "common/io/systemd/typed_message.hpp"

#include <cerrno>

namespace monsys::io::systemd {
namespace {

// An "as" argument read through read_one<> (no cap given) holds at most this many strings.
constexpr std::size_t kDefaultMaxStrings = 4096;

BusError decode_error(int r, const char* what) {
    return make_bus_error(r < 0 ? r : -EBADMSG, nullptr, what);
}

template <class Raw>
Expected<Raw, BusError> read_basic(sd_bus_message* message, char type) {
    Raw value{};
    int r = sd_bus_message_read_basic(message, type, &value);
    if (r <= 0) return unexpected(decode_error(r, "decode message"));
    return value;
}

}  // namespace

int append_one(sd_bus_message* message, const std::string& value) {
    return sd_bus_message_append_basic(message, 's', value.c_str());
}

int append_one(sd_bus_message* message, const char* value) {
    return sd_bus_message_append_basic(message, 's', value != nullptr ? value : "");
}

int append_one(sd_bus_message* message, const ObjectPath& value) {
    return sd_bus_message_append_basic(message, 'o', value.value.c_str());
}

int append_one(sd_bus_message* message, bool value) {
    int as_int = value ? 1 : 0;  // D-Bus booleans travel as 32-bit integers
    return sd_bus_message_append_basic(message, 'b', &as_int);
}

int append_one(sd_bus_message* message, std::int32_t value) {
    return sd_bus_message_append_basic(message, 'i', &value);
}

int append_one(sd_bus_message* message, std::uint32_t value) {
    return sd_bus_message_append_basic(message, 'u', &value);
}

int append_one(sd_bus_message* message, std::uint64_t value) {
    return sd_bus_message_append_basic(message, 't', &value);
}

int append_one(sd_bus_message* message, const std::vector<std::string>& values) {
    int r = sd_bus_message_open_container(message, 'a', "s");
    for (std::size_t i = 0; r >= 0 && i < values.size(); ++i) {
        r = sd_bus_message_append_basic(message, 's', values[i].c_str());
    }
    return r < 0 ? r : sd_bus_message_close_container(message);
}

template <class T>
Expected<T, BusError> read_one(sd_bus_message* message) {
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, ObjectPath>) {
        constexpr char type = std::is_same_v<T, std::string> ? 's' : 'o';
        // The string points into the message, so it is copied before the message goes away.
        auto raw = read_basic<const char*>(message, type);
        if (!raw) return unexpected(std::move(raw.error()));
        std::string value(*raw != nullptr ? *raw : "");
        if constexpr (std::is_same_v<T, std::string>) {
            return value;
        } else {
            return ObjectPath{std::move(value)};
        }
    } else if constexpr (std::is_same_v<T, bool>) {
        auto raw = read_basic<int>(message, 'b');
        if (!raw) return unexpected(std::move(raw.error()));
        return *raw != 0;
    } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        return read_strings(message, kDefaultMaxStrings);
    } else {
        return read_basic<T>(message, signature_of<T>()[0]);
    }
}

template Expected<std::string, BusError> read_one<std::string>(sd_bus_message*);
template Expected<ObjectPath, BusError> read_one<ObjectPath>(sd_bus_message*);
template Expected<bool, BusError> read_one<bool>(sd_bus_message*);
template Expected<std::int32_t, BusError> read_one<std::int32_t>(sd_bus_message*);
template Expected<std::uint32_t, BusError> read_one<std::uint32_t>(sd_bus_message*);
template Expected<std::uint64_t, BusError> read_one<std::uint64_t>(sd_bus_message*);
template Expected<std::vector<std::string>, BusError> read_one<std::vector<std::string>>(
    sd_bus_message*);

Expected<std::vector<std::string>, BusError> read_strings(sd_bus_message* message,
                                                          std::size_t max_items) {
    int r = sd_bus_message_enter_container(message, 'a', "s");
    if (r <= 0) return unexpected(decode_error(r, "decode string array"));
    std::vector<std::string> items;
    for (;;) {
        const char* item = nullptr;
        r = sd_bus_message_read_basic(message, 's', &item);
        if (r < 0) return unexpected(decode_error(r, "decode string array"));
        if (r == 0) break;
        if (items.size() == max_items) {
            return unexpected(make_bus_error(-E2BIG, nullptr, "decode string array"));
        }
        items.emplace_back(item != nullptr ? item : "");
    }
    r = sd_bus_message_exit_container(message);
    if (r < 0) return unexpected(decode_error(r, "decode string array"));
    return items;
}

Expected<std::vector<std::string>, BusError> read_dictionary_keys(sd_bus_message* message,
                                                                  std::size_t max_items) {
    int r = sd_bus_message_enter_container(message, 'a', "{sv}");
    if (r <= 0) return unexpected(decode_error(r, "decode dictionary"));
    std::vector<std::string> keys;
    for (;;) {
        r = sd_bus_message_enter_container(message, 'e', "sv");
        if (r < 0) return unexpected(decode_error(r, "decode dictionary entry"));
        if (r == 0) break;
        if (keys.size() == max_items) {
            return unexpected(make_bus_error(-E2BIG, nullptr, "decode dictionary"));
        }
        const char* key = nullptr;
        r = sd_bus_message_read_basic(message, 's', &key);
        if (r == 0) r = -EBADMSG;
        if (r > 0) r = sd_bus_message_skip(message, "v");
        if (r >= 0) r = sd_bus_message_exit_container(message);
        if (r < 0) return unexpected(decode_error(r, "decode dictionary entry"));
        keys.emplace_back(key != nullptr ? key : "");
    }
    r = sd_bus_message_exit_container(message);
    if (r < 0) return unexpected(decode_error(r, "decode dictionary"));
    return keys;
}

}  // namespace monsys::io::systemd
