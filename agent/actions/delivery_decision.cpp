#include "agent/actions/delivery_decision.hpp"

#include <algorithm>
#include <vector>

namespace monsys::agent::actions {

// The order matters: what this process knows first (it is the freshest), then the outbox (a
// result there is re-sent on every connect anyway), then the ledger, and only then the replay
// store, whose "consumed" alone says a result existed that nothing here remembers.
Delivery decide_delivery(const JtiFacts& facts) {
    if (facts.phase == JtiPhase::running) return Delivery::ignore_running;
    if (facts.phase == JtiPhase::reported || facts.result_in_outbox) {
        return Delivery::ignore_result_queued;
    }
    if (facts.ledger_has_result) return Delivery::resend_result;
    // Acked in this process, but the ledger has no readable frame (its write failed, or the read
    // raced the write): the hub has the result; a refusal now would contradict it.
    if (facts.phase == JtiPhase::acked || facts.ledger_unreadable) {
        return Delivery::ignore_result_lost;
    }
    if (!facts.consumed) return Delivery::refuse_store_error;
    if (*facts.consumed) return Delivery::refuse_replayed;
    return Delivery::run;
}

const char* to_string(Delivery delivery) {
    switch (delivery) {
        case Delivery::run:
            return "run";
        case Delivery::ignore_running:
            return "ignored: it is running; its one result follows";
        case Delivery::ignore_result_queued:
            return "ignored: its result waits in the outbox and is re-sent on every connect";
        case Delivery::resend_result:
            return "its result was acked before; re-sending the same frame";
        case Delivery::ignore_result_lost:
            return "ignored: its result was acked before but the stored frame cannot be read";
        case Delivery::refuse_replayed:
            return "refused: monsys-action consumed it and no result of it is known here";
        case Delivery::refuse_store_error:
            return "refused: the replay store cannot be read";
    }
    return "?";
}

void JtiRegistry::set(const std::string& jti, std::int64_t exp, JtiPhase phase,
                      std::int64_t now_unix) {
    forget_expired(now_unix);
    entries_[jti] = Entry{exp, phase};
    if (entries_.size() <= max_entries_) return;
    // Over the cap: forget the finished ones whose tokens expire first. A running one stays (its
    // result must still be told apart from a re-delivery); the ledger answers for acked ones.
    std::vector<std::pair<std::int64_t, std::string>> finished;
    for (const auto& [id, entry] : entries_) {
        if (entry.phase != JtiPhase::running && id != jti) finished.emplace_back(entry.exp, id);
    }
    std::sort(finished.begin(), finished.end());
    for (const auto& [entry_exp, id] : finished) {
        if (entries_.size() <= max_entries_) break;
        entries_.erase(id);
    }
}

bool JtiRegistry::advance(const std::string& jti, JtiPhase phase) {
    auto it = entries_.find(jti);
    if (it == entries_.end()) return false;
    it->second.phase = phase;
    return true;
}

std::optional<JtiPhase> JtiRegistry::phase(const std::string& jti) const {
    auto it = entries_.find(jti);
    if (it == entries_.end()) return std::nullopt;
    return it->second.phase;
}

std::optional<std::int64_t> JtiRegistry::exp(const std::string& jti) const {
    auto it = entries_.find(jti);
    if (it == entries_.end()) return std::nullopt;
    return it->second.exp;
}

void JtiRegistry::forget_expired(std::int64_t now_unix) {
    std::erase_if(entries_, [this, now_unix](const auto& item) {
        return item.second.phase != JtiPhase::running &&
               item.second.exp + keep_after_exp_secs_ <= now_unix;
    });
}

}  // namespace monsys::agent::actions
