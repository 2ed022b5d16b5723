#pragma once
// The listening ports section: TCP sockets in LISTEN and bound, unconnected UDP sockets, IPv4 and
// IPv6, from ROOT/proc/net, mapped to the owning process through ROOT/proc/PID/fd where visible.
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/inventory/proc_walk.hpp"
#include "common/inventory/model.hpp"

namespace monsys::inventory {

// Parses one /proc/net/{tcp,tcp6,udp,udp6} table and keeps the listening sockets.
std::vector<ListeningPort> parse_proc_net(std::string_view text, std::string_view protocol,
                                          std::string_view family);

// "0100007F" -> "127.0.0.1"; 32 hex digits -> an IPv6 address. Empty when malformed.
std::string decode_proc_net_address(std::string_view hex);

// Finds which process holds each socket inode, scanning ROOT/proc/PID/fd (the shared walk,
// agent/inventory/proc_walk, without the process rows).
std::map<std::uint64_t, int> find_socket_owners(const std::string& root,
                                                const std::set<std::uint64_t>& inodes,
                                                std::chrono::steady_clock::time_point deadline);

// The listening sockets of ROOT/proc/net/{tcp,tcp6,udp,udp6}, without owners; an error when no
// table could be read.
PortsSection read_port_tables(const std::string& root);
std::set<std::uint64_t> socket_inodes_of(const PortsSection& section);
// Sets each port's owner (pid, exe) from the walk's findings and sorts the rows.
void finish_ports(PortsSection& section, const std::map<std::uint64_t, SocketOwner>& owners);

// The whole section on its own: the tables, then a walk of /proc for the owners only.
PortsSection read_ports(const std::string& root, std::chrono::steady_clock::time_point deadline);

}  // namespace monsys::inventory
