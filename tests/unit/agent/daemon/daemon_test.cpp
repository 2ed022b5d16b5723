// The Daemon's wiring with fakes for all its I/O (DaemonIo): a hub that is an in-memory
// connection, a unit source the test moves, a monsys-action that runs until the test lets it, a
// clock the test sets. Everything else is the real code: HubLink, Outbox, Observer, StateTracker,
// ActionRunner with the real token verifier, the in-flight journal, the disk worker.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include "../actions/action_test_support.hpp"
#include "../hub/fake_hub_connection.hpp"
#include "../temp_dir.hpp"
#include "agent/daemon/daemon.hpp"
#include "agent/hub/sequence_counter.hpp"
#include "common/util/time_format.hpp"
#include "tests/unit/trusted_dir.hpp"

using namespace monsys;
using namespace monsys::agent;
using namespace monsys::agent::daemon;
using namespace monsys::agent::test;
using namespace std::chrono_literals;
using Json = nlohmann::json;
using SystemTime = std::chrono::system_clock::time_point;

namespace {

// systemd as the test wants it: each unit's ActiveState, and the events a real source pushes
// (units_resync after the bus came back, unit_changed after a PropertiesChanged). While
// `stalled`, a list gets no answer (a bus that hangs) until release().
struct FakeSystemd {
    std::map<std::string, std::string> active;
    int lists = 0;
    observe::SourceEvents events;
    bool stalled = false;
    std::vector<std::function<void()>> unanswered;

    void release(asio::any_io_executor executor) {
        stalled = false;
        for (auto& answer : unanswered) asio::post(executor, std::move(answer));
        unanswered.clear();
    }
};

class FakeUnits final : public observe::UnitSource {
  public:
    FakeUnits(asio::any_io_executor executor, std::shared_ptr<FakeSystemd> systemd)
        : executor_(executor), systemd_(std::move(systemd)) {}
    void list_units(std::vector<std::string> names,
                    std::function<void(inventory::SystemdSection)> done) override {
        ++systemd_->lists;
        inventory::SystemdSection section;
        for (const auto& name : names) {
            auto found = systemd_->active.find(name);
            if (found == systemd_->active.end()) continue;
            inventory::Unit unit;
            unit.name = name;
            unit.load_state = "loaded";
            unit.active_state = found->second;
            unit.sub_state = found->second == "active" ? "running" : "dead";
            section.units.push_back(unit);
        }
        if (systemd_->stalled) {
            systemd_->unanswered.push_back([done, section]() { done(section); });
            return;
        }
        asio::post(executor_, [done, section]() { done(section); });
    }
    void watch(std::vector<std::string>) override {}
    void stop() override {}

  private:
    asio::any_io_executor executor_;
    std::shared_ptr<FakeSystemd> systemd_;
};

// monsys-action as the test wants it: each run waits until the test finishes it or cancel().
class FakeLauncher final : public actions::WrapperLauncher {
  public:
    actions::ActionReport run(const actions::WrapperRequest& request) override {
        std::unique_lock<std::mutex> lock(mutex_);
        started_.push_back(request.jti);
        changed_.notify_all();
        changed_.wait(
            lock, [this, &request]() { return cancelled_ || finished_.count(request.jti) != 0; });
        actions::ActionReport report;
        report.jti = request.jti;
        report.reported_by = "monsys-action";
        report.result = {{"jti", request.jti}, {"app_id", request.app.id}, {"status", "succeeded"}};
        // As printed: not in nlohmann's key order, so a re-serialized result would differ.
        report.result_text = R"({"status": "succeeded", "jti": ")" + request.jti +
                             R"(", "app_id": ")" + request.app.id + R"("})";
        report.result_jws = "header.payload.signature";
        report.cancelled = finished_.count(request.jti) == 0;
        return report;
    }
    void cancel() override {
        std::lock_guard<std::mutex> lock(mutex_);
        cancelled_ = true;
        changed_.notify_all();
    }
    void finish(const std::string& jti) {
        std::lock_guard<std::mutex> lock(mutex_);
        finished_.insert(jti);
        changed_.notify_all();
    }
    std::size_t started() {
        std::lock_guard<std::mutex> lock(mutex_);
        return started_.size();
    }
    bool cancelled() {
        std::lock_guard<std::mutex> lock(mutex_);
        return cancelled_;
    }

  private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<std::string> started_;
    std::set<std::string> finished_;
    bool cancelled_ = false;
};

// The agent's configuration for the fixture tokens (the verifier settings the action tests use,
// from tests/fixtures/eat/tokens.json): rounds and state reports an hour apart, so whatever the
// test sees was caused by an event or a reply.
config::Config test_config(const TempDir& hub_dir, const monsys::test::TrustedDir& state_dir) {
    const eat::VerifierSettings accepted = actions::test::verifier();
    config::Config config;
    config.agent_id = accepted.agent_id;
    config.issuer = accepted.issuer;
    config.clock_skew_secs = accepted.clock_skew_secs;
    config.max_token_lifetime_secs = accepted.max_lifetime_secs;
    config.hub_keys = accepted.keys;
    config.hub_url = "ws://127.0.0.1:1/agent";
    config.hub_state_dir = hub_dir.path() / "hub";
    config.hub_token_file = hub_dir.path() / "agent.token";
    // The replay store checks its directory's ancestors (which /tmp fails); it does not exist
    // yet, so it holds nothing.
    config.state_dir = state_dir.path() / "replay";
    config.observe_interval_secs = 3600;
    config.state_interval_secs = 3600;
    return config;
}

DaemonTimings short_timings() {
    DaemonTimings timings;
    timings.action_grace = 300ms;
    timings.backstop_margin = 2000ms;
    timings.result_flush = 2000ms;
    timings.close_wait = 20ms;
    timings.persist_delay = 50ms;
    timings.status_tick = 10ms;
    timings.status_heartbeat = 10s;
    return timings;
}

const SystemTime t0 = SystemTime(std::chrono::seconds(1795910400));  // 2026-11-29T00:00:00Z

const char* welcome_web =
    R"({"type":"welcome","apps":[{"id":"app-1","name":"web","app_type":"systemd",)"
    R"("identifier":"web.service","expected_state":"running"}]})";

// One daemon over the state in `hub_dir`; a second harness on the same directories is the same
// agent started again.
struct Harness {
    Harness(const TempDir& hub_dir, const monsys::test::TrustedDir& state_dir,
            DaemonTimings timings = short_timings(),
            std::chrono::milliseconds watchdog_period = 0ms,
            const std::function<void(AgentSetup&)>& adjust = {}) {
        AgentSetup setup;
        setup.config = test_config(hub_dir, state_dir);
        if (adjust) adjust(setup);
        auto url = hub::parse_hub_url(setup.config.hub_url, false);
        REQUIRE(url);
        setup.url = *url;
        setup.paths = agent_paths(setup.config);
        setup.host.hostname = "test-host";
        setup.host.boot_id = "boot-1";
        REQUIRE(prepare_state_dirs(setup.paths));
        std::ofstream(setup.config.hub_token_file) << "agent-token\n";
        REQUIRE(::chmod(setup.config.hub_token_file.c_str(), 0600) == 0);
        journal_dir = setup.paths.inflight_dir;

        auto counter = hub::SequenceCounter::open(setup.paths.seq_file);
        REQUIRE(counter);
        auto outbox = hub::Outbox::open(setup.paths.outbox_dir, std::move(*counter));
        REQUIRE(outbox);
        auto tracked = hub::load_tracked_apps(setup.paths.tracked_apps_file);
        REQUIRE(tracked);

        DaemonIo fakes;
        fakes.connect = [this](hub::ConnectOptions) -> std::unique_ptr<hub::HubConnection> {
            auto wire = std::make_shared<FakeWire>(io.get_executor());
            wire->refuse_connect = hub_gone;
            wires.push_back(wire);
            return std::make_unique<FakeHubConnection>(wire);
        };
        fakes.uniform01 = []() { return 0.0; };
        fakes.sources.units = [this](observe::SourceEvents events) {
            systemd->events = std::move(events);
            return std::make_unique<FakeUnits>(io.get_executor(), systemd);
        };
        fakes.launcher = launcher;
        fakes.collect_inventory = [](const inventory::CollectRequest&) {
            return CollectedInventory{R"({"host":{"hostname":"test-host"}})", {}};
        };
        // On the status publisher's thread.
        fakes.status_file.write = [this](const std::string& text) -> Expected<void, std::string> {
            std::lock_guard<std::mutex> lock(status_mutex);
            status_texts.push_back(text);
            return {};
        };
        fakes.status_file.touch = [this]() -> Expected<void, std::string> {
            std::lock_guard<std::mutex> lock(status_mutex);
            ++status_touches_;
            return {};
        };
        fakes.status_file.remove = [this]() {
            std::lock_guard<std::mutex> lock(status_mutex);
            status_removed = true;
        };
        fakes.self = {4242, 77};
        fakes.notify = [this](const std::string& text) { notes.push_back(text); };
        fakes.watchdog_period = watchdog_period;
        fakes.now = [this]() { return clock; };
        fakes.path_exists = [](const std::string&) { return false; };
        daemon = std::make_unique<Daemon>(io.get_executor(), std::move(setup), std::move(*outbox),
                                          std::move(*tracked), std::move(fakes), timings);
    }

    ~Harness() {
        if (!finished) {
            daemon->stop("the test ends");
            run_until(
                io, [this]() { return finished.has_value(); }, 5000ms);
        }
        launcher->cancel();
        daemon.reset();
    }

    void start() {
        daemon->start([this](int code) { finished = code; });
    }

    // Every frame of this type written so far, over every connection, in order.
    std::vector<Json> frames(const std::string& type) const {
        std::vector<Json> found;
        for (const auto& wire : wires) {
            for (const auto& text : wire->written) {
                auto frame = Json::parse(text);
                if (frame.value("type", "") == type) found.push_back(std::move(frame));
            }
        }
        return found;
    }

    std::vector<std::string> raw_frames(const std::string& type) const {
        std::vector<std::string> found;
        for (const auto& wire : wires) {
            for (const auto& text : wire->written) {
                if (Json::parse(text).value("type", "") == type) found.push_back(text);
            }
        }
        return found;
    }

    // Generous: the waits end as soon as `done` holds, and under ThreadSanitizer on a loaded
    // 2-core machine the disk worker and the status writer can take seconds.
    bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 15000ms) {
        return run_until(io, done, limit);
    }
    FakeWire& hub() {
        REQUIRE(wait_for([this]() { return !wires.empty() && !wires.back()->written.empty(); }));
        return *wires.back();
    }
    void ack_all_results() {
        for (const auto& result : frames("action_result")) {
            hub().push_text(Json{{"type", "ack"}, {"seq", result["seq"]}}.dump());
        }
    }

    // The last state frame's entry for the app, if a state frame was sent.
    std::optional<Json> last_state_of(const std::string& app_id) const {
        auto states = frames("state");
        if (states.empty()) return std::nullopt;
        for (const auto& app : states.back()["apps"]) {
            if (app["id"] == app_id) return app;
        }
        return std::nullopt;
    }

    std::size_t inflight_records() const {
        return actions::InflightJournal(journal_dir).leftovers().size();
    }

    bool noted(const std::string& text) const {
        return std::find(notes.begin(), notes.end(), text) != notes.end();
    }

    // The status snapshots written so far, and the last one parsed.
    std::size_t status_writes() const {
        std::lock_guard<std::mutex> lock(status_mutex);
        return status_texts.size();
    }
    std::size_t status_touches() const {
        std::lock_guard<std::mutex> lock(status_mutex);
        return status_touches_;
    }
    std::optional<status::Snapshot> last_status() const {
        std::lock_guard<std::mutex> lock(status_mutex);
        if (status_texts.empty()) return std::nullopt;
        auto parsed = status::parse_snapshot(status_texts.back());
        REQUIRE_MESSAGE(parsed, (parsed ? "" : parsed.error()));
        return *parsed;
    }
    bool wait_for_status(const std::function<bool(const status::Snapshot&)>& wanted) {
        return wait_for([this, &wanted]() {
            auto snapshot = last_status();
            return snapshot && wanted(*snapshot);
        });
    }

    asio::io_context io;
    std::shared_ptr<FakeSystemd> systemd = std::make_shared<FakeSystemd>();
    std::shared_ptr<FakeLauncher> launcher = std::make_shared<FakeLauncher>();
    std::vector<std::shared_ptr<FakeWire>> wires;
    std::vector<std::string> notes;
    SystemTime clock = t0;
    std::filesystem::path journal_dir;
    std::optional<int> finished;
    bool hub_gone = false;  // new connection attempts are refused
    mutable std::mutex status_mutex;
    std::vector<std::string> status_texts;
    bool status_removed = false;
    std::size_t status_touches_ = 0;
    std::unique_ptr<Daemon> daemon;
};

// Starts the daemon, tracks app-1 (web.service, running) and waits for its first state report.
void start_tracking_web(Harness& agent) {
    agent.systemd->active["web.service"] = "active";
    agent.start();
    CHECK(agent.noted("READY=1\nSTATUS=connecting to the hub"));
    CHECK(agent.hub().written.front().find(R"("type":"hello")") != std::string::npos);
    agent.hub().push_text(welcome_web);
    REQUIRE(agent.wait_for([&agent]() {
        auto web = agent.last_state_of("app-1");
        return web && (*web)["observed"] == "running";
    }));
    CHECK((*agent.last_state_of("app-1"))["changed_at"] == "2026-11-29T00:00:00.000Z");
}

}  // namespace

TEST_CASE("daemon: an event for a tracked unit becomes a state message with the event's time") {
    TempDir dir;
    monsys::test::TrustedDir state;
    Harness agent(dir, state);
    start_tracking_web(agent);
    const std::size_t states_before = agent.frames("state").size();

    // The unit stops; its source reports the change with systemd's time of it.
    agent.clock = t0 + 2s;
    agent.systemd->active["web.service"] = "inactive";
    const auto event_at = t0 + 1234ms;
    const auto pushed = std::chrono::steady_clock::now();
    agent.systemd->events.unit_changed("web.service", event_at);

    REQUIRE(agent.wait_for([&agent]() {
        auto web = agent.last_state_of("app-1");
        return web && (*web)["observed"] == "stopped";
    }));
    // Within the 1 s budget (on a loaded machine this is tens of ms: coalesce + one list).
    CHECK(std::chrono::steady_clock::now() - pushed < 1s);
    CHECK(agent.frames("state").size() == states_before + 1);
    auto web = *agent.last_state_of("app-1");
    CHECK(web["changed_at"] == format_utc_millis(event_at));
    CHECK(agent.frames("state").back()["observed_at"] == "2026-11-29T00:00:02.000Z");
    CHECK(agent.finished == std::nullopt);
}

TEST_CASE("daemon: a resync after a bus reconnect reports a change whose event was lost") {
    TempDir dir;
    monsys::test::TrustedDir state;
    Harness agent(dir, state);
    start_tracking_web(agent);
    const std::size_t states_before = agent.frames("state").size();
    const int lists_before = agent.systemd->lists;

    // The bus goes away; the unit stops meanwhile, and no event says so.
    agent.clock = t0 + 5s;
    agent.systemd->active["web.service"] = "failed";
    agent.wait_for([]() { return false; }, 400ms);
    CHECK(agent.frames("state").size() == states_before);

    // The source is back on the bus: it asks for a resync of every unit, as it does after every
    // (re)connect.
    agent.systemd->events.units_resync();
    REQUIRE(agent.wait_for([&agent]() {
        auto web = agent.last_state_of("app-1");
        return web && (*web)["observed"] == "stopped";
    }));
    CHECK(agent.systemd->lists > lists_before);
    CHECK((*agent.last_state_of("app-1"))["changed_at"] == "2026-11-29T00:00:05.000Z");
}

TEST_CASE("daemon: a stop waits for a running action that ends within the grace") {
    TempDir dir;
    monsys::test::TrustedDir state;
    DaemonTimings timings = short_timings();
    timings.action_grace = 10s;
    // The result is stamped and written (fsyncs) within the flush window; the test acks it, so
    // a long window costs nothing when the disk is fast.
    timings.result_flush = 15s;
    {
        Harness agent(dir, state, timings);
        start_tracking_web(agent);
        agent.hub().push_text(
            Json{{"type", "action"}, {"eat", actions::test::mint("jti-wait", "app-1")}}.dump());
        REQUIRE(agent.wait_for([&agent]() { return agent.launcher->started() == 1; }));
        CHECK(agent.inflight_records() == 1);

        agent.daemon->stop("the test stops the agent");
        CHECK(agent.noted("STOPPING=1"));
        agent.wait_for([]() { return false; }, 200ms);
        CHECK(agent.finished == std::nullopt);  // still waiting for the action

        agent.launcher->finish("jti-wait");
        REQUIRE(agent.wait_for([&agent]() { return agent.frames("action_result").size() == 1; }));
        auto result = agent.frames("action_result").front();
        CHECK(result["jti"] == "jti-wait");
        CHECK(result["reported_by"] == "monsys-action");
        CHECK(result["result"]["status"] == "succeeded");
        CHECK(result["result_jws"] == "header.payload.signature");
        // Relayed byte for byte, as monsys-action printed it.
        CHECK(
            agent.raw_frames("action_result")
                .front()
                .find(
                    R"("result":{"status": "succeeded", "jti": "jti-wait", "app_id": "app-1"})") !=
            std::string::npos);
        // The stop gives the hub a moment to ack the result, then ends cleanly.
        CHECK(agent.finished == std::nullopt);
        agent.ack_all_results();
        REQUIRE(agent.wait_for([&agent]() { return agent.finished.has_value(); }));
        CHECK(*agent.finished == 0);
        CHECK_FALSE(agent.launcher->cancelled());
        // The record goes on the disk worker, behind the result's store.
        CHECK(agent.wait_for([&agent]() { return agent.inflight_records() == 0; }));
    }
    // Started again: nothing to recover, nothing reported a second time.
    Harness again(dir, state);
    again.start();
    again.hub();
    again.wait_for([]() { return false; }, 300ms);
    CHECK(again.frames("action_result").empty());
}

TEST_CASE(
    "daemon: a stop cancels an action still running after the grace; the next start "
    "reports it once, as interrupted") {
    TempDir dir;
    monsys::test::TrustedDir state;
    {
        Harness agent(dir, state);
        start_tracking_web(agent);
        agent.hub().push_text(
            Json{{"type", "action"}, {"eat", actions::test::mint("jti-cut", "app-1")}}.dump());
        REQUIRE(agent.wait_for([&agent]() { return agent.launcher->started() == 1; }));

        const auto stopped = std::chrono::steady_clock::now();
        agent.daemon->stop("the test stops the agent");
        REQUIRE(agent.wait_for([&agent]() { return agent.finished.has_value(); }));
        const auto took = std::chrono::steady_clock::now() - stopped;
        CHECK(*agent.finished == 0);
        CHECK(agent.launcher->cancelled());
        CHECK(took >= 300ms);  // the grace
        CHECK(took < 2300ms);  // well before the backstop
        // Nothing was reported for it now; its in-flight record stays for the next start.
        CHECK(agent.frames("action_result").empty());
        CHECK(agent.inflight_records() == 1);
    }
    {
        Harness again(dir, state);
        again.start();
        REQUIRE(again.wait_for([&again]() { return again.frames("action_result").size() == 1; }));
        auto result = again.frames("action_result").front();
        CHECK(result["jti"] == "jti-cut");
        CHECK(result["reported_by"] == "agent-recovery");
        CHECK(result["result"]["status"] != "succeeded");
        // The record goes once the result is in the outbox (on the disk worker, after it).
        CHECK(again.wait_for([&again]() { return again.inflight_records() == 0; }));
        again.ack_all_results();
        again.wait_for([]() { return false; }, 200ms);
    }
    // A third start: the interrupted action was reported once and is not reported again.
    Harness third(dir, state);
    third.start();
    third.hub();
    third.wait_for([]() { return false; }, 300ms);
    CHECK(third.frames("action_result").empty());
}

TEST_CASE("daemon: the status snapshot follows the connection, the outbox, actions and states") {
    TempDir dir;
    monsys::test::TrustedDir state;
    Harness agent(dir, state);
    start_tracking_web(agent);

    // Connected, the tracked app with its observed state, this process named.
    REQUIRE(agent.wait_for_status([](const status::Snapshot& s) {
        return s.hub.connected && s.apps.size() == 1 && s.apps[0].state == "running";
    }));
    auto first = *agent.last_status();
    CHECK(first.process.pid == 4242);
    CHECK(first.process.start_ticks == 77);
    CHECK(first.hub.url == "ws://127.0.0.1:1/agent");
    CHECK(first.apps[0].id == "app-1");
    CHECK(first.apps[0].type == "systemd");
    CHECK(first.started_at == t0);
    CHECK(first.heartbeat_secs == 10);

    // Once the first inventory waits in the outbox (the hub here never acks it) nothing changes:
    // no write until the heartbeat (10 s here), though the tick is 10 ms.
    REQUIRE(agent.wait_for_status([](const status::Snapshot& s) {
        return s.inventory.last_sent_at && s.outbox.at("inventory").count == 1 &&
               s.outbox.at("state").count == 1;
    }));
    agent.wait_for([]() { return false; }, 100ms);
    const std::size_t writes = agent.status_writes();
    agent.wait_for([]() { return false; }, 300ms);
    CHECK(agent.status_writes() == writes);

    // An action's result waits in the outbox for its ack: counted there, and in the last actions.
    agent.hub().push_text(
        Json{{"type", "action"}, {"eat", actions::test::mint("jti-status", "app-1")}}.dump());
    REQUIRE(agent.wait_for([&agent]() { return agent.launcher->started() == 1; }));
    agent.clock = t0 + 5s;
    agent.launcher->finish("jti-status");
    REQUIRE(agent.wait_for_status([](const status::Snapshot& s) {
        return s.outbox.at("action_result").count == 1 && s.actions.size() == 1;
    }));
    auto with_result = *agent.last_status();
    CHECK(with_result.actions[0].jti == "jti-status");
    CHECK(with_result.actions[0].app_id == "app-1");
    CHECK(with_result.actions[0].status == "succeeded");
    CHECK(with_result.actions[0].reported_by == "monsys-action");
    CHECK(with_result.actions[0].at == t0 + 5s);
    REQUIRE(with_result.outbox.at("action_result").oldest_at);

    // Stored is not yet sent: ack the result once the hub has it (a slow build sees the gap).
    REQUIRE(agent.wait_for([&agent]() { return !agent.frames("action_result").empty(); }));
    agent.ack_all_results();
    REQUIRE(agent.wait_for_status([](const status::Snapshot& s) {
        return s.outbox.at("action_result").count == 0 && s.last_acked_seq > 0;
    }));

    // A state change.
    agent.clock = t0 + 9s;
    agent.systemd->active["web.service"] = "inactive";
    agent.systemd->events.unit_changed("web.service", t0 + 8s);
    REQUIRE(agent.wait_for_status([](const status::Snapshot& s) {
        return s.apps.size() == 1 && s.apps[0].state == "stopped";
    }));
    // The same change the hub was told of (the look after the action may have seen it first).
    REQUIRE(agent.wait_for([&agent]() {
        auto web = agent.last_state_of("app-1");
        return web && (*web)["observed"] == "stopped";
    }));
    CHECK(format_utc_millis(agent.last_status()->apps[0].changed_at) ==
          (*agent.last_state_of("app-1"))["changed_at"]);
    CHECK(agent.last_status()->apps[0].changed_at >= t0 + 5s);

    // The hub goes away: disconnected, since when, and why.
    const auto before_drop = std::chrono::system_clock::now();
    agent.hub_gone = true;
    agent.hub().drop();
    REQUIRE(agent.wait_for_status([](const status::Snapshot& s) { return !s.hub.connected; }));
    auto dropped = *agent.last_status();
    // The lost connection, or the refused attempt after it, whichever the snapshot caught.
    CHECK((dropped.hub.last_error.find("hub connection lost") != std::string::npos ||
           dropped.hub.last_error.find("fake: refused") != std::string::npos));
    CHECK(dropped.hub.since >= before_drop - 1s);

    // A clean stop takes the snapshot away: the daemon that described itself is gone.
    agent.daemon->stop("the test ends");
    REQUIRE(agent.wait_for([&agent]() { return agent.finished.has_value(); }));
    agent.daemon.reset();
    std::lock_guard<std::mutex> lock(agent.status_mutex);
    CHECK(agent.status_removed);
}

TEST_CASE("daemon: an unchanged status snapshot is touched every heartbeat, not rewritten") {
    TempDir dir;
    monsys::test::TrustedDir state;
    DaemonTimings timings = short_timings();
    timings.status_heartbeat = 100ms;
    Harness agent(dir, state, timings);
    start_tracking_web(agent);
    // Once the first inventory waits in the outbox (the hub here never acks it) and the app was
    // observed, nothing in the snapshot changes.
    REQUIRE(agent.wait_for_status([](const status::Snapshot& s) {
        return s.inventory.last_sent_at && s.outbox.at("inventory").count == 1 &&
               s.outbox.at("state").count == 1 && s.apps.size() == 1 &&
               s.apps[0].state == "running";
    }));
    agent.wait_for([]() { return false; }, 100ms);
    const std::size_t writes = agent.status_writes();
    const std::size_t touches = agent.status_touches();
    // Generous for a loaded machine: at least two more heartbeats within 3 s, all of them touches.
    CHECK(agent.wait_for([&agent, touches]() { return agent.status_touches() >= touches + 2; }));
    CHECK(agent.status_writes() == writes);
    CHECK(agent.last_status()->heartbeat_secs == 1);  // 100 ms, rounded up to whole seconds

    // A change is written at once, and the heartbeat goes on touching it afterwards.
    agent.systemd->active["web.service"] = "inactive";
    agent.systemd->events.unit_changed("web.service", t0 + 1s);
    REQUIRE(agent.wait_for_status([](const status::Snapshot& s) {
        return s.apps.size() == 1 && s.apps[0].state == "stopped";
    }));
    CHECK(agent.status_writes() > writes);
    const std::size_t touches_after_change = agent.status_touches();
    CHECK(agent.wait_for([&agent, touches_after_change]() {
        return agent.status_touches() >= touches_after_change + 1;
    }));
}

TEST_CASE("daemon: the watchdog heartbeat stops while the hub link shows no progress, and resumes "
          "with it") {
    TempDir dir;
    monsys::test::TrustedDir state;
    DaemonTimings timings = short_timings();
    timings.link_stall_limit = 300ms;
    Harness agent(dir, state, timings, 20ms);
    auto heartbeats = [&agent]() {
        return std::count(agent.notes.begin(), agent.notes.end(), std::string("WATCHDOG=1"));
    };
    // Connected and welcomed: the link has just made progress, so the heartbeat goes out.
    start_tracking_web(agent);
    REQUIRE(agent.wait_for([&heartbeats]() { return heartbeats() > 0; }));

    // The hub falls silent (a real connection would ping or time out; this one just hangs): past
    // the stall limit the timer still fires, but the heartbeat is withheld.
    agent.wait_for([]() { return false; }, 1000ms);
    const auto withheld_from = heartbeats();
    agent.wait_for([]() { return false; }, 500ms);
    CHECK(heartbeats() == withheld_from);

    // A frame from the hub is progress again: the heartbeat comes back.
    agent.hub().push_text(welcome_web);
    CHECK(agent.wait_for([&heartbeats, withheld_from]() { return heartbeats() > withheld_from; }));
}

TEST_CASE(
    "daemon: the watchdog heartbeat stops while the observer completes no observation, and "
    "resumes when one completes") {
    TempDir dir;
    monsys::test::TrustedDir state;
    DaemonTimings timings = short_timings();
    timings.observer_stall_margin = 200ms;
    // Rounds every second, sources bounded at 100 ms: the observer's stall limit is
    // 1 s + 2 * 100 ms + 200 ms = 1.4 s. The hub link's limit stays far away (90 s).
    Harness agent(dir, state, timings, 20ms, [](AgentSetup& setup) {
        setup.config.observe_interval_secs = 1;
        setup.inventory_settings.source_timeout = 100ms;
    });
    auto heartbeats = [&agent]() {
        return std::count(agent.notes.begin(), agent.notes.end(), std::string("WATCHDOG=1"));
    };
    start_tracking_web(agent);
    REQUIRE(agent.wait_for([&heartbeats]() { return heartbeats() > 0; }));
    const int lists_before = agent.systemd->lists;
    REQUIRE(
        agent.wait_for([&agent, lists_before]() { return agent.systemd->lists > lists_before; }));

    // systemd stops answering: the next round's list hangs, and no observation completes.
    agent.systemd->stalled = true;
    REQUIRE(agent.wait_for([&agent]() { return !agent.systemd->unanswered.empty(); }));
    // Past the stall limit (counted from the last completed observation, before the hang) the
    // timer still fires, but the heartbeat is withheld.
    agent.wait_for([]() { return false; }, 2000ms);
    const auto withheld_from = heartbeats();
    agent.wait_for([]() { return false; }, 500ms);
    CHECK(heartbeats() == withheld_from);
    CHECK(agent.finished == std::nullopt);

    // systemd answers: the observation completes, and the heartbeat comes back.
    agent.systemd->release(agent.io.get_executor());
    CHECK(agent.wait_for([&heartbeats, withheld_from]() { return heartbeats() > withheld_from; }));
}
