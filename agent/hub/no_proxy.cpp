#include "agent/hub/no_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>

namespace monsys::agent::hub {
namespace {

// no_proxy comes from the environment: entries beyond these sizes cannot be host names or
// addresses and are skipped rather than copied.
constexpr std::size_t max_entry_bytes = 260;
constexpr std::size_t max_entries = 1024;

struct Address {
    int family = 0;  // AF_INET or AF_INET6
    std::array<unsigned char, 16> bytes{};
};

std::optional<Address> parse_address(std::string_view text) {
    std::string copy(text);
    Address address;
    if (::inet_pton(AF_INET, copy.c_str(), address.bytes.data()) == 1) {
        address.family = AF_INET;
        return address;
    }
    if (::inet_pton(AF_INET6, copy.c_str(), address.bytes.data()) == 1) {
        address.family = AF_INET6;
        return address;
    }
    return std::nullopt;
}

bool same_prefix(const Address& a, const Address& b, unsigned bits) {
    const unsigned whole = bits / 8;
    if (std::memcmp(a.bytes.data(), b.bytes.data(), whole) != 0) return false;
    const unsigned rest = bits % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

// An entry without its port: "[::1]:80" -> "::1", "host:80" -> "host"; an unbracketed IPv6
// address (more than one ':') stays whole.
std::string_view without_port(std::string_view entry) {
    if (!entry.empty() && entry.front() == '[') {
        const std::size_t close = entry.find(']');
        if (close == std::string_view::npos) return entry;
        // "[fd00::]/8" keeps its prefix length.
        std::string_view after = entry.substr(close + 1);
        std::string_view inner = entry.substr(1, close - 1);
        if (!after.empty() && after.front() == '/') {
            return entry;  // handled by the caller, which strips the brackets
        }
        return inner;
    }
    const std::size_t colon = entry.find(':');
    if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
        return entry.substr(0, colon);
    }
    return entry;
}

bool ip_entry_matches(std::string_view entry, const Address& host) {
    std::string_view address_text = entry;
    std::optional<unsigned> bits;
    if (const std::size_t slash = entry.find('/'); slash != std::string_view::npos) {
        address_text = entry.substr(0, slash);
        std::string_view bits_text = entry.substr(slash + 1);
        unsigned value = 0;
        auto [end, ec] =
            std::from_chars(bits_text.data(), bits_text.data() + bits_text.size(), value);
        if (bits_text.empty() || ec != std::errc() || end != bits_text.data() + bits_text.size()) {
            return false;
        }
        bits = value;
    }
    if (address_text.size() > 2 && address_text.front() == '[' && address_text.back() == ']') {
        address_text = address_text.substr(1, address_text.size() - 2);
    }
    auto address = parse_address(address_text);
    if (!address || address->family != host.family) return false;
    const unsigned max_bits = host.family == AF_INET ? 32 : 128;
    if (bits && *bits > max_bits) return false;
    return same_prefix(*address, host, bits.value_or(max_bits));
}

bool name_entry_matches(std::string_view entry, std::string_view host) {
    while (!entry.empty() && entry.front() == '.') entry.remove_prefix(1);
    if (!entry.empty() && entry.back() == '.') entry.remove_suffix(1);
    if (entry.empty()) return false;
    if (host.size() == entry.size()) return host == entry;
    return host.size() > entry.size() && host.substr(host.size() - entry.size()) == entry &&
           host[host.size() - entry.size() - 1] == '.';
}

bool is_separator(char c) {
    return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

bool no_proxy_matches(std::string_view no_proxy, std::string_view host_view) {
    std::string host(host_view);
    if (!host.empty() && host.back() == '.') host.pop_back();
    const std::optional<Address> host_address = parse_address(host);

    std::size_t entries = 0;
    std::size_t pos = 0;
    while (pos < no_proxy.size() && entries < max_entries) {
        while (pos < no_proxy.size() && is_separator(no_proxy[pos])) ++pos;
        std::size_t end = pos;
        while (end < no_proxy.size() && !is_separator(no_proxy[end])) ++end;
        if (end == pos) break;
        std::string_view raw = no_proxy.substr(pos, end - pos);
        pos = end;
        ++entries;
        if (raw.size() > max_entry_bytes) continue;
        std::string entry(raw);
        for (char& c : entry) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        if (entry == "*") return true;
        std::string_view bare = without_port(entry);
        if (host_address) {
            if (ip_entry_matches(bare, *host_address)) return true;
        } else if (name_entry_matches(bare, host)) {
            return true;
        }
    }
    return false;
}

}  // namespace monsys::agent::hub
