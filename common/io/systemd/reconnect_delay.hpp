#pragma once
// How long an AsyncBus waits before it opens the bus again: 1 s doubling to 30 s, with jitter.
// Pure: the random draw is passed in, so tests pick it.
#include <algorithm>
#include <chrono>
#include <cstdint>

namespace monsys::io::systemd {

struct ReconnectPolicy {
    std::chrono::milliseconds first{1000};
    std::chrono::milliseconds max{30000};
};

// The wait before attempt number `failures` + 1 (failures = attempts that failed in a row, at
// least 1). The ceiling doubles per failure up to policy.max; the wait is drawn uniformly from
// its upper half (uniform01 in [0, 1)), so many agents do not retry in step, and a wait is never
// near zero.
inline std::chrono::milliseconds reconnect_delay(std::uint32_t failures, double uniform01,
                                                 const ReconnectPolicy& policy = {}) {
    const std::uint32_t doublings = std::min<std::uint32_t>(failures > 0 ? failures - 1 : 0, 20);
    const auto ceiling = std::min<std::chrono::milliseconds>(
        policy.max, policy.first * (std::int64_t{1} << doublings));
    const double draw = std::clamp(uniform01, 0.0, 1.0);
    const auto half = ceiling / 2;
    return half + std::chrono::milliseconds(static_cast<std::int64_t>(
                      static_cast<double>((ceiling - half).count()) * draw));
}

}  // namespace monsys::io::systemd
