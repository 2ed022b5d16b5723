#include "common/io/journal/journal_sink.hpp"

#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include <errno.h>
#include <charconv>
#include <cstdlib>
#include <cstring>

namespace monsys::io {
namespace {

// Text from outside (a jti, an app id, a hub message) reaches these fields: keep it one bounded,
// printable line so a field can neither grow the entry nor smuggle another field in.
std::string field(std::string_view name, std::string_view value) {
    std::string out;
    out.reserve(name.size() + 1 + std::min(value.size(), max_field_bytes));
    out += name;
    out += '=';
    for (char c : value.substr(0, max_field_bytes)) {
        const auto byte = static_cast<unsigned char>(c);
        out += (byte < 0x20 || byte == 0x7f) ? ' ' : c;
    }
    return out;
}

std::string identifier_of_this_program() {
    // glibc's name of the running program (<errno.h>), as journald would take it from a stream.
    return ::program_invocation_short_name ? ::program_invocation_short_name : "monsys";
}

bool send_to_journal(const log::Record& record) {
    static const std::string identifier = identifier_of_this_program();
    const std::vector<std::string> fields = journal_fields(record, identifier);
    std::vector<iovec> parts;
    parts.reserve(fields.size());
    for (const std::string& text : fields) {
        parts.push_back(iovec{const_cast<char*>(text.data()), text.size()});
    }
    return sd_journal_sendv(parts.data(), static_cast<int>(parts.size())) >= 0;
}

}  // namespace

std::vector<std::string> journal_fields(const log::Record& record, std::string_view identifier) {
    std::vector<std::string> fields;
    fields.push_back(field("MESSAGE", record.message));
    fields.push_back(field("PRIORITY", std::to_string(static_cast<int>(record.level))));
    fields.push_back(field("SYSLOG_IDENTIFIER", identifier));
    if (record.event != nullptr) {
        fields.push_back(field("MESSAGE_ID", log::message_id(*record.event)));
        fields.push_back(field("MONSYS_EVENT", log::event_name(*record.event)));
    }
    if (record.fields != nullptr) {
        const std::pair<const char*, std::string_view> named[] = {
            {"MONSYS_JTI", record.fields->jti},
            {"MONSYS_APP_ID", record.fields->app_id},
            {"MONSYS_APP_TYPE", record.fields->app_type},
            {"MONSYS_STATUS", record.fields->status},
        };
        for (const auto& [name, value] : named) {
            if (!value.empty()) fields.push_back(field(name, value));
        }
    }
    return fields;
}

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    std::string_view text = stream;
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) return false;
    unsigned long long device = 0;
    unsigned long long inode = 0;
    auto [device_end, device_ec] = std::from_chars(text.data(), text.data() + colon, device);
    auto [inode_end, inode_ec] =
        std::from_chars(text.data() + colon + 1, text.data() + text.size(), inode);
    if (device_ec != std::errc() || device_end != text.data() + colon ||
        inode_ec != std::errc() || inode_end != text.data() + text.size()) {
        return false;
    }
    struct stat status {};
    if (::fstat(STDERR_FILENO, &status) != 0) return false;
    return status.st_dev == device && status.st_ino == inode;
}

bool log_to_journal_if_connected() {
    if (!stderr_is_journal()) return false;
    log::set_sink(&send_to_journal);
    return true;
}

}  // namespace monsys::io
