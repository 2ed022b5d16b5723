#pragma once
// Actions handed to monsys-action whose result is not in the outbox yet, one small fsync'd file
// each under <hub_state_dir>/inflight/. When the agent dies while monsys-action runs, the next
// start finds the record and reports the action as interrupted (docs/protocol.md,
// reported_by "agent-recovery"), so the hub never waits forever for a result.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/util/expected.hpp"

namespace monsys::agent::actions {

struct InflightAction {
    std::string jti;
    std::string app_id;
    std::string type;  // app type as in the token, e.g. "systemd"
    std::string identifier;
    std::string started_at;           // UTC, format_utc_millis
    std::optional<std::int64_t> exp;  // the token's exp (unix seconds); absent in older records
};

class InflightJournal {
  public:
    explicit InflightJournal(std::filesystem::path directory) : directory_(std::move(directory)) {}

    // Creates the directory (0700) if needed and writes the record durably before returning.
    Expected<void, std::string> record(const InflightAction& action);
    // Removes the record of this jti (no error if it is not there).
    void remove(const std::string& jti);
    // Every record left behind, oldest first; files that do not parse are moved to
    // `directory`/corrupt/, with one line each in `problems` (when given) for the log.
    std::vector<InflightAction> leftovers(std::vector<std::string>* problems = nullptr) const;

  private:
    std::filesystem::path file_for(const std::string& jti) const;  // jti hashed: any bytes are safe
    std::filesystem::path directory_;
};

// The result object (same shape as monsys-action's, docs/monsys-action.md) for an action the
// agent lost track of. `token_consumed` says whether the replay store holds the jti, i.e.
// whether monsys-action had accepted the token before the agent died.
nlohmann::json interrupted_result(const InflightAction& action, bool token_consumed,
                                  const std::string& now_utc);

}  // namespace monsys::agent::actions
