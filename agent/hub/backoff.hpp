#pragma once
// When to try the hub again: exponential back-off with full jitter, as docs/protocol.md says.
// Pure: the random draw is passed in, so tests pick it.
#include <chrono>
#include <cstdint>

namespace monsys::agent::hub {

struct BackoffPolicy {
    std::chrono::milliseconds base{1000};
    std::chrono::milliseconds cap{300000};
    // A connection that stayed up at least this long resets the attempt count.
    std::chrono::milliseconds stable_after{60000};
};

class Backoff {
  public:
    explicit Backoff(BackoffPolicy policy = {}) : policy_(policy) {}

    // The delay before the next attempt: uniform01 (in [0, 1)) * min(cap, base * 2^failures).
    // Counts one more failure.
    std::chrono::milliseconds next_delay(double uniform01);

    // A connection was established and lasted `uptime` before it ended; resets the count when
    // it lasted long enough to be called stable.
    void connection_ended(std::chrono::milliseconds uptime);

    // The upper bound next_delay would draw from now.
    std::chrono::milliseconds current_ceiling() const;
    std::uint32_t failures() const { return failures_; }

  private:
    BackoffPolicy policy_;
    std::uint32_t failures_ = 0;
};

}  // namespace monsys::agent::hub
