#pragma once
// How many lines a flood of one kind of event may write: a burst, then a rate; the lines it leaves
// out are counted and reported as one summary line, at most one per `summary_every`. Pure: the
// caller passes the time (tests step a clock by hand) and writes the lines itself.
#include <chrono>
#include <cstdint>
#include <optional>

#include "agent/hub/token_bucket.hpp"

namespace monsys::agent::actions {

struct LogThrottleLimits {
    double burst = 10;             // lines at once
    double per_second = 1.0 / 60;  // then one a minute
    std::chrono::milliseconds summary_every{60'000};
};

class LogThrottle {
  public:
    using Clock = std::chrono::steady_clock;

    explicit LogThrottle(LogThrottleLimits limits = {})
        : limits_(limits), bucket_(limits.burst, limits.per_second) {}

    // Whether this event's line may be written; one that may not is counted.
    bool admit(Clock::time_point now) {
        if (bucket_.take(now)) return true;
        if (left_out_ == 0) first_left_out_ = now;
        ++left_out_;
        ++total_left_out_;
        return false;
    }

    // When the summary of the lines left out is due: `summary_every` after the first of them.
    // None while nothing is left out.
    std::optional<Clock::time_point> summary_due() const {
        if (left_out_ == 0) return std::nullopt;
        return first_left_out_ + limits_.summary_every;
    }

    // The number of lines left out since the last summary, once the summary is due (or at once
    // with `now_regardless`, e.g. at shutdown); counting starts again from zero.
    std::optional<std::uint64_t> take_summary(Clock::time_point now, bool now_regardless = false) {
        auto due = summary_due();
        if (!due || (!now_regardless && now < *due)) return std::nullopt;
        const std::uint64_t count = left_out_;
        left_out_ = 0;
        return count;
    }

    std::uint64_t total_left_out() const { return total_left_out_; }

  private:
    LogThrottleLimits limits_;
    hub::TokenBucket bucket_;
    std::uint64_t left_out_ = 0;
    std::uint64_t total_left_out_ = 0;
    Clock::time_point first_left_out_{};
};

}  // namespace monsys::agent::actions
