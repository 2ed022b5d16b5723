#include "agent/status/render.hpp"

#include <algorithm>
#include <vector>

#include "common/util/printable.hpp"
#include "common/util/time_format.hpp"

namespace monsys::agent::status {
namespace {

using std::chrono::seconds;

std::string shown(const std::string& text, std::size_t max_bytes = 80) {
    return printable_name(text, max_bytes);
}

std::string age(Time then, Time now) {
    return describe_duration(std::chrono::duration_cast<seconds>(now - then)) + " ago";
}

std::string when(Time then, Time now) {
    return format_utc_millis(then) + " (" + age(then, now) + ")";
}

// Columns padded to their widest cell; the last column is not padded.
std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths(header.size());
    for (std::size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
    for (const auto& row : rows) {
        for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
            widths[i] = std::max(widths[i], row[i].size());
        }
    }
    auto line = [&widths](const std::vector<std::string>& cells) {
        std::string text = "  ";
        for (std::size_t i = 0; i < cells.size(); ++i) {
            text += cells[i];
            if (i + 1 < cells.size()) text += std::string(widths[i] - cells[i].size() + 2, ' ');
        }
        // An empty last cell leaves padding behind: no trailing blanks.
        text.erase(text.find_last_not_of(' ') + 1);
        return text + "\n";
    };
    std::string text = line(header);
    for (const auto& row : rows) text += line(row);
    return text;
}

std::string outbox_line(const std::map<std::string, OutboxKindStatus>& outbox, Time now) {
    std::string text;
    std::optional<Time> oldest;
    std::size_t total = 0;
    for (const char* kind : {"inventory", "state", "action_result"}) {
        auto it = outbox.find(kind);
        const std::size_t count = it == outbox.end() ? 0 : it->second.count;
        total += count;
        if (!text.empty()) text += ", ";
        text += std::string(kind) + " " + std::to_string(count);
        if (it != outbox.end() && it->second.oldest_at &&
            (!oldest || *it->second.oldest_at < *oldest)) {
            oldest = it->second.oldest_at;
        }
    }
    text = std::to_string(total) + " pending (" + text + ")";
    if (oldest) text += "; oldest stored " + age(*oldest, now);
    return text;
}

std::string apps_table(const std::vector<AppStatus>& apps, Time now, bool remembered) {
    std::string text = "Tracked apps: " + std::to_string(apps.size()) +
                       (remembered ? " (states as the daemon last remembered them)\n" : "\n");
    if (apps.empty()) return text;
    std::vector<std::vector<std::string>> rows;
    for (const AppStatus& app : apps) {
        rows.push_back({shown(app.id, 64), shown(app.type, 16), shown(app.state, 16),
                        app.changed_at == Time{} ? "-" : when(app.changed_at, now),
                        shown(app.detail, 100)});
    }
    return text + table({"ID", "TYPE", "STATE", "CHANGED", "DETAIL"}, rows);
}

}  // namespace

std::string render_snapshot(const Snapshot& snapshot, const Verdict& verdict, Time now) {
    std::string text;
    text +=
        "Status:       " + verdict.summary + " (exit " + std::to_string(verdict.exit_code) + ")\n";
    text += "Daemon:       monsys-agent " + shown(snapshot.version, 40) + ", pid " +
            std::to_string(snapshot.process.pid) + ", up " +
            describe_duration(std::chrono::duration_cast<seconds>(now - snapshot.started_at)) +
            " (since " + format_utc_millis(snapshot.started_at) + ")\n";
    text += "Snapshot:     updated " + age(snapshot.written_at, now) + "\n";
    text += "Hub:          " + shown(snapshot.hub.url, 200) + "\n";
    text += "Connection:   " + std::string(snapshot.hub.connected ? "connected" : "disconnected") +
            " since " + when(snapshot.hub.since, now) + "\n";
    if (!snapshot.hub.last_error.empty()) {
        text += "Last error:   " + shown(snapshot.hub.last_error, 300) + "\n";
    }
    text += "Last acked:   seq " + std::to_string(snapshot.last_acked_seq) + "\n";
    text += "Outbox:       " + outbox_line(snapshot.outbox, now) + "\n";
    text += "Inventory:    ";
    text += snapshot.inventory.last_sent_at
                ? "last sent " + when(*snapshot.inventory.last_sent_at, now)
                : std::string("none sent since the daemon started");
    text += "\n";
    for (const auto& [section, error] : snapshot.inventory.section_errors) {
        text += "  section " + shown(section, 32) + ": " + shown(error, 200) + "\n";
    }
    text += "\n" + apps_table(snapshot.apps, now, false);
    text += "\nLast actions: " + std::to_string(snapshot.actions.size()) + "\n";
    if (!snapshot.actions.empty()) {
        std::vector<std::vector<std::string>> rows;
        // Newest first: the one the operator is asking about.
        for (auto it = snapshot.actions.rbegin(); it != snapshot.actions.rend(); ++it) {
            rows.push_back({when(it->at, now), shown(it->jti, 48), shown(it->app_id, 64),
                            shown(it->status, 32), shown(it->reported_by, 32)});
        }
        text += table({"AT", "JTI", "APP", "STATUS", "REPORTED BY"}, rows);
    }
    return text;
}

std::string render_offline(const OfflineView& view, const Verdict& verdict, Time now) {
    std::string text;
    text +=
        "Status:       " + verdict.summary + " (exit " + std::to_string(verdict.exit_code) + ")\n";
    text += "From the state directory:\n";
    text += "Outbox:       " + outbox_line(view.outbox, now) + "\n";
    text += "Last acked:   " +
            (view.last_acked_seq ? "seq " + std::to_string(*view.last_acked_seq) : "-") + "\n";
    text += "Last sent:    " +
            (view.last_sent_seq ? "seq " + std::to_string(*view.last_sent_seq) : "-") + "\n";
    text += "\n" + apps_table(view.apps, now, true);
    for (const std::string& problem : view.problems) {
        text += "note: " + shown(problem, 300) + "\n";
    }
    return text;
}

}  // namespace monsys::agent::status
