#pragma once
#include <string>

namespace monsys::inventory::test {

inline std::string fixture(const std::string& relative) {
    return std::string(MONSYS_FIXTURES_DIR) + "/inventory/" + relative;
}

}  // namespace monsys::inventory::test
