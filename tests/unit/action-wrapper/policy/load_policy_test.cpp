// load_policy on a real file system: only a policy that does not exist gives the defaults; every
// other failure to open or check it refuses.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "action-wrapper/policy/local_policy.hpp"
#include "tests/unit/trusted_dir.hpp"

namespace fs = std::filesystem;
using monsys::action::load_policy;
using monsys::test::TrustedDir;

namespace {

bool mentions(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("load_policy: a missing file or directory gives the defaults") {
    TrustedDir dir;
    CHECK(load_policy(dir.path() / "policy.json"));
    CHECK(load_policy(dir.path() / "no-such-dir" / "policy.json"));
}

TEST_CASE("load_policy: a trusted file is read") {
    TrustedDir dir;
    auto policy = load_policy(dir.file("policy.json", 0644, R"({"allowed_types": ["docker"]})"));
    REQUIRE(policy);
    CHECK(policy->allowed_types.size() == 1);
}

TEST_CASE("load_policy: a symbolic link refuses (ELOOP), also a dangling one") {
    TrustedDir dir;
    fs::path real = dir.file("real.json", 0644, "{}");
    fs::create_symlink(real, dir.path() / "policy.json");
    auto linked = load_policy(dir.path() / "policy.json");
    REQUIRE_FALSE(linked);
    CHECK(mentions(linked.error(), "symbolic link"));

    fs::create_symlink(dir.path() / "missing.json", dir.path() / "dangling.json");
    CHECK_FALSE(load_policy(dir.path() / "dangling.json"));

    fs::create_directory_symlink(dir.directory("real-dir"), dir.path() / "link-dir");
    dir.file("real-dir/policy.json", 0644, "{}");
    CHECK_FALSE(load_policy(dir.path() / "link-dir" / "policy.json"));
}

TEST_CASE("load_policy: a file where a directory should be refuses (ENOTDIR)") {
    TrustedDir dir;
    dir.file("etc", 0644);
    auto refused = load_policy(dir.path() / "etc" / "policy.json");
    REQUIRE_FALSE(refused);
    CHECK(mentions(refused.error(), "Not a directory"));
}

TEST_CASE("load_policy: a directory, a FIFO, an untrusted place or a huge file refuses") {
    TrustedDir dir;
    CHECK_FALSE(load_policy(dir.directory("policy.json")));
    fs::path fifo = dir.path() / "fifo.json";
    REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
    CHECK_FALSE(load_policy(fifo));
    dir.directory("open", 0777);
    auto open = load_policy(dir.file("open/policy.json", 0644, "{}"));
    REQUIRE_FALSE(open);
    CHECK(mentions(open.error(), "not trusted"));
    CHECK_FALSE(load_policy(dir.file("writable.json", 0666, "{}")));
    CHECK_FALSE(load_policy(dir.file("huge.json", 0644, std::string(300 * 1024, ' ') + "{}")));
}

TEST_CASE("load_policy: a policy the user cannot reach refuses (EACCES)") {
    if (::geteuid() != 0) return;  // needs a second user to be refused
    TrustedDir dir;
    dir.directory("private", 0700);
    fs::path file = dir.file("private/policy.json", 0644, "{}");
    // As nobody the walk is refused at "private"; that must not read as "no policy".
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        if (::setgid(monsys::test::nobody_uid) != 0 || ::setuid(monsys::test::nobody_uid) != 0) {
            ::_exit(3);
        }
        auto policy = load_policy(file);
        if (policy) ::_exit(1);
        ::_exit(mentions(policy.error(), "Permission denied") ? 0 : 2);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}
