#pragma once
// Data messages on their way to the hub (docs/protocol.md, "The outbox"): each is stamped with
// its seq and written to its own file (fsync'd, then the directory fsync'd) before it is sent,
// and removed only when the hub acks that seq. Only the newest inventory and the newest state are
// kept; every action_result is kept until acked.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/hub/sequence_counter.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::hub {

enum class MessageKind { inventory, state, action_result };
const char* to_string(MessageKind kind);

struct PendingMessage {
    std::uint64_t seq = 0;
    MessageKind kind = MessageKind::state;
    std::string jti;        // action_result only
    std::string text;       // the exact frame, seq included; re-sent byte for byte
    bool persisted = true;  // false when the disk refused it (kept in memory only, logged)
};

class Outbox {
  public:
    // Opens (creating, mode 0700) `directory` and loads what is pending there. A file that does
    // not parse is moved to `directory`/corrupt/ and named in `problems`, never deleted. The
    // counter is moved above the highest pending seq.
    static Expected<Outbox, std::string> open(std::filesystem::path directory,
                                              SequenceCounter counter);

    // Stamps `message` (an object with "type", without "seq") with the next seq and stores it.
    // When the disk fails the message is still returned, with persisted = false, and the error
    // is in `last_error()`: sending it beats losing it. Fails only when no seq can be allocated.
    Expected<PendingMessage, std::string> add(MessageKind kind, nlohmann::json message);

    // Removes the message with this seq (if pending) and records the ack in the counter.
    // Returns the message that was pending under it, if any.
    std::optional<PendingMessage> acknowledge(std::uint64_t seq);

    // Everything not acked yet, in seq order.
    const std::vector<PendingMessage>& pending() const { return pending_; }
    bool has_action_result(std::string_view jti) const;

    std::uint64_t last_acked() const { return counter_.last_acked(); }
    SequenceCounter& counter() { return counter_; }
    const std::vector<std::string>& problems() const { return problems_; }
    const std::string& last_error() const { return last_error_; }

  private:
    Outbox(std::filesystem::path directory, SequenceCounter counter)
        : directory_(std::move(directory)), counter_(std::move(counter)) {}
    std::filesystem::path directory_;
    SequenceCounter counter_;
    std::vector<PendingMessage> pending_;
    std::vector<std::string> problems_;
    std::string last_error_;
};

}  // namespace monsys::agent::hub
