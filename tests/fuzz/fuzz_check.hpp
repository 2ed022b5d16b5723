#pragma once
// Helpers for the fuzz targets. A property that must hold for every input is checked with
// FUZZ_CHECK: when it fails, the input shows a bug, and aborting makes libFuzzer keep it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(condition)                                                               \
    do {                                                                                    \
        if (!(condition)) {                                                                 \
            std::fprintf(stderr, "property failed: %s (%s:%d)\n", #condition, __FILE__, __LINE__); \
            std::abort();                                                                   \
        }                                                                                   \
    } while (0)

namespace monsys::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Splits off the first byte, which some targets read as a choice of mode or limits.
struct ModeAndRest {
    std::uint8_t mode = 0;
    std::string_view rest;
};
inline ModeAndRest mode_and_rest(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return {};
    return {data[0], as_text(data + 1, size - 1)};
}

}  // namespace monsys::fuzz
