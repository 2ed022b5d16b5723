#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>

#include "../temp_dir.hpp"
#include "agent/actions/inflight_journal.hpp"

using namespace monsys::agent::actions;
using namespace monsys::agent::test;
using Json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* documented_jti = "3f0c6b1e-2d4f-4d55-9a51-0f1c2b7e9a10";
// BLAKE2b with a 16-byte digest (libsodium's crypto_generichash), as hashlib computes it.
constexpr const char* documented_jti_file = "62330f81527b9466e35bf3ee54165283.json";

InflightAction action(std::string jti, std::string started_at = "2026-11-28T09:16:40.101Z") {
    return {std::move(jti), "app-9", "systemd", "nginx.service", std::move(started_at), 1800000300};
}

void record_ok(InflightJournal& journal, const InflightAction& entry) {
    auto recorded = journal.record(entry);
    if (!recorded) FAIL_CHECK(recorded.error());
    REQUIRE(recorded);
}

std::vector<std::string> files_in(const fs::path& directory) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(directory)) {
        if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

// The result object of the action_result example in docs/protocol.md: what monsys-action prints.
Json documented_result() {
    std::ifstream in(std::string(MONSYS_SOURCE_DIR) + "/docs/protocol.md");
    const std::string doc{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const std::size_t type = doc.find("\"type\": \"action_result\"");
    REQUIRE(type != std::string::npos);
    const std::size_t start = doc.rfind("```json\n", type) + 8;
    const std::size_t end = doc.find("```", type);
    return Json::parse(doc.substr(start, end - start)).at("result");
}

std::set<std::string> keys_of(const Json& object) {
    std::set<std::string> keys;
    for (const auto& item : object.items()) keys.insert(item.key());
    return keys;
}

}  // namespace

TEST_CASE("inflight journal: record, find, remove") {
    TempDir dir;
    const fs::path directory = dir.path() / "hub" / "inflight";
    InflightJournal journal(directory);
    CHECK(journal.leftovers().empty());  // no directory yet

    const InflightAction entry{
        documented_jti, "app-9", "systemd", "nginx.service", "2026-11-28T09:16:40.101Z",
        std::nullopt};
    record_ok(journal, entry);
    CHECK(mode_of(directory) == 0700);
    CHECK(files_in(directory) == std::vector<std::string>{documented_jti_file});
    CHECK(mode_of(directory / documented_jti_file) == 0600);
    CHECK(Json::parse(read_all(directory / documented_jti_file)) ==
          Json{{"jti", documented_jti},
               {"app_id", "app-9"},
               {"type", "systemd"},
               {"identifier", "nginx.service"},
               {"started_at", "2026-11-28T09:16:40.101Z"}});

    std::vector<std::string> problems;
    auto left = InflightJournal(directory).leftovers(&problems);
    CHECK(problems.empty());
    REQUIRE(left.size() == 1);
    CHECK(left[0].jti == entry.jti);
    CHECK(left[0].app_id == entry.app_id);
    CHECK(left[0].type == entry.type);
    CHECK(left[0].identifier == entry.identifier);
    CHECK(left[0].started_at == entry.started_at);
    CHECK_FALSE(left[0].exp);  // a record without exp (as older agents wrote) reads back as such

    // With the token's exp, it is kept and read back (the ledger keeps a recovery until then).
    auto with_exp = entry;
    with_exp.exp = 1800000300;
    record_ok(journal, with_exp);
    CHECK(Json::parse(read_all(directory / documented_jti_file))["exp"] == 1800000300);
    auto again = InflightJournal(directory).leftovers();
    REQUIRE(again.size() == 1);
    CHECK(again[0].exp == 1800000300);

    journal.remove(documented_jti);
    CHECK(files_in(directory).empty());
    CHECK(journal.leftovers().empty());
    journal.remove(documented_jti);  // not there: no error, nothing happens
    journal.remove("never-recorded");
}

TEST_CASE("inflight journal: any jti becomes a safe file name") {
    TempDir dir;
    InflightJournal journal(dir.path());
    const std::string hostile[] = {"../../etc/passwd",
                                   "/",
                                   "..",
                                   "a/b",
                                   "line\nbreak",
                                   std::string("nul\0byte", 8),
                                   std::string(4096, 'j'),
                                   "caf\xc3\xa9"};
    for (const std::string& jti : hostile) record_ok(journal, action(jti));
    const auto names = files_in(dir.path());
    CHECK(names.size() == std::size(hostile));
    for (const std::string& name : names) {
        CHECK(name.size() == 32 + 5);
        CHECK(name.find_first_not_of("0123456789abcdef") == 32);
    }
    std::vector<std::string> problems;
    auto left = journal.leftovers(&problems);
    CHECK(problems.empty());
    std::set<std::string> found;
    for (const auto& entry : left) found.insert(entry.jti);
    CHECK(found == std::set<std::string>(std::begin(hostile), std::end(hostile)));
    for (const std::string& jti : hostile) journal.remove(jti);
    CHECK(files_in(dir.path()).empty());

    // A jti that is not UTF-8 could not be found again under its name: refused, not mangled.
    auto recorded = journal.record(action("\xff\xfe"));
    REQUIRE_FALSE(recorded);
    CHECK(recorded.error().find("not valid UTF-8") != std::string::npos);
    CHECK(files_in(dir.path()).empty());
}

TEST_CASE("inflight journal: leftovers come oldest first") {
    TempDir dir;
    InflightJournal journal(dir.path());
    record_ok(journal, action("c", "2026-11-28T09:16:42.000Z"));
    record_ok(journal, action("a", "2026-11-28T09:16:40.000Z"));
    record_ok(journal, action("b2", "2026-11-28T09:16:41.000Z"));
    record_ok(journal, action("b1", "2026-11-28T09:16:41.000Z"));
    auto left = journal.leftovers();
    std::vector<std::string> jtis;
    for (const auto& entry : left) jtis.push_back(entry.jti);
    CHECK(jtis == std::vector<std::string>{"a", "b1", "b2", "c"});
}

TEST_CASE("inflight journal: files that do not parse are moved to corrupt/") {
    TempDir dir;
    InflightJournal journal(dir.path());
    record_ok(journal, action("good"));
    const std::string good_file = files_in(dir.path()).at(0);
    const std::string hash_of_other = "00112233445566778899aabbccddeeff.json";
    write_all(dir.path() / "0123456789abcdef0123456789abcdef.json", "{\"jti\":");
    write_all(dir.path() / "fedcba9876543210fedcba9876543210.json", "[1]");
    write_all(dir.path() / "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json", "{\"jti\":\"x\"}");
    // A whole record under a name that is not its jti's hash.
    write_all(dir.path() / hash_of_other, read_all(dir.path() / good_file));
    write_all(dir.path() / "README", "hello");
    // A record whose write never finished.
    write_all(dir.path() / "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.json.tmp", "{");

    std::vector<std::string> problems;
    auto left = journal.leftovers(&problems);
    REQUIRE(left.size() == 1);
    CHECK(left[0].jti == "good");
    CHECK(problems.size() == 5);
    for (const std::string& line : problems) {
        CAPTURE(line);
        CHECK(line.rfind(dir.path().string() + "/", 0) == 0);
        CHECK(line.find("moved to " + (dir.path() / "corrupt").string()) != std::string::npos);
    }
    CHECK(std::any_of(problems.begin(), problems.end(), [](const std::string& line) {
        return line.find("does not match the jti") != std::string::npos;
    }));
    CHECK(files_in(dir.path() / "corrupt").size() == 5);
    CHECK(read_all(dir.path() / "corrupt" / "README") == "hello");
    CHECK(files_in(dir.path()).size() == 1);
    // Without a place to report to, they are still moved.
    write_all(dir.path() / "README", "again");
    CHECK(journal.leftovers().size() == 1);
    CHECK(read_all(dir.path() / "corrupt" / "README.1") == "again");
}

TEST_CASE("inflight journal: a record that cannot be written is an error naming the path") {
    TempDir dir;
    write_all(dir.path() / "file", "x");
    InflightJournal journal(dir.path() / "file" / "inflight");
    auto recorded = journal.record(action("a"));
    REQUIRE_FALSE(recorded);
    CHECK(recorded.error().find(dir.path().string() + "/file") != std::string::npos);
}

TEST_CASE("inflight journal: interrupted_result has the shape monsys-action prints") {
    const InflightAction entry{
        documented_jti, "app-9", "systemd", "nginx.service", "2026-11-28T09:16:40.101Z",
        std::nullopt};
    const Json consumed = interrupted_result(entry, true, "2026-11-28T09:18:00.000Z");
    CHECK(keys_of(consumed) == keys_of(documented_result()));
    CHECK(consumed == Json{
                          {"jti", documented_jti},
                          {"app_id", "app-9"},
                          {"type", "systemd"},
                          {"identifier", "nginx.service"},
                          {"status", "failed"},
                          {"reason", "agent_interrupted"},
                          {"message",
                           "the agent stopped while monsys-action ran; monsys-action had accepted "
                           "the token; whether the restart completed is unknown"},
                          {"exit_code", nullptr},
                          {"stdout", ""},
                          {"stderr", ""},
                          {"stdout_truncated", false},
                          {"stderr_truncated", false},
                          {"started_at", "2026-11-28T09:16:40.101Z"},
                          {"finished_at", "2026-11-28T09:18:00.000Z"},
                          {"duration_ms", 79899},
                          {"before", Json::object()},
                          {"after", Json::object()},
                          {"wrapper_exit_code", nullptr},
                      });

    const Json not_consumed = interrupted_result(entry, false, "2026-11-28T09:18:00.000Z");
    CHECK(not_consumed.at("message") ==
          "the agent stopped while monsys-action ran; monsys-action had not accepted the token; "
          "nothing was restarted");
    CHECK(not_consumed.at("status") == "failed");
    CHECK(not_consumed.at("reason") == "agent_interrupted");
}

TEST_CASE("inflight journal: interrupted_result with times it cannot read, and no type") {
    InflightAction entry = action("j", "garbage");
    entry.type.clear();
    const Json result = interrupted_result(entry, false, "2026-11-28T09:18:00.000Z");
    CHECK(result.at("started_at").is_null());  // unknown, not relayed as it was
    CHECK(result.at("duration_ms").is_null());
    CHECK(result.at("type").is_null());
    CHECK(result.at("identifier").is_null());
    // A clock that went backwards gives no duration rather than a negative one.
    const Json backwards = interrupted_result(action("j", "2026-11-28T09:18:00.000Z"), true,
                                              "2026-11-28T09:17:00.000Z");
    CHECK(backwards.at("duration_ms").is_null());
}
