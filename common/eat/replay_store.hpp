#pragma once
// Remembers which token ids (jti) were consumed, across processes and restarts, until the token
// could no longer be accepted anyway. The format, the locking, the limits and the directory
// checks are described in docs/eat.md.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/eat/refusal.hpp"
#include "common/util/expected.hpp"

namespace monsys::eat {

struct ReplayStoreLimits {
    // A token lives for minutes, so even a busy hub leaves a few thousand live entries; the
    // limits only stop a flood (or a file that is not ours) from growing without end.
    std::size_t max_entries = 100000;
    std::size_t max_bytes = 8u << 20;  // of the file, format line included
};

class ReplayStore {  // one file in its own directory, e.g. /var/lib/monsys-action/eat-replay.db
  public:
    // The data file is `file`; `file` + ".lock" orders writers (the data file itself is replaced
    // on every write, so it cannot carry the lock). Nothing is touched until the first call.
    //
    // Each call opens the directory once by a walk from "/" that follows no link and checks every
    // directory on the way (owned by root or the effective user, not writable by group or
    // others), then works only relative to that descriptor (openat, renameat, fsync), so
    // renaming the directory away and putting another in its place does not get past it.
    explicit ReplayStore(std::filesystem::path file, ReplayStoreLimits limits = {});

    // Shared lock; true if jti was consumed before (the agent only checks, never consumes). The
    // reader may reach the store through its group: the store's own directory and files may
    // belong to another user, but must not be writable by group or others. A directory that does
    // not exist holds nothing. An error means the store could not be read, is corrupt (an empty
    // file included) or not trusted; callers must refuse the token.
    Expected<bool, std::string> seen(std::string_view jti, std::int64_t now_unix) const;

    // Exclusive lock; prunes expired entries, then records jti until keep_until_unix (exp + skew).
    // The store's directory and files must belong to root or the effective user. Succeeds once
    // jti is recorded durably; fails with Rejection{replayed} if already there,
    // Rejection{replay_store_full} when the live entries reach a limit, and
    // Rejection{replay_store_error} on any I/O, lock, trust or corruption failure.
    Expected<void, Rejection> consume(std::string_view jti, std::int64_t keep_until_unix,
                                      std::int64_t now_unix);

    const std::filesystem::path& file() const { return file_; }

  private:
    std::filesystem::path file_;
    std::filesystem::path directory_;
    std::string name_;
    std::string lock_name_;
    ReplayStoreLimits limits_;
};

}  // namespace monsys::eat
