// Typed append and read round-trip through real sd_bus_messages.
#include "common/io/systemd/typed_message.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <string>
#include <vector>

#include "message_builder.hpp"

using namespace monsys::io::systemd;
using monsys::testing::OfflineBus;

TEST_CASE("typed message: each type appends with its D-Bus signature and reads back") {
    OfflineBus bus;
    auto message = bus.method_call();
    const std::vector<std::string> names = {"a.service", "", "b c.socket"};
    REQUIRE(append_all(message.get(), std::string("text"), "literal", ObjectPath{"/org/x"}, true,
                       false, std::int32_t{-7}, std::uint32_t{4000000000U},
                       std::uint64_t{1ULL << 40}, names) >= 0);
    OfflineBus::seal(message);
    CHECK(std::string(sd_bus_message_get_signature(message.get(), 1)) == "ssobbiutas");

    CHECK(*read_one<std::string>(message.get()) == "text");
    CHECK(*read_one<std::string>(message.get()) == "literal");
    CHECK(read_one<ObjectPath>(message.get())->value == "/org/x");
    CHECK(*read_one<bool>(message.get()) == true);
    CHECK(*read_one<bool>(message.get()) == false);
    CHECK(*read_one<std::int32_t>(message.get()) == -7);
    CHECK(*read_one<std::uint32_t>(message.get()) == 4000000000U);
    CHECK(*read_one<std::uint64_t>(message.get()) == (1ULL << 40));
    CHECK(*read_one<std::vector<std::string>>(message.get()) == names);
    // Nothing left: reading on is an error, not a default value.
    CHECK_FALSE(read_one<std::string>(message.get()));
}

TEST_CASE("typed message: the signature follows the C++ type") {
    CHECK(std::string(signature_of<std::string>()) == "s");
    CHECK(std::string(signature_of<const char*>()) == "s");
    CHECK(std::string(signature_of<ObjectPath>()) == "o");
    CHECK(std::string(signature_of<bool>()) == "b");
    CHECK(std::string(signature_of<std::uint32_t>()) == "u");
    CHECK(std::string(signature_of<std::uint64_t>()) == "t");
    CHECK(std::string(signature_of<std::vector<std::string>>()) == "as");
}

TEST_CASE("typed message: reading another type than the one sent is an error") {
    OfflineBus bus;
    auto message = bus.method_call();
    REQUIRE(append_all(message.get(), std::uint32_t{5}) >= 0);
    OfflineBus::seal(message);
    auto wrong = read_one<std::string>(message.get());
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().errno_value != 0);
}

TEST_CASE("typed message: a string array over the cap is refused, not cut") {
    OfflineBus bus;
    auto message = bus.method_call();
    REQUIRE(append_all(message.get(), std::vector<std::string>{"a", "b", "c"}) >= 0);
    OfflineBus::seal(message);
    auto capped = read_strings(message.get(), 2);
    REQUIRE_FALSE(capped);
    CHECK(capped.error().errno_value == E2BIG);

    auto again = bus.method_call();
    REQUIRE(append_all(again.get(), std::vector<std::string>{"a", "b"}) >= 0);
    OfflineBus::seal(again);
    CHECK(read_strings(again.get(), 2)->size() == 2);
}
