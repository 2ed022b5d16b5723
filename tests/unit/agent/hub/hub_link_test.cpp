// HubLink against an in-memory connection: hello, the outbox re-sent in order, acks, reconnects,
// frames it must drop, and a link that dies loudly instead of silently.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../temp_dir.hpp"
#include "agent/hub/hub_link.hpp"
#include "fake_hub_connection.hpp"

using namespace monsys;
using namespace monsys::agent::hub;
using namespace monsys::agent::test;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

Outbox open_outbox(const TempDir& dir, LinkLimits limits = {}) {
    auto counter = SequenceCounter::open(dir.path() / "seq");
    REQUIRE(counter);
    auto outbox = Outbox::open(dir.path() / "outbox", std::move(*counter), limits);
    REQUIRE(outbox);
    return std::move(*outbox);
}

Json state_message(int marker) {
    return Json{{"type", "state"}, {"apps", Json::array()}, {"marker", marker}};
}
Json result_message(const std::string& jti) {
    return Json{{"type", "action_result"},
                {"jti", jti},
                {"reported_by", "agent"},
                {"result", {{"status", "rejected"}}}};
}

// The type of a frame, and its seq when it has one (0 otherwise).
std::string type_of(const std::string& frame) {
    return Json::parse(frame).value("type", std::string("?"));
}
std::uint64_t seq_of(const std::string& frame) {
    return Json::parse(frame).value("seq", std::uint64_t{0});
}
std::vector<std::uint64_t> seqs_of(const std::vector<std::string>& frames) {
    std::vector<std::uint64_t> seqs;
    for (const auto& frame : frames) seqs.push_back(seq_of(frame));
    return seqs;
}

// A link wired to fake connections: every attempt gets a new FakeWire, kept in `wires`.
struct Harness {
    explicit Harness(const TempDir& dir, LinkLimits limits = {})
        : outbox(open_outbox(dir, limits)) {}

    asio::io_context io;
    Outbox outbox;
    std::vector<std::shared_ptr<FakeWire>> wires;
    bool refuse_next = false;
    std::vector<std::uint64_t> acked;
    std::optional<std::string> died;
    DiskWorker* disk = nullptr;
    std::chrono::milliseconds stall_bound{5000};
    std::chrono::steady_clock::time_point clock{std::chrono::hours(1000)};  // the rate limits'
    LinkCallbacks callbacks = default_callbacks();
    std::unique_ptr<HubLink> link;

    LinkCallbacks default_callbacks() {
        LinkCallbacks made;
        made.connect_options = []() -> Expected<ConnectOptions, std::string> {
            return ConnectOptions{};
        };
        made.hello = [this]() {
            HelloFields hello;
            hello.agent_id = "agent-1";
            hello.last_acked_seq = outbox.last_acked();
            return hello;
        };
        made.on_acked = [this](const PendingMessage& message) { acked.push_back(message.seq); };
        return made;
    }

    void start() {
        LinkIo fakes;
        fakes.connect = [this](ConnectOptions) -> std::unique_ptr<HubConnection> {
            auto wire = std::make_shared<FakeWire>(io.get_executor());
            wire->refuse_connect = refuse_next;
            refuse_next = false;
            wires.push_back(wire);
            return std::make_unique<FakeHubConnection>(wire);
        };
        fakes.uniform01 = []() { return 0.0; };  // no back-off wait
        fakes.disk = disk;
        fakes.disk_stall_bound = stall_bound;
        fakes.now = [this]() { return clock; };
        link = std::make_unique<HubLink>(io.get_executor(), outbox, callbacks, fakes);
        link->start([this](std::string why) { died = std::move(why); });
    }

    // The frames written on the newest connection, once at least `count` are there.
    const std::vector<std::string>& written(std::size_t count) {
        REQUIRE(run_until(io, [this, count]() {
            return !wires.empty() && wires.back()->written.size() >= count;
        }));
        return wires.back()->written;
    }

    ~Harness() {
        if (link) link->stop();
        io.restart();
        io.run_for(std::chrono::milliseconds(50));
    }
};

}  // namespace

TEST_CASE("hub link: hello comes first, then the outbox in seq order, then new messages") {
    TempDir dir;
    Harness hub(dir);
    REQUIRE(hub.outbox.add(MessageKind::action_result, result_message("a")));
    REQUIRE(hub.outbox.add(MessageKind::state, state_message(1)));
    REQUIRE(hub.outbox.add(MessageKind::action_result, result_message("b")));
    hub.start();

    const auto& frames = hub.written(4);
    REQUIRE(frames.size() == 4);
    CHECK(type_of(frames[0]) == "hello");
    CHECK(seqs_of({frames.begin() + 1, frames.end()}) == std::vector<std::uint64_t>{1, 2, 3});

    hub.link->send(MessageKind::state, state_message(2));
    const auto& more = hub.written(5);
    CHECK(type_of(more[4]) == "state");
    CHECK(seq_of(more[4]) == 4);
    CHECK(hub.died == std::nullopt);
}

TEST_CASE("hub link: an ack removes exactly that message and is reported once") {
    TempDir dir;
    Harness hub(dir);
    for (const char* jti : {"a", "b", "c"}) {
        REQUIRE(hub.outbox.add(MessageKind::action_result, result_message(jti)));
    }
    hub.start();
    hub.written(4);

    hub.wires.back()->push_text(R"({"type":"ack","seq":2})");
    REQUIRE(run_until(hub.io, [&hub]() { return !hub.acked.empty(); }));
    CHECK(hub.acked == std::vector<std::uint64_t>{2});
    std::vector<std::uint64_t> left;
    for (const auto& message : hub.outbox.pending()) left.push_back(message.seq);
    CHECK(left == std::vector<std::uint64_t>{1, 3});

    // An ack for a seq that is not pending (again, or never sent) changes nothing.
    hub.wires.back()->push_text(R"({"type":"ack","seq":2})");
    hub.wires.back()->push_text(R"({"type":"ack","seq":99})");
    hub.wires.back()->push_text(R"({"type":"ack","seq":3})");
    REQUIRE(run_until(hub.io, [&hub]() { return hub.acked.size() == 2; }));
    CHECK(hub.acked == std::vector<std::uint64_t>{2, 3});
    CHECK(hub.outbox.pending().size() == 1);
    CHECK(hub.outbox.last_acked() == 3);
}

TEST_CASE("hub link: after a dropped connection the unacked messages go again, in order") {
    TempDir dir;
    Harness hub(dir);
    for (const char* jti : {"a", "b", "c"}) {
        REQUIRE(hub.outbox.add(MessageKind::action_result, result_message(jti)));
    }
    hub.start();
    hub.written(4);
    hub.wires.back()->push_text(R"({"type":"ack","seq":2})");
    REQUIRE(run_until(hub.io, [&hub]() { return hub.acked.size() == 1; }));

    // The first attempt after the drop is refused; the second connects.
    hub.refuse_next = true;
    hub.wires.back()->drop();
    REQUIRE(run_until(hub.io, [&hub]() { return hub.wires.size() == 3; }));
    const auto& again = hub.written(3);
    CHECK(type_of(again[0]) == "hello");
    CHECK(Json::parse(again[0])["last_acked_seq"] == 2);
    CHECK(seqs_of({again.begin() + 1, again.end()}) == std::vector<std::uint64_t>{1, 3});
    CHECK(hub.wires[1]->written.empty());  // the refused attempt sent nothing
    CHECK(hub.died == std::nullopt);
}

TEST_CASE("hub link: binary, malformed and unknown frames are dropped; the link goes on") {
    TempDir dir;
    Harness hub(dir);
    REQUIRE(hub.outbox.add(MessageKind::action_result, result_message("a")));
    hub.start();
    hub.written(2);
    const auto before = hub.link->last_progress();

    auto& wire = *hub.wires.back();
    wire.push_binary(std::string("\x00\x01\x02", 3));
    wire.push_text("{not json");
    wire.push_text(R"({"type":"ack","seq":"one"})");
    wire.push_text(R"({"type":"something-new","x":1})");
    wire.push_text("[1,2,3]");
    wire.push_text(R"({"type":"ack","seq":1})");
    REQUIRE(run_until(hub.io, [&hub]() { return hub.acked.size() == 1; }));
    CHECK(hub.wires.size() == 1);  // never reconnected
    CHECK(hub.died == std::nullopt);
    CHECK(hub.link->connected());
    CHECK(hub.link->last_progress() > before);
}

TEST_CASE("hub link: an exception in a callback ends in on_died, not in silence") {
    TempDir dir;
    Harness hub(dir);
    hub.callbacks.on_collect = []() { throw std::runtime_error("collector exploded"); };
    hub.start();
    hub.written(1);

    hub.wires.back()->push_text(R"({"type":"collect"})");
    REQUIRE(run_until(hub.io, [&hub]() { return hub.died.has_value(); }));
    CHECK(hub.died->find("collector exploded") != std::string::npos);
    CHECK_FALSE(hub.link->connected());
    CHECK(hub.wires.back()->ended);
    // A dead link makes no new attempt.
    hub.io.restart();
    hub.io.run_for(std::chrono::milliseconds(100));
    CHECK(hub.wires.size() == 1);
}

TEST_CASE("hub link: stop() ends the link without calling on_died") {
    TempDir dir;
    Harness hub(dir);
    hub.start();
    hub.written(1);
    hub.link->stop();
    hub.io.restart();
    hub.io.run_for(std::chrono::milliseconds(100));
    CHECK(hub.wires.back()->ended);
    CHECK(hub.died == std::nullopt);
    CHECK(hub.wires.size() == 1);
}

TEST_CASE("hub link: last_progress moves with every attempt, even refused ones") {
    TempDir dir;
    Harness hub(dir);
    hub.refuse_next = true;
    hub.start();
    const auto started = hub.link->last_progress();
    REQUIRE(run_until(hub.io, [&hub]() { return hub.wires.size() == 2; }));
    hub.written(1);
    CHECK(hub.link->last_progress() > started);
}

namespace {

// A gate the disk worker waits at, opened by the test; opened on destruction so nothing hangs.
struct Gate {
    std::promise<void> promise;
    std::shared_future<void> future = promise.get_future().share();
    bool opened = false;
    void open() {
        if (!opened) promise.set_value();
        opened = true;
    }
    ~Gate() { open(); }
};

}  // namespace

TEST_CASE("hub link: a stalled disk delays neither reads nor the link; states coalesce") {
    TempDir dir;
    DiskWorker disk;  // outlives the link
    Harness hub(dir);
    Gate gate;  // opened first when the test ends early, so nothing joins a stalled worker
    hub.disk = &disk;
    int collects = 0;
    hub.callbacks.on_collect = [&collects]() { ++collects; };
    hub.start();
    hub.written(1);  // hello

    disk.post([future = gate.future]() { future.wait(); });  // the disk stalls from here
    for (int marker = 1; marker <= 3; ++marker)
        hub.link->send(MessageKind::state, state_message(marker));
    CHECK(hub.link->storing(MessageKind::state));

    const auto asked = std::chrono::steady_clock::now();
    hub.wires.back()->push_text(R"({"type":"collect"})");
    REQUIRE(run_until(hub.io, [&collects]() { return collects == 1; }));
    const auto took = std::chrono::steady_clock::now() - asked;
    MESSAGE("a frame read while the disk stalls took "
            << std::chrono::duration_cast<std::chrono::microseconds>(took).count() << " us");
    CHECK(took < std::chrono::seconds(1));         // the disk stays stalled until the gate opens
    CHECK(hub.wires.back()->written.size() == 1);  // nothing unstored went out

    gate.open();
    const auto& frames = hub.written(2);
    REQUIRE(run_until(hub.io, [&hub]() { return !hub.link->storing(MessageKind::state); }));
    hub.io.restart();
    hub.io.run_for(std::chrono::milliseconds(50));
    REQUIRE(frames.size() == 2);  // the three states became one: the newest
    CHECK(Json::parse(frames[1])["marker"] == 3);
    CHECK(seq_of(frames[1]) == 1);
    REQUIRE(hub.outbox.pending().size() == 1);
    CHECK(hub.outbox.pending()[0].persisted);
}

TEST_CASE("hub link: a file that stays unwritten past the bound goes out anyway, stored later") {
    TempDir dir;
    Harness hub(dir);
    Gate gate;  // opened before the link's worker is joined
    hub.stall_bound = std::chrono::milliseconds(100);
    auto future = gate.future;
    hub.outbox.files()->set_before_write([future](std::uint64_t) { future.wait(); });
    hub.start();
    hub.written(1);

    const auto sent = std::chrono::steady_clock::now();
    hub.link->send(MessageKind::action_result, result_message("slow"));
    const auto& frames = hub.written(2);
    CHECK(std::chrono::steady_clock::now() - sent >= std::chrono::milliseconds(100));
    CHECK(seq_of(frames[1]) == 1);
    REQUIRE(hub.outbox.pending().size() == 1);
    CHECK_FALSE(hub.outbox.pending()[0].persisted);

    gate.open();
    REQUIRE(run_until(hub.io, [&hub]() { return hub.outbox.pending()[0].persisted; }));
    CHECK(
        std::filesystem::exists(dir.path() / "outbox" / "00000000000000000001.action_result.json"));
}

TEST_CASE("hub link: the seq file locked by another process delays no read") {
    TempDir dir;
    Harness hub(dir);
    int collects = 0;
    hub.callbacks.on_collect = [&collects]() { ++collects; };
    hub.start();
    hub.written(1);

    // flock locks belong to the open file description: this one conflicts with the counter's.
    int held = ::open((dir.path() / "seq").c_str(), O_RDWR | O_CLOEXEC);
    REQUIRE(held >= 0);
    REQUIRE(::flock(held, LOCK_EX) == 0);
    hub.link->send(MessageKind::action_result, result_message("a"));
    hub.io.restart();
    hub.io.run_for(std::chrono::milliseconds(100));  // the worker now waits for the lock

    const auto asked = std::chrono::steady_clock::now();
    hub.wires.back()->push_text(R"({"type":"collect"})");
    REQUIRE(run_until(hub.io, [&collects]() { return collects == 1; }));
    CHECK(std::chrono::steady_clock::now() - asked < std::chrono::seconds(1));  // lock still held
    CHECK(hub.wires.back()->written.size() == 1);
    CHECK(hub.link->storing(MessageKind::action_result));

    ::close(held);  // the lock goes with the descriptor
    const auto& frames = hub.written(2);
    CHECK(seq_of(frames[1]) == 1);
}

TEST_CASE("hub link: a pre-serialized member goes out byte for byte, and is found again") {
    TempDir dir;
    Harness hub(dir);
    hub.start();
    hub.written(1);

    // Not how nlohmann would write it: member order, spaces, an escaped slash.
    const std::string printed = R"({"status": "succeeded",  "jti":"j-1", "message":"a\/b"})";
    hub.link->send(
        MessageKind::action_result,
        Json{{"type", "action_result"}, {"jti", "j-1"}, {"reported_by", "monsys-action"}},
        PreSerialized{"result", printed});
    const auto& frames = hub.written(2);
    CHECK(frames[1].find("\"result\":" + printed) != std::string::npos);
    const Json frame = Json::parse(frames[1]);
    CHECK(frame["result"]["message"] == "a/b");
    CHECK(frame["seq"] == 1);
    CHECK(frame["jti"] == "j-1");

    // A jti that spells the member's name does not fool the splice.
    hub.link->send(
        MessageKind::action_result,
        Json{{"type", "action_result"}, {"jti", "\"result\":null"}, {"reported_by", "x"}},
        PreSerialized{"result", "{\"status\":\"failed\"}"});
    const auto& more = hub.written(3);
    const Json second = Json::parse(more[2]);
    CHECK(second["jti"] == "\"result\":null");
    CHECK(second["result"]["status"] == "failed");

    // The stored file is the frame: a restart finds it unchanged.
    auto counter = SequenceCounter::open(dir.path() / "seq");
    REQUIRE(counter);
    auto reopened = Outbox::open(dir.path() / "outbox", std::move(*counter));
    REQUIRE(reopened);
    REQUIRE(reopened->pending().size() == 2);
    CHECK(reopened->pending()[0].text == frames[1]);
}

namespace {

Json unverified_refusal(int n) {
    return Json{{"type", "action_result"},
                {"jti", "junk-" + std::to_string(n)},
                {"reported_by", "agent"},
                {"result", {{"jti", nullptr}, {"status", "rejected"}, {"reason", "malformed"}}}};
}

// Lets the link read what the fake hub sent, and the disk worker finish.
void settle(Harness& hub) {
    REQUIRE(run_until(hub.io, [&hub]() { return hub.wires.back()->inbox.empty(); }));
    hub.io.restart();
    hub.io.run_for(std::chrono::milliseconds(100));
}

std::size_t files_in(const fs::path& directory) {
    std::size_t count = 0;
    for (const auto& entry : fs::directory_iterator(directory)) {
        if (entry.is_regular_file()) ++count;
    }
    return count;
}

}  // namespace

TEST_CASE("hub link: action frames over the rate are dropped unread, per connection") {
    TempDir dir;
    LinkLimits limits;
    limits.action_burst = 5;
    limits.actions_per_second = 1;
    Harness hub(dir, limits);
    std::vector<std::string> actions;
    hub.callbacks.on_action = [&actions](std::string eat) { actions.push_back(std::move(eat)); };
    hub.start();
    hub.written(1);
    for (int i = 0; i < 50; ++i) {
        hub.wires.back()->push_text(R"({"type":"action","eat":"t)" + std::to_string(i) + R"("})");
    }
    settle(hub);
    CHECK(actions == std::vector<std::string>{"t0", "t1", "t2", "t3", "t4"});
    CHECK(hub.link->drops().action_frames_dropped == 45);

    // Two seconds later: two more.
    hub.clock += std::chrono::seconds(2);
    for (int i = 50; i < 55; ++i) {
        hub.wires.back()->push_text(R"({"type":"action","eat":"t)" + std::to_string(i) + R"("})");
    }
    settle(hub);
    CHECK(actions.size() == 7);

    // A new connection starts with a full burst.
    hub.wires.back()->drop();
    REQUIRE(run_until(hub.io, [&hub]() { return hub.wires.size() == 2; }));
    // Its hello tells the hub what was dropped so far.
    const Json hello = Json::parse(hub.written(1)[0]);
    CHECK(hello["dropped"]["action_frames_dropped"] == 48);
    CHECK(hello["dropped"]["refusals_suppressed"] == 0);
    for (int i = 0; i < 10; ++i) hub.wires.back()->push_text(R"({"type":"action","eat":"n"})");
    settle(hub);
    CHECK(actions.size() == 12);
    CHECK(hub.link->drops().action_frames_dropped == 45 + 3 + 5);
    CHECK(hub.died == std::nullopt);
}

TEST_CASE("hub link: a flood of unverifiable refusals is rate-limited and bounded on disk") {
    TempDir dir;
    LinkLimits limits;
    limits.unverified_refusal_burst = 8;
    limits.unverified_refusals_per_second = 0.1;
    limits.max_unverified_refusals = 3;
    Harness hub(dir, limits);
    hub.start();
    hub.written(1);
    REQUIRE(hub.outbox.add(MessageKind::action_result, result_message("verified-1")));

    for (int i = 0; i < 200; ++i) hub.link->send(MessageKind::action_result, unverified_refusal(i));
    // The burst went out (hello + 8), the rest was counted, never stored.
    REQUIRE(run_until(hub.io, [&hub]() {
        return !hub.link->storing(MessageKind::action_result) &&
               hub.wires.back()->written.size() == 9;
    }));
    hub.io.restart();
    hub.io.run_for(std::chrono::milliseconds(100));  // the discards on the worker
    CHECK(hub.wires.back()->written.size() == 9);
    CHECK(hub.link->drops().refusals_suppressed == 192);
    CHECK(hub.link->drops().refusals_evicted == 5);
    // Pending: the verified result and the newest three refusals; the files match.
    REQUIRE(hub.outbox.pending().size() == 4);
    CHECK(hub.outbox.has_action_result("verified-1"));
    CHECK(hub.outbox.pending().back().jti == "junk-7");
    // The evicted refusals' files go on the worker: every write is done, so the count only falls.
    CHECK(run_until(hub.io, [&dir]() { return files_in(dir.path() / "outbox") == 4; }));

    // A reconnect re-sends only what is pending: four, not two hundred.
    hub.wires.back()->drop();
    REQUIRE(run_until(hub.io, [&hub]() { return hub.wires.size() == 2; }));
    CHECK(hub.written(5).size() == 5);
}

TEST_CASE("hub link: verified results over the bound push out the oldest, file included") {
    TempDir dir;
    LinkLimits limits;
    limits.max_results = 2;
    Harness hub(dir, limits);
    std::vector<std::string> evicted;
    hub.callbacks.on_evicted = [&evicted](const PendingMessage& message) {
        evicted.push_back(message.jti);
    };
    hub.start();
    hub.written(1);
    for (const char* jti : {"a", "b", "c", "d"}) {
        hub.link->send(MessageKind::action_result, result_message(jti));
    }
    hub.written(5);  // every one was sent once
    REQUIRE(run_until(hub.io, [&hub]() { return hub.link->drops().results_evicted == 2; }));
    CHECK(hub.outbox.has_action_result("c"));
    CHECK(hub.outbox.has_action_result("d"));
    CHECK_FALSE(hub.outbox.has_action_result("a"));
    // The evicted results' files go on the worker, after the four writes.
    CHECK(run_until(hub.io, [&dir]() { return files_in(dir.path() / "outbox") == 2; }));
    CHECK(evicted == std::vector<std::string>{"a", "b"});  // handed on, for the result ledger
}
