#pragma once
// Text set aside while a document is being collected, to be copied into it later: the rows of a
// section whose header (its duration, its error) comes first in the document but is known only
// once all rows are read. The text goes to an unlinked temporary file, so that the writer's
// memory does not grow with the number of rows; where no such file can be made, it stays in
// memory.
#include <cstddef>
#include <string>
#include <string_view>

#include "common/inventory/json_writer.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::inventory {

class TextSpool final : public TextSink {
  public:
    // A file in `directory` ($TMPDIR or /tmp when empty); failing that, an anonymous memory
    // file; failing that, memory.
    explicit TextSpool(const std::string& directory = {});
    ~TextSpool() override;
    TextSpool(const TextSpool&) = delete;
    TextSpool& operator=(const TextSpool&) = delete;

    void write(std::string_view text) override;
    std::size_t size() const { return size_; }
    bool in_memory() const { return !fd_.valid(); }

    // Copies everything written so far to `out`, in chunks. False if the file could not be read
    // back (then `out` may have received part of it).
    bool copy_to(TextSink& out);

  private:
    void flush_buffer();

    UniqueFd fd_;
    std::size_t in_file_ = 0;  // bytes in the file; the rest is in buffer_
    bool failed_ = false;      // the file stopped taking text: the rest stays in memory
    std::string buffer_;
    std::size_t size_ = 0;
};

}  // namespace monsys::inventory
