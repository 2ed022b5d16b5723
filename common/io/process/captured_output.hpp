#pragma once
// Keeps at most `cap` bytes of a stream and remembers whether more came (pure; no I/O).
#include <cstddef>
#include <string>
#include <string_view>

namespace monsys::io::process {

class CappedBuffer {
  public:
    explicit CappedBuffer(std::size_t cap) : cap_(cap) {}

    // Keeps what fits under the cap; everything past it is counted and dropped.
    void append(std::string_view bytes);

    const std::string& text() const& { return text_; }
    std::string take() && { return std::move(text_); }
    bool truncated() const { return total_ > text_.size(); }
    std::size_t total_bytes() const { return total_; }

  private:
    std::size_t cap_;
    std::size_t total_ = 0;
    std::string text_;
};

}  // namespace monsys::io::process
