#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "../temp_dir.hpp"
#include "agent/status/status_file.hpp"

using namespace monsys::agent::status;
using monsys::agent::test::TempDir;

namespace {

void write_text(const std::filesystem::path& file, const std::string& text) {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("status file: replaced whole, mode 0640, its missing directory made 0750") {
    TempDir dir;
    const auto file = dir.path() / "run" / "status.json";
    REQUIRE(write_status_file(file, "{\"a\":1}"));
    REQUIRE(write_status_file(file, "{\"b\":2}"));
    auto read = read_status_file(file);
    REQUIRE(read);
    REQUIRE(read->has_value());
    CHECK((*read)->text == "{\"b\":2}");
    struct stat info {};
    REQUIRE(::stat(file.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0640);
    REQUIRE(::stat(file.parent_path().c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0750);
    CHECK_FALSE(std::filesystem::exists(file.string() + ".tmp"));
    remove_status_file(file);
    auto gone = read_status_file(file);
    REQUIRE(gone);
    CHECK_FALSE(gone->has_value());
}

TEST_CASE("status file: a symlink, a directory or an oversized file is refused") {
    TempDir dir;
    write_text(dir.path() / "real.json", "{}");
    std::filesystem::create_symlink(dir.path() / "real.json", dir.path() / "link.json");
    auto link = read_status_file(dir.path() / "link.json");
    REQUIRE_FALSE(link);
    CHECK_FALSE(link.error().permission_denied);
    CHECK(link.error().message.find("link.json") != std::string::npos);

    auto directory = read_status_file(dir.path());
    REQUIRE_FALSE(directory);
    CHECK(directory.error().message.find("not a regular file") != std::string::npos);

    write_text(dir.path() / "big.json", std::string(max_snapshot_bytes + 1, ' '));
    auto big = read_status_file(dir.path() / "big.json");
    REQUIRE_FALSE(big);
    CHECK(big.error().message.find("larger than") != std::string::npos);
}

TEST_CASE("status file: a reader outside root and the group gets permission denied, said so") {
    TempDir dir;
    const auto file = dir.path() / "status.json";
    REQUIRE(write_status_file(file, "{}"));
    REQUIRE(::chmod(dir.path().c_str(), 0755) == 0);
    if (::geteuid() != 0) {
        // Not root: make the file unreadable to its owner instead.
        REQUIRE(::chmod(file.c_str(), 0) == 0);
    }
    // Root reads anything: the check runs in a child that dropped to nobody.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(3);
        auto read = read_status_file(file);
        ::_exit(!read && read.error().permission_denied ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 3) {
        // A user namespace without uid 65534 mapped: nobody to be here.
        MESSAGE("cannot drop to uid 65534 here; the permission-denied path is not checked");
        return;
    }
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("status file: a process is alive only with the start time the snapshot names") {
    TempDir proc;
    // /proc/<pid>/stat: the name in parentheses may hold spaces and parentheses.
    auto stat_line = [](char state, unsigned long long start) {
        return "321 (monsys (agent)) " + std::string(1, state) +
               " 1 321 321 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 3 0 " + std::to_string(start) +
               " 1000 10 18446744073709551615\n";
    };
    write_text(proc.path() / "321" / "stat", stat_line('S', 777));
    CHECK(process_liveness({321, 777}, proc.path()) == Liveness::alive);
    CHECK(process_liveness({321, 778}, proc.path()) == Liveness::other_process);
    CHECK(process_liveness({322, 777}, proc.path()) == Liveness::gone);
    CHECK(process_liveness({0, 777}, proc.path()) == Liveness::gone);
    write_text(proc.path() / "321" / "stat", stat_line('Z', 777));
    CHECK(process_liveness({321, 777}, proc.path()) == Liveness::gone);

    // This process, as the daemon names itself.
    const ProcessIdentity self = own_process_identity();
    CHECK(self.pid == ::getpid());
    CHECK(self.start_ticks > 0);
    CHECK(process_liveness(self) == Liveness::alive);
}

TEST_CASE("status file: a touch moves the modification time the reader sees, not the content") {
    TempDir dir;
    const auto file = dir.path() / "status.json";
    REQUIRE(write_status_file(file, "{\"a\":1}"));
    const timespec long_ago[2] = {{1000000000, 0}, {1000000000, 0}};
    REQUIRE(::utimensat(AT_FDCWD, file.c_str(), long_ago, 0) == 0);
    auto before = read_status_file(file);
    REQUIRE(before);
    REQUIRE(before->has_value());
    CHECK((*before)->modified_at == Time(std::chrono::seconds(1000000000)));

    const auto touched_after = std::chrono::system_clock::now() - std::chrono::seconds(1);
    REQUIRE(touch_status_file(file));
    auto after = read_status_file(file);
    REQUIRE(after);
    REQUIRE(after->has_value());
    CHECK((*after)->text == "{\"a\":1}");
    CHECK((*after)->modified_at >= touched_after);

    Snapshot snapshot;
    snapshot.written_at = Time(std::chrono::seconds(1000000500));
    CHECK(confirmed_at(snapshot, **before) == snapshot.written_at);
    CHECK(confirmed_at(snapshot, **after) == (*after)->modified_at);

    auto missing = touch_status_file(dir.path() / "gone.json");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().find("cannot touch") != std::string::npos);
    CHECK(missing.error().find("gone.json") != std::string::npos);
}
