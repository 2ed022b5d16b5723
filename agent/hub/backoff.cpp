#include "agent/hub/backoff.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace monsys::agent::hub {

std::chrono::milliseconds Backoff::current_ceiling() const {
    using std::chrono::milliseconds;
    const milliseconds cap = policy_.cap;
    if (policy_.base <= milliseconds::zero() || cap <= milliseconds::zero()) {
        return milliseconds::zero();
    }
    // Doubling stops at the cap, so neither 2^failures nor the product can overflow, and the loop
    // runs at most about log2(cap / base) times whatever the failure count.
    milliseconds ceiling = std::min(policy_.base, cap);
    for (std::uint32_t i = 0; i < failures_ && ceiling < cap; ++i) {
        ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
    }
    return ceiling;
}

std::chrono::milliseconds Backoff::next_delay(double uniform01) {
    const auto ceiling = current_ceiling();
    if (failures_ < std::numeric_limits<std::uint32_t>::max()) ++failures_;
    if (ceiling <= std::chrono::milliseconds::zero()) return ceiling;
    // A draw outside [0, 1) (or NaN) from a broken source must still give a delay in range.
    if (!(uniform01 > 0.0)) return std::chrono::milliseconds::zero();
    const auto count = ceiling.count();
    // The largest double below 1 keeps the product below 2^63 even for the largest ceiling.
    const double below_one = std::nextafter(1.0, 0.0);
    auto drawn = static_cast<std::chrono::milliseconds::rep>(
        std::floor(std::min(uniform01, below_one) * static_cast<double>(count)));
    // Rounding of a draw just below 1 can reach the ceiling itself.
    if (drawn >= count) drawn = count - 1;
    return std::chrono::milliseconds(drawn);
}

void Backoff::connection_ended(std::chrono::milliseconds uptime) {
    if (uptime >= policy_.stable_after) failures_ = 0;
}

}  // namespace monsys::agent::hub
