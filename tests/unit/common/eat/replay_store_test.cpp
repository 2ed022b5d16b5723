// The replay store on a real file system, with real processes: forked children stand in for
// monsys-action runs (a restart of the process, and concurrent runs racing on one jti).
#include <doctest/doctest.h>
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

using monsys::eat::Refusal;
using monsys::eat::ReplayStore;

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t now = 1767225600;

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "monsys-eat-replay-XXXXXX").string();
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

  private:
    fs::path path_;
};

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

int exit_code_for(const std::optional<monsys::eat::Rejection>& result) {
    if (!result) return consumed;
    if (result->reason == Refusal::replayed) return replayed;
    if (result->reason == Refusal::replay_store_error) return store_failed;
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
    CHECK_FALSE(store.consume("jti-1", now + 150, now));
    CHECK(*store.seen("jti-1", now));
    auto again = store.consume("jti-1", now + 150, now + 1);
    REQUIRE(again);
    CHECK(again->reason == Refusal::replayed);
    CHECK_FALSE(*store.seen("jti-2", now));
    CHECK_FALSE(store.consume("jti-2", now + 150, now));
}

TEST_CASE("replay store: a new store object (a restarted process) still refuses the jti") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    CHECK_FALSE(ReplayStore(file).consume("jti-restart", now + 150, now));
    ReplayStore restarted(file);
    CHECK(*restarted.seen("jti-restart", now));
    CHECK(restarted.consume("jti-restart", now + 150, now)->reason == Refusal::replayed);
}

TEST_CASE("replay store: a forked child sees what the parent consumed, and the reverse") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    CHECK_FALSE(ReplayStore(file).consume("from-parent", now + 150, now));

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
    CHECK(parent_store.consume("from-child", now + 150, now)->reason == Refusal::replayed);
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
    CHECK_FALSE(store.consume("short", now + 10, now));
    CHECK_FALSE(store.consume("long", now + 100, now));
    CHECK(*store.seen("short", now + 10));  // kept while now <= keep-until
    CHECK_FALSE(*store.seen("short", now + 11));

    CHECK_FALSE(store.consume("later", now + 200, now + 11));
    const std::string data = read_all(file);
    CHECK(data.find("73686f7274") == std::string::npos);  // hex("short") is gone
    CHECK(data.find("6c6f6e67") != std::string::npos);    // hex("long") is kept
    // After its keep-until time the jti could only come back on an expired token.
    CHECK_FALSE(store.consume("short", now + 300, now + 11));
}

TEST_CASE("replay store: the file format is one hex-encoded jti per line") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    ReplayStore store(file);
    const std::string awkward("a b\nc\0d=", 8);
    CHECK_FALSE(store.consume(awkward, now + 150, now));
    CHECK(read_all(file) == "monsys-eat-replay 1\n1767225750 6120620a6300643d\n");
    CHECK(*store.seen(awkward, now));
    CHECK_FALSE(*store.seen("a b", now));
    CHECK(store.consume(awkward, now + 150, now)->reason == Refusal::replayed);
}

TEST_CASE("replay store: files are created mode 0640 whatever the umask") {
    TempDir dir;
    const fs::path file = dir.path() / "eat-replay.db";
    mode_t old_mask = ::umask(077);
    CHECK_FALSE(ReplayStore(file).consume("jti", now + 150, now));
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
        REQUIRE(result);
        CHECK(result->reason == Refusal::replay_store_error);
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
    REQUIRE(result);
    CHECK(result->reason == Refusal::replay_store_error);

    fs::create_directory(dir.path() / "a-directory");
    ReplayStore not_a_file(dir.path() / "a-directory");
    CHECK_FALSE(not_a_file.seen("jti", now));
    CHECK(not_a_file.consume("jti", now + 150, now)->reason == Refusal::replay_store_error);

    ReplayStore store(dir.path() / "eat-replay.db");
    CHECK(store.consume("", now + 150, now)->reason == Refusal::replay_store_error);
    CHECK(store.consume(std::string(129, 'j'), now + 150, now)->reason ==
          Refusal::replay_store_error);
}
