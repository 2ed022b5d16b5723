#pragma once
// Remembers which token ids (jti) were consumed, across processes and restarts, until the token
// could no longer be accepted anyway. The format and the locking are described in docs/eat.md.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "common/eat/refusal.hpp"
#include "common/util/expected.hpp"

namespace monsys::eat {

class ReplayStore {  // one file under the state directory, e.g. <state_dir>/eat-replay.db
  public:
    // The data file is `file`; `file` + ".lock" orders writers (the data file itself is replaced
    // on every write, so it cannot carry the lock). Nothing is touched until the first call.
    explicit ReplayStore(std::filesystem::path file);

    // Shared lock; true if jti was consumed before (the agent only checks, never consumes).
    // An error means the store could not be read or is corrupt; callers must refuse the token.
    Expected<bool, std::string> seen(std::string_view jti, std::int64_t now_unix) const;

    // Exclusive lock; records jti until keep_until_unix (exp + skew). Returns nothing on success,
    // Rejection{replayed} if already there, Rejection{replay_store_error} on any I/O failure.
    std::optional<Rejection> consume(std::string_view jti, std::int64_t keep_until_unix,
                                     std::int64_t now_unix);

    const std::filesystem::path& file() const { return file_; }

  private:
    std::filesystem::path file_;
    std::filesystem::path lock_file_;
};

}  // namespace monsys::eat
