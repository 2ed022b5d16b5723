// The seq counter on a real file system. Two counters on one file stand in for the daemon and
// `monsys-agent --once`: in one thread, in two threads, and in two processes.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>
#include <vector>

#include "../temp_dir.hpp"
#include "agent/hub/sequence_counter.hpp"

using monsys::agent::hub::SequenceCounter;
using namespace monsys::agent::test;
namespace fs = std::filesystem;

namespace {

SequenceCounter open_ok(const fs::path& file) {
    auto counter = SequenceCounter::open(file);
    if (!counter) FAIL_CHECK(counter.error());
    REQUIRE(counter);
    return *counter;
}

std::uint64_t allocate_ok(SequenceCounter& counter) {
    auto seq = counter.allocate();
    if (!seq) FAIL_CHECK(seq.error());
    REQUIRE(seq);
    return *seq;
}

std::string record(std::uint64_t next, std::uint64_t acked) {
    char line[64];
    std::snprintf(line, sizeof line, "%020llu %020llu\n", static_cast<unsigned long long>(next),
                  static_cast<unsigned long long>(acked));
    return line;
}

}  // namespace

TEST_CASE("sequence counter: the first seq is 1, and the file is one fixed-width line") {
    TempDir dir;
    const fs::path file = dir.path() / "seq";
    SequenceCounter counter = open_ok(file);
    CHECK(read_all(file) == record(1, 0));
    CHECK(mode_of(file) == 0600);
    CHECK(counter.last_acked() == 0);
    CHECK(counter.file() == file);

    CHECK(allocate_ok(counter) == 1);
    CHECK(read_all(file) == record(2, 0));
    CHECK(read_all(file).size() == 42);
    CHECK(allocate_ok(counter) == 2);
    // No temporary files are left behind.
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("sequence counter: strictly increasing across reopening") {
    TempDir dir;
    const fs::path file = dir.path() / "seq";
    std::uint64_t last = 0;
    for (int round = 0; round < 5; ++round) {
        SequenceCounter counter = open_ok(file);
        for (int i = 0; i < 3; ++i) {
            std::uint64_t seq = allocate_ok(counter);
            CHECK(seq == last + 1);
            last = seq;
        }
    }
    CHECK(last == 15);
    CHECK(read_all(file) == record(16, 0));
}

TEST_CASE("sequence counter: two counters on one file never hand out the same seq") {
    TempDir dir;
    const fs::path file = dir.path() / "seq";
    SequenceCounter daemon = open_ok(file);
    SequenceCounter once = open_ok(file);
    std::vector<std::uint64_t> seen;
    for (int i = 0; i < 10; ++i) {
        seen.push_back(allocate_ok(daemon));
        seen.push_back(allocate_ok(once));
        if (i % 3 == 0) seen.push_back(allocate_ok(once));
    }
    std::vector<std::uint64_t> expected(seen.size());
    for (std::size_t i = 0; i < expected.size(); ++i) expected[i] = i + 1;
    CHECK(seen == expected);

    // The ack one records is seen by the other at its next operation.
    REQUIRE(once.record_ack(5));
    CHECK(daemon.last_acked() == 0);
    allocate_ok(daemon);
    CHECK(daemon.last_acked() == 5);
}

TEST_CASE("sequence counter: two threads, each with its own counter") {
    TempDir dir;
    const fs::path file = dir.path() / "seq";
    open_ok(file);
    constexpr int per_thread = 200;
    std::vector<std::uint64_t> first, second;
    std::vector<std::string> errors_first, errors_second;
    auto run = [&file](std::vector<std::uint64_t>* out, std::vector<std::string>* errors) {
        auto counter = SequenceCounter::open(file);
        if (!counter) {
            errors->push_back(counter.error());
            return;
        }
        for (int i = 0; i < per_thread; ++i) {
            auto seq = counter->allocate();
            if (seq) {
                out->push_back(*seq);
            } else {
                errors->push_back(seq.error());
            }
        }
    };
    std::thread a(run, &first, &errors_first);
    std::thread b(run, &second, &errors_second);
    a.join();
    b.join();
    CHECK(errors_first.empty());
    CHECK(errors_second.empty());
    CHECK(std::is_sorted(first.begin(), first.end()));
    CHECK(std::is_sorted(second.begin(), second.end()));
    std::set<std::uint64_t> all(first.begin(), first.end());
    all.insert(second.begin(), second.end());
    CHECK(all.size() == 2 * per_thread);
    CHECK(*all.begin() == 1);
    CHECK(*all.rbegin() == 2 * per_thread);
}

TEST_CASE("sequence counter: two processes") {
    TempDir dir;
    const fs::path file = dir.path() / "seq";
    const fs::path child_out = dir.path() / "child";
    constexpr int per_process = 100;
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        // The child writes its seqs to a file and reports through its exit status only.
        std::string seqs;
        auto counter = SequenceCounter::open(file);
        if (!counter) ::_exit(2);
        for (int i = 0; i < per_process; ++i) {
            auto seq = counter->allocate();
            if (!seq) ::_exit(3);
            seqs += std::to_string(*seq) + "\n";
        }
        write_all(child_out, seqs);
        ::_exit(0);
    }
    std::vector<std::uint64_t> mine;
    std::string error;
    auto counter = SequenceCounter::open(file);
    for (int i = 0; counter && i < per_process; ++i) {
        auto seq = counter->allocate();
        if (!seq) {
            error = seq.error();
            break;
        }
        mine.push_back(*seq);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(counter);
    CHECK(error.empty());
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);

    std::set<std::uint64_t> all(mine.begin(), mine.end());
    std::istringstream theirs(read_all(child_out));
    for (std::uint64_t seq; theirs >> seq;) CHECK(all.insert(seq).second);
    CHECK(all.size() == 2 * per_process);
    CHECK(*all.rbegin() == 2 * per_process);
}

TEST_CASE("sequence counter: a corrupt file is an error naming it, and is left alone") {
    TempDir dir;
    const fs::path file = dir.path() / "seq";
    const std::string bad[] = {
        "",
        "5 0\n",
        record(5, 0).substr(0, 41),
        record(5, 0) + "\n",
        "0000000000000000000x 00000000000000000000\n",
        "00000000000000000005,00000000000000000000\n",
        "00000000000000000005 00000000000000000000 ",
        record(0, 0),
        record(5, 5),
        record(5, 9),
        "99999999999999999999 00000000000000000000\n",  // beyond uint64
        "-0000000000000000005 00000000000000000000\n",
    };
    for (const std::string& contents : bad) {
        CAPTURE(contents);
        write_all(file, contents);
        auto counter = SequenceCounter::open(file);
        REQUIRE_FALSE(counter);
        CHECK(counter.error().find(file.string() + " is corrupt") == 0);
        CHECK(read_all(file) == contents);
    }

    // Corruption after opening is found by the next operation.
    write_all(file, record(7, 3));
    SequenceCounter counter = open_ok(file);
    CHECK(counter.last_acked() == 3);
    write_all(file, "garbage");
    CHECK_FALSE(counter.allocate());
    CHECK_FALSE(counter.ensure_above(10));
    CHECK_FALSE(counter.record_ack(5));
    CHECK(read_all(file) == "garbage");
}

TEST_CASE("sequence counter: errors name the path") {
    TempDir dir;
    const fs::path file = dir.path() / "missing-dir" / "seq";
    auto counter = SequenceCounter::open(file);
    REQUIRE_FALSE(counter);
    CHECK(counter.error().find(file.string()) != std::string::npos);
    CHECK(counter.error().find("No such file or directory") != std::string::npos);

    fs::create_directory(dir.path() / "a-directory");
    auto directory = SequenceCounter::open(dir.path() / "a-directory");
    CHECK_FALSE(directory);
}

TEST_CASE("sequence counter: ensure_above moves the next seq up, never down") {
    TempDir dir;
    const fs::path file = dir.path() / "seq";
    SequenceCounter counter = open_ok(file);
    auto moved = counter.ensure_above(41);
    REQUIRE(moved);
    CHECK(*moved);
    CHECK(allocate_ok(counter) == 42);
    auto again = counter.ensure_above(10);
    REQUIRE(again);
    CHECK_FALSE(*again);
    auto same = counter.ensure_above(42);
    REQUIRE(same);
    CHECK_FALSE(*same);
    CHECK(allocate_ok(counter) == 43);
    CHECK(open_ok(file).allocate().value() == 44);

    CHECK_FALSE(counter.ensure_above(std::numeric_limits<std::uint64_t>::max()));
}

TEST_CASE("sequence counter: record_ack keeps the highest and persists it") {
    TempDir dir;
    const fs::path file = dir.path() / "seq";
    SequenceCounter counter = open_ok(file);
    for (int i = 0; i < 10; ++i) allocate_ok(counter);

    auto first = counter.record_ack(7);
    REQUIRE(first);
    CHECK(*first);
    CHECK(counter.last_acked() == 7);
    auto lower = counter.record_ack(3);
    REQUIRE(lower);
    CHECK_FALSE(*lower);
    CHECK(counter.last_acked() == 7);
    auto equal = counter.record_ack(7);
    REQUIRE(equal);
    CHECK_FALSE(*equal);
    CHECK(read_all(file) == record(11, 7));

    CHECK(open_ok(file).last_acked() == 7);
    CHECK(allocate_ok(counter) == 11);

    // An ack beyond what was handed out keeps the file consistent rather than unreadable.
    REQUIRE(counter.record_ack(20));
    CHECK(read_all(file) == record(21, 20));
    CHECK(open_ok(file).last_acked() == 20);
}

TEST_CASE("sequence counter: the last seq is never handed out twice") {
    TempDir dir;
    const fs::path file = dir.path() / "seq";
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    write_all(file, record(max - 1, 0));
    SequenceCounter counter = open_ok(file);
    CHECK(allocate_ok(counter) == max - 1);
    auto exhausted = counter.allocate();
    REQUIRE_FALSE(exhausted);
    CHECK(exhausted.error().find("exhausted") != std::string::npos);
    CHECK(read_all(file) == record(max, 0));
}
