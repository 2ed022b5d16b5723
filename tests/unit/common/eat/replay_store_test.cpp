// The replay store on a real file system, with real processes: forked children stand in for
// monsys-action runs (a restart of the process, and concurrent runs racing on one jti). Each test
// has a fresh directory under /run, whose chain of directories is trusted (unlike /tmp's).
#include <doctest/doctest.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/eat/replay_store.hpp"
#include "tests/unit/trusted_dir.hpp"

using monsys::eat::Refusal;
using monsys::eat::ReplayStore;

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t now = 1767225600;

using TempDir = monsys::test::TrustedDir;  // the store checks its directory chain

std::string read_all(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_all(const fs::path& file, std::string_view data) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << data;
}

// Exit codes of a child's consume.
constexpr int consumed = 0;
constexpr int replayed = 1;
constexpr int store_failed = 2;
constexpr int unexpected_outcome = 3;

int exit_code_for(const monsys::Expected<void, monsys::eat::Rejection>& result) {
    if (result) return consumed;
    if (result.error().reason == Refusal::replayed) return replayed;
    if (result.error().reason == Refusal::replay_store_error) return store_failed;
    return unexpected_outcome;
}

// Forks one child per jti; all wait on a pipe until every child exists, then consume at once
// through their own ReplayStore object. Returns the children's exit codes.
std::vector<int> race(const fs::path& file, const std::vector<std::string>& jtis) {
    int barrier[2];
    REQUIRE(::pipe(barrier) == 0);
    std::vector<pid_t> children;
    for (const std::string& jti : jtis) {
        pid_t pid = ::fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            ::close(barrier[1]);
            char byte;
            // Returns 0 (end of file) once the parent closes the write end: the start signal.
            while (::read(barrier[0], &byte, 1) < 0) {
            }
            ReplayStore store(file);
            ::_exit(exit_code_for(store.consume(jti, now + 150, now)));
        }
        children.push_back(pid);
    }
    ::close(barrier[0]);
    ::close(barrier[1]);
    std::vector<int> codes;
    for (pid_t pid : children) {
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        codes.push_back(WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status));
    }
    return codes;
}

}  // namespace

TEST_CASE("replay store: a consumed jti is refused the second time (replayed)") {
    TempDir dir;
    ReplayStore store(dir.path() / "eat-replay.db");
    CHECK_FALSE(*store.seen("jti-1", now));
    CHECK(store.consume("jti-1", now + 150, now));
    CHECK(*store.seen("jti-1", now));
    auto again = store.consume("jti-1", now + 150, now + 1);
    REQUIRE_FALSE(again);
    CHECK(again.error().reason == Refusal::replayed);
    CHECK_FALSE(*store.seen("jti-2", now));
    CHECK(store.consume("jti-2", now + 150, now));
}

TEST_CASE("replay store: a new store object (a restarted process) still refuses the jti") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    CHECK(ReplayStore(file).consume("jti-restart", now + 150, now));
    ReplayStore restarted(file);
    CHECK(*restarted.seen("jti-restart", now));
    CHECK(restarted.consume("jti-restart", now + 150, now).error().reason == Refusal::replayed);
}

TEST_CASE("replay store: a forked child sees what the parent consumed, and the reverse") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    CHECK(ReplayStore(file).consume("from-parent", now + 150, now));

    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ReplayStore child_store(file);
        auto seen = child_store.seen("from-parent", now);
        bool ok = seen && *seen &&
                  exit_code_for(child_store.consume("from-parent", now + 150, now)) == replayed &&
                  exit_code_for(child_store.consume("from-child", now + 150, now)) == consumed;
        ::_exit(ok ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    ReplayStore parent_store(file);
    CHECK(*parent_store.seen("from-child", now));
    CHECK(parent_store.consume("from-child", now + 150, now).error().reason == Refusal::replayed);
}

TEST_CASE("replay store: processes racing on one jti: exactly one wins") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    for (int round = 0; round < 10; ++round) {
        const std::string jti = "contested-" + std::to_string(round);
        auto codes = race(file, std::vector<std::string>(8, jti));
        int winners = 0;
        int replays = 0;
        for (int code : codes) {
            winners += code == consumed;
            replays += code == replayed;
        }
        INFO("round " << round);
        CHECK(winners == 1);
        CHECK(replays == 7);
    }
}

TEST_CASE("replay store: processes consuming different jtis at once lose no update") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    std::vector<std::string> jtis;
    for (int i = 0; i < 12; ++i) jtis.push_back("parallel-" + std::to_string(i));
    for (int code : race(file, jtis)) CHECK(code == consumed);
    ReplayStore store(file);
    for (const std::string& jti : jtis) {
        INFO(jti);
        CHECK(*store.seen(jti, now));
    }
}

TEST_CASE("replay store: entries are pruned once past their keep-until time") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    ReplayStore store(file);
    CHECK(store.consume("short", now + 10, now));
    CHECK(store.consume("long", now + 100, now));
    CHECK(*store.seen("short", now + 10));  // kept while now <= keep-until
    CHECK_FALSE(*store.seen("short", now + 11));

    CHECK(store.consume("later", now + 200, now + 11));
    const std::string data = read_all(file);
    CHECK(data.find("73686f7274") == std::string::npos);  // hex("short") is gone
    CHECK(data.find("6c6f6e67") != std::string::npos);    // hex("long") is kept
    // After its keep-until time the jti could only come back on an expired token.
    CHECK(store.consume("short", now + 300, now + 11));
}

TEST_CASE("replay store: the file format is one hex-encoded jti per line") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    ReplayStore store(file);
    const std::string awkward("a b\nc\0d=", 8);
    CHECK(store.consume(awkward, now + 150, now));
    CHECK(read_all(file) == "monsys-eat-replay 1\n1767225750 6120620a6300643d\n");
    CHECK(*store.seen(awkward, now));
    CHECK_FALSE(*store.seen("a b", now));
    CHECK(store.consume(awkward, now + 150, now).error().reason == Refusal::replayed);
}

TEST_CASE("replay store: files are created mode 0640 whatever the umask") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    mode_t old_mask = ::umask(077);
    CHECK(ReplayStore(file).consume("jti", now + 150, now));
    ::umask(old_mask);
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    REQUIRE(::stat((file.string() + ".lock").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);
    CHECK_FALSE(fs::exists(file.string() + ".tmp"));
}

TEST_CASE("replay store: a corrupt file is an error, never an empty store") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    const std::string good = "monsys-eat-replay 1\n1767225750 6a7469\n";
    for (std::string_view bad :
         {std::string_view("garbage\n"), std::string_view("monsys-eat-replay 2\n"),
          std::string_view("monsys-eat-replay 1\n1767225750 6a7469"),
          std::string_view("monsys-eat-replay 1\n1767225750 6A7469\n"),
          std::string_view("monsys-eat-replay 1\n1767225750 6a746\n"),
          std::string_view("monsys-eat-replay 1\n-5 6a7469\n"),
          std::string_view("monsys-eat-replay 1\nnow 6a7469\n"),
          std::string_view("monsys-eat-replay 1\n1767225750\n"),
          std::string_view("monsys-eat-replay 1\n1767225750 \n")}) {
        INFO(bad);
        write_all(file, bad);
        ReplayStore store(file);
        CHECK_FALSE(store.seen("jti", now));
        auto result = store.consume("other", now + 150, now);
        REQUIRE_FALSE(result);
        CHECK(result.error().reason == Refusal::replay_store_error);
        CHECK(read_all(file) == bad);  // left for an operator to inspect
    }
    write_all(file, good);
    CHECK(*ReplayStore(file).seen("jti", now));
}

TEST_CASE("replay store: I/O failures are replay_store_error") {
    TempDir dir;
    ReplayStore missing_dir(dir.path() / "no-such-dir" / "eat-replay.db");
    CHECK_FALSE(*missing_dir.seen("jti", now));  // nothing can have been recorded there
    auto result = missing_dir.consume("jti", now + 150, now);
    REQUIRE_FALSE(result);
    CHECK(result.error().reason == Refusal::replay_store_error);

    fs::create_directory(dir.path() / "a-directory");
    ReplayStore not_a_file(dir.path() / "a-directory");
    CHECK_FALSE(not_a_file.seen("jti", now));
    CHECK(not_a_file.consume("jti", now + 150, now).error().reason == Refusal::replay_store_error);

    ReplayStore store(dir.path() / "eat-replay.db");
    CHECK(store.consume("", now + 150, now).error().reason == Refusal::replay_store_error);
    CHECK(store.consume(std::string(129, 'j'), now + 150, now).error().reason ==
          Refusal::replay_store_error);
}

TEST_CASE("replay store: an empty (0-byte) file is corrupt, not an empty store") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    write_all(file, "");
    ReplayStore store(file);
    auto seen = store.seen("jti", now);
    REQUIRE_FALSE(seen);
    CHECK(seen.error().find("empty file") != std::string::npos);
    auto result = store.consume("jti", now + 150, now);
    REQUIRE_FALSE(result);
    CHECK(result.error().reason == Refusal::replay_store_error);
    CHECK(read_all(file).empty());
}

TEST_CASE("replay store: a store full of live entries refuses new tokens; expiry frees it") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    ReplayStore store(file, monsys::eat::ReplayStoreLimits{3, 1 << 20});
    CHECK(store.consume("a", now + 10, now));
    CHECK(store.consume("b", now + 100, now));
    CHECK(store.consume("c", now + 100, now));
    auto full = store.consume("d", now + 100, now);
    REQUIRE_FALSE(full);
    CHECK(full.error().reason == Refusal::replay_store_full);
    CHECK(full.error().detail.find("3 live entries") != std::string::npos);
    CHECK_FALSE(*store.seen("d", now));
    // A replay is still a replay when the store is full.
    CHECK(store.consume("b", now + 100, now).error().reason == Refusal::replayed);
    // Once "a" has expired, pruning on the write makes room.
    CHECK(store.consume("d", now + 100, now + 11));
    CHECK(*store.seen("d", now + 11));
    CHECK(read_all(file).find(" 61\n") == std::string::npos);  // hex("a") is gone
}

TEST_CASE("replay store: the byte limit bounds the file") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    // The format line (20 bytes) and two entries of "1767225750 <2 hex digits>\n" (14 bytes).
    ReplayStore store(file, monsys::eat::ReplayStoreLimits{100, 48});
    CHECK(store.consume("a", now + 150, now));
    CHECK(store.consume("b", now + 150, now));
    auto full = store.consume("c", now + 150, now);
    REQUIRE_FALSE(full);
    CHECK(full.error().reason == Refusal::replay_store_full);
    CHECK(read_all(file).size() == 48);

    // A file over the limit is not ours: refused, not read.
    ReplayStore smaller(file, monsys::eat::ReplayStoreLimits{100, 40});
    CHECK_FALSE(smaller.seen("a", now));
    CHECK(smaller.consume("z", now + 150, now).error().reason == Refusal::replay_store_error);
    // So is a file with more entries than the limit.
    ReplayStore fewer(file, monsys::eat::ReplayStoreLimits{1, 1 << 20});
    CHECK_FALSE(fewer.seen("a", now));
}

TEST_CASE("replay store: the rename attack (store directory replaced by another user's) refuses") {
    if (::geteuid() != 0) return;  // needs a second user
    TempDir dir;
    const fs::path state = dir.directory("state", 0750);
    const fs::path file = state / "eat-replay.db";
    CHECK(ReplayStore(file).consume("used", now + 150, now));

    // What the agent's user could do where it can write the parent: move the store away and put
    // an empty directory of its own in its place.
    fs::rename(state, dir.path() / "state.old");
    dir.directory("state", 0750);
    REQUIRE(::chown(state.c_str(), monsys::test::nobody_uid, monsys::test::nobody_uid) == 0);
    auto result = ReplayStore(file).consume("used", now + 150, now);
    REQUIRE_FALSE(result);
    CHECK(result.error().reason == Refusal::replay_store_error);
    CHECK(result.error().detail.find("owned by uid 65534") != std::string::npos);
    CHECK_FALSE(fs::exists(file));

    // The same directory kept by root but writable by its group: refused too.
    REQUIRE(::chown(state.c_str(), 0, 0) == 0);
    REQUIRE(::chmod(state.c_str(), 0770) == 0);
    result = ReplayStore(file).consume("used", now + 150, now);
    REQUIRE_FALSE(result);
    CHECK(result.error().reason == Refusal::replay_store_error);
    CHECK(result.error().detail.find("writable by group or others") != std::string::npos);
    CHECK_FALSE(ReplayStore(file).seen("used", now));
}

TEST_CASE("replay store: a parent directory another user owns refuses reader and writer") {
    if (::geteuid() != 0) return;
    TempDir dir;
    // The old layout: the store inside the agent's own directory.
    const fs::path agents = dir.directory("monsys", 0750);
    const fs::path state = dir.directory("monsys/eat", 0750);
    REQUIRE(::chown(agents.c_str(), monsys::test::nobody_uid, monsys::test::nobody_uid) == 0);
    ReplayStore store(state / "eat-replay.db");
    auto result = store.consume("jti", now + 150, now);
    REQUIRE_FALSE(result);
    CHECK(result.error().reason == Refusal::replay_store_error);
    CHECK(result.error().detail.find("monsys is owned by uid 65534") != std::string::npos);
    CHECK_FALSE(store.seen("jti", now));
}

TEST_CASE("replay store: links are not followed, for the directory or the files") {
    TempDir dir;
    const fs::path real = dir.directory("real", 0750);
    fs::create_directory_symlink(real, dir.path() / "linked");
    ReplayStore via_link(dir.path() / "linked" / "eat-replay.db");
    CHECK(via_link.consume("jti", now + 150, now).error().reason == Refusal::replay_store_error);
    CHECK_FALSE(via_link.seen("jti", now));

    const fs::path elsewhere = dir.file("elsewhere.db", 0640, "monsys-eat-replay 1\n");
    fs::create_symlink(elsewhere, real / "eat-replay.db");
    ReplayStore store(real / "eat-replay.db");
    CHECK(store.consume("jti", now + 150, now).error().reason == Refusal::replay_store_error);
    CHECK_FALSE(store.seen("jti", now));
    CHECK(read_all(elsewhere) == "monsys-eat-replay 1\n");
}

TEST_CASE("replay store: the reader accepts the writer's files through its group, the writer not") {
    if (::geteuid() != 0) return;
    TempDir dir;
    const fs::path state = dir.directory("state", 0750);
    const fs::path file = state / "eat-replay.db";
    CHECK(ReplayStore(file).consume("jti", now + 150, now));
    // As packaged: directory and files belong to monsys-action, the agent reads through the group.
    for (const fs::path& path : {state, file, fs::path(file.string() + ".lock")}) {
        REQUIRE(::chown(path.c_str(), monsys::test::nobody_uid, 0) == 0);
    }
    CHECK(*ReplayStore(file).seen("jti", now));
    CHECK(ReplayStore(file).consume("other", now + 150, now).error().reason ==
          Refusal::replay_store_error);
    // A file the group can write is refused by the reader as well.
    REQUIRE(::chmod(file.c_str(), 0660) == 0);
    CHECK_FALSE(ReplayStore(file).seen("jti", now));
}

TEST_CASE("replay store: new files get the directory's group") {
    if (::geteuid() != 0) return;
    TempDir dir;
    const fs::path state = dir.directory("state", 0750);
    REQUIRE(::chown(state.c_str(), 0, monsys::test::nobody_uid) == 0);
    const fs::path file = state / "eat-replay.db";
    CHECK(ReplayStore(file).consume("jti", now + 150, now));
    for (const fs::path& path : {file, fs::path(file.string() + ".lock")}) {
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        CHECK(st.st_gid == monsys::test::nobody_uid);
        CHECK((st.st_mode & 07777) == 0640);
    }
}

namespace {

// Runs `body` in a child with the given ids (supplementary group `group` only); its exit code.
template <class Body>
int as_user(uid_t uid, gid_t gid, gid_t group, Body body) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::setgroups(1, &group) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(90);
        ::_exit(body());
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

}  // namespace

TEST_CASE("replay store: as packaged, the owner writes and a member of the group reads") {
    if (::geteuid() != 0) return;                        // needs other users
    constexpr uid_t wrapper = monsys::test::nobody_uid;  // stands in for monsys-action
    constexpr uid_t agent = 65533;                       // stands in for monsys
    constexpr gid_t shared_group = 4242;                 // stands in for group monsys
    TempDir dir;
    const fs::path state = dir.directory("state", 0750);
    REQUIRE(::chown(state.c_str(), wrapper, shared_group) == 0);
    const fs::path file = state / "eat-replay.db";

    // The wrapper's primary group is not the directory's: new files still get the directory's.
    CHECK(as_user(wrapper, 65534, shared_group, [&file] {
              return exit_code_for(ReplayStore(file).consume("jti", now + 150, now));
          }) == consumed);
    for (const fs::path& path : {file, fs::path(file.string() + ".lock")}) {
        struct stat st {};
        REQUIRE(::stat(path.c_str(), &st) == 0);
        CHECK(st.st_uid == wrapper);
        CHECK(st.st_gid == shared_group);
        CHECK((st.st_mode & 07777) == 0640);
    }
    // The agent reads through the group (shared lock included) and cannot consume.
    CHECK(as_user(agent, agent, shared_group, [&file] {
              auto seen = ReplayStore(file).seen("jti", now);
              if (!seen) return 2;
              return *seen ? 0 : 1;
          }) == 0);
    CHECK(as_user(agent, agent, shared_group, [&file] {
              return exit_code_for(ReplayStore(file).consume("other", now + 150, now));
          }) == store_failed);
    // Without the group the agent cannot read it, which refuses rather than reads as empty.
    CHECK(as_user(agent, agent, agent,
                  [&file] { return ReplayStore(file).seen("jti", now) ? 0 : 2; }) == 2);
}
