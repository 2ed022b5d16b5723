#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "action-wrapper/policy/trusted_path.hpp"

namespace fs = std::filesystem;
using monsys::action::untrusted_file_problem;

namespace {

// A private directory whose ancestors are all root-owned and not writable by others (unlike
// /tmp), so a file in it can be trusted. /run is such a place on these machines.
struct TrustedDir {
    fs::path path;
    TrustedDir() {
        std::string pattern = (access("/run", W_OK) == 0 ? "/run" : std::getenv("HOME")) +
                              std::string("/monsys-trust.XXXXXX");
        path = mkdtemp(pattern.data());
        chmod(path.c_str(), 0755);
    }
    ~TrustedDir() { fs::remove_all(path); }
    fs::path file(const std::string& name, mode_t mode) const {
        fs::path p = path / name;
        std::ofstream(p) << "#!/bin/sh\nexit 0\n";
        chmod(p.c_str(), mode);
        return p;
    }
};

}  // namespace

TEST_CASE("trusted path: a root-owned 0755 file in a private directory is trusted") {
    TrustedDir dir;
    CHECK_FALSE(untrusted_file_problem(dir.file("restart.sh", 0755)));
    CHECK_FALSE(untrusted_file_problem(dir.file("agent.json", 0640)));
}

TEST_CASE("trusted path: a world- or group-writable file is refused") {
    TrustedDir dir;
    auto world = untrusted_file_problem(dir.file("world.sh", 0757));
    REQUIRE(world);
    CHECK(world->find("writable by group or others") != std::string::npos);
    CHECK(untrusted_file_problem(dir.file("group.sh", 0775)));
}

TEST_CASE("trusted path: a file in a writable directory is refused") {
    TrustedDir dir;
    fs::create_directory(dir.path / "open");
    chmod((dir.path / "open").c_str(), 0777);
    auto problem = untrusted_file_problem(dir.file("open/restart.sh", 0755));
    REQUIRE(problem);
    CHECK(problem->find("directory") != std::string::npos);
    // /tmp is world-writable (sticky or not), so nothing under it is trusted.
    char tmp_pattern[] = "/tmp/monsys-trust.XXXXXX";
    fs::path tmp = mkdtemp(tmp_pattern);
    std::ofstream(tmp / "x.sh") << "#!/bin/sh\n";
    chmod((tmp / "x.sh").c_str(), 0755);
    CHECK(untrusted_file_problem(tmp / "x.sh"));
    fs::remove_all(tmp);
}

TEST_CASE("trusted path: a symlink into a writable directory is refused") {
    TrustedDir dir;
    fs::create_directory(dir.path / "open");
    chmod((dir.path / "open").c_str(), 0777);
    fs::path target = dir.file("open/real.sh", 0755);
    fs::create_symlink(target, dir.path / "link.sh");
    auto problem = untrusted_file_problem(dir.path / "link.sh");
    REQUIRE(problem);
    CHECK(problem->find("open") != std::string::npos);
}

TEST_CASE("trusted path: a symlink kept in a writable directory is refused") {
    TrustedDir dir;
    fs::path target = dir.file("real.sh", 0755);
    fs::create_directory(dir.path / "open");
    chmod((dir.path / "open").c_str(), 0777);
    fs::create_symlink(target, dir.path / "open" / "link.sh");
    CHECK(untrusted_file_problem(dir.path / "open" / "link.sh"));
    // The same link in a trusted directory is fine.
    fs::create_symlink(target, dir.path / "good-link.sh");
    CHECK_FALSE(untrusted_file_problem(dir.path / "good-link.sh"));
}

TEST_CASE("trusted path: relative paths, directories and missing files are refused") {
    TrustedDir dir;
    CHECK(untrusted_file_problem("restart.sh"));
    CHECK(untrusted_file_problem(dir.path));
    CHECK(untrusted_file_problem(dir.path / "missing.sh"));
}

TEST_CASE("trusted path: a file owned by another user is refused") {
    if (geteuid() != 0) return;  // only root can hand a file to another user
    TrustedDir dir;
    fs::path file = dir.file("theirs.sh", 0755);
    REQUIRE(chown(file.c_str(), 65534, 65534) == 0);
    auto problem = untrusted_file_problem(file);
    REQUIRE(problem);
    CHECK(problem->find("owned by uid 65534") != std::string::npos);
}
