#pragma once
// What the agent does with an action whose token verified, given what it knows of the jti: the
// rule "at most one action_result per verified jti" (docs/protocol.md, "action"), as a pure
// function, and the reactor's memory of the jtis it is handling. No I/O here.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace monsys::agent::actions {

// Where a verified jti is in this agent process.
enum class JtiPhase {
    running,   // accepted: queued behind another action of its app, or monsys-action runs
    reported,  // its one result went to the outbox; the hub has not acked it yet
    acked,     // the hub acked the result; the ledger holds the frame
};

// What is known of a verified jti when a delivery of it is decided. Gathered in two places: the
// disk worker reads the ledger and the replay store; the reactor adds its memory and the outbox.
struct JtiFacts {
    std::optional<JtiPhase> phase;  // this process's memory of it
    bool result_in_outbox =
        false;  // a result for it waits in the outbox (e.g. from before a restart)
    bool ledger_has_result = false;
    bool ledger_unreadable = false;  // its ledger file exists but cannot be read
    std::optional<bool> consumed;    // whether the replay store holds it; none: unreadable
};

enum class Delivery {
    run,                   // first delivery: hand it to monsys-action
    ignore_running,        // its run is under way; its one result follows
    ignore_result_queued,  // its result waits in the outbox and is (re)sent on every connect
    resend_result,         // send the ledger's frame again, unchanged
    ignore_result_lost,    // acked, but its frame is not at hand (unreadable ledger file)
    refuse_replayed,       // consumed by monsys-action, yet nothing here knows its result
    refuse_store_error,    // the replay store cannot be read: nothing can be decided safely
};

Delivery decide_delivery(const JtiFacts& facts);
const char* to_string(Delivery delivery);

// The reactor's memory of verified jtis: what phase each is in and its token's exp. Entries go
// once exp + skew has passed (no re-delivery can verify then) and, past `max_entries`, the ones
// whose tokens expire first, except those still running.
class JtiRegistry {
  public:
    explicit JtiRegistry(std::size_t max_entries = 10000, std::int64_t keep_after_exp_secs = 30)
        : max_entries_(max_entries), keep_after_exp_secs_(keep_after_exp_secs) {}

    void set(const std::string& jti, std::int64_t exp, JtiPhase phase, std::int64_t now_unix);
    // Moves a known jti to `phase`; returns false (and changes nothing) for an unknown one.
    bool advance(const std::string& jti, JtiPhase phase);
    std::optional<JtiPhase> phase(const std::string& jti) const;
    std::optional<std::int64_t> exp(const std::string& jti) const;
    std::size_t size() const { return entries_.size(); }

  private:
    struct Entry {
        std::int64_t exp;
        JtiPhase phase;
    };
    void forget_expired(std::int64_t now_unix);
    std::size_t max_entries_;
    std::int64_t keep_after_exp_secs_;
    std::map<std::string, Entry> entries_;
};

}  // namespace monsys::agent::actions
