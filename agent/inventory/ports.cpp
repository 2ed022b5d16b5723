#include "agent/inventory/ports.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <tuple>

#include "agent/inventory/proc_walk.hpp"
#include "common/inventory/file_reading.hpp"

namespace monsys::inventory {
namespace {

constexpr std::size_t net_table_cap = 64 * 1024 * 1024;
constexpr std::string_view tcp_listen = "0A";
constexpr std::string_view udp_unconnected = "07";

std::vector<std::string_view> fields_of(std::string_view line) {
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && line[i] == ' ') ++i;
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ') ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
    return fields;
}

template <class Number>
bool parse_number(std::string_view text, Number& out, int base = 10) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out, base);
    return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string decode_proc_net_address(std::string_view hex) {
    // The kernel prints each 32-bit word of the address as a host-order integer.
    if (hex.size() != 8 && hex.size() != 32) return "";
    unsigned char bytes[16];
    for (std::size_t word = 0; word < hex.size() / 8; ++word) {
        std::uint32_t value = 0;
        if (!parse_number(hex.substr(word * 8, 8), value, 16)) return "";
        std::memcpy(bytes + word * 4, &value, 4);
    }
    char text[INET6_ADDRSTRLEN] = {};
    int family = hex.size() == 8 ? AF_INET : AF_INET6;
    if (!::inet_ntop(family, bytes, text, sizeof text)) return "";
    return text;
}

std::vector<ListeningPort> parse_proc_net(std::string_view text, std::string_view protocol,
                                          std::string_view family) {
    std::vector<ListeningPort> ports;
    bool header = true;
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (header) {
            header = false;
            continue;
        }
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
        auto fields = fields_of(line);
        if (fields.size() < 10) continue;
        std::string_view state = fields[3];
        bool listening = protocol == "tcp" ? state == tcp_listen : state == udp_unconnected;
        if (!listening) continue;
        auto local_colon = fields[1].find(':');
        auto remote_colon = fields[2].find(':');
        if (local_colon == std::string_view::npos || remote_colon == std::string_view::npos)
            continue;
        std::uint32_t remote_port = 0;
        if (protocol == "udp" &&
            (!parse_number(fields[2].substr(remote_colon + 1), remote_port, 16) ||
             remote_port != 0)) {
            continue;
        }
        ListeningPort port;
        port.protocol = std::string(protocol);
        port.family = std::string(family);
        port.address = decode_proc_net_address(fields[1].substr(0, local_colon));
        std::uint32_t number = 0;
        if (port.address.empty() || !parse_number(fields[1].substr(local_colon + 1), number, 16) ||
            number > 65535 || !parse_number(fields[7], port.uid) ||
            !parse_number(fields[9], port.inode)) {
            continue;
        }
        port.port = static_cast<std::uint16_t>(number);
        ports.push_back(std::move(port));
    }
    return ports;
}

std::map<std::uint64_t, int> find_socket_owners(const std::string& root,
                                                const std::set<std::uint64_t>& inodes,
                                                std::chrono::steady_clock::time_point deadline) {
    ProcessScanOptions options = default_process_scan_options();
    options.deadline = deadline;
    ProcWalkRequest request;
    request.processes = false;
    request.socket_inodes = inodes;
    std::map<std::uint64_t, int> owners;
    if (inodes.empty()) return owners;
    auto walked = walk_proc(root, options, request, [](Process&) {});
    for (const auto& [inode, owner] : walked.socket_owners) owners.emplace(inode, owner.pid);
    return owners;
}

PortsSection read_port_tables(const std::string& root) {
    PortsSection section;
    struct Table {
        const char* file;
        const char* protocol;
        const char* family;
    };
    constexpr Table tables[] = {{"tcp", "tcp", "ipv4"},
                                {"tcp6", "tcp", "ipv6"},
                                {"udp", "udp", "ipv4"},
                                {"udp6", "udp", "ipv6"}};
    std::size_t readable = 0;
    std::string last_problem;
    for (const Table& table : tables) {
        std::string path = root + "/proc/net/" + table.file;
        auto text = read_small_file(path, net_table_cap);
        if (!text) {
            // A host without IPv6 has no tcp6/udp6: that is not an error.
            if (text.error() != ENOENT) last_problem = path + ": " + std::strerror(text.error());
            continue;
        }
        ++readable;
        auto rows = parse_proc_net(*text, table.protocol, table.family);
        section.ports.insert(section.ports.end(), std::make_move_iterator(rows.begin()),
                             std::make_move_iterator(rows.end()));
    }
    if (readable == 0) {
        section.status.error =
            last_problem.empty() ? "no table under " + root + "/proc/net" : last_problem;
    }
    return section;
}

std::set<std::uint64_t> socket_inodes_of(const PortsSection& section) {
    std::set<std::uint64_t> inodes;
    for (const auto& port : section.ports) {
        if (port.inode != 0) inodes.insert(port.inode);
    }
    return inodes;
}

void finish_ports(PortsSection& section, const std::map<std::uint64_t, SocketOwner>& owners) {
    for (auto& port : section.ports) {
        auto owner = owners.find(port.inode);
        if (owner == owners.end()) continue;
        port.pid = owner->second.pid;
        port.exe = owner->second.exe;
    }
    std::sort(section.ports.begin(), section.ports.end(), [](const auto& a, const auto& b) {
        return std::tie(a.protocol, a.port, a.family, a.address) <
               std::tie(b.protocol, b.port, b.family, b.address);
    });
}

PortsSection read_ports(const std::string& root, std::chrono::steady_clock::time_point deadline) {
    PortsSection section = read_port_tables(root);
    if (section.status.error) return section;
    ProcessScanOptions options = default_process_scan_options();
    options.deadline = deadline;
    ProcWalkRequest request;
    request.processes = false;
    request.socket_inodes = socket_inodes_of(section);
    std::map<std::uint64_t, SocketOwner> owners;
    if (!request.socket_inodes.empty()) {
        owners = walk_proc(root, options, request, [](Process&) {}).socket_owners;
    }
    finish_ports(section, owners);
    return section;
}

}  // namespace monsys::inventory
