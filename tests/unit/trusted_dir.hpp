#pragma once
// A fresh private directory for one test in a place whose ancestors are all root's and not
// writable by group or others (/run, unlike the world-writable /tmp), so the trusted-file walk
// from "/" can succeed there; removed afterwards.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace monsys::test {

inline constexpr uid_t nobody_uid = 65534;

class TrustedDir {
  public:
    TrustedDir() {
        const char* home = std::getenv("HOME");
        std::string base = ::access("/run", W_OK) == 0 ? "/run" : (home ? home : "/tmp");
        std::string pattern = base + "/monsys-test.XXXXXX";
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
        REQUIRE(::chmod(path_.c_str(), 0755) == 0);
    }
    ~TrustedDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TrustedDir(const TrustedDir&) = delete;
    TrustedDir& operator=(const TrustedDir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    std::filesystem::path file(const std::string& name, mode_t mode,
                               const std::string& text = "hello\n") const {
        std::filesystem::path p = path_ / name;
        std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
        REQUIRE(::chmod(p.c_str(), mode) == 0);
        return p;
    }
    std::filesystem::path directory(const std::string& name, mode_t mode = 0755) const {
        std::filesystem::path p = path_ / name;
        std::filesystem::create_directories(p);
        REQUIRE(::chmod(p.c_str(), mode) == 0);
        return p;
    }

  private:
    std::filesystem::path path_;
};

}  // namespace monsys::test
