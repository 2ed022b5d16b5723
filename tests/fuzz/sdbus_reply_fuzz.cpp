// The sd-bus reply and signal decoders (agent/inventory/systemd_units, common/io/systemd/
// manager, unit_signals, typed_message). sd-bus parses the wire format itself and hands the
// decoders a message to read, so this target builds real messages of any signature with any
// values, as a manager (or anything else on the bus) could send them, and runs every decoder.
//
// Input: one byte choosing the decoder, the message's signature up to a NUL byte (at most 32
// characters), then the values, read in signature order: integers little-endian, strings and
// object paths as a length byte and the bytes, arrays as a count byte and the elements, a
// variant as a byte choosing its type from a short list and its value.
// Properties: no decoder returns more entries than its cap; a decoded JobRemoved names the
// unit and result it was given as text.
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include <cstring>
#include <string>

#include "agent/inventory/systemd_units.hpp"
#include "common/io/systemd/manager.hpp"
#include "common/io/systemd/typed_message.hpp"
#include "common/io/systemd/unit_signals.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

// Messages can only be made for a started bus: start one on a socketpair nobody answers.
sd_bus* offline_bus() {
    static sd_bus* bus = [] {
        int fds[2];
        FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds) == 0);
        sd_bus* b = nullptr;
        FUZZ_CHECK(sd_bus_new(&b) >= 0);
        FUZZ_CHECK(sd_bus_set_fd(b, fds[0], fds[0]) >= 0);
        FUZZ_CHECK(sd_bus_start(b) >= 0);
        return b;  // lives as long as the process; fds[1] stays open so the bus stays up
    }();
    return bus;
}

class Reader {
  public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}
    std::uint8_t byte() {
        if (bytes_.empty()) return 0;
        auto b = static_cast<std::uint8_t>(bytes_.front());
        bytes_.remove_prefix(1);
        return b;
    }
    template <class T>
    T integer() {
        T value{};
        unsigned char raw[sizeof(T)] = {};
        for (auto& b : raw) b = byte();
        std::memcpy(&value, raw, sizeof(T));
        return value;
    }
    std::string text() {
        std::size_t n = byte();
        std::string out(bytes_.substr(0, n));
        bytes_.remove_prefix(out.size());
        return out;
    }

  private:
    std::string_view bytes_;
};

// Where the complete type starting at `pos` ends, or npos when the signature is malformed.
std::size_t type_end(std::string_view sig, std::size_t pos, int depth = 0) {
    if (pos >= sig.size() || depth > 16) return std::string_view::npos;
    char c = sig[pos];
    if (c == 'a') return type_end(sig, pos + 1, depth + 1);
    if (c == '(' || c == '{') {
        char close = c == '(' ? ')' : '}';
        std::size_t p = pos + 1;
        while (p < sig.size() && sig[p] != close) {
            p = type_end(sig, p, depth + 1);
            if (p == std::string_view::npos) return p;
        }
        return p < sig.size() ? p + 1 : std::string_view::npos;
    }
    return pos + 1;
}

constexpr const char* variant_types[] = {"s", "u", "t", "b", "as", "o", "i", "x", "(ss)", "a{sv}"};

bool append_type(sd_bus_message* m, std::string_view sig, Reader& in, int depth);

bool append_sequence(sd_bus_message* m, std::string_view sig, Reader& in, int depth) {
    std::size_t pos = 0;
    while (pos < sig.size()) {
        std::size_t end = type_end(sig, pos);
        if (end == std::string_view::npos) return false;
        if (!append_type(m, sig.substr(pos, end - pos), in, depth)) return false;
        pos = end;
    }
    return true;
}

bool append_type(sd_bus_message* m, std::string_view sig, Reader& in, int depth) {
    if (depth > 8) return false;
    std::string contents;
    switch (sig.front()) {
        case 'y': { auto v = in.byte(); return sd_bus_message_append_basic(m, 'y', &v) >= 0; }
        case 'b': { int v = in.byte() & 1; return sd_bus_message_append_basic(m, 'b', &v) >= 0; }
        case 'n': { auto v = in.integer<std::int16_t>(); return sd_bus_message_append_basic(m, 'n', &v) >= 0; }
        case 'q': { auto v = in.integer<std::uint16_t>(); return sd_bus_message_append_basic(m, 'q', &v) >= 0; }
        case 'i': { auto v = in.integer<std::int32_t>(); return sd_bus_message_append_basic(m, 'i', &v) >= 0; }
        case 'u': { auto v = in.integer<std::uint32_t>(); return sd_bus_message_append_basic(m, 'u', &v) >= 0; }
        case 'x': { auto v = in.integer<std::int64_t>(); return sd_bus_message_append_basic(m, 'x', &v) >= 0; }
        case 't': { auto v = in.integer<std::uint64_t>(); return sd_bus_message_append_basic(m, 't', &v) >= 0; }
        case 'd': { auto v = in.integer<double>(); return sd_bus_message_append_basic(m, 'd', &v) >= 0; }
        case 's': { auto v = in.text(); return sd_bus_message_append_basic(m, 's', v.c_str()) >= 0; }
        case 'g': { auto v = in.text(); return sd_bus_message_append_basic(m, 'g', v.c_str()) >= 0; }
        case 'o': {
            auto v = in.text();
            if (!sd_bus_object_path_is_valid(v.c_str())) v = "/";
            return sd_bus_message_append_basic(m, 'o', v.c_str()) >= 0;
        }
        case 'v': {
            const char* inner = variant_types[in.byte() % std::size(variant_types)];
            return sd_bus_message_open_container(m, 'v', inner) >= 0 &&
                   append_type(m, inner, in, depth + 1) && sd_bus_message_close_container(m) >= 0;
        }
        case 'a': {
            contents = std::string(sig.substr(1));
            if (sd_bus_message_open_container(m, 'a', contents.c_str()) < 0) return false;
            for (int n = in.byte(); n > 0; --n) {
                if (!append_type(m, contents, in, depth + 1)) return false;
            }
            return sd_bus_message_close_container(m) >= 0;
        }
        case '(':
        case '{': {
            contents = std::string(sig.substr(1, sig.size() - 2));
            char kind = sig.front() == '(' ? 'r' : 'e';
            return sd_bus_message_open_container(m, kind, contents.c_str()) >= 0 &&
                   append_sequence(m, contents, in, depth + 1) &&
                   sd_bus_message_close_container(m) >= 0;
        }
        default:
            return false;  // 'h' (a descriptor) and anything unknown
    }
}

void decode(std::uint8_t which, sd_bus_message* m) {
    using namespace monsys;
    constexpr std::size_t cap = 8;
    switch (which % 9) {
        case 0:
            if (auto units = inventory::decode_unit_list(m, cap)) FUZZ_CHECK(units->size() <= cap);
            break;
        case 1:
            if (auto files = inventory::decode_unit_file_list(m, cap)) FUZZ_CHECK(files->size() <= cap);
            break;
        case 2:
            (void)inventory::decode_units_by_names(m);
            break;
        case 3:
            (void)io::systemd::decode_job_removed(m);
            break;
        case 4:
            if (auto change = io::systemd::decode_properties_changed(m, cap)) {
                FUZZ_CHECK(change->changed.size() <= cap && change->invalidated.size() <= cap);
                (void)io::systemd::changes_unit_state(*change);
            }
            break;
        case 5:
            if (auto listed = io::systemd::decode_unit_new_or_removed(m)) {
                (void)io::systemd::unit_name_of_path(listed->path);
            }
            break;
        case 6:
            (void)io::systemd::decode_reloading(m);
            break;
        case 7:
            if (auto strings = io::systemd::read_strings(m, cap)) FUZZ_CHECK(strings->size() <= cap);
            break;
        default:
            if (auto keys = io::systemd::read_dictionary_keys(m, cap)) FUZZ_CHECK(keys->size() <= cap);
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto [which, rest] = monsys::fuzz::mode_and_rest(data, size);
    auto nul = rest.find('\0');
    if (nul == std::string_view::npos || nul > 32) return 0;
    std::string_view signature = rest.substr(0, nul);
    Reader values(rest.substr(nul + 1));

    sd_bus_message* raw = nullptr;
    if (sd_bus_message_new_signal(offline_bus(), &raw, "/org/freedesktop/systemd1",
                                  "org.freedesktop.systemd1.Manager", "Fuzz") < 0) {
        return 0;
    }
    monsys::io::systemd::Message message(raw);
    if (!append_sequence(raw, signature, values, 0)) return 0;
    if (sd_bus_message_seal(raw, 1, 0) < 0 || sd_bus_message_rewind(raw, 1) < 0) return 0;
    decode(which, raw);
    return 0;
}
