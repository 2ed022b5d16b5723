#pragma once
// Typed append and read for sd-bus messages, instead of sd_bus_message_append's varargs: the
// D-Bus type of each argument follows from its C++ type, so a wrong format string cannot
// misread the stack. Counts read from a message are capped by the caller.
//
//   C++ type                  D-Bus
//   std::string, const char*  s
//   ObjectPath                o
//   bool                      b
//   std::int32_t              i
//   std::uint32_t             u
//   std::uint64_t             t
//   std::vector<std::string>  as
#include <systemd/sd-bus.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "common/io/systemd/bus.hpp"
#include "common/util/expected.hpp"

namespace monsys::io::systemd {

struct ObjectPath {
    std::string value;
};

namespace detail {
template <class T>
inline constexpr bool unsupported_type = false;
}  // namespace detail

// The D-Bus signature of one argument type ("s", "as", ...).
template <class T>
constexpr const char* signature_of() {
    using V = std::decay_t<T>;
    if constexpr (std::is_same_v<V, std::string> || std::is_same_v<V, const char*> ||
                  std::is_same_v<V, char*>) {
        return "s";
    } else if constexpr (std::is_same_v<V, ObjectPath>) {
        return "o";
    } else if constexpr (std::is_same_v<V, bool>) {
        return "b";
    } else if constexpr (std::is_same_v<V, std::int32_t>) {
        return "i";
    } else if constexpr (std::is_same_v<V, std::uint32_t>) {
        return "u";
    } else if constexpr (std::is_same_v<V, std::uint64_t>) {
        return "t";
    } else if constexpr (std::is_same_v<V, std::vector<std::string>>) {
        return "as";
    } else {
        static_assert(detail::unsupported_type<V>, "no D-Bus mapping for this type");
        return "";
    }
}

// Appends one argument; returns sd-bus's result (negative errno on failure).
int append_one(sd_bus_message* message, const std::string& value);
int append_one(sd_bus_message* message, const char* value);
int append_one(sd_bus_message* message, const ObjectPath& value);
int append_one(sd_bus_message* message, bool value);
int append_one(sd_bus_message* message, std::int32_t value);
int append_one(sd_bus_message* message, std::uint32_t value);
int append_one(sd_bus_message* message, std::uint64_t value);
int append_one(sd_bus_message* message, const std::vector<std::string>& values);

// Appends every argument in order; stops at the first failure.
template <class... Args>
int append_all(sd_bus_message* message, const Args&... args) {
    [[maybe_unused]] sd_bus_message* target = message;  // unused when there is no argument
    int r = 0;
    ((r = r < 0 ? r : append_one(target, args)), ...);
    return r;
}

// Reads the next argument as T (one of the types above except const char*). A message whose
// next argument has another type, or that has no more arguments, is an error (EBADMSG).
template <class T>
Expected<T, BusError> read_one(sd_bus_message* message);

// Reads an "as" argument; more than `max_items` entries is an error (E2BIG), not a silent cut.
Expected<std::vector<std::string>, BusError> read_strings(sd_bus_message* message,
                                                          std::size_t max_items);

// Reads an "a{sv}" argument and returns its keys only (each value is skipped unread), e.g. the
// names of the properties in a PropertiesChanged signal. More than `max_items` is E2BIG.
Expected<std::vector<std::string>, BusError> read_dictionary_keys(sd_bus_message* message,
                                                                  std::size_t max_items);

extern template Expected<std::string, BusError> read_one<std::string>(sd_bus_message*);
extern template Expected<ObjectPath, BusError> read_one<ObjectPath>(sd_bus_message*);
extern template Expected<bool, BusError> read_one<bool>(sd_bus_message*);
extern template Expected<std::int32_t, BusError> read_one<std::int32_t>(sd_bus_message*);
extern template Expected<std::uint32_t, BusError> read_one<std::uint32_t>(sd_bus_message*);
extern template Expected<std::uint64_t, BusError> read_one<std::uint64_t>(sd_bus_message*);
extern template Expected<std::vector<std::string>, BusError> read_one<std::vector<std::string>>(
    sd_bus_message*);

}  // namespace monsys::io::systemd
