#include <doctest/doctest.h>

#include <string>

#include "common/util/expected.hpp"

using monsys::Expected;
using monsys::ok;
using monsys::unexpected;

namespace {

Expected<void, std::string> succeed_with_braces() {
    return {};
}
Expected<void, std::string> succeed_with_ok() {
    return ok();
}
Expected<void, std::string> fail(std::string why) {
    return unexpected(std::move(why));
}

}  // namespace

TEST_CASE("expected<void>: success carries no error") {
    for (const auto& result : {succeed_with_braces(), succeed_with_ok()}) {
        CHECK(result.has_value());
        CHECK(static_cast<bool>(result));
        CHECK(result.error().empty());
    }
}

TEST_CASE("expected<void>: a failure keeps its message, even an empty one") {
    const auto result = fail("cannot open /x: No such file or directory");
    CHECK_FALSE(result.has_value());
    CHECK(result.error() == "cannot open /x: No such file or directory");
    CHECK_FALSE(fail("").has_value());
}

TEST_CASE("expected<T>: value and error as before") {
    Expected<int, std::string> value = 7;
    REQUIRE(value.has_value());
    CHECK(*value == 7);
    Expected<int, std::string> error = unexpected(std::string("bad"));
    REQUIRE_FALSE(error);
    CHECK(error.error() == "bad");
}
