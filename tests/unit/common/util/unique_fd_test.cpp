#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <set>
#include <string>

#include "common/util/unique_fd.hpp"

using monsys::UniqueDir;
using monsys::UniqueFd;

namespace {

bool is_open(int fd) {
    return ::fcntl(fd, F_GETFD) != -1;
}

}  // namespace

TEST_CASE("unique_fd: closes once, on scope exit and on reset; release hands it over") {
    int raw = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(raw >= 0);
    {
        UniqueFd fd(raw);
        CHECK(fd.valid());
        UniqueFd moved(std::move(fd));
        CHECK_FALSE(fd.valid());
        CHECK(moved.get() == raw);
    }
    CHECK_FALSE(is_open(raw));

    raw = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    UniqueFd kept(raw);
    CHECK(kept.release() == raw);
    CHECK(is_open(raw));
    ::close(raw);
}

TEST_CASE("unique_dir: lists a directory through an adopted descriptor and closes it") {
    int raw = ::open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(raw >= 0);
    std::set<std::string> names;
    {
        UniqueDir dir = UniqueDir::adopt(UniqueFd(raw));
        REQUIRE(dir.valid());
        CHECK(dir.fd() == raw);
        while (dirent* entry = ::readdir(dir.get())) names.insert(entry->d_name);
        UniqueDir moved(std::move(dir));
        CHECK_FALSE(dir.valid());
    }
    CHECK(names.count("status") == 1);
    CHECK_FALSE(is_open(raw));
}

TEST_CASE("unique_dir: adopting a descriptor that is no directory fails, closes it, keeps errno") {
    int raw = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    REQUIRE(raw >= 0);
    errno = 0;
    UniqueDir dir = UniqueDir::adopt(UniqueFd(raw));
    CHECK_FALSE(dir.valid());
    CHECK(errno == ENOTDIR);
    CHECK_FALSE(is_open(raw));
}
