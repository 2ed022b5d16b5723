#pragma once
// One result per verified jti (docs/protocol.md, "action"): every `action` frame goes through
// here. The token is verified first; then what is known of its jti decides (delivery_decision):
// run it (ActionRunner), ignore a re-delivery whose result is under way or waits in the outbox,
// or send the result the hub acked before again, byte for byte, from the result ledger. At start
// the actions an agent death interrupted get their one `agent-recovery` result, unless the ledger
// or the outbox shows they have one already.
//
// Where a jti's one result lives: the in-flight journal while monsys-action runs, the outbox from
// the report until the hub's ack, the ledger after the ack (until exp + skew). Each hand-over
// is ordered on the one disk worker, so after a crash at any point one of them still answers.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent/actions/action_runner.hpp"
#include "agent/actions/delivery_decision.hpp"
#include "agent/actions/inflight_journal.hpp"
#include "agent/actions/log_throttle.hpp"
#include "agent/actions/result_ledger.hpp"
#include "agent/hub/disk_worker.hpp"
#include "agent/hub/outbox.hpp"
#include "common/io/asio.hpp"

namespace monsys::agent::actions {

struct DeliveryPaths {
    std::filesystem::path inflight_dir;  // <hub_state_dir>/inflight
    std::filesystem::path ledger_dir;    // <hub_state_dir>/ledger
};

// The delivery's I/O, replaceable in tests. Every function is called on the io executor.
struct DeliveryIo {
    std::shared_ptr<WrapperLauncher> launcher;  // null: make_wrapper_launcher(settings)
    // The agent's one disk worker (the link's outbox writes go through it too, so a result is in
    // the outbox before its in-flight record goes, and in the ledger before its outbox file
    // goes); null: the delivery's own worker (tests).
    hub::DiskWorker* disk = nullptr;
    // Hands a result to the hub link (which stamps, stores and sends it).
    std::function<void(ActionReport)> send_result;
    // Puts a frame the hub acked before on the wire again, unchanged (same seq, same bytes).
    std::function<void(std::string frame)> resend_frame;
    // Whether the outbox holds an unacked result for this jti.
    std::function<bool(const std::string& jti)> result_pending;
    LedgerLimits ledger_limits{};  // keep_after_exp_secs is taken from the verifier's skew
    // The warning lines for tokens that do not verify: a flood of junk frames writes a burst of
    // lines, then one a minute, and a summary line with the count of those left out.
    LogThrottleLimits refusal_log_limits{};
};

class ActionDelivery {
  public:
    ActionDelivery(asio::any_io_executor io, ActionSettings settings, DeliveryPaths paths,
                   DeliveryIo delivery_io);
    ~ActionDelivery();
    ActionDelivery(const ActionDelivery&) = delete;
    ActionDelivery& operator=(const ActionDelivery&) = delete;

    // Recovers what the last agent process left in flight and prunes the ledger, on the disk
    // worker. Call once, before the first submit(); submissions are decided after it.
    void start();

    // The token of an `action` frame.
    void submit(std::string token);

    // The hub acked this message: an action_result of a verified jti goes into the ledger (on
    // the disk worker, posted before the link removes the outbox file). Other messages: nothing.
    void on_acked(const hub::PendingMessage& message);

    // As ActionRunner::shut_down. Re-deliveries after this are refused as before verification
    // (agent_shutting_down, no jti).
    void shut_down(std::function<void()> on_idle, std::chrono::milliseconds grace);
    std::size_t running() const { return runner_->running(); }

  private:
    struct Checked;
    struct Recovered;
    void after_check(std::string token, Checked checked,
                     std::chrono::steady_clock::time_point received);
    void after_recovery(Recovered recovered);
    void on_report(ActionReport report);
    void refuse_unverified(const std::string& token, const std::string& reason,
                           const std::string& detail);
    void arm_refusal_summary();
    void write_refusal_summary(bool now_regardless);
    std::int64_t longest_exp_from(std::int64_t now_unix) const;

    std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // for handlers posted back to io
    asio::any_io_executor io_;
    ActionSettings settings_;
    InflightJournal journal_;
    DeliveryIo dio_;
    std::shared_ptr<ResultLedger> ledger_;  // used on the disk worker only
    JtiRegistry registry_;
    bool shutting_down_ = false;
    LogThrottle refusal_log_;
    asio::steady_timer refusal_summary_timer_;
    bool refusal_summary_armed_ = false;
    std::unique_ptr<hub::DiskWorker> own_disk_;
    hub::DiskWorker* disk_;
    std::unique_ptr<ActionRunner> runner_;  // first to go: its threads are joined
};

}  // namespace monsys::agent::actions
