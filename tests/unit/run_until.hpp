#pragma once
// Runs an io_context until what a test waits for holds: background work (a thread, a timer, a
// peer) is awaited by its outcome, never by a fixed time, which a loaded machine overruns.
#include <chrono>
#include <functional>

#include "common/io/asio.hpp"

namespace monsys::test {

// Runs `io` until `done()` holds or `limit` passes; returns whether it holds.
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = std::chrono::milliseconds(3000)) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        io.restart();
        io.run_one_for(std::chrono::milliseconds(10));
    }
    return true;
}

}  // namespace monsys::test
