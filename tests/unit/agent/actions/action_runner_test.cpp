// ActionRunner with a fake monsys-action: the order of actions for one app, the parallel bound,
// and a shutdown with an action in flight. Tokens are minted now by tests/tools/mint_eat.py (as
// the integration tests do) and verified by the real verifier, as ActionDelivery does before it
// hands an action to the runner (re-deliveries are ActionDelivery's, action_delivery_test).
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>

#include "../hub/fake_hub_connection.hpp"  // run_until
#include "../temp_dir.hpp"
#include "action_test_support.hpp"
#include "agent/actions/action_runner.hpp"
#include "tests/unit/trusted_dir.hpp"

using namespace monsys;
using namespace monsys::agent::actions;
using namespace monsys::agent::test;
using namespace monsys::agent::actions::test;
using namespace std::chrono_literals;

namespace {

struct Harness {
    explicit Harness(const TempDir& dir, std::size_t max_parallel = 4)
        : journal(dir.path() / "inflight") {
        ActionSettings settings;
        settings.verifier = verifier();
        // The store checks its directory's ancestors, which /tmp fails; it does not exist yet,
        // so it holds nothing.
        settings.replay_store = store_dir.path() / "replay" / "eat-replay.db";
        settings.max_parallel = max_parallel;
        RunnerIo fakes;
        fakes.launcher = launcher;
        fakes.disk = &disk;
        runner = std::make_unique<ActionRunner>(
            io.get_executor(), settings, journal,
            [this](ActionReport report) { reports.push_back(std::move(report)); }, fakes);
    }
    ~Harness() {
        launcher->cancel();
        runner.reset();
    }

    bool wait_started(std::size_t count) {
        return run_until(io, [this, count]() { return launcher->started().size() >= count; });
    }
    // What ActionDelivery does for a token nothing has acted on yet: verify it, hand it over.
    void submit(const std::string& token) {
        auto claims =
            eat::verify_token(token, verifier(), static_cast<std::int64_t>(std::time(nullptr)));
        REQUIRE(claims.has_value());
        runner->run({token, *claims, std::chrono::steady_clock::now()});
    }
    const ActionReport* report_for(const std::string& jti, const std::string& status) const {
        for (const auto& report : reports) {
            if (report.jti == jti && report.result.value("status", "") == status) return &report;
        }
        return nullptr;
    }

    monsys::test::TrustedDir store_dir;
    asio::io_context io;
    agent::hub::DiskWorker disk;
    InflightJournal journal;
    std::shared_ptr<FakeLauncher> launcher = std::make_shared<FakeLauncher>();
    std::vector<ActionReport> reports;
    std::unique_ptr<ActionRunner> runner;
};

}  // namespace

TEST_CASE("action runner: an action waits behind another for the same app; other apps run") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    h.submit(mint("first", "app-1"));
    h.submit(mint("second", "app-1"));
    h.submit(mint("other", "app-2"));

    REQUIRE(h.wait_started(2));
    h.io.restart();
    h.io.run_for(100ms);
    // Two worker threads: either may reach the launcher first.
    auto started = h.launcher->started();
    std::sort(started.begin(), started.end());
    CHECK(started == std::vector<std::string>{"first", "other"});
    CHECK(h.runner->running() == 2);
    CHECK(h.journal.leftovers().size() == 2);  // both recorded as in flight

    h.launcher->finish("first");
    REQUIRE(h.wait_started(3));
    CHECK(h.launcher->started().back() == "second");
    CHECK(h.report_for("first", "succeeded") != nullptr);

    h.launcher->finish("second");
    h.launcher->finish("other");
    REQUIRE(run_until(h.io, [&h]() { return h.reports.size() == 3; }));
    CHECK(h.runner->running() == 0);
    // Each in-flight record goes once its result was handed on.
    REQUIRE(run_until(h.io, [&h]() { return h.journal.leftovers().empty(); }));
}

TEST_CASE("action runner: at most max_parallel wrappers run at once") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir, 2);
    for (const char* app : {"app-1", "app-2", "app-3"}) {
        h.submit(mint(std::string("jti-") + app, app));
    }
    REQUIRE(h.wait_started(2));
    h.io.restart();
    h.io.run_for(100ms);
    CHECK(h.launcher->started().size() == 2);
    h.launcher->finish(h.launcher->started()[0]);
    REQUIRE(h.wait_started(3));
    for (const auto& jti : h.launcher->started()) h.launcher->finish(jti);
    REQUIRE(run_until(h.io, [&h]() { return h.reports.size() == 3; }));
    CHECK(h.launcher->most_at_once() == 2);
}

TEST_CASE("action runner: shutdown rejects what waits, lets the running one finish") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    h.submit(mint("running", "app-1"));
    h.submit(mint("waiting", "app-1"));
    REQUIRE(h.wait_started(1));
    h.io.restart();
    h.io.run_for(50ms);  // the second one is checked and queued

    bool idle = false;
    h.runner->shut_down([&idle]() { idle = true; }, 10s);
    auto* refused = h.report_for("waiting", "rejected");
    REQUIRE(refused != nullptr);
    CHECK(refused->result["reason"] == "agent_shutting_down");
    h.io.restart();
    h.io.run_for(100ms);
    CHECK_FALSE(idle);  // the running one is not done yet

    h.launcher->finish("running");
    REQUIRE(run_until(h.io, [&idle]() { return idle; }));
    CHECK(h.report_for("running", "succeeded") != nullptr);
    CHECK(h.launcher->started() == std::vector<std::string>{"running"});
}

TEST_CASE("action runner: after the grace the running wrapper is cancelled; its record stays") {
    REQUIRE(::access(python, X_OK) == 0);
    TempDir dir;
    Harness h(dir);
    h.submit(mint("stuck", "app-1"));
    REQUIRE(h.wait_started(1));

    bool idle = false;
    const auto asked = std::chrono::steady_clock::now();
    h.runner->shut_down([&idle]() { idle = true; }, 200ms);
    REQUIRE(run_until(h.io, [&idle]() { return idle; }));
    CHECK(std::chrono::steady_clock::now() - asked >= 200ms);
    CHECK(h.reports.empty());  // not reported now: the next start reports it as interrupted
    auto leftovers = h.journal.leftovers();
    REQUIRE(leftovers.size() == 1);
    CHECK(leftovers[0].jti == "stuck");

    // A token that arrives now is refused at once.
    h.submit(mint("late", "app-2"));
    REQUIRE(h.reports.size() == 1);
    CHECK(h.reports[0].result["reason"] == "agent_shutting_down");
}
