#pragma once
// The bounds of the agent's side of the hub link (docs/protocol.md, "The outbox"): what a hostile
// or absent hub can make the agent keep on disk and in memory. A hub that withholds acks, sends
// junk tokens by the thousand or stays away for days meets these limits, not the disk's.
#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace monsys::agent::hub {

struct LinkLimits {
    // action_result messages waiting for their ack, in number and in bytes (frames as sent).
    // Over either, the oldest refusal of an unverifiable token goes first, then the oldest
    // verified result (its jti's result stays in the result ledger, so re-sending the action
    // brings it back).
    std::size_t max_results = 1000;
    std::size_t max_result_bytes = 16u << 20;
    // Of those, refusals of tokens that did not verify (result.jti null): they name nothing the
    // hub can trust, so only the newest few wait for an ack.
    std::size_t max_unverified_refusals = 20;
    // Refusals of unverifiable tokens stored and sent: a burst, then this rate; the rest are
    // counted, logged once a minute and reported in the next hello.
    double unverified_refusal_burst = 20;
    double unverified_refusals_per_second = 1.0 / 6;  // 10 a minute
    // `action` frames per connection: a burst, then this rate; the rest are dropped unread
    // (no token check, no result), counted and logged once a minute.
    double action_burst = 64;
    double actions_per_second = 2;
    // Frames queued on one connection and not yet written (a hub that stops reading while it
    // keeps the connection up): over this the connection is dropped, and the next one sends the
    // outbox again.
    std::size_t max_queued_bytes = 64u << 20;
    // An inventory or state file is not written when the outbox's file system would keep less
    // than this free: what is left is for action results (the message is still sent).
    std::uint64_t disk_reserve_bytes = 4u << 20;
};

// An action_result for a token that did not verify: its result's jti is null (docs/protocol.md,
// `action_result`). `message` is the whole frame (or the message before its seq).
bool is_unverified_refusal(const nlohmann::json& message);

// One pending action_result, as the bound sees it.
struct ResultEntry {
    std::uint64_t seq = 0;
    std::size_t bytes = 0;
    bool unverified = false;
};

// Which of `results` (pending action results, in seq order) to drop so that the rest keep
// within `limits`: refusals of unverifiable tokens first, oldest first, then verified results,
// oldest first. The newest result is never chosen (one result is always kept).
std::vector<std::uint64_t> results_to_evict(const std::vector<ResultEntry>& results,
                                            const LinkLimits& limits);

}  // namespace monsys::agent::hub
