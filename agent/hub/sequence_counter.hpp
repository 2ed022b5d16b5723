#pragma once
// The agent's message sequence (docs/protocol.md): the next seq to hand out and the highest seq
// the hub acked, in one small file under the state directory. Every allocation is written and
// fsync'd before the seq is used, under an exclusive flock, so the daemon and `--once` never hand
// out the same number. The file is rewritten in place, so whoever runs `--once` (root) does not
// take it away from the agent's user.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "common/util/expected.hpp"

namespace monsys::agent::hub {

// The counter file's two numbers, read without its lock (a reader that only shows them:
// `monsys-agent status` when the daemon is not running). No value when there is no file.
struct SequenceRecord {
    std::uint64_t next = 1;
    std::uint64_t last_acked = 0;
};
Expected<std::optional<SequenceRecord>, std::string> read_sequence_file(
    const std::filesystem::path& file);

class SequenceCounter {
  public:
    // Creates the file (mode 0600) if missing. A file that does not parse is an error naming it:
    // guessing could reuse a seq the hub has already stored.
    static Expected<SequenceCounter, std::string> open(std::filesystem::path file);

    // The next seq (first is 1). Never returns the same number twice, across processes too.
    Expected<std::uint64_t, std::string> allocate();
    // Makes sure later allocations are above `seq` (used when the outbox holds higher seqs).
    // True when the file was moved up, false when it was above `seq` already.
    Expected<bool, std::string> ensure_above(std::uint64_t seq);

    // Remembers the highest seq the hub acked (sent in hello); lower values are ignored. True
    // when `seq` was recorded, false when it was not above the one recorded already.
    Expected<bool, std::string> record_ack(std::uint64_t seq);
    std::uint64_t last_acked() const { return last_acked_; }

    const std::filesystem::path& file() const { return file_; }

  private:
    explicit SequenceCounter(std::filesystem::path file) : file_(std::move(file)) {}
    std::filesystem::path file_;
    std::uint64_t last_acked_ = 0;
};

}  // namespace monsys::agent::hub
