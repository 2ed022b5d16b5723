#include "common/io/process/captured_output.hpp"

namespace monsys::io::process {

void CappedBuffer::append(std::string_view bytes) {
    total_ += bytes.size();
    if (text_.size() < cap_) text_.append(bytes.substr(0, cap_ - text_.size()));
}

}  // namespace monsys::io::process
