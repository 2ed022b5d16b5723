// The durable-file helpers on a real file system, in a fresh temporary directory per test.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "common/util/durable_file.hpp"
#include "common/util/file_lock.hpp"
#include "common/util/unique_fd.hpp"

namespace fs = std::filesystem;

namespace {

class TempDir {
  public:
    TempDir() {
        std::string pattern = (fs::temp_directory_path() / "monsys-durable-XXXXXX").string();
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

void write_plain(const fs::path& file, std::string_view data) {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << data;
}

mode_t mode_of(const fs::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

class ScopedUmask {
  public:
    explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
    ~ScopedUmask() { ::umask(old_); }

  private:
    mode_t old_;
};

}  // namespace

TEST_CASE("durable_file: write_file_atomically creates, replaces, and sets the exact mode") {
    TempDir dir;
    const fs::path file = dir.path() / "data.json";
    {
        ScopedUmask strict(0077);
        REQUIRE(monsys::write_file_atomically(file, "first", 0640));
    }
    CHECK(read_all(file) == "first");
    CHECK(mode_of(file) == 0640);

    REQUIRE(monsys::write_file_atomically(file, "second"));
    CHECK(read_all(file) == "second");
    CHECK(mode_of(file) == 0600);
    CHECK_FALSE(fs::exists(dir.path() / "data.json.tmp"));
}

TEST_CASE("durable_file: a stale temporary file from a dead writer is replaced") {
    TempDir dir;
    const fs::path file = dir.path() / "data";
    write_plain(dir.path() / "data.tmp", "half a write");
    REQUIRE(monsys::write_file_atomically(file, "whole"));
    CHECK(read_all(file) == "whole");
    CHECK_FALSE(fs::exists(dir.path() / "data.tmp"));
}

TEST_CASE("durable_file: errors are one line naming the path and strerror") {
    TempDir dir;
    const fs::path file = dir.path() / "missing" / "data";
    auto written = monsys::write_file_atomically(file, "x");
    REQUIRE_FALSE(written);
    CHECK(written.error() == "cannot create " + file.string() + ".tmp: No such file or directory");
    CHECK(written.error().find('\n') == std::string::npos);
    CHECK(monsys::errno_message("cannot open", "/x", EACCES) ==
          "cannot open /x: Permission denied");
}

TEST_CASE("durable_file: ensure_directory creates missing parents with the exact mode") {
    TempDir dir;
    const fs::path nested = dir.path() / "a" / "b" / "c";
    {
        ScopedUmask loose(0022);
        REQUIRE(monsys::ensure_directory(nested));
    }
    CHECK(fs::is_directory(nested));
    CHECK(mode_of(nested) == 0700);
    CHECK(mode_of(dir.path() / "a") == 0700);
    // Existing directories are left alone, whatever their mode.
    ::chmod((dir.path() / "a").c_str(), 0755);
    REQUIRE(monsys::ensure_directory(nested));
    CHECK(mode_of(dir.path() / "a") == 0755);

    write_plain(dir.path() / "file", "x");
    auto made = monsys::ensure_directory(dir.path() / "file");
    REQUIRE_FALSE(made);
    CHECK(made.error() == (dir.path() / "file").string() + " exists and is not a directory");
    CHECK_FALSE(monsys::ensure_directory(dir.path() / "file" / "sub"));
}

TEST_CASE("durable_file: remove_file_durably removes, and a missing file is fine") {
    TempDir dir;
    const fs::path file = dir.path() / "gone";
    write_plain(file, "x");
    CHECK(monsys::remove_file_durably(file));
    CHECK_FALSE(fs::exists(file));
    CHECK(monsys::remove_file_durably(file));
}

TEST_CASE("durable_file: move_into_directory never replaces what is there") {
    TempDir dir;
    const fs::path aside = dir.path() / "corrupt";
    write_plain(dir.path() / "bad", "one");
    auto first = monsys::move_into_directory(dir.path() / "bad", aside);
    REQUIRE(first);
    CHECK(*first == aside / "bad");
    CHECK(mode_of(aside) == 0700);

    write_plain(dir.path() / "bad", "two");
    auto second = monsys::move_into_directory(dir.path() / "bad", aside);
    REQUIRE(second);
    CHECK(second->filename() == "bad.1");
    CHECK(read_all(aside / "bad") == "one");
    CHECK(read_all(aside / "bad.1") == "two");
    CHECK_FALSE(fs::exists(dir.path() / "bad"));

    auto missing = monsys::move_into_directory(dir.path() / "nothing", aside);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().find("No such file or directory") != std::string::npos);
}

TEST_CASE("durable_file: read_regular_file") {
    TempDir dir;
    const fs::path file = dir.path() / "f";
    write_plain(file, "12345");

    auto whole = monsys::read_regular_file(file, 5);
    REQUIRE(whole);
    REQUIRE(whole->has_value());
    CHECK(**whole == "12345");

    auto missing = monsys::read_regular_file(dir.path() / "none", 5);
    REQUIRE(missing);
    CHECK_FALSE(missing->has_value());

    auto large = monsys::read_regular_file(file, 4);
    REQUIRE_FALSE(large);
    CHECK(large.error() == file.string() + " is larger than 4 bytes");

    auto directory = monsys::read_regular_file(dir.path(), 4);
    REQUIRE_FALSE(directory);
    CHECK(directory.error().find("not a regular file") != std::string::npos);

    fs::create_symlink(file, dir.path() / "link");
    auto link = monsys::read_regular_file(dir.path() / "link", 100);
    CHECK_FALSE(link);
}

TEST_CASE("file_lock: a held lock times out another descriptor, and frees on close") {
    TempDir dir;
    const fs::path file = dir.path() / "lock";
    write_plain(file, "");
    monsys::UniqueFd holder(::open(file.c_str(), O_RDWR | O_CLOEXEC));
    monsys::UniqueFd other(::open(file.c_str(), O_RDWR | O_CLOEXEC));
    REQUIRE(holder.valid());
    REQUIRE(other.valid());
    REQUIRE(monsys::lock_with_timeout(holder.get(), true, file));

    auto locked =
        monsys::lock_with_timeout(other.get(), false, file, std::chrono::milliseconds(20));
    REQUIRE_FALSE(locked);
    CHECK(locked.error() == "timed out waiting for the lock on " + file.string());

    holder.reset();
    CHECK(monsys::lock_with_timeout(other.get(), true, file, std::chrono::milliseconds(20)));
}

TEST_CASE("durable_file: write_file_atomically_at writes in the directory it was given, by fd") {
    TempDir dir;
    fs::create_directory(dir.path() / "store");
    monsys::UniqueFd directory(
        ::open((dir.path() / "store").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(directory.valid());
    // The path is renamed away and another directory put in its place: the write still goes to
    // the directory that was opened.
    fs::rename(dir.path() / "store", dir.path() / "store.moved");
    fs::create_directory(dir.path() / "store");
    mode_t old_mask = ::umask(077);
    auto written =
        monsys::write_file_atomically_at(directory.get(), dir.path() / "store", "data", "x", 0640);
    ::umask(old_mask);
    CHECK(written);
    CHECK(read_all(dir.path() / "store.moved" / "data") == "x");
    CHECK_FALSE(fs::exists(dir.path() / "store" / "data"));
    CHECK_FALSE(fs::exists(dir.path() / "store.moved" / "data.tmp"));
    struct stat st {};
    REQUIRE(::stat((dir.path() / "store.moved" / "data").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0640);

    // A link in place of the temporary file is removed, never written through.
    fs::create_symlink(dir.path() / "target", dir.path() / "store.moved" / "data.tmp");
    CHECK(
        monsys::write_file_atomically_at(directory.get(), dir.path() / "store", "data", "y", 0640));
    CHECK_FALSE(fs::exists(dir.path() / "target"));
    CHECK(read_all(dir.path() / "store.moved" / "data") == "y");

    if (::geteuid() == 0) {
        REQUIRE(monsys::write_file_atomically_at(directory.get(), dir.path() / "store", "grouped",
                                                 "z", 0640, 65534));
        REQUIRE(::stat((dir.path() / "store.moved" / "grouped").c_str(), &st) == 0);
        CHECK(st.st_gid == 65534);
    }
}
