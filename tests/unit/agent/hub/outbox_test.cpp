// The outbox on a real file system: what is stored, replaced, acknowledged and found again.
#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

#include "../temp_dir.hpp"
#include "agent/hub/outbox.hpp"

using namespace monsys::agent::hub;
using namespace monsys::agent::test;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Paths {
    fs::path outbox;
    fs::path counter;
};

Paths paths_in(const TempDir& dir) {
    return {dir.path() / "hub" / "outbox", dir.path() / "seq"};
}

Outbox open_ok(const Paths& paths, LinkLimits limits = {}) {
    auto counter = SequenceCounter::open(paths.counter);
    REQUIRE(counter);
    auto outbox = Outbox::open(paths.outbox, *counter, limits);
    if (!outbox) FAIL_CHECK(outbox.error());
    REQUIRE(outbox);
    return std::move(*outbox);
}

PendingMessage add_ok(Outbox& outbox, MessageKind kind, Json message) {
    auto added = outbox.add(kind, std::move(message));
    if (!added) FAIL_CHECK(added.error());
    REQUIRE(added);
    CHECK(added->persisted);
    return *added;
}

Json state(int marker) {
    return Json{{"type", "state"},
                {"observed_at", "2026-11-28T09:15:03.004Z"},
                {"apps", Json::array()},
                {"marker", marker}};
}
Json inventory(int marker) {
    return Json{{"type", "inventory"}, {"kind", "extended"}, {"inventory", {{"marker", marker}}}};
}
Json action_result(const std::string& jti) {
    return Json{{"type", "action_result"},
                {"jti", jti},
                {"reported_by", "monsys-action"},
                {"result", {{"jti", jti}, {"status", "succeeded"}}}};
}

Json unverified_refusal(const std::string& claimed_jti) {
    return Json{{"type", "action_result"},
                {"jti", claimed_jti},
                {"reported_by", "agent"},
                {"result", {{"jti", nullptr}, {"status", "rejected"}, {"reason", "bad_signature"}}}};
}

std::string name_of(std::uint64_t seq, MessageKind kind) {
    char digits[32];
    std::snprintf(digits, sizeof digits, "%020llu", static_cast<unsigned long long>(seq));
    return std::string(digits) + "." + to_string(kind) + ".json";
}

std::vector<std::string> files_in(const fs::path& directory) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory)) {
        if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::uint64_t> seqs_of(const Outbox& outbox) {
    std::vector<std::uint64_t> seqs;
    for (const PendingMessage& message : outbox.pending()) seqs.push_back(message.seq);
    return seqs;
}

}  // namespace

TEST_CASE("outbox: a message is stamped, stored, and removed by its ack") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    Outbox outbox = open_ok(paths);
    CHECK(outbox.pending().empty());
    CHECK(outbox.problems().empty());
    CHECK(mode_of(paths.outbox) == 0700);

    PendingMessage added = add_ok(outbox, MessageKind::state, state(1));
    CHECK(added.seq == 1);
    CHECK(added.kind == MessageKind::state);
    CHECK(added.jti.empty());
    Json frame = Json::parse(added.text);
    CHECK(frame.at("seq") == 1);
    CHECK(frame.at("type") == "state");
    CHECK(frame.at("marker") == 1);

    const fs::path file = paths.outbox / name_of(1, MessageKind::state);
    CHECK(files_in(paths.outbox) == std::vector<std::string>{name_of(1, MessageKind::state)});
    CHECK(read_all(file) == added.text);
    CHECK(mode_of(file) == 0600);
    REQUIRE(outbox.pending().size() == 1);
    CHECK(outbox.pending()[0].text == added.text);

    CHECK(outbox.acknowledge(1).has_value());
    CHECK(outbox.pending().empty());
    CHECK_FALSE(fs::exists(file));
    CHECK(outbox.last_acked() == 1);
    CHECK_FALSE(outbox.acknowledge(1).has_value());   // a second ack of the same seq
    CHECK_FALSE(outbox.acknowledge(99).has_value());  // a seq that was never ours
    CHECK(outbox.last_acked() == 1);
    CHECK(outbox.last_error().empty());

    // The ack survives in the counter.
    auto counter = SequenceCounter::open(paths.counter);
    REQUIRE(counter);
    CHECK(counter->last_acked() == 1);
}

TEST_CASE("outbox: a newer inventory or state replaces the pending one, action results stay") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    Outbox outbox = open_ok(paths);
    add_ok(outbox, MessageKind::inventory, inventory(1));                // 1
    add_ok(outbox, MessageKind::state, state(1));                        // 2
    add_ok(outbox, MessageKind::action_result, action_result("jti-a"));  // 3
    add_ok(outbox, MessageKind::state, state(2));                        // 4 replaces 2
    add_ok(outbox, MessageKind::action_result, action_result("jti-b"));  // 5
    add_ok(outbox, MessageKind::inventory, inventory(2));                // 6 replaces 1
    add_ok(outbox, MessageKind::state, state(3));                        // 7 replaces 4

    CHECK(seqs_of(outbox) == std::vector<std::uint64_t>{3, 5, 6, 7});
    CHECK(files_in(paths.outbox) == std::vector<std::string>{name_of(3, MessageKind::action_result),
                                                             name_of(5, MessageKind::action_result),
                                                             name_of(6, MessageKind::inventory),
                                                             name_of(7, MessageKind::state)});
    CHECK(Json::parse(outbox.pending()[3].text).at("marker") == 3);

    // An acked inventory is not replaced again: the next one is simply new.
    CHECK(outbox.acknowledge(6).has_value());
    add_ok(outbox, MessageKind::inventory, inventory(3));
    CHECK(seqs_of(outbox) == std::vector<std::uint64_t>{3, 5, 7, 8});
}

TEST_CASE("outbox: reopening finds everything pending, in seq order, byte for byte") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    std::vector<PendingMessage> before;
    {
        Outbox outbox = open_ok(paths);
        add_ok(outbox, MessageKind::action_result, action_result("jti-1"));
        add_ok(outbox, MessageKind::inventory, inventory(1));
        add_ok(outbox, MessageKind::action_result, action_result("jti-2"));
        add_ok(outbox, MessageKind::state, state(1));
        add_ok(outbox, MessageKind::action_result, action_result("jti-3"));
        CHECK(outbox.acknowledge(3).has_value());
        before = outbox.pending();
    }
    Outbox reopened = open_ok(paths);
    CHECK(reopened.problems().empty());
    REQUIRE(reopened.pending().size() == before.size());
    for (std::size_t i = 0; i < before.size(); ++i) {
        const PendingMessage& again = reopened.pending()[i];
        CHECK(again.seq == before[i].seq);
        CHECK(again.kind == before[i].kind);
        CHECK(again.jti == before[i].jti);
        CHECK(again.text == before[i].text);
        CHECK(again.persisted);
        CHECK(Json::parse(again.text).at("seq") == again.seq);
    }
    CHECK(seqs_of(reopened) == std::vector<std::uint64_t>{1, 2, 4, 5});
    CHECK(reopened.last_acked() == 3);
    // New messages come after everything pending.
    CHECK(add_ok(reopened, MessageKind::state, state(2)).seq == 6);
    CHECK(seqs_of(reopened) == std::vector<std::uint64_t>{1, 2, 5, 6});
}

TEST_CASE("outbox: has_action_result") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    Outbox outbox = open_ok(paths);
    CHECK_FALSE(outbox.has_action_result("jti-a"));
    PendingMessage result = add_ok(outbox, MessageKind::action_result, action_result("jti-a"));
    CHECK(result.jti == "jti-a");
    add_ok(outbox, MessageKind::state, state(1));
    CHECK(outbox.has_action_result("jti-a"));
    CHECK_FALSE(outbox.has_action_result("jti-b"));
    CHECK_FALSE(outbox.has_action_result(""));

    Outbox reopened = open_ok(paths);
    CHECK(reopened.has_action_result("jti-a"));
    CHECK(reopened.acknowledge(result.seq).has_value());
    CHECK_FALSE(reopened.has_action_result("jti-a"));
}

TEST_CASE("outbox: files that do not parse are moved to corrupt/, never deleted") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    {
        Outbox outbox = open_ok(paths);
        add_ok(outbox, MessageKind::state, state(1));                        // 1
        add_ok(outbox, MessageKind::action_result, action_result("jti-1"));  // 2
    }
    const Json wrong_seq = Json{{"type", "state"}, {"seq", 4}};
    const Json wrong_type = Json{{"type", "state"}, {"seq", 5}};
    const Json no_jti = Json{{"type", "action_result"}, {"seq", 6}};
    const std::vector<std::pair<std::string, std::string>> bad = {
        {name_of(3, MessageKind::inventory), "{\"type\":\"inventory\",\"seq\":"},
        {name_of(7, MessageKind::state), wrong_seq.dump()},
        {name_of(5, MessageKind::inventory), wrong_type.dump()},
        {name_of(6, MessageKind::action_result), no_jti.dump()},
        {name_of(8, MessageKind::state), "[1,2]"},
        {name_of(9, MessageKind::state), "{\"type\":\"state\",\"seq\":9,\"seq\":9}"},
        {"notes.txt", "hello"},
        {"00000000000000000010.hello.json", "{}"},
        {"00000000000000000000.state.json", "{\"type\":\"state\",\"seq\":0}"},
    };
    for (const auto& [name, contents] : bad) write_all(paths.outbox / name, contents);
    // A writer that died before its rename.
    write_all(paths.outbox / (name_of(11, MessageKind::state) + ".tmp"), "{\"type\"");

    Outbox outbox = open_ok(paths);
    CHECK(seqs_of(outbox) == std::vector<std::uint64_t>{1, 2});
    REQUIRE(outbox.problems().size() == bad.size());
    for (const auto& [name, contents] : bad) {
        CAPTURE(name);
        CHECK(read_all(paths.outbox / "corrupt" / name) == contents);
        CHECK_FALSE(fs::exists(paths.outbox / name));
        const fs::path where = paths.outbox / name;
        CHECK(std::count_if(outbox.problems().begin(), outbox.problems().end(),
                            [&where](const std::string& line) {
                                return line.rfind(where.string() + ": ", 0) == 0 &&
                                       line.find("moved to") != std::string::npos;
                            }) == 1);
    }
    CHECK_FALSE(fs::exists(paths.outbox / (name_of(11, MessageKind::state) + ".tmp")));
    CHECK(files_in(paths.outbox) ==
          std::vector<std::string>{name_of(1, MessageKind::state),
                                   name_of(2, MessageKind::action_result)});
    // A second open finds nothing more to complain about, and a file of the same name moved
    // aside later does not replace the first.
    write_all(paths.outbox / "notes.txt", "again");
    Outbox again = open_ok(paths);
    CHECK(again.problems().size() == 1);
    CHECK(read_all(paths.outbox / "corrupt" / "notes.txt") == "hello");
    CHECK(read_all(paths.outbox / "corrupt" / "notes.txt.1") == "again");
}

TEST_CASE("outbox: a crash between storing a new state and removing the old keeps the newest") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    std::string newest;
    {
        Outbox outbox = open_ok(paths);
        PendingMessage first = add_ok(outbox, MessageKind::state, state(1));
        add_ok(outbox, MessageKind::action_result, action_result("jti-1"));
        // Put the replaced file back, as if the removal never happened.
        newest = add_ok(outbox, MessageKind::state, state(2)).text;
        write_all(paths.outbox / name_of(first.seq, MessageKind::state), first.text);
    }
    Outbox outbox = open_ok(paths);
    CHECK(outbox.problems().empty());
    CHECK(seqs_of(outbox) == std::vector<std::uint64_t>{2, 3});
    CHECK(outbox.pending()[1].text == newest);
    CHECK_FALSE(fs::exists(paths.outbox / name_of(1, MessageKind::state)));
}

TEST_CASE("outbox: the counter is moved above the highest pending seq") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    {
        Outbox outbox = open_ok(paths);
        for (int i = 0; i < 4; ++i)
            add_ok(outbox, MessageKind::action_result, action_result(std::to_string(i)));
    }
    // A counter that fell behind (restored from an old backup, say) must not reuse seqs.
    fs::remove(paths.counter);
    Outbox outbox = open_ok(paths);
    CHECK(seqs_of(outbox) == std::vector<std::uint64_t>{1, 2, 3, 4});
    CHECK(add_ok(outbox, MessageKind::state, state(1)).seq == 5);
}

TEST_CASE("outbox: when the disk refuses, the message is kept in memory and the error named") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    Outbox outbox = open_ok(paths);
    PendingMessage stored = add_ok(outbox, MessageKind::state, state(1));

    // Works as root too, where a read-only mode would not stop the write: the outbox directory
    // is replaced by a plain file, so creating anything inside it fails with ENOTDIR.
    fs::rename(paths.outbox, dir.path() / "moved-away");
    write_all(paths.outbox, "not a directory");

    auto added = outbox.add(MessageKind::state, state(2));
    REQUIRE(added);
    CHECK_FALSE(added->persisted);
    CHECK(added->seq == 2);
    CHECK(Json::parse(added->text).at("seq") == 2);
    CHECK(outbox.last_error().find(paths.outbox.string()) != std::string::npos);
    CHECK(outbox.last_error().find("Not a directory") != std::string::npos);
    // It replaced the stored state in memory (the newest wins), and it goes out like any other.
    CHECK(seqs_of(outbox) == std::vector<std::uint64_t>{2});
    CHECK_FALSE(outbox.pending()[0].persisted);

    auto result = outbox.add(MessageKind::action_result, action_result("jti-x"));
    REQUIRE(result);
    CHECK_FALSE(result->persisted);
    CHECK(outbox.has_action_result("jti-x"));
    CHECK(outbox.acknowledge(result->seq).has_value());
    CHECK(outbox.last_acked() == result->seq);

    // The stored file of the replaced state is still on disk, for a restart: stale beats none.
    CHECK(fs::exists(dir.path() / "moved-away" / name_of(stored.seq, MessageKind::state)));
}

TEST_CASE("outbox: opening fails on a path that is not a directory, or a broken counter") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    fs::create_directories(paths.outbox.parent_path());
    write_all(paths.outbox, "x");
    auto counter = SequenceCounter::open(paths.counter);
    REQUIRE(counter);
    auto outbox = Outbox::open(paths.outbox, *counter);
    REQUIRE_FALSE(outbox);
    CHECK(outbox.error().find(paths.outbox.string()) != std::string::npos);

    fs::remove(paths.outbox);
    {
        Outbox good = open_ok(paths);
        add_ok(good, MessageKind::state, state(1));
        write_all(paths.counter, "broken");
        auto failed = good.add(MessageKind::state, state(2));
        REQUIRE_FALSE(failed);
        CHECK(failed.error().find(paths.counter.string()) != std::string::npos);
        CHECK(seqs_of(good) == std::vector<std::uint64_t>{1});
    }
    // With messages pending, the counter must be moved above them: a broken one fails the open.
    auto again = Outbox::open(paths.outbox, *counter);
    CHECK_FALSE(again);
}

TEST_CASE("outbox: a message that is not an object is refused") {
    TempDir dir;
    Outbox outbox = open_ok(paths_in(dir));
    CHECK_FALSE(outbox.add(MessageKind::state, Json::array()));
    CHECK(outbox.pending().empty());
}

TEST_CASE("outbox: action results stay within their bound; unverifiable refusals go first") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    LinkLimits limits;
    limits.max_results = 3;
    limits.max_unverified_refusals = 1;
    Outbox outbox = open_ok(paths, limits);
    add_ok(outbox, MessageKind::action_result, action_result("v1"));        // seq 1
    add_ok(outbox, MessageKind::action_result, unverified_refusal("u2"));   // seq 2
    add_ok(outbox, MessageKind::state, state(1));                           // seq 3
    PendingMessage u4 = add_ok(outbox, MessageKind::action_result, unverified_refusal("u4"));
    CHECK(u4.unverified);
    // Two refusals of unverifiable tokens: over their own cap of one, the older goes.
    CHECK(seqs_of(outbox) == std::vector<std::uint64_t>{1, 3, 4});
    add_ok(outbox, MessageKind::action_result, action_result("v5"));  // seq 5
    add_ok(outbox, MessageKind::action_result, action_result("v6"));  // seq 6
    // Four results over a cap of three: the refusal goes before any verified result.
    CHECK(seqs_of(outbox) == std::vector<std::uint64_t>{1, 3, 5, 6});
    add_ok(outbox, MessageKind::action_result, action_result("v7"));  // seq 7
    CHECK(seqs_of(outbox) == std::vector<std::uint64_t>{3, 5, 6, 7});
    CHECK(outbox.result_count() == 3);
    CHECK_FALSE(outbox.has_action_result("v1"));
    // The files follow: the state is untouched.
    CHECK(files_in(paths.outbox) == std::vector<std::string>{
                                        name_of(3, MessageKind::state),
                                        name_of(5, MessageKind::action_result),
                                        name_of(6, MessageKind::action_result),
                                        name_of(7, MessageKind::action_result)});

    // Reopened under a lower bound: the oldest results go, each named.
    LinkLimits lower = limits;
    lower.max_results = 1;
    Outbox reopened = open_ok(paths, lower);
    CHECK(seqs_of(reopened) == std::vector<std::uint64_t>{3, 7});
    REQUIRE(reopened.problems().size() == 2);
    CHECK(reopened.problems()[0].find(name_of(5, MessageKind::action_result)) != std::string::npos);
    CHECK(files_in(paths.outbox) == std::vector<std::string>{name_of(3, MessageKind::state),
                                                             name_of(7, MessageKind::action_result)});
}

TEST_CASE("outbox: the bytes of the pending results are bounded too") {
    TempDir dir;
    LinkLimits limits;
    Outbox probe = open_ok(paths_in(dir));
    const std::size_t one = add_ok(probe, MessageKind::action_result, action_result("x")).text.size();
    limits.max_result_bytes = 2 * one + one / 2;  // room for two
    TempDir other;
    Outbox outbox = open_ok(paths_in(other), limits);
    for (const char* jti : {"a", "b", "c", "d"}) {
        add_ok(outbox, MessageKind::action_result, action_result(jti));
    }
    CHECK(outbox.result_count() == 2);
    CHECK(outbox.result_bytes() <= limits.max_result_bytes);
    CHECK(outbox.has_action_result("c"));
    CHECK(outbox.has_action_result("d"));
}

TEST_CASE("outbox: results before states: near a full disk only results are written") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    LinkLimits limits;
    limits.disk_reserve_bytes = 1 << 20;
    Outbox outbox = open_ok(paths, limits);
    PendingMessage first = add_ok(outbox, MessageKind::state, state(1));
    outbox.files()->set_free_bytes([]() -> std::optional<std::uint64_t> { return 512u << 10; });

    auto later = outbox.add(MessageKind::state, state(2));
    REQUIRE(later);
    CHECK_FALSE(later->persisted);  // sent from memory
    CHECK(outbox.last_error().find("kept for action results") != std::string::npos);
    auto big = outbox.add(MessageKind::inventory, inventory(1));
    REQUIRE(big);
    CHECK_FALSE(big->persisted);

    PendingMessage result = add_ok(outbox, MessageKind::action_result, action_result("r"));
    CHECK(result.persisted);
    // The older state's file stays (stale beats none after a restart); no newer one was written.
    CHECK(files_in(paths.outbox) ==
          std::vector<std::string>{name_of(first.seq, MessageKind::state),
                                   name_of(result.seq, MessageKind::action_result)});

    // Space again: states are written as before.
    outbox.files()->set_free_bytes([]() -> std::optional<std::uint64_t> { return 1u << 30; });
    PendingMessage again = add_ok(outbox, MessageKind::state, state(3));
    CHECK(again.persisted);
}

TEST_CASE("outbox: a result that cannot be stored takes the stored inventory and state with it") {
    TempDir dir;
    const Paths paths = paths_in(dir);
    Outbox outbox = open_ok(paths);
    PendingMessage stored_state = add_ok(outbox, MessageKind::state, state(1));
    PendingMessage stored_inventory = add_ok(outbox, MessageKind::inventory, inventory(1));
    // A directory where the result's temporary file goes: both tries fail to remove it.
    const std::uint64_t next = stored_inventory.seq + 1;
    const fs::path blocker = paths.outbox / (name_of(next, MessageKind::action_result) + ".tmp");
    fs::create_directories(blocker / "inside");

    auto result = outbox.add(MessageKind::action_result, action_result("r"));
    REQUIRE(result);
    CHECK(result->seq == next);
    CHECK_FALSE(result->persisted);  // sent from memory
    const std::string failure = "cannot remove " + blocker.string() + ": Is a directory";
    CHECK(outbox.last_error() == failure + " (again after removing " +
                                     name_of(stored_inventory.seq, MessageKind::inventory) + ", " +
                                     name_of(stored_state.seq, MessageKind::state) +
                                     " to make room: " + failure + ")");
    CHECK(files_in(paths.outbox).empty());

    // Once the way is clear, the next result is stored, and nothing else is removed for it.
    fs::remove_all(blocker);
    PendingMessage later_state = add_ok(outbox, MessageKind::state, state(2));
    PendingMessage later = add_ok(outbox, MessageKind::action_result, action_result("s"));
    CHECK(files_in(paths.outbox) ==
          std::vector<std::string>{name_of(later_state.seq, MessageKind::state),
                                   name_of(later.seq, MessageKind::action_result)});
}
