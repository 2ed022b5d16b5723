// Trusted files on a real file system, in a fresh TrustedDir per test.
#include "common/util/trusted_file.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/unit/trusted_dir.hpp"

namespace fs = std::filesystem;
using monsys::LastOwner;
using monsys::TrustedFileFailure;

namespace {

using monsys::test::TrustedDir;
constexpr uid_t nobody = monsys::test::nobody_uid;

// Runs the cases once with openat2 and once with the O_NOFOLLOW walk it falls back to.
struct Openat2Setting {
    explicit Openat2Setting(bool enabled) { monsys::use_openat2(enabled); }
    ~Openat2Setting() { monsys::use_openat2(true); }
};

bool mentions(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("trusted file: a root-owned file in a private directory is opened and read") {
    for (bool with_openat2 : {true, false}) {
        CAPTURE(with_openat2);
        Openat2Setting setting(with_openat2);
        TrustedDir dir;
        fs::path file = dir.file("agent.json", 0640, "{\"a\": 1}");
        auto opened = monsys::open_trusted_file(file);
        REQUIRE(opened);
        CHECK(S_ISREG(opened->st.st_mode));
        auto text = monsys::read_capped(opened->fd.get(), file, 1024);
        REQUIRE(text);
        CHECK(*text == "{\"a\": 1}");
        auto again = monsys::read_trusted_file(dir.path() / "." / "agent.json", 1024);
        REQUIRE(again);
        CHECK(*again == "{\"a\": 1}");
    }
}

TEST_CASE("trusted file: a symbolic link anywhere on the path is refused") {
    for (bool with_openat2 : {true, false}) {
        CAPTURE(with_openat2);
        Openat2Setting setting(with_openat2);
        TrustedDir dir;
        fs::path real = dir.file("real.json", 0644);
        fs::path real_dir = dir.directory("real-dir");
        dir.file("real-dir/inner.json", 0644);
        fs::create_symlink(real, dir.path() / "link.json");
        fs::create_directory_symlink(real_dir, dir.path() / "link-dir");
        fs::create_symlink(dir.path() / "missing.json", dir.path() / "dangling.json");

        auto final_link = monsys::open_trusted_file(dir.path() / "link.json");
        REQUIRE_FALSE(final_link);
        CHECK(final_link.error().failure == TrustedFileFailure::link);
        CHECK(mentions(final_link.error().message, "link.json is a symbolic link"));

        auto middle_link = monsys::open_trusted_file(dir.path() / "link-dir" / "inner.json");
        REQUIRE_FALSE(middle_link);
        CHECK(middle_link.error().failure == TrustedFileFailure::link);
        CHECK(mentions(middle_link.error().message, "link-dir is a symbolic link"));

        // A dangling link is not "no such file": someone put it there.
        auto dangling = monsys::open_trusted_file(dir.path() / "dangling.json");
        REQUIRE_FALSE(dangling);
        CHECK_FALSE(dangling.error().not_found());
        CHECK(dangling.error().failure == TrustedFileFailure::link);

        auto directory_link = monsys::open_trusted_directory(dir.path() / "link-dir");
        REQUIRE_FALSE(directory_link);
        CHECK(directory_link.error().failure == TrustedFileFailure::link);

        auto executable_link = monsys::open_trusted_executable(dir.path() / "link.json");
        REQUIRE_FALSE(executable_link);
        CHECK(executable_link.error().failure == TrustedFileFailure::link);
    }
}

TEST_CASE("trusted file: a directory writable by group or others is refused") {
    TrustedDir dir;
    dir.directory("group", 0775);
    fs::path in_group = dir.file("group/policy.json", 0644);
    auto refused = monsys::open_trusted_file(in_group);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().failure == TrustedFileFailure::not_trusted);
    CHECK_FALSE(refused.error().not_found());
    CHECK(mentions(refused.error().message, "group is writable by group or others"));

    // A sticky world-writable directory such as /tmp is no better.
    dir.directory("sticky", 01777);
    auto sticky = monsys::open_trusted_file(dir.file("sticky/x.json", 0644));
    REQUIRE_FALSE(sticky);
    CHECK(sticky.error().failure == TrustedFileFailure::not_trusted);

    auto directory = monsys::open_trusted_directory(dir.path() / "group");
    REQUIRE_FALSE(directory);
    CHECK(directory.error().failure == TrustedFileFailure::not_trusted);
}

TEST_CASE("trusted file: a file writable by group or others is refused") {
    TrustedDir dir;
    for (mode_t mode : {0664, 0646, 0666}) {
        CAPTURE(mode);
        auto refused = monsys::open_trusted_file(dir.file("w.json", mode));
        REQUIRE_FALSE(refused);
        CHECK(refused.error().failure == TrustedFileFailure::not_trusted);
        CHECK(mentions(refused.error().message, "writable by group or others"));
    }
}

TEST_CASE("trusted file: a file or directory owned by another user is refused") {
    if (::geteuid() != 0) return;  // only root can hand a file to another user
    TrustedDir dir;
    fs::path theirs = dir.file("theirs.json", 0644);
    REQUIRE(::chown(theirs.c_str(), nobody, nobody) == 0);
    auto refused = monsys::open_trusted_file(theirs);
    REQUIRE_FALSE(refused);
    CHECK(refused.error().failure == TrustedFileFailure::not_trusted);
    CHECK(mentions(refused.error().message, "owned by uid 65534"));

    fs::path their_dir = dir.directory("their-dir");
    fs::path inside = dir.file("their-dir/mine.json", 0644);
    REQUIRE(::chown(their_dir.c_str(), nobody, nobody) == 0);
    auto in_their_dir = monsys::open_trusted_file(inside);
    REQUIRE_FALSE(in_their_dir);
    CHECK(in_their_dir.error().failure == TrustedFileFailure::not_trusted);
    CHECK(mentions(in_their_dir.error().message, "their-dir is owned by uid 65534"));
}

TEST_CASE("trusted file: LastOwner::anyone accepts another owner for the last component only") {
    if (::geteuid() != 0) return;
    TrustedDir dir;
    fs::path theirs = dir.file("theirs.json", 0640);
    REQUIRE(::chown(theirs.c_str(), nobody, nobody) == 0);
    CHECK(monsys::open_trusted_file(theirs, LastOwner::anyone));
    REQUIRE(::chmod(theirs.c_str(), 0660) == 0);
    CHECK_FALSE(monsys::open_trusted_file(theirs, LastOwner::anyone));

    fs::path their_dir = dir.directory("their-dir", 0750);
    fs::path inside = dir.file("their-dir/x.json", 0640);
    REQUIRE(::chown(their_dir.c_str(), nobody, nobody) == 0);
    CHECK(monsys::open_trusted_directory(their_dir, LastOwner::anyone));
    CHECK_FALSE(monsys::open_trusted_file(inside, LastOwner::anyone));  // not the last component
}

TEST_CASE("trusted file: ENOENT is reported as not found, other failures are not") {
    for (bool with_openat2 : {true, false}) {
        CAPTURE(with_openat2);
        Openat2Setting setting(with_openat2);
        TrustedDir dir;
        auto missing = monsys::open_trusted_file(dir.path() / "missing.json");
        REQUIRE_FALSE(missing);
        CHECK(missing.error().not_found());
        CHECK(missing.error().error == ENOENT);
        auto missing_dir = monsys::open_trusted_file(dir.path() / "no-dir" / "x.json");
        REQUIRE_FALSE(missing_dir);
        CHECK(missing_dir.error().not_found());

        // A regular file where a directory should be: ENOTDIR, which is not "missing".
        dir.file("plain", 0644);
        auto not_dir = monsys::open_trusted_file(dir.path() / "plain" / "x.json");
        REQUIRE_FALSE(not_dir);
        CHECK_FALSE(not_dir.error().not_found());
        CHECK(not_dir.error().error == ENOTDIR);
    }
}

TEST_CASE("trusted file: only regular files, absolute paths without '..'") {
    TrustedDir dir;
    fs::path sub = dir.directory("sub");
    auto directory = monsys::open_trusted_file(sub);
    REQUIRE_FALSE(directory);
    CHECK(directory.error().failure == TrustedFileFailure::wrong_type);

    fs::path fifo = dir.path() / "fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    auto pipe = monsys::open_trusted_file(fifo);  // must not wait for a writer
    REQUIRE_FALSE(pipe);
    CHECK(pipe.error().failure == TrustedFileFailure::wrong_type);

    CHECK_FALSE(monsys::open_trusted_file("relative/policy.json"));
    CHECK_FALSE(monsys::open_trusted_file(""));
    dir.file("x.json", 0644);
    auto dotdot = monsys::open_trusted_file(sub / ".." / "x.json");
    REQUIRE_FALSE(dotdot);
    CHECK(mentions(dotdot.error().message, "'..'"));
    CHECK_FALSE(monsys::open_trusted_directory(dir.path() / "x.json"));
}

TEST_CASE("trusted file: executables need an execute bit and no set-id bit") {
    TrustedDir dir;
    auto good = monsys::open_trusted_executable(dir.file("run.sh", 0755, "#!/bin/sh\nexit 0\n"));
    REQUIRE(good);
    CHECK((good->st.st_mode & S_IXUSR) != 0);

    auto plain = monsys::open_trusted_executable(dir.file("plain.sh", 0644));
    REQUIRE_FALSE(plain);
    CHECK(plain.error().failure == TrustedFileFailure::wrong_type);
    CHECK(mentions(plain.error().message, "not executable"));

    auto setuid = monsys::open_trusted_executable(dir.file("setuid", 04755));
    REQUIRE_FALSE(setuid);
    CHECK(mentions(setuid.error().message, "set-user-id"));

    CHECK_FALSE(monsys::open_trusted_executable(dir.file("group-writable", 0775)));
    auto missing = monsys::open_trusted_executable(dir.path() / "missing");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().not_found());
}

TEST_CASE("trusted file: reads are capped") {
    TrustedDir dir;
    fs::path file = dir.file("big.json", 0644, std::string(100, 'x'));
    auto exact = monsys::read_trusted_file(file, 100);
    REQUIRE(exact);
    CHECK(exact->size() == 100);
    auto over = monsys::read_trusted_file(file, 99);
    REQUIRE_FALSE(over);
    CHECK(over.error().failure == TrustedFileFailure::too_large);
    CHECK_FALSE(over.error().not_found());
}
