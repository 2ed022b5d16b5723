// The pure parts of the hub link's bounds: the token bucket, which results the outbox drops, and
// what counts as a refusal of an unverifiable token.
#include <doctest/doctest.h>

#include <vector>

#include "agent/hub/limits.hpp"
#include "agent/hub/token_bucket.hpp"

using namespace monsys::agent::hub;
using Json = nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("token bucket: a burst, then the rate, never more than the burst saved up") {
    const auto t0 = TokenBucket::Clock::time_point{} + seconds(1000);
    TokenBucket bucket(3, 2);  // 3 at once, then 2 a second
    CHECK(bucket.take(t0));
    CHECK(bucket.take(t0));
    CHECK(bucket.take(t0));
    CHECK_FALSE(bucket.take(t0));
    CHECK_FALSE(bucket.take(t0 + milliseconds(400)));  // 0.8 of a token
    CHECK(bucket.take(t0 + milliseconds(500)));
    CHECK_FALSE(bucket.take(t0 + milliseconds(500)));
    // An hour of silence saves up the burst, not 7,200 tokens.
    const auto later = t0 + seconds(3600);
    int taken = 0;
    while (bucket.take(later)) ++taken;
    CHECK(taken == 3);
    // A clock that goes back gives nothing.
    CHECK_FALSE(bucket.take(t0));
    bucket.reset(later);
    CHECK(bucket.take(later));
}

TEST_CASE("limits: a refusal of an unverifiable token is one whose result.jti is null") {
    CHECK(is_unverified_refusal(Json::parse(R"({"jti":"x","result":{"jti":null}})")));
    CHECK_FALSE(is_unverified_refusal(Json::parse(R"({"jti":"x","result":{"jti":"x"}})")));
    CHECK_FALSE(is_unverified_refusal(Json::parse(R"({"jti":"x","result":{}})")));
    CHECK_FALSE(is_unverified_refusal(Json::parse(R"({"jti":"x","result":null})")));
    CHECK_FALSE(is_unverified_refusal(Json::parse(R"([1])")));
}

namespace {
ResultEntry verified(std::uint64_t seq, std::size_t bytes = 100) {
    return {seq, bytes, false};
}
ResultEntry unverified(std::uint64_t seq, std::size_t bytes = 100) {
    return {seq, bytes, true};
}
}  // namespace

TEST_CASE("limits: within the bounds nothing is dropped") {
    LinkLimits limits;
    limits.max_results = 3;
    CHECK(results_to_evict({}, limits).empty());
    CHECK(results_to_evict({verified(1), unverified(2), verified(3)}, limits).empty());
}

TEST_CASE("limits: over the count, refusals of unverifiable tokens go first, then the oldest") {
    LinkLimits limits;
    limits.max_results = 3;
    CHECK(results_to_evict({verified(1), unverified(2), verified(3), verified(4)}, limits) ==
          std::vector<std::uint64_t>{2});
    CHECK(results_to_evict({verified(1), verified(2), verified(3), verified(4), verified(5)},
                           limits) == std::vector<std::uint64_t>{1, 2});
    CHECK(results_to_evict({unverified(1), verified(2), unverified(3), verified(4), verified(5)},
                           limits) == std::vector<std::uint64_t>{1, 3});
}

TEST_CASE("limits: over the bytes, the same order; the newest result always stays") {
    LinkLimits limits;
    limits.max_result_bytes = 1000;
    CHECK(results_to_evict({verified(1, 600), unverified(2, 300), verified(3, 300)}, limits) ==
          std::vector<std::uint64_t>{2});
    CHECK(results_to_evict({verified(1, 600), verified(2, 600)}, limits) ==
          std::vector<std::uint64_t>{1});
    CHECK(results_to_evict({verified(1, 5000)}, limits).empty());
    CHECK(results_to_evict({verified(1, 10), verified(2, 5000)}, limits) ==
          std::vector<std::uint64_t>{1});
}

TEST_CASE("limits: refusals of unverifiable tokens have their own, smaller cap") {
    LinkLimits limits;
    limits.max_unverified_refusals = 2;
    CHECK(results_to_evict({unverified(1), verified(2), unverified(3), unverified(4)}, limits) ==
          std::vector<std::uint64_t>{1});
    CHECK(results_to_evict({unverified(1), unverified(2), unverified(3), unverified(4)}, limits) ==
          std::vector<std::uint64_t>{1, 2});
}
