// ActionDelivery with a fake monsys-action and a fake link: one result per verified jti across
// re-deliveries in one burst, while the result waits for its ack, after the ack (the same frame
// again) and across a restart of the delivery on the same state directory; recovery of an
// interrupted action; refusals. Tokens are minted now and checked by the real verifier.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <ctime>

#include "../hub/fake_hub_connection.hpp"  // run_until
#include "../temp_dir.hpp"
#include "action_test_support.hpp"
#include "agent/actions/action_delivery.hpp"
#include "common/eat/replay_store.hpp"
#include "common/util/log.hpp"
#include "tests/unit/trusted_dir.hpp"

using namespace monsys;
using namespace monsys::agent::actions;
using namespace monsys::agent::test;
using namespace monsys::agent::actions::test;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

// The link as the delivery sees it: results are "stamped" with a seq and kept as pending frames
// until the test acks them; re-sent frames are recorded.
struct FakeLink {
    struct Sent {
        ActionReport report;
        agent::hub::PendingMessage message;
    };
    std::vector<Sent> sent;
    std::vector<std::string> resent;
    std::set<std::string> pending_jtis;
    std::uint64_t next_seq = 41;

    void send(ActionReport report) {
        Json frame = {{"type", "action_result"},
                      {"seq", next_seq},
                      {"jti", report.jti},
                      {"reported_by", report.reported_by},
                      {"result", report.result}};
        agent::hub::PendingMessage message{next_seq++, agent::hub::MessageKind::action_result,
                                           report.jti, frame.dump()};
        pending_jtis.insert(report.jti);
        sent.push_back({std::move(report), std::move(message)});
    }
    // Results that answer for this jti (result.jti); refusals of unverified tokens carry null.
    std::size_t results_for(const std::string& jti) const {
        std::size_t count = 0;
        for (const auto& s : sent) count += s.report.result.value("jti", Json()) == Json(jti);
        return count;
    }
};

struct Harness {
    explicit Harness(const TempDir& dir) : paths{dir.path() / "inflight", dir.path() / "ledger"} {
        settings.verifier = verifier();
        // The store checks its directory's ancestors, which /tmp fails.
        settings.replay_store = store_dir.path() / "replay" / "eat-replay.db";
        make();
    }
    ~Harness() {
        launcher->cancel();
        delivery.reset();
    }

    // A new delivery on the same directories: what the agent's next start sees.
    void make() {
        delivery.reset();
        DeliveryIo dio;
        dio.launcher = launcher;
        dio.disk = &disk;
        dio.send_result = [this](ActionReport report) { link.send(std::move(report)); };
        dio.resend_frame = [this](std::string frame) { link.resent.push_back(std::move(frame)); };
        dio.result_pending = [this](const std::string& jti) {
            return link.pending_jtis.count(jti) != 0;
        };
        delivery = std::make_unique<ActionDelivery>(io.get_executor(), settings, paths, dio);
        delivery->start();
        drain_disk();
        settle();
    }

    // Waits until the disk worker has run all it was given (it runs jobs in order): the start's
    // prune of the ledger, so a test that then writes the ledger does not race with it.
    void drain_disk() {
        auto drained = std::make_shared<std::atomic<bool>>(false);
        disk.post([drained]() { *drained = true; });
        REQUIRE(run_until(io, [&drained]() { return drained->load(); }));
    }

    // Lets the disk worker and the reactor finish what they were given.
    void settle(std::chrono::milliseconds how_long = 150ms) {
        io.restart();
        io.run_for(how_long);
    }

    // The hub acks the (only) result of this jti; waits until the ledger holds it.
    void ack(const std::string& jti) {
        for (const auto& s : link.sent) {
            if (s.report.jti != jti) continue;
            link.pending_jtis.erase(jti);
            delivery->on_acked(s.message);
        }
        REQUIRE(run_until(io, [this, &jti]() {
            auto found = ResultLedger(paths.ledger_dir).find(jti);
            return found && found->has_value();
        }));
    }

    monsys::test::TrustedDir store_dir;
    asio::io_context io;
    agent::hub::DiskWorker disk;
    ActionSettings settings;
    DeliveryPaths paths;
    std::shared_ptr<FakeLauncher> launcher = std::make_shared<FakeLauncher>();
    FakeLink link;
    std::unique_ptr<ActionDelivery> delivery;
};

const std::string& frame_of(const FakeLink& link, const std::string& jti) {
    for (const auto& s : link.sent) {
        if (s.report.jti == jti) return s.message.text;
    }
    FAIL("no result for " << jti);
    static const std::string none;
    return none;
}

}  // namespace

TEST_CASE("action delivery: the same token twice in one burst runs once and has one result") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    const std::string token = mint("burst", "app-1");
    h.delivery->submit(token);
    h.delivery->submit(token);
    REQUIRE(run_until(h.io, [&h]() { return h.launcher->started().size() == 1; }));
    h.settle();
    CHECK(h.link.sent.empty());  // no refusal of the second one, before or after the first's result

    h.launcher->finish("burst");
    REQUIRE(run_until(h.io, [&h]() { return h.link.sent.size() == 1; }));
    h.settle();
    CHECK(h.link.results_for("burst") == 1);
    CHECK(h.link.sent[0].report.result["status"] == "succeeded");
    CHECK(h.launcher->started().size() == 1);
}

TEST_CASE("action delivery: a re-delivery while the result waits for its ack sends nothing") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    h.launcher->finish_all();
    const std::string token = mint("queued", "app-1");
    h.delivery->submit(token);
    REQUIRE(run_until(h.io, [&h]() { return h.link.sent.size() == 1; }));

    h.delivery->submit(token);
    h.settle();
    CHECK(h.link.sent.size() == 1);
    CHECK(h.link.resent.empty());

    // The same after a restart: the outbox holds it (result_pending), nothing else does.
    h.make();
    h.delivery->submit(token);
    h.settle();
    CHECK(h.link.sent.size() == 1);
    CHECK(h.link.resent.empty());
    CHECK(h.launcher->started().size() == 1);
}

TEST_CASE(
    "action delivery: after the ack a re-delivery gets the same frame, also after a restart") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    h.launcher->finish_all();
    const std::string token = mint("acked", "app-1");
    h.delivery->submit(token);
    REQUIRE(run_until(h.io, [&h]() { return h.link.sent.size() == 1; }));
    h.ack("acked");
    const std::string frame = frame_of(h.link, "acked");

    h.delivery->submit(token);
    REQUIRE(run_until(h.io, [&h]() { return h.link.resent.size() == 1; }));
    CHECK(h.link.resent[0] == frame);  // byte for byte, seq included

    h.make();
    h.delivery->submit(token);
    REQUIRE(run_until(h.io, [&h]() { return h.link.resent.size() == 2; }));
    CHECK(h.link.resent[1] == frame);
    CHECK(h.link.sent.size() == 1);
    CHECK(h.launcher->started().size() == 1);
}

TEST_CASE(
    "action delivery: an interrupted action gets one agent-recovery result at the next start") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    const std::string token = mint("interrupted", "app-1");
    h.delivery->submit(token);
    REQUIRE(run_until(h.io, [&h]() { return h.launcher->started().size() == 1; }));
    h.settle();  // its in-flight record is written

    // The agent dies while monsys-action runs: nothing is reported, the record stays.
    h.launcher->cancel();
    h.delivery.reset();
    h.launcher = std::make_shared<FakeLauncher>();
    h.launcher->finish_all();
    CHECK(h.link.sent.empty());
    CHECK(InflightJournal(h.paths.inflight_dir).leftovers().size() == 1);

    h.make();
    REQUIRE(run_until(h.io, [&h]() { return h.link.sent.size() == 1; }));
    CHECK(h.link.sent[0].report.reported_by == "agent-recovery");
    CHECK(h.link.sent[0].report.jti == "interrupted");
    CHECK(h.link.sent[0].report.result["reason"] == "agent_interrupted");
    REQUIRE(run_until(
        h.io, [&h]() { return InflightJournal(h.paths.inflight_dir).leftovers().empty(); }));

    // The hub re-sends the action: it is not run again, and its one result is the recovery's.
    h.delivery->submit(token);
    h.settle();
    CHECK(h.link.sent.size() == 1);
    h.ack("interrupted");
    h.make();
    h.delivery->submit(token);
    REQUIRE(run_until(h.io, [&h]() { return h.link.resent.size() == 1; }));
    CHECK(h.link.resent[0] == frame_of(h.link, "interrupted"));
    CHECK(h.launcher->started().empty());
}

TEST_CASE("action delivery: an in-flight record whose result is in the ledger gets no second one") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    const std::int64_t now = std::time(nullptr);
    auto stored =
        ResultLedger(h.paths.ledger_dir)
            .store({"left-behind", now + 300, 7, R"({"type":"action_result","seq":7})"}, now);
    if (!stored) FAIL(stored.error());
    REQUIRE(InflightJournal(h.paths.inflight_dir)
                .record({"left-behind", "app-1", "systemd", "x.service", "2026-11-28T09:16:40.101Z",
                         now + 300}));
    h.make();
    REQUIRE(run_until(
        h.io, [&h]() { return InflightJournal(h.paths.inflight_dir).leftovers().empty(); }));
    h.settle();
    CHECK(h.link.sent.empty());
}

TEST_CASE(
    "action delivery: consumed by monsys-action but unknown here: refused as replayed, once") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    const std::int64_t now = std::time(nullptr);
    std::filesystem::create_directory(h.settings.replay_store.parent_path());
    ::chmod(h.settings.replay_store.parent_path().c_str(), 0700);
    auto consumed = eat::ReplayStore(h.settings.replay_store).consume("used", now + 600, now);
    if (!consumed) FAIL(consumed.error().detail);
    const std::string token = mint("used", "app-1");
    h.delivery->submit(token);
    REQUIRE(run_until(h.io, [&h]() { return h.link.sent.size() == 1; }));
    CHECK(h.link.sent[0].report.result["reason"] == "replayed");
    CHECK(h.link.sent[0].report.result["jti"] == "used");  // a verified jti: its one result
    h.delivery->submit(token);
    h.settle();
    CHECK(h.link.sent.size() == 1);
    CHECK(h.launcher->started().empty());
}

TEST_CASE(
    "action delivery: a token that does not verify is refused without a jti, never ledgered") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    const std::string expired =
        mint("stale", "app-1", "--now " + std::to_string(std::time(nullptr) - 3600));
    h.delivery->submit(expired);
    REQUIRE(run_until(h.io, [&h]() { return h.link.sent.size() == 1; }));
    CHECK(h.link.sent[0].report.result["jti"].is_null());
    CHECK(h.link.sent[0].report.result["reason"] == "expired");

    // Its ack stores nothing: such a refusal must never answer for the jti it claimed.
    h.delivery->on_acked(h.link.sent[0].message);
    h.settle();
    auto found = ResultLedger(h.paths.ledger_dir).find("stale");
    REQUIRE(found);
    CHECK_FALSE(found->has_value());
}

TEST_CASE("action delivery: at shutdown a queued action gets its one result; later ones no jti") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    h.delivery->submit(mint("running", "app-1"));
    const std::string queued = mint("queued", "app-1");
    h.delivery->submit(queued);
    REQUIRE(run_until(h.io, [&h]() { return h.launcher->started().size() == 1; }));
    h.settle();

    bool idle = false;
    h.delivery->shut_down([&idle]() { idle = true; }, 10s);
    REQUIRE(h.link.results_for("queued") == 1);
    CHECK(h.link.sent[0].report.result["reason"] == "agent_shutting_down");
    h.delivery->submit(queued);  // re-delivered while stopping
    h.settle();
    CHECK(h.link.results_for("queued") == 1);
    CHECK(h.link.sent.back().report.result["jti"].is_null());
    h.launcher->finish("running");
    REQUIRE(run_until(h.io, [&idle]() { return idle; }));
}

namespace {

// The lines the delivery writes, as the log sink sees them.
std::vector<std::string> logged_lines;
bool capture_line(const log::Record& record) {
    logged_lines.emplace_back(record.message);
    return true;
}

std::size_t lines_containing(std::string_view text) {
    std::size_t count = 0;
    for (const auto& line : logged_lines) count += line.find(text) != std::string::npos;
    return count;
}

}  // namespace

TEST_CASE("action delivery: a flood of junk tokens logs a bounded burst, then summary counts") {
    TempDir dir;
    Harness h(dir);
    DeliveryIo dio;
    dio.launcher = h.launcher;
    dio.disk = &h.disk;
    dio.send_result = [&h](ActionReport report) { h.link.send(std::move(report)); };
    dio.refusal_log_limits = {5, 0.0, 1000ms};  // 5 lines, then none: the rest only counted
    h.delivery.reset();
    h.delivery = std::make_unique<ActionDelivery>(h.io.get_executor(), h.settings, h.paths, dio);
    h.delivery->start();
    h.drain_disk();
    h.settle();

    constexpr std::uint64_t junk = 200;
    const std::string summary_text = "not logged one by one";
    // The counts the summary lines report (a slow machine may need two summary periods).
    auto summarised = []() {
        std::uint64_t total = 0;
        for (const auto& line : logged_lines) {
            const auto at = line.find("refused ");
            if (line.find("not logged one by one") != std::string::npos && at == 0) {
                total += std::stoull(line.substr(8));
            }
        }
        return total;
    };
    logged_lines.clear();
    log::set_sink(&capture_line);
    const auto flood_start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < junk; ++i) {
        h.delivery->submit("junk." + std::to_string(i) + ".frame");
    }
    const bool answered = run_until(
        h.io, [&h]() { return h.link.sent.size() == junk; }, 20s);
    const bool all_counted = run_until(
        h.io, [&summarised]() { return summarised() == junk - 5; }, 20s);
    const auto flood_time = std::chrono::steady_clock::now() - flood_start;
    log::set_sink(nullptr);

    REQUIRE(answered);  // every frame still gets its refusal (the link's bounds apply later)
    CHECK(lines_containing("refused an action token") == 5);
    CHECK(all_counted);
    CHECK(summarised() == junk - 5);
    const std::size_t summaries = lines_containing(summary_text);
    CHECK(summaries >= 1);
    // At most one a summary period (1 s) while the flood was checked, plus the last one.
    CHECK(summaries <= static_cast<std::size_t>(flood_time / 1s) + 2);
    CHECK(logged_lines.size() == 5 + summaries);
}
