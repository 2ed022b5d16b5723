#pragma once
// Reads a recorded reply from tests/fixtures/.
#include <fstream>
#include <iterator>
#include <string>

namespace monsys::testing {

inline std::string read_fixture(const std::string& relative) {
    std::ifstream in(std::string(MONSYS_FIXTURES_DIR) + "/" + relative, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace monsys::testing
