#include <doctest/doctest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "common/inventory/inventory_json.hpp"
#include "common/inventory/inventory_writer.hpp"
#include "common/inventory/json_writer.hpp"
#include "common/inventory/text_spool.hpp"

using namespace monsys::inventory;

namespace {

const nlohmann::json::error_handler_t replace = nlohmann::json::error_handler_t::replace;

// Strings that take every path of the escaping: plain, quotes and backslashes, control bytes,
// UTF-8, and bytes that are not UTF-8 (replaced, as the tree serializer replaces them).
const std::string awkward = "a \"quoted\" \\path\\\t\n\x01 caf\xc3\xa9 \xff\xfe end";

Process sample_process(int pid) {
    Process process;
    process.pid = pid;
    process.ppid = 1;
    process.uid = 4294967294u;
    process.user = "nobody";
    process.name = "worker";
    process.exe = "/usr/bin/worker";
    process.script = pid % 2 ? std::optional<std::string>("/opt/app/run.py") : std::nullopt;
    process.identity = pid % 3 ? ProcessIdentity::exe : ProcessIdentity::cmdline;
    process.cmdline = pid == 7 ? awkward : "/usr/bin/worker --flag";
    process.cmdline_truncated = pid == 7;
    process.state = 'S';
    process.start_time_unix = 1764300000 + pid;
    process.rss_bytes = 123456789012ull;
    process.foreign_root = pid == 9;
    return process;
}

Inventory sample_inventory() {
    Inventory inventory;
    inventory.collected_at_unix_usec = 1764300123456789;
    inventory.duration_ms = 12.345678;
    inventory.host.hostname = "host1";
    inventory.host.machine_id = "0123456789abcdef";
    inventory.host.boot_id = "b00t";
    inventory.host.os = {"debian", "12", "Debian GNU/Linux", "Debian GNU/Linux 12 (bookworm)",
                         "bookworm"};
    inventory.host.kernel = "6.1.0";
    inventory.host.uptime_secs = 1234.5;
    inventory.host.agent_version = "0.1.0";
    inventory.host.status.duration_ms = 0.004;
    inventory.host.action_key = ActionKeyInfo{"1IG2tMH7J2wbJZnOf8LJzQitKf7LMvoAElsuDMVM54Y",
                                              "A6EHv_POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg",
                                              {"e30.e30.c2ln", awkward}};

    SystemdSection systemd;
    systemd.bus = "system";
    systemd.details_skipped = 2;
    systemd.status.duration_ms = 80;
    Unit active;
    active.name = "web.service";
    active.description = awkward;
    active.load_state = "loaded";
    active.active_state = "active";
    active.sub_state = "running";
    active.unit_file_state = "enabled";
    active.main_pid = 4242;
    active.since_unix_usec = 1764300000123456;
    active.fragment_path = "/etc/systemd/system/web.service";
    Unit installed;
    installed.name = "idle.service";
    installed.load_state = "not-loaded";
    installed.active_state = "inactive";
    installed.sub_state = "dead";
    systemd.units = {active, installed};
    inventory.systemd = systemd;

    DockerSection docker;
    docker.api_version = "1.41";
    docker.status.error = "timed out: no result within 5000 ms";
    Container container;
    container.id = "abc";
    container.name = "proj-web-1";
    container.image = "img:1";
    container.state = "running";
    container.status = "Up 2 minutes";
    container.created_unix = 1764300000;
    container.started_at = "2026-11-28T03:20:00.123456789Z";
    container.restart_count = 3;
    container.labels = {{"com.docker.compose.project", "proj"}, {"b", awkward}, {"a", ""}};
    Container bare;
    bare.id = "def";
    bare.name = "bare";
    docker.containers = {container, bare};
    ComposeService service{"proj", "web", {"proj-web-1", "proj-web-2"}, 1};
    ComposeService empty{"proj", "db", {}, 0};
    docker.compose_services = {service, empty};
    inventory.docker = docker;

    ProcessesSection processes;
    processes.status.duration_ms = 155.555;
    processes.visibility.hidepid = "invisible";
    processes.visibility.restricted = true;
    processes.visibility.inaccessible = 4;
    processes.visibility.exe_denied = 5;
    processes.vanished = 6;
    for (int pid = 1; pid <= 10; ++pid) processes.processes.push_back(sample_process(pid));
    processes.processes[2].exe.reset();
    processes.processes[2].identity = ProcessIdentity::none;
    inventory.processes = processes;

    PackagesSection packages;
    packages.manager = "dpkg";
    packages.packages = {{"bash", "5.2.15-2+b2", "amd64", "installed"},
                         {"old", "1.0", "all", "config-files"}};
    inventory.packages = packages;

    PortsSection ports;
    ListeningPort port;
    port.protocol = "tcp";
    port.family = "ipv6";
    port.address = "::";
    port.port = 65535;
    port.uid = 0;
    port.inode = 18446744073709551615ull;
    port.pid = 77;
    port.exe = "/usr/sbin/sshd (deleted)";
    ListeningPort unowned = port;
    unowned.pid.reset();
    unowned.exe.reset();
    unowned.protocol = "udp";
    ports.ports = {port, unowned};
    inventory.ports = ports;

    inventory.discovered = {
        {monsys::app::AppType::systemd, "web.service", "web", AppState::running},
        {monsys::app::AppType::process, "/opt/app/run.py", "run.py", AppState::unknown}};
    return inventory;
}

std::string streamed(const Inventory& inventory, int indent) {
    std::string text;
    StringSink sink(text);
    JsonWriter writer(sink, indent);
    CHECK(write_inventory(writer, inventory));
    return text;
}

}  // namespace

TEST_CASE("the streamed document is byte for byte the tree's dump, compact and indented") {
    Inventory inventory = sample_inventory();
    for (int indent : {-1, 0, 2, 4}) {
        CAPTURE(indent);
        CHECK(streamed(inventory, indent) == to_json(inventory).dump(indent, ' ', false, replace));
    }
}

TEST_CASE("absent sections and empty lists are written as the tree writes them") {
    Inventory inventory;
    inventory.processes = ProcessesSection{};
    inventory.systemd = SystemdSection{};
    inventory.systemd->status.error = "bus: no such file";
    inventory.host.action_key_error = "/var/lib/monsys-action/action-key.json does not exist yet";
    for (int indent : {-1, 2}) {
        CAPTURE(indent);
        CHECK(streamed(inventory, indent) == to_json(inventory).dump(indent, ' ', false, replace));
    }
}

TEST_CASE("process rows written ahead into spools, in parts, splice into the same document") {
    Inventory inventory = sample_inventory();
    const auto& rows = inventory.processes->processes;
    for (int indent : {-1, 2}) {
        for (std::size_t split : {std::size_t(0), std::size_t(4), rows.size()}) {
            CAPTURE(indent);
            CAPTURE(split);
            Inventory header = inventory;
            TextSpool first, second;
            {
                JsonWriter first_rows(first, indent, process_row_depth);
                JsonWriter second_rows(second, indent, process_row_depth);
                for (std::size_t i = 0; i < rows.size(); ++i) {
                    write_process_row(i < split ? first_rows : second_rows, rows[i]);
                }
            }
            header.processes->processes.clear();
            SpooledRows spooled{{{&first, split}, {&second, rows.size() - split}}};
            std::string text;
            StringSink sink(text);
            JsonWriter writer(sink, indent);
            CHECK(write_inventory(writer, header, &spooled));
            CHECK(text == to_json(inventory).dump(indent, ' ', false, replace));
        }
    }
}

TEST_CASE("a spool larger than its memory chunk reads back whole, in order") {
    TextSpool spool;
    std::string expected;
    for (int i = 0; i < 50000; ++i) {
        std::string piece = std::to_string(i) + ",";
        spool.write(piece);
        expected += piece;
    }
    CHECK(spool.size() == expected.size());
    std::string back;
    StringSink sink(back);
    CHECK(spool.copy_to(sink));
    CHECK(back == expected);
}

TEST_CASE("a spool in a directory that cannot hold files still keeps the text") {
    TextSpool spool("/nonexistent/directory");
    spool.write("abc");
    std::string back;
    StringSink sink(back);
    CHECK(spool.copy_to(sink));
    CHECK(back == "abc");
}

TEST_CASE("the writer nests empty and filled containers as dump() does") {
    nlohmann::json tree = {{"a", nlohmann::json::array()},
                           {"b", nlohmann::json::object()},
                           {"c", {1, {{"d", nullptr}}, nlohmann::json::array({true})}},
                           {"e", -3.0},
                           {"f", 0.1}};
    for (int indent : {-1, 2}) {
        std::string text;
        StringSink sink(text);
        {
            JsonWriter w(sink, indent);
            w.begin_object();
            w.key("a");
            w.begin_array();
            w.end_array();
            w.key("b");
            w.begin_object();
            w.end_object();
            w.key("c");
            w.begin_array();
            w.number(1);
            w.begin_object();
            w.key("d");
            w.null();
            w.end_object();
            w.begin_array();
            w.boolean(true);
            w.end_array();
            w.end_array();
            w.key("e");
            w.number(-3.0);
            w.key("f");
            w.number(0.1);
            w.end_object();
        }
        CHECK(text == tree.dump(indent));
    }
}
