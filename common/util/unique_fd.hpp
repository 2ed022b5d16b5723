#pragma once
// The one owner of a file descriptor (UniqueFd) and of a directory stream (UniqueDir): each closes
// what it holds exactly once. Use these instead of a local wrapper or a raw close()/closedir().
#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace monsys {

class UniqueFd {
  public:
    explicit UniqueFd(int fd = -1) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(other.release());
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    int get() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

  private:
    int fd_;
};

class UniqueDir {
  public:
    explicit UniqueDir(DIR* dir = nullptr) : dir_(dir) {}
    UniqueDir(UniqueDir&& other) noexcept : dir_(std::exchange(other.dir_, nullptr)) {}
    UniqueDir& operator=(UniqueDir&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.dir_, nullptr));
        }
        return *this;
    }
    UniqueDir(const UniqueDir&) = delete;
    UniqueDir& operator=(const UniqueDir&) = delete;
    ~UniqueDir() { reset(); }

    // A stream over an open directory descriptor, which the stream then owns. On failure the
    // descriptor is closed, errno still says why, and the result is not valid().
    static UniqueDir adopt(UniqueFd fd) {
        DIR* dir = ::fdopendir(fd.get());
        if (!dir) {
            const int error = errno;
            fd.reset();
            errno = error;
            return UniqueDir();
        }
        fd.release();
        return UniqueDir(dir);
    }

    DIR* get() const { return dir_; }
    bool valid() const { return dir_ != nullptr; }
    // The stream's descriptor, for the *at() calls on its entries; owned by the stream.
    int fd() const { return dir_ ? ::dirfd(dir_) : -1; }
    void reset(DIR* dir = nullptr) {
        if (dir_) ::closedir(dir_);
        dir_ = dir;
    }

  private:
    DIR* dir_;
};

}  // namespace monsys
