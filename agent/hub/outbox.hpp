#pragma once
// Data messages on their way to the hub (docs/protocol.md, "The outbox"): each is stamped with
// its seq and written to its own file (fsync'd, then the directory fsync'd) before it is sent,
// and removed only when the hub acks that seq. Only the newest inventory and the newest state are
// kept; action results are kept until acked, within the bounds of LinkLimits (limits.hpp).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/hub/limits.hpp"
#include "agent/hub/sequence_counter.hpp"
#include "common/util/expected.hpp"

namespace monsys::agent::hub {

enum class MessageKind { inventory, state, action_result };
const char* to_string(MessageKind kind);
// Inventory and state keep only their newest message; every action_result is kept.
bool replaces_older(MessageKind kind);

struct PendingMessage {
    std::uint64_t seq = 0;
    MessageKind kind = MessageKind::state;
    std::string jti;          // action_result only
    std::string text;         // the exact frame, seq included; re-sent byte for byte
    bool persisted = true;    // false when the disk refused it (kept in memory only, logged)
    bool unverified = false;  // action_result refusing a token that did not verify
    // When it was stamped (its file's mtime for one loaded at open): the outbox's age in
    // `monsys-agent status`.
    std::chrono::system_clock::time_point stored_at{};
};

// A message file's name, <20-digit seq>.<kind>.json, read back; nothing for any other name.
struct OutboxFileName {
    std::uint64_t seq = 0;
    MessageKind kind = MessageKind::state;
};
std::optional<OutboxFileName> parse_outbox_file_name(std::string_view name);

// A member of a data message whose value is JSON text already, put into the frame byte for byte:
// the wrapper's result exactly as monsys-action printed it, an inventory written as a stream.
// The text must be one valid JSON value (the caller checked it).
struct PreSerialized {
    std::string name;
    std::string text;
};

// The outbox's files and the seq counter. Once the link runs, only its disk worker touches
// them (one thread, so the writes, fsyncs and removals happen in the order they were asked for).
class OutboxFiles {
  public:
    OutboxFiles(std::filesystem::path directory, SequenceCounter counter, LinkLimits limits = {})
        : directory_(std::move(directory)), counter_(std::move(counter)), limits_(limits) {}

    // Stamps `message` (an object with "type", without "seq") with the next seq (fsync'd in the
    // counter file, under its lock) and returns the frame; nothing is written to the outbox yet.
    // With `member`, the frame carries member.text as the value of member.name, unchanged.
    Expected<PendingMessage, std::string> stamp(MessageKind kind, nlohmann::json message,
                                                std::optional<PreSerialized> member = {});
    // Writes the frame durably. Once it is stored, the file of the message of the same kind it
    // replaces (inventory, state) is removed; when it could not be stored the older file stays:
    // after a restart the stale message beats none. The error names the file.
    // Results before states: an inventory or state is not written when the file system would
    // keep less than limits.disk_reserve_bytes free, and when an action_result cannot be written
    // the stored inventory and state files are removed (those messages stay pending in memory)
    // and the write is tried once more.
    Expected<void, std::string> write(const PendingMessage& message);
    // Removes the file of a message the bounds dropped (not acked; the ack record is untouched).
    Expected<void, std::string> discard(std::uint64_t seq, MessageKind kind);
    // Removes the file of an acked message (a missing file is no error) and records the ack.
    Expected<void, std::string> acknowledge(std::uint64_t seq, MessageKind kind);

    // Remembers a file found at open as the newest of its kind.
    void found(const PendingMessage& message);
    SequenceCounter& counter() { return counter_; }
    // Free bytes on the outbox's file system (statvfs; nothing when it cannot be read). Tests
    // replace it to play a full disk.
    void set_free_bytes(std::function<std::optional<std::uint64_t>()> probe) {
        free_bytes_ = std::move(probe);
    }
    // Tests only: called on the worker before each write, to stall it at will.
    void set_before_write(std::function<void(std::uint64_t seq)> hook) {
        before_write_ = std::move(hook);
    }

  private:
    Expected<void, std::string> write_result(const PendingMessage& message);
    std::optional<std::uint64_t> free_bytes() const;

    std::filesystem::path directory_;
    SequenceCounter counter_;
    LinkLimits limits_;
    std::map<MessageKind, std::uint64_t> newest_stored_;  // inventory and state only
    std::function<void(std::uint64_t)> before_write_;
    std::function<std::optional<std::uint64_t>()> free_bytes_;
};

// The outbox as the reactor thread sees it: what is pending, in seq order. The files are behind
// files(); add() and acknowledge() do both at once, synchronously (for --once and tests; the link
// splits them, doing the file part on its disk worker).
class Outbox {
  public:
    // Opens (creating, mode 0700) `directory` and loads what is pending there. A file that does
    // not parse is moved to `directory`/corrupt/ and named in `problems`, never deleted. The
    // counter is moved above the highest pending seq.
    // Action results beyond `limits` (lowered since they were stored) are dropped, oldest first,
    // and named in `problems`.
    static Expected<Outbox, std::string> open(std::filesystem::path directory,
                                              SequenceCounter counter, LinkLimits limits = {});

    // Stamps `message` (an object with "type", without "seq") with the next seq and stores it.
    // When the disk fails the message is still returned, with persisted = false, and the error
    // is in `last_error()`: sending it beats losing it. Fails only when no seq can be allocated.
    // Action results the bounds drop to make room have their files removed too.
    Expected<PendingMessage, std::string> add(MessageKind kind, nlohmann::json message);

    // Removes the message with this seq (if pending) and records the ack in the counter.
    // Returns the message that was pending under it, if any.
    std::optional<PendingMessage> acknowledge(std::uint64_t seq);

    // The memory half of add(): a stamped message joins the pending ones, in seq order, and
    // replaces a pending message of the same kind when that kind keeps only its newest. Returns
    // the action results dropped to keep within the limits (their files are the caller's to
    // remove: OutboxFiles::discard).
    std::vector<PendingMessage> insert(PendingMessage message);
    // The memory half of acknowledge(): takes the message out and raises last_acked().
    std::optional<PendingMessage> take_acked(std::uint64_t seq);
    // A message that went out before its file was durable has been stored after all.
    void mark_persisted(std::uint64_t seq);

    // Everything not acked yet, in seq order.
    const std::vector<PendingMessage>& pending() const { return pending_; }
    bool has_action_result(std::string_view jti) const;
    // Pending action results and their bytes (frames as sent), against limits().
    std::size_t result_count() const;
    std::size_t result_bytes() const;
    const LinkLimits& limits() const { return limits_; }

    std::uint64_t last_acked() const { return last_acked_; }
    SequenceCounter& counter() { return files_->counter(); }
    const std::shared_ptr<OutboxFiles>& files() const { return files_; }
    const std::vector<std::string>& problems() const { return problems_; }
    const std::string& last_error() const { return last_error_; }

  private:
    // Takes out the action results over the limits (results_to_evict) and returns them.
    std::vector<PendingMessage> evict_over_limits();
    Outbox(std::filesystem::path directory, SequenceCounter counter, LinkLimits limits)
        : directory_(directory),
          limits_(limits),
          files_(std::make_shared<OutboxFiles>(std::move(directory), std::move(counter), limits)) {}
    std::filesystem::path directory_;
    LinkLimits limits_;
    std::shared_ptr<OutboxFiles> files_;
    std::vector<PendingMessage> pending_;
    std::uint64_t last_acked_ = 0;
    std::vector<std::string> problems_;
    std::string last_error_;
};

}  // namespace monsys::agent::hub
