#pragma once
// Sends the log (common/util/log.hpp) to the journal with structured fields when stderr is
// connected to journald, so `journalctl MONSYS_JTI=<jti>` shows a restart's story across
// monsys-agent and monsys-action. Elsewhere nothing changes: plain lines on stderr.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/util/log.hpp"

namespace monsys::io {

// Whether stderr is the journal stream systemd handed us: JOURNAL_STREAM holds "<dev>:<inode>"
// and must match stderr's (sd_journal_stream_fd(3)); a JOURNAL_STREAM inherited by a process
// whose stderr was redirected elsewhere does not count.
bool stderr_is_journal();

// Installs the journal sink when stderr_is_journal(); returns whether it did. Call once at start,
// after log::init_from_environment().
bool log_to_journal_if_connected();

// The journal fields of one record, "NAME=value" each (pure; exposed for tests): MESSAGE,
// PRIORITY, SYSLOG_IDENTIFIER and, for an event, MESSAGE_ID, MONSYS_EVENT and the non-empty
// MONSYS_* fields. Field values are capped at `max_field_bytes` and lose control bytes.
inline constexpr std::size_t max_field_bytes = 4096;
std::vector<std::string> journal_fields(const log::Record& record, std::string_view identifier);

}  // namespace monsys::io
