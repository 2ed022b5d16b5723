#pragma once
// Small conveniences over tests/integration/support/testenv.hpp for the inventory tests.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

#include "tests/integration/support/testenv.hpp"

namespace monsys::inventory::test {

inline std::string env(const std::string& key) {
    const auto& testenv = monsys::testing::TestEnv::get();
    REQUIRE_MESSAGE(testenv.ready(),
                    "test environment missing: run through ctest (fixture testenv)");
    std::string value = testenv.value(key);
    REQUIRE_MESSAGE(!value.empty(), "no " << key << " in " << testenv.path());
    return value;
}

inline void testenv() {
    env("DBUS_SESSION_BUS_ADDRESS");
}

// Runs a setup command (with the test environment exported); returns its output, trimmed.
inline std::string shell(const std::string& command, int* status = nullptr) {
    testenv();
    auto result = monsys::testing::run(command);
    if (status) *status = result.exit_code;
    std::string output = result.output;
    while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
    return output;
}

// Unique per process and call; lower-case alphanumerics and '-' only.
inline std::string unique_suffix() {
    static int counter = 0;
    return std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

inline bool wait_for(const std::function<bool()>& condition,
                     std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    return monsys::testing::wait_for(condition, limit, std::chrono::milliseconds(100));
}

}  // namespace monsys::inventory::test
