#include "agent/status/offline_view.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "agent/hub/outbox.hpp"
#include "agent/hub/sequence_counter.hpp"
#include "agent/hub/tracked_apps_store.hpp"
#include "common/app/app.hpp"
#include "common/inventory/model.hpp"
#include "common/util/durable_file.hpp"
#include "common/util/unique_fd.hpp"

namespace monsys::agent::status {
namespace {

namespace fs = std::filesystem;

void read_outbox(const fs::path& directory, OfflineView& view) {
    for (auto kind :
         {hub::MessageKind::inventory, hub::MessageKind::state, hub::MessageKind::action_result}) {
        view.outbox[hub::to_string(kind)] = {};
    }
    UniqueDir dir(::opendir(directory.c_str()));
    if (!dir.get()) {
        if (errno != ENOENT)
            view.problems.push_back(errno_message("cannot list", directory, errno));
        return;
    }
    std::size_t scanned = 0;
    while (const dirent* entry = ::readdir(dir.get())) {
        if (++scanned > max_outbox_entries_scanned) {
            view.problems.push_back(directory.string() + " holds more than " +
                                    std::to_string(max_outbox_entries_scanned) +
                                    " entries; counted the first ones only");
            break;
        }
        auto name = hub::parse_outbox_file_name(entry->d_name);
        if (!name) continue;
        struct stat info {};
        if (::fstatat(::dirfd(dir.get()), entry->d_name, &info, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(info.st_mode)) {
            continue;  // removed meanwhile, or not a message file
        }
        const Time modified{std::chrono::duration_cast<Time::duration>(
            std::chrono::seconds(info.st_mtim.tv_sec) +
            std::chrono::nanoseconds(info.st_mtim.tv_nsec))};
        OutboxKindStatus& kind = view.outbox[hub::to_string(name->kind)];
        ++kind.count;
        if (!kind.oldest_at || modified < *kind.oldest_at) kind.oldest_at = modified;
    }
}

void read_sequence(const fs::path& file, OfflineView& view) {
    auto record = hub::read_sequence_file(file);
    if (!record) {
        view.problems.push_back(record.error());
        return;
    }
    if (!*record) return;
    view.last_acked_seq = (*record)->last_acked;
    view.last_sent_seq = (*record)->next - 1;
}

void read_tracked_apps(const fs::path& file, OfflineView& view) {
    auto tracked = hub::load_tracked_apps(file);
    if (!tracked) {
        view.problems.push_back(tracked.error());
        return;
    }
    for (const hub::TrackedApp& app : tracked->apps) {
        AppStatus status;
        status.id = app.id;
        status.type = app::to_string(app.type);
        status.state = "unknown";
        auto remembered = tracked->states.find(app.id);
        if (remembered != tracked->states.end()) {
            status.state = inventory::to_string(remembered->second.observed);
            status.detail = remembered->second.detail;
            status.changed_at = remembered->second.changed_at;
        }
        view.apps.push_back(std::move(status));
    }
}

nlohmann::json optional_number(const std::optional<std::uint64_t>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json to_json(const OfflineView& view) {
    // The snapshot's serializer words outbox and apps; reuse it rather than a second one.
    Snapshot shaped;
    shaped.outbox = view.outbox;
    shaped.apps = view.apps;
    const nlohmann::json as_snapshot = status::to_json(shaped);
    return {{"outbox", as_snapshot["outbox"]},
            {"last_acked_seq", optional_number(view.last_acked_seq)},
            {"last_sent_seq", optional_number(view.last_sent_seq)},
            {"apps", as_snapshot["apps"]},
            {"problems", view.problems}};
}

OfflineView read_offline_view(const StatePaths& paths) {
    OfflineView view;
    read_outbox(paths.outbox_dir, view);
    read_sequence(paths.seq_file, view);
    read_tracked_apps(paths.tracked_apps_file, view);
    return view;
}

}  // namespace monsys::agent::status
