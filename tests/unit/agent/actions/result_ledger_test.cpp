// The result ledger's files: the frame comes back byte for byte, entries go after exp + skew,
// the count stays within its cap (tokens that expire first go first), damaged files are moved
// aside, a file under another jti's name is refused.
#include <doctest/doctest.h>

#include <fstream>

#include "../temp_dir.hpp"
#include "agent/actions/jti_file_name.hpp"
#include "agent/actions/result_ledger.hpp"

using namespace monsys::agent::actions;
using namespace monsys::agent::test;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t now = 1'800'000'000;

std::size_t entry_files(const fs::path& directory) {
    std::size_t count = 0;
    for (const auto& entry : fs::directory_iterator(directory)) count += entry.is_regular_file();
    return count;
}

void store_ok(ResultLedger& ledger, const LedgerEntry& entry, std::int64_t at = now) {
    auto stored = ledger.store(entry, at);
    if (!stored) FAIL_CHECK(stored.error());
    REQUIRE(stored);
}

}  // namespace

TEST_CASE("result ledger: the stored frame comes back byte for byte, with its seq") {
    TempDir dir;
    ResultLedger ledger(dir.path() / "ledger");
    // Newlines, escapes, non-ASCII and spacing are kept exactly as they were sent.
    const std::string frame =
        "{\"type\":\"action_result\", \"seq\":44,\n\"result\":{\"message\":\"a\\u00e9\xc3\xa9 "
        "\\n\"}}";
    store_ok(ledger, {"jti-1", now + 300, 44, frame});
    auto found = ledger.find("jti-1");
    REQUIRE(found);
    REQUIRE(found->has_value());
    CHECK((*found)->frame == frame);
    CHECK((*found)->seq == 44);
    CHECK((*found)->exp == now + 300);
    CHECK((*found)->jti == "jti-1");

    auto missing = ledger.find("jti-2");
    REQUIRE(missing);
    CHECK_FALSE(missing->has_value());

    // The file is named by the jti's hash, never by the jti.
    CHECK(fs::exists(dir.path() / "ledger" / (jti_hash_hex("jti-1") + ".entry")));
}

TEST_CASE("result ledger: a file under another jti's name is an error, not an answer") {
    TempDir dir;
    ResultLedger ledger(dir.path() / "ledger");
    store_ok(ledger, {"real", now + 300, 5, "{}"});
    fs::copy_file(dir.path() / "ledger" / (jti_hash_hex("real") + ".entry"),
                  dir.path() / "ledger" / (jti_hash_hex("forged") + ".entry"));
    auto found = ledger.find("forged");
    REQUIRE_FALSE(found);
    CHECK(found.error().find("another jti") != std::string::npos);
}

TEST_CASE("result ledger: entries go once exp + skew has passed") {
    TempDir dir;
    ResultLedger ledger(dir.path() / "ledger", LedgerLimits{100, 30, 600});
    store_ok(ledger, {"old", now - 31, 1, "{}"});
    store_ok(ledger, {"edge", now - 29, 2, "{}"});
    store_ok(ledger, {"new", now + 100, 3, "{}"});
    auto pruned = ledger.prune(now);
    CHECK(pruned.expired == 1);
    CHECK(pruned.kept == 2);
    CHECK_FALSE(ledger.find("old")->has_value());
    CHECK(ledger.find("edge")->has_value());
    CHECK(ledger.find("new")->has_value());
}

TEST_CASE("result ledger: past the cap the tokens that expire first go") {
    TempDir dir;
    ResultLedger ledger(dir.path() / "ledger", LedgerLimits{3, 30, 600});
    store_ok(ledger, {"b", now + 200, 1, "{}"});
    store_ok(ledger, {"a", now + 100, 2, "{}"});
    store_ok(ledger, {"c", now + 300, 3, "{}"});
    store_ok(ledger, {"d", now + 250, 4, "{}"});  // full: "a" goes
    CHECK(entry_files(dir.path() / "ledger") == 3);
    CHECK_FALSE(ledger.find("a")->has_value());
    for (const char* kept : {"b", "c", "d"}) CHECK(ledger.find(kept)->has_value());
    // Replacing an entry needs no room.
    store_ok(ledger, {"d", now + 250, 4, "{\"x\":1}"});
    CHECK(entry_files(dir.path() / "ledger") == 3);
    CHECK(ledger.find("b")->has_value());
}

TEST_CASE("result ledger: damaged files are moved aside, unfinished writes removed") {
    TempDir dir;
    const fs::path directory = dir.path() / "ledger";
    ResultLedger ledger(directory);
    store_ok(ledger, {"good", now + 300, 1, "{}"});
    std::ofstream(directory / (jti_hash_hex("bad") + ".entry")) << "not json\n{}";
    std::ofstream(directory / (jti_hash_hex("x") + ".entry.tmp")) << "half";
    std::ofstream(directory / "stray") << "?";
    auto pruned = ledger.prune(now);
    CHECK(pruned.kept == 1);
    CHECK(pruned.problems.size() == 2);
    CHECK(entry_files(directory) == 1);
    CHECK(entry_files(directory / "corrupt") == 2);
    CHECK(ledger.find("good")->has_value());
}

TEST_CASE("result ledger: a jti that is not UTF-8 is refused with a clear error") {
    TempDir dir;
    ResultLedger ledger(dir.path() / "ledger");
    auto stored = ledger.store({"\xff\xfe", now + 300, 1, "{}"}, now);
    REQUIRE_FALSE(stored);
    CHECK(stored.error().find("not valid UTF-8") != std::string::npos);
}

TEST_CASE("result ledger: past the byte cap the tokens that expire first go; the new entry stays") {
    TempDir dir;
    const fs::path directory = dir.path() / "ledger";
    const std::string frame(1000, 'x');  // each entry file: a header of ~40 bytes, then this
    LedgerLimits limits{100, 30, 600, 3500};
    ResultLedger ledger(directory, limits);
    store_ok(ledger, {"b", now + 200, 1, frame});
    store_ok(ledger, {"a", now + 100, 2, frame});
    store_ok(ledger, {"c", now + 300, 3, frame});
    CHECK(entry_files(directory) == 3);
    store_ok(ledger, {"d", now + 250, 4, frame});  // 4 x ~1040 > 3500: "a" goes
    CHECK(entry_files(directory) == 3);
    CHECK_FALSE(ledger.find("a")->has_value());
    for (const char* kept : {"b", "c", "d"}) CHECK(ledger.find(kept)->has_value());

    // A large entry takes the room of as many as it needs, soonest exp first, and is kept itself.
    store_ok(ledger, {"big", now + 50, 5, std::string(2400, 'y')});
    CHECK_FALSE(ledger.find("b")->has_value());
    CHECK_FALSE(ledger.find("d")->has_value());
    CHECK(ledger.find("c")->has_value());
    CHECK((*ledger.find("big"))->frame.size() == 2400);
    std::uintmax_t total = 0;
    for (const auto& entry : fs::directory_iterator(directory)) total += entry.file_size();
    CHECK(total <= limits.max_bytes);

    // The count after a fresh start (a new process) agrees with the files on disk.
    ResultLedger again(directory, limits);
    auto pruned = again.prune(now);
    CHECK(pruned.kept == 2);
    CHECK(pruned.kept_bytes == total);
    CHECK(pruned.evicted == 0);
}

TEST_CASE("result ledger: an entry larger than the byte cap is refused, the others stay") {
    TempDir dir;
    ResultLedger ledger(dir.path() / "ledger", LedgerLimits{100, 30, 600, 2000});
    store_ok(ledger, {"small", now + 300, 1, "{}"});
    auto stored = ledger.store({"huge", now + 300, 2, std::string(2100, 'z')}, now);
    REQUIRE_FALSE(stored);
    CHECK(stored.error().find("over the ledger's cap") != std::string::npos);
    CHECK(ledger.find("small")->has_value());
    CHECK_FALSE(ledger.find("huge")->has_value());
}

TEST_CASE("result ledger: the default byte cap holds two entries of the largest size") {
    CHECK(LedgerLimits{}.max_bytes >= 2 * std::uint64_t{max_ledger_entry_bytes});
}
