#pragma once
// The result ledger: for every verified jti whose action_result the hub has acked, the frame
// exactly as it was sent (seq included), one fsync'd file per jti under <hub_state_dir>/ledger/.
// A re-delivered action is answered from here with the same frame, byte for byte
// (docs/protocol.md, "action_result"), across agent restarts. Until the ack the outbox holds the
// frame; the ledger takes over before the outbox lets it go.
//
// An entry is kept until the token's exp plus the clock skew the verifier allows: after that the
// token no longer verifies, so no re-delivery can ask for it. The number of entries and their
// bytes on disk are capped (LedgerLimits::max_entries, max_bytes); past either cap the entries
// whose tokens expire first go, so the entry being stored always finds room.
//
// Not thread-safe: only the agent's disk worker uses it (every call may write and fsync).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/util/expected.hpp"

namespace monsys::agent::actions {

struct LedgerEntry {
    std::string jti;
    std::int64_t exp = 0;  // the token's exp, unix seconds
    std::uint64_t seq = 0;
    std::string frame;  // the action_result frame as sent, byte for byte
};

// The largest entry file read back: a result of the largest size monsys-action can print, with
// its signature, fits (common/action/wrapper_output.hpp).
inline constexpr std::size_t max_ledger_entry_bytes = 128u << 20;

struct LedgerLimits {
    std::size_t max_entries = 1000;
    std::int64_t keep_after_exp_secs = 30;   // the verifier's clock skew
    std::int64_t prune_interval_secs = 600;  // a store prunes expired entries at most this often
    // The entry files' bytes together. Twice the largest entry, so that a result of the largest
    // size is always kept: an entry that did not fit would let a re-delivery of its action get a
    // second, contradicting result. Results are a few KiB in practice, so the count cap binds
    // first; this one bounds the disk when a hub sends many actions with huge outputs.
    std::uint64_t max_bytes = 2 * std::uint64_t{max_ledger_entry_bytes};
};

class ResultLedger {
  public:
    explicit ResultLedger(std::filesystem::path directory, LedgerLimits limits = {});

    // Writes the entry durably (replacing one for the same jti), creating the directory (0700)
    // if needed; makes room first when the ledger is full. The error names the file.
    Expected<void, std::string> store(const LedgerEntry& entry, std::int64_t now_unix);

    // The entry for this jti, if there is one. A file that cannot be read or does not belong to
    // the jti is an error (and stays where it is; prune() moves it aside).
    Expected<std::optional<LedgerEntry>, std::string> find(const std::string& jti) const;

    struct Pruned {
        std::size_t kept = 0;
        std::uint64_t kept_bytes = 0;       // the kept entry files' sizes
        std::size_t expired = 0;            // removed: exp + skew has passed
        std::size_t evicted = 0;            // removed before their time, to stay within max_entries
        std::vector<std::string> problems;  // one line each, for the log
    };
    // Removes expired entries and, over a cap, those that expire first, keeping room for one more
    // entry of `incoming_bytes`; files that do not parse are moved to `directory`/corrupt/;
    // leftover temporary files are removed.
    Pruned prune(std::int64_t now_unix, std::uint64_t incoming_bytes = 0);

    const std::filesystem::path& directory() const { return directory_; }

  private:
    std::filesystem::path file_for(const std::string& jti) const;

    std::filesystem::path directory_;
    LedgerLimits limits_;
    std::optional<std::size_t> count_;  // entries on disk, known after a prune
    std::uint64_t bytes_ = 0;           // their sizes, valid when count_ is
    std::int64_t last_prune_ = 0;
};

}  // namespace monsys::agent::actions
