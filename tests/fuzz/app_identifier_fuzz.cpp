// The app identifier grammar (common/app/identifier): app ids, unit names, container refs,
// compose identifiers and process paths, wherever they arrive from (tokens, the hub's tracked
// apps, serve-connection requests). The first byte picks the app type; the rest is the text.
// Properties: whatever a check accepts is safe as an argument, a log word and a file name (no
// leading '-', no control or non-ASCII byte, no '/' in an id); a compose identifier splits and
// joins back to itself; app type names round-trip.
#include <string>

#include "common/app/identifier.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

bool printable_ascii(std::string_view text) {
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x21 || byte > 0x7e) return false;  // no space either
    }
    return true;
}

bool safe_word(std::string_view text) {
    return !text.empty() && text.front() != '-' && printable_ascii(text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace monsys::app;
    auto [mode, text] = monsys::fuzz::mode_and_rest(data, size);
    AppType type = all_app_types[mode % std::size(all_app_types)];
    FUZZ_CHECK(parse_app_type(to_string(type)) == type);

    if (is_valid_app_id(text)) {
        FUZZ_CHECK(safe_word(text) && text.size() <= max_app_id_bytes);
        FUZZ_CHECK(text.find('/') == std::string_view::npos && text != "." && text != "..");
    }
    if (is_valid_unit_name(text)) FUZZ_CHECK(safe_word(text) && text.find('/') == std::string_view::npos);
    if (is_valid_container_ref(text)) FUZZ_CHECK(safe_word(text) && text.find('/') == std::string_view::npos);
    if (auto compose = parse_compose_identifier(text)) {
        FUZZ_CHECK(compose->project + "::" + compose->service == text);
        FUZZ_CHECK(safe_word(compose->project) && safe_word(compose->service));
    }
    if (is_absolute_normalized_path(text)) {
        FUZZ_CHECK(text.front() == '/' && text.find("//") == std::string_view::npos);
        FUZZ_CHECK(text.find("/../") == std::string_view::npos && !text.ends_with("/.."));
        FUZZ_CHECK(text.find('\0') == std::string_view::npos && text.find('\n') == std::string_view::npos);
    }
    auto valid = check_identifier(type, text);
    if (!valid) FUZZ_CHECK(!valid.error().empty());
    return 0;
}
