#pragma once
// A token bucket: up to `burst` events at once, then `per_second` on average. Pure: the caller
// passes the time, so tests step a clock by hand.
#include <algorithm>
#include <chrono>
#include <cstdint>

namespace monsys::agent::hub {

class TokenBucket {
  public:
    using Clock = std::chrono::steady_clock;

    TokenBucket(double burst, double per_second)
        : burst_(burst), per_second_(per_second), tokens_(burst) {}

    // Takes one token if there is one: true when the event may go ahead.
    bool take(Clock::time_point now) {
        refill(now);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    // Full again, as for a new connection.
    void reset(Clock::time_point now) {
        tokens_ = burst_;
        last_ = now;
        started_ = true;
    }

  private:
    void refill(Clock::time_point now) {
        if (started_ && now > last_) {
            const double elapsed = std::chrono::duration<double>(now - last_).count();
            tokens_ = std::min(burst_, tokens_ + elapsed * per_second_);
        }
        if (!started_ || now > last_) last_ = now;
        started_ = true;
    }

    double burst_;
    double per_second_;
    double tokens_;
    Clock::time_point last_{};
    bool started_ = false;
};

}  // namespace monsys::agent::hub
