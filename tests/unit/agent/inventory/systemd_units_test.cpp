#include <doctest/doctest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "agent/inventory/systemd_units.hpp"
#include "common/inventory/observed_state.hpp"
#include "common/json/capped_json.hpp"
#include "fixture_paths.hpp"

using namespace monsys::inventory;
using monsys::inventory::test::fixture;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

// A bus object that is started (over a socketpair nobody answers), which is all sd-bus needs to
// build messages. Recorded replies are replayed into real sd_bus_message objects this way, so the
// decoders run on exactly what they get from a manager.
class OfflineBus {
  public:
    OfflineBus() {
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds_) == 0);
        REQUIRE(sd_bus_new(&bus_) >= 0);
        REQUIRE(sd_bus_set_fd(bus_, fds_[0], fds_[0]) >= 0);
        REQUIRE(sd_bus_start(bus_) >= 0);
    }
    ~OfflineBus() {
        sd_bus_close_unref(bus_);
        ::close(fds_[1]);
    }
    sd_bus* get() const { return bus_; }

  private:
    int fds_[2] = {-1, -1};
    sd_bus* bus_ = nullptr;
};

// busctl --json=short output {"type": "a(...)", "data": [[row, ...]]} replayed as a message.
sd_bus_message* replay(OfflineBus& bus, const std::string& recording, const char* row_signature) {
    monsys::json::Limits limits;
    limits.max_bytes = 16 << 20;
    auto parsed = monsys::json::parse(read_text(recording), limits);
    REQUIRE(parsed);
    sd_bus_message* message = nullptr;
    REQUIRE(sd_bus_message_new_signal(bus.get(), &message, "/recorded", "org.example.Recorded",
                                      "Reply") >= 0);
    std::string row_type = std::string("(") + row_signature + ")";
    REQUIRE(sd_bus_message_open_container(message, 'a', row_type.c_str()) >= 0);
    for (const auto& row : parsed->at("data").at(0)) {
        REQUIRE(sd_bus_message_open_container(message, 'r', row_signature) >= 0);
        for (std::size_t i = 0; row_signature[i]; ++i) {
            char type = row_signature[i];
            if (type == 'u') {
                std::uint32_t value = row.at(i).get<std::uint32_t>();
                REQUIRE(sd_bus_message_append_basic(message, 'u', &value) >= 0);
            } else {
                std::string value = row.at(i).get<std::string>();
                REQUIRE(sd_bus_message_append_basic(message, type, value.c_str()) >= 0);
            }
        }
        REQUIRE(sd_bus_message_close_container(message) >= 0);
    }
    REQUIRE(sd_bus_message_close_container(message) >= 0);
    REQUIRE(sd_bus_message_seal(message, 1, 0) >= 0);
    REQUIRE(sd_bus_message_rewind(message, 1) >= 0);
    return message;
}

const Unit* find_unit(const std::vector<Unit>& units, const std::string& name) {
    for (const Unit& unit : units) {
        if (unit.name == name) return &unit;
    }
    return nullptr;
}

}  // namespace

TEST_CASE("systemd: decodes a recorded ListUnits reply") {
    OfflineBus bus;
    sd_bus_message* reply = replay(bus, fixture("dbus/list_units.json"), "ssssssouso");
    auto units = decode_unit_list(reply);
    sd_bus_message_unref(reply);
    REQUIRE(units);
    REQUIRE(units->size() == 8);
    auto web = std::find_if(units->begin(), units->end(),
                            [](const RawUnit& u) { return u.name == "rec-web.service"; });
    REQUIRE(web != units->end());
    CHECK(web->load_state == "loaded");
    CHECK(web->active_state == "active");
    CHECK(web->sub_state == "running");
    CHECK(web->object_path == "/org/freedesktop/systemd1/unit/rec_2dweb_2eservice");
}

TEST_CASE("systemd: a reply over the cap is an error, not a shorter list") {
    OfflineBus bus;
    sd_bus_message* reply = replay(bus, fixture("dbus/list_units.json"), "ssssssouso");
    auto units = decode_unit_list(reply, 3);
    sd_bus_message_unref(reply);
    CHECK_FALSE(units);
}

TEST_CASE("systemd: merges loaded units with installed unit files") {
    OfflineBus bus;
    sd_bus_message* units_reply = replay(bus, fixture("dbus/list_units.json"), "ssssssouso");
    sd_bus_message* files_reply = replay(bus, fixture("dbus/list_unit_files.json"), "ss");
    auto loaded = decode_unit_list(units_reply);
    auto files = decode_unit_file_list(files_reply);
    sd_bus_message_unref(units_reply);
    sd_bus_message_unref(files_reply);
    REQUIRE(loaded);
    REQUIRE(files);
    CHECK(files->size() == 8);
    auto units = merge_units(*loaded, *files);
    CHECK(std::is_sorted(units.begin(), units.end(),
                         [](const Unit& a, const Unit& b) { return a.name < b.name; }));

    const Unit* dirmngr = find_unit(units, "dirmngr.service");
    REQUIRE(dirmngr);
    CHECK(dirmngr->load_state == "loaded");
    CHECK(dirmngr->unit_file_state == "static");
    CHECK(dirmngr->fragment_path == "/usr/lib/systemd/user/dirmngr.service");
    CHECK(observe_unit(*dirmngr).state == AppState::stopped);

    // Installed but never loaded: present, stopped.
    const Unit* podman = find_unit(units, "podman.socket");
    REQUIRE(podman);
    CHECK(podman->load_state == "not-loaded");
    CHECK(podman->active_state == "inactive");
    CHECK(podman->unit_file_state == "disabled");
    CHECK(observe_unit(*podman).state == AppState::stopped);

    // Loaded, and absent from the recorded file list (a transient unit here).
    const Unit* web = find_unit(units, "rec-web.service");
    REQUIRE(web);
    CHECK_FALSE(web->unit_file_state);
    CHECK(observe_unit(*web).state == AppState::running);

    CHECK(observe_unit(*find_unit(units, "rec-failed.service")).state == AppState::stopped);
    const Unit* flapping = find_unit(units, "rec-flap.service");
    REQUIRE(flapping);
    CHECK(flapping->active_state == "activating");
    CHECK(flapping->sub_state == "auto-restart");
    CHECK(observe_unit(*flapping).state == AppState::stopped);
    CHECK(wants_details(*web));
    CHECK_FALSE(wants_details(*podman));
    CHECK_FALSE(wants_details(*dirmngr));
}
