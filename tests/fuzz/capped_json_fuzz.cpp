// The capped JSON intake (common/json): every document from outside the process passes it.
// The first byte picks the limits; the rest is the document.
// Properties: an accepted value is never deeper than max_depth, and its serialization parses
// back, under the same caps, to an equal value.
#include "common/json/capped_json.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

int depth_of(const monsys::json::Json& value) {
    if (!value.is_structured()) return 0;
    int deepest = 0;
    for (const auto& element : value) {
        int d = depth_of(element);
        if (d > deepest) deepest = d;
    }
    return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto [mode, text] = monsys::fuzz::mode_and_rest(data, size);
    monsys::json::Limits limits;
    limits.max_bytes = 64 * 1024;
    limits.max_depth = (mode & 1) ? 4 : 32;
    limits.reject_duplicate_keys = (mode & 2) == 0;
    limits.allow_comments = (mode & 4) != 0;

    auto parsed = monsys::json::parse(text, limits);
    if (!parsed) {
        FUZZ_CHECK(!parsed.error().message.empty());
        return 0;
    }
    FUZZ_CHECK(depth_of(*parsed) <= limits.max_depth);

    monsys::json::Limits strict = limits;
    strict.allow_comments = false;
    strict.max_bytes = 4 * limits.max_bytes;  // escapes may lengthen strings
    std::string again = parsed->dump();
    auto reparsed = monsys::json::parse(again, strict);
    FUZZ_CHECK(reparsed.has_value());
    FUZZ_CHECK(*reparsed == *parsed);
    return 0;
}
