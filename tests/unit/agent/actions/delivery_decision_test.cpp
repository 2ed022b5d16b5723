// The rule "at most one action_result per verified jti" as a table, and the reactor's memory of
// jtis: what it forgets and when.
#include <doctest/doctest.h>

#include "agent/actions/delivery_decision.hpp"

using namespace monsys::agent::actions;

namespace {

JtiFacts fresh() {
    JtiFacts facts;
    facts.consumed = false;
    return facts;
}

}  // namespace

TEST_CASE("delivery decision: only a jti nothing knows of runs") {
    CHECK(decide_delivery(fresh()) == Delivery::run);

    auto running = fresh();
    running.phase = JtiPhase::running;
    CHECK(decide_delivery(running) == Delivery::ignore_running);

    auto reported = fresh();
    reported.phase = JtiPhase::reported;
    CHECK(decide_delivery(reported) == Delivery::ignore_result_queued);

    auto in_outbox = fresh();  // e.g. from before a restart
    in_outbox.result_in_outbox = true;
    in_outbox.consumed = true;
    CHECK(decide_delivery(in_outbox) == Delivery::ignore_result_queued);

    auto acked = fresh();
    acked.ledger_has_result = true;
    acked.consumed = true;
    CHECK(decide_delivery(acked) == Delivery::resend_result);
    acked.phase = JtiPhase::acked;
    CHECK(decide_delivery(acked) == Delivery::resend_result);

    // Acked here, but the frame is not at hand: never a refusal that would contradict it.
    auto lost = fresh();
    lost.phase = JtiPhase::acked;
    lost.consumed = true;
    CHECK(decide_delivery(lost) == Delivery::ignore_result_lost);
    auto unreadable = fresh();
    unreadable.ledger_unreadable = true;
    CHECK(decide_delivery(unreadable) == Delivery::ignore_result_lost);

    auto consumed = fresh();
    consumed.consumed = true;
    CHECK(decide_delivery(consumed) == Delivery::refuse_replayed);

    auto store_error = fresh();
    store_error.consumed.reset();
    CHECK(decide_delivery(store_error) == Delivery::refuse_store_error);
}

TEST_CASE("delivery decision: what this process knows comes before the outbox and the ledger") {
    auto facts = fresh();
    facts.phase = JtiPhase::running;
    facts.result_in_outbox = true;
    facts.ledger_has_result = true;
    CHECK(decide_delivery(facts) == Delivery::ignore_running);
    facts.phase = JtiPhase::reported;
    CHECK(decide_delivery(facts) == Delivery::ignore_result_queued);
}

TEST_CASE("jti registry: finished jtis are forgotten after exp + skew, running ones never") {
    JtiRegistry registry(100, 30);
    registry.set("running", 1000, JtiPhase::running, 900);
    registry.set("done", 1000, JtiPhase::acked, 900);
    CHECK(registry.phase("done") == JtiPhase::acked);
    registry.set("later", 5000, JtiPhase::reported, 1030);  // 1000 + 30: "done" goes
    CHECK_FALSE(registry.phase("done"));
    CHECK(registry.phase("running") == JtiPhase::running);
    CHECK(registry.advance("running", JtiPhase::reported));
    CHECK_FALSE(registry.advance("unknown", JtiPhase::reported));
    CHECK(registry.exp("later") == 5000);
}

TEST_CASE("jti registry: over the cap the finished ones that expire first go") {
    JtiRegistry registry(2, 30);
    registry.set("run", 100, JtiPhase::running, 0);
    registry.set("early", 200, JtiPhase::acked, 0);
    registry.set("late", 300, JtiPhase::acked, 0);
    CHECK(registry.size() == 2);
    CHECK(registry.phase("run") == JtiPhase::running);
    CHECK_FALSE(registry.phase("early"));
    CHECK(registry.phase("late") == JtiPhase::acked);
}
