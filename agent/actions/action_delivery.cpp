#include "agent/actions/action_delivery.hpp"

#include <ctime>

#include "agent/actions/agent_results.hpp"
#include "common/eat/replay_store.hpp"
#include "common/eat/verifier.hpp"
#include "common/json/capped_json.hpp"
#include "common/util/log.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::actions {
namespace {

std::string now_utc() {
    return format_utc_millis(std::chrono::system_clock::now());
}

std::int64_t now_unix() {
    return static_cast<std::int64_t>(std::time(nullptr));
}

// Whether the frame's result names `jti`: results of verified tokens always do (monsys-action's,
// the agent's own refusals of them, agent-recovery); refusals of tokens that did not verify carry
// a null jti and must never answer for a jti. Runs on the disk worker (a frame can be large).
bool result_names_jti(const std::string& frame, const std::string& jti) {
    auto parsed = json::parse(frame, json::Limits{max_ledger_entry_bytes, 64, false, false});
    if (!parsed || !parsed->is_object()) return false;
    auto result = parsed->find("result");
    if (result == parsed->end() || !result->is_object()) return false;
    auto named = result->find("jti");
    return named != result->end() && named->is_string() &&
           named->get_ref<const std::string&>() == jti;
}

}  // namespace

// What the disk worker found for one action frame.
struct ActionDelivery::Checked {
    std::optional<eat::Claims> claims;  // the token verified
    std::optional<eat::Rejection> rejection;
    // The ledger's copy of the jti's result, none, or why the ledger could not be read.
    Expected<std::optional<LedgerEntry>, std::string> ledger_entry = std::optional<LedgerEntry>();
    std::optional<bool> consumed;  // none: not read (a ledger entry decides) or unreadable
    std::string store_error;
};

struct ActionDelivery::Recovered {
    struct Interrupted {
        InflightAction action;
        bool consumed;
    };
    std::vector<Interrupted> interrupted;
    std::vector<std::string> problems;
};

ActionDelivery::ActionDelivery(asio::any_io_executor io, ActionSettings settings,
                               DeliveryPaths paths, DeliveryIo delivery_io)
    : io_(io),
      settings_(std::move(settings)),
      journal_(paths.inflight_dir),
      dio_(std::move(delivery_io)),
      registry_(10000, settings_.verifier.clock_skew_secs),
      refusal_log_(dio_.refusal_log_limits),
      refusal_summary_timer_(io),
      own_disk_(dio_.disk ? nullptr : std::make_unique<hub::DiskWorker>()),
      disk_(dio_.disk ? dio_.disk : own_disk_.get()) {
    LedgerLimits limits = dio_.ledger_limits;
    limits.keep_after_exp_secs = settings_.verifier.clock_skew_secs;
    ledger_ = std::make_shared<ResultLedger>(paths.ledger_dir, limits);
    runner_ = std::make_unique<ActionRunner>(
        io_, settings_, journal_, [this](ActionReport report) { on_report(std::move(report)); },
        RunnerIo{dio_.launcher, disk_});
}

ActionDelivery::~ActionDelivery() {
    runner_.reset();  // cancels and joins the wrapper threads, while the rest still exists
}

std::int64_t ActionDelivery::longest_exp_from(std::int64_t now) const {
    // A token that verified by now has exp <= iat + max lifetime and iat <= now + skew.
    return now + settings_.verifier.max_lifetime_secs + settings_.verifier.clock_skew_secs;
}

void ActionDelivery::start() {
    std::weak_ptr<int> alive = alive_;
    disk_->call(
        io_,
        [journal = journal_, ledger = ledger_, store_path = settings_.replay_store]() mutable {
            Recovered recovered;
            const std::int64_t now = now_unix();
            auto pruned = ledger->prune(now);
            recovered.problems = std::move(pruned.problems);
            if (pruned.expired + pruned.kept > 0) {
                log::info("result ledger: " + std::to_string(pruned.kept) + " kept, " +
                          std::to_string(pruned.expired) + " expired removed");
            }
            std::vector<std::string> problems;
            auto leftovers = journal.leftovers(&problems);
            for (auto& problem : problems) recovered.problems.push_back("in-flight: " + problem);
            eat::ReplayStore store(store_path);
            for (auto& action : leftovers) {
                // Its result was acked before the record could go: it has its one result.
                if (auto entry = ledger->find(action.jti); !entry || *entry) {
                    if (!entry) recovered.problems.push_back(entry.error());
                    journal.remove(action.jti);
                    continue;
                }
                auto seen = store.seen(action.jti, now);
                const bool consumed = !seen || *seen;  // unreadable: assume it may have run
                recovered.interrupted.push_back({std::move(action), consumed});
            }
            return recovered;
        },
        [this, alive](Recovered recovered) {
            if (alive.lock()) after_recovery(std::move(recovered));
        });
}

void ActionDelivery::after_recovery(Recovered recovered) {
    for (const auto& problem : recovered.problems) log::warning("actions: " + problem);
    const std::string now_text = now_utc();
    const std::int64_t now = now_unix();
    for (const auto& [action, consumed] : recovered.interrupted) {
        if (dio_.result_pending && dio_.result_pending(action.jti)) {
            // Its result reached the outbox before the agent died; only the record was left.
        } else {
            log::warning("action " + action.jti + " for app " + action.app_id +
                         " was interrupted by the agent's last stop; reporting it as failed");
            registry_.set(action.jti, action.exp.value_or(longest_exp_from(now)),
                          JtiPhase::reported, now);
            dio_.send_result(make_report(action.jti, "agent-recovery",
                                         interrupted_result(action, consumed, now_text)));
        }
        // After the result's store on the same worker: the record goes once the outbox has it.
        disk_->post([journal = journal_, jti = action.jti]() mutable { journal.remove(jti); });
    }
}

void ActionDelivery::refuse_unverified(const std::string& token, const std::string& reason,
                                       const std::string& detail) {
    auto ids = eat::unverified_ids(token);
    if (refusal_log_.admit(std::chrono::steady_clock::now())) {
        log::event(log::Level::warning, log::Event::token_refused,
                   "refused an action token: " + reason + " (" + detail + ")",
                   {ids.jti.value_or(""), ids.app_id.value_or(""), "", "rejected"});
    } else {
        arm_refusal_summary();
    }
    auto fields = refusal_fields(std::nullopt, std::nullopt, reason, detail, now_utc());
    fields.app_id = ids.app_id.value_or("");  // for correlation only; jti and type stay null
    dio_.send_result(make_report(ids.jti.value_or(""), "agent", agent_result(fields)));
}

void ActionDelivery::arm_refusal_summary() {
    const auto due = refusal_log_.summary_due();
    if (refusal_summary_armed_ || !due) return;
    refusal_summary_armed_ = true;
    refusal_summary_timer_.expires_at(*due);
    std::weak_ptr<int> alive = alive_;
    refusal_summary_timer_.async_wait([this, alive](beast::error_code ec) {
        if (ec || !alive.lock()) return;
        refusal_summary_armed_ = false;
        write_refusal_summary(false);
    });
}

void ActionDelivery::write_refusal_summary(bool now_regardless) {
    const auto count = refusal_log_.take_summary(std::chrono::steady_clock::now(), now_regardless);
    if (!count || *count == 0) return;
    log::warning("refused " + std::to_string(*count) +
                 " more action token(s) that did not verify, not logged one by one (" +
                 std::to_string(refusal_log_.total_left_out()) + " since the agent started)");
}

void ActionDelivery::submit(std::string token) {
    const auto received = std::chrono::steady_clock::now();
    if (shutting_down_) {
        refuse_unverified(token, "agent_shutting_down",
                          "the agent is shutting down; nothing was restarted");
        return;
    }
    // On the disk worker: the ledger read, and the replay store's read waits for its shared lock
    // (up to 10 s). The worker keeps the order, so actions are decided in the order they came.
    std::weak_ptr<int> alive = alive_;
    disk_->call(
        io_,
        [verifier = settings_.verifier, store_path = settings_.replay_store, ledger = ledger_,
         token]() {
            Checked checked;
            const std::int64_t now = now_unix();
            auto claims = eat::verify_token(token, verifier, now);
            if (!claims) {
                checked.rejection = std::move(claims.error());
                return checked;
            }
            checked.ledger_entry = ledger->find(claims->jti);
            if (checked.ledger_entry && !*checked.ledger_entry) {
                auto seen = eat::ReplayStore(store_path).seen(claims->jti, now);
                if (seen) {
                    checked.consumed = *seen;
                } else {
                    checked.store_error = std::move(seen.error());
                }
            }
            checked.claims = std::move(*claims);
            return checked;
        },
        [this, alive, token, received](Checked checked) mutable {
            if (alive.lock()) after_check(std::move(token), std::move(checked), received);
        });
}

void ActionDelivery::after_check(std::string token, Checked checked,
                                 std::chrono::steady_clock::time_point received) {
    if (!checked.claims) {
        refuse_unverified(token, eat::to_string(checked.rejection->reason),
                          checked.rejection->detail);
        return;
    }
    const eat::Claims& claims = *checked.claims;
    const std::string& jti = claims.jti;
    JtiFacts facts;
    facts.phase = registry_.phase(jti);
    facts.result_in_outbox = dio_.result_pending && dio_.result_pending(jti);
    facts.ledger_has_result = checked.ledger_entry && checked.ledger_entry->has_value();
    facts.ledger_unreadable = !checked.ledger_entry;
    facts.consumed = checked.consumed;
    if (!checked.ledger_entry) log::error("result ledger: " + checked.ledger_entry.error());

    const Delivery delivery = decide_delivery(facts);
    const std::int64_t now = now_unix();
    switch (delivery) {
        case Delivery::run:
            registry_.set(jti, claims.exp, JtiPhase::running, now);
            runner_->run(
                ActionRunner::Accepted{std::move(token), std::move(*checked.claims), received});
            return;
        case Delivery::ignore_running:
        case Delivery::ignore_result_queued:
        case Delivery::ignore_result_lost:
            log::notice("action " + jti + " delivered again: " + to_string(delivery));
            return;
        case Delivery::resend_result:
            log::notice("action " + jti + " delivered again: " + to_string(delivery) + " (seq " +
                        std::to_string((*checked.ledger_entry)->seq) + ")");
            registry_.set(jti, claims.exp, JtiPhase::acked, now);
            if (dio_.resend_frame) dio_.resend_frame(std::move((*checked.ledger_entry)->frame));
            return;
        case Delivery::refuse_replayed:
        case Delivery::refuse_store_error: {
            // The jti's one result, like any other: it is stored in the ledger once acked.
            const bool replayed = delivery == Delivery::refuse_replayed;
            const std::string detail = replayed
                                           ? "this token id was used before"
                                           : "cannot read the replay store: " + checked.store_error;
            log::warning("refused action " + jti + ": " + to_string(delivery));
            registry_.set(jti, claims.exp, JtiPhase::reported, now);
            dio_.send_result(
                make_report(jti, "agent",
                            agent_result(refusal_fields(
                                jti, claims.app,
                                eat::to_string(replayed ? eat::Refusal::replayed
                                                        : eat::Refusal::replay_store_error),
                                detail, now_utc()))));
            return;
        }
    }
}

void ActionDelivery::on_report(ActionReport report) {
    if (!report.jti.empty()) registry_.advance(report.jti, JtiPhase::reported);
    dio_.send_result(std::move(report));
}

void ActionDelivery::on_acked(const hub::PendingMessage& message) {
    if (message.kind != hub::MessageKind::action_result || message.jti.empty()) return;
    const std::int64_t now = now_unix();
    const std::int64_t exp = registry_.exp(message.jti).value_or(longest_exp_from(now));
    registry_.advance(message.jti, JtiPhase::acked);
    if (exp + settings_.verifier.clock_skew_secs <= now) return;  // no re-delivery can verify
    disk_->post([ledger = ledger_, entry = LedgerEntry{message.jti, exp, message.seq, message.text},
                 now]() {
        if (!result_names_jti(entry.frame, entry.jti)) return;  // a refusal without a trusted jti
        if (auto stored = ledger->store(entry, now); !stored) {
            log::error("result ledger: cannot keep the result of action " + entry.jti +
                       " (a re-delivery of it would not be answered): " + stored.error());
        }
    });
}

void ActionDelivery::shut_down(std::function<void()> on_idle, std::chrono::milliseconds grace) {
    shutting_down_ = true;
    write_refusal_summary(true);
    runner_->shut_down(std::move(on_idle), grace);
}

}  // namespace monsys::agent::actions
