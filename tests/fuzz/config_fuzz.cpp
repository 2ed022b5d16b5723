// The configuration file parser (common/config), shared by monsys-agent and monsys-action.
// Properties: an error is said, on one line (names from the file are escaped); an accepted
// configuration holds only usable hub keys.
#include <string>

#include "common/config/config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto config = monsys::config::parse_config(monsys::fuzz::as_text(data, size));
    if (!config) {
        // One line, as docs/configuration.md promises: member names are quoted escaped
        // (regressions/config/unknown-field-with-newline was a name with a line break).
        FUZZ_CHECK(!config.error().empty());
        FUZZ_CHECK(config.error().find_first_of("\r\n") == std::string::npos);
        return 0;
    }
    for (const auto& [kid, key] : config->hub_keys) {
        FUZZ_CHECK(monsys::eat::check_public_key(key).has_value());
    }
    (void)monsys::config::check_fields_for_actions(*config);
    (void)monsys::config::replay_store_path(*config);
    return 0;
}
