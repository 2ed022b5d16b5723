#include "agent/inventory/systemd_units.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

namespace monsys::inventory {
namespace {

using io::systemd::Bus;
using io::systemd::describe;

std::string bus_failure(int negative_errno, const char* what) {
    return std::string(what) + ": " + std::strerror(-negative_errno);
}

std::string basename_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Appends an `as` argument.
int append_strings(sd_bus_message* message, const std::vector<std::string>& values) {
    int r = sd_bus_message_open_container(message, 'a', "s");
    for (std::size_t i = 0; r >= 0 && i < values.size(); ++i) {
        r = sd_bus_message_append_basic(message, 's', values[i].c_str());
    }
    return r < 0 ? r : sd_bus_message_close_container(message);
}

Expected<io::systemd::Message, std::string> call_with_string_arrays(
    Bus& bus, const char* member, const std::vector<std::vector<std::string>>& arrays) {
    auto request = bus.new_method_call(io::systemd::manager_method(member));
    if (!request) return unexpected(describe(request.error()));
    for (const auto& array : arrays) {
        int r = append_strings(request->get(), array);
        if (r < 0) return unexpected(bus_failure(r, "append arguments"));
    }
    auto reply = bus.call(*request);
    if (!reply) return unexpected(std::string(member) + ": " + describe(reply.error()));
    return std::move(*reply);
}

// One property read in flight: sd-bus calls back into it, by address, until it is done.
struct Pipeline;

struct PropertyRead {
    Pipeline* pipeline = nullptr;
    std::size_t unit_index = 0;
    const char* interface = nullptr;
    const char* property = nullptr;
    char type = 't';
};

struct Pipeline {
    Bus* bus = nullptr;
    const std::vector<std::pair<std::string, bool>>* units = nullptr;
    std::vector<PropertyRead> reads;
    std::vector<std::optional<UnitDetails>> details;
    std::vector<sd_bus_slot*> slots;
    std::size_t next = 0;
    std::size_t outstanding = 0;
    std::size_t window = 64;
    bool failed = false;

    ~Pipeline() {
        // Unreferencing a pending call's slot cancels it, so no callback outlives this.
        for (sd_bus_slot* slot : slots) sd_bus_slot_unref(slot);
    }
    bool done() const { return failed || (next == reads.size() && outstanding == 0); }
};

int on_property_reply(sd_bus_message* reply, void* userdata, sd_bus_error*);

void send_more(Pipeline& pipeline) {
    while (!pipeline.failed && pipeline.outstanding < pipeline.window &&
           pipeline.next < pipeline.reads.size()) {
        std::size_t index = pipeline.next++;
        const PropertyRead& read = pipeline.reads[index];
        const std::string& path = (*pipeline.units)[read.unit_index].first;
        sd_bus_message* raw = nullptr;
        int r =
            sd_bus_message_new_method_call(pipeline.bus->get(), &raw, io::systemd::kSystemdService,
                                           path.c_str(), io::systemd::kPropertiesInterface, "Get");
        io::systemd::Message request(raw);
        if (r >= 0) r = sd_bus_message_append(request.get(), "ss", read.interface, read.property);
        std::uint64_t timeout_usec =
            static_cast<std::uint64_t>(pipeline.bus->call_timeout().count()) * 1000;
        if (r >= 0) {
            r = sd_bus_call_async(pipeline.bus->get(), &pipeline.slots[index], request.get(),
                                  on_property_reply, &pipeline.reads[index], timeout_usec);
        }
        if (r < 0) {
            pipeline.failed = true;
            return;
        }
        ++pipeline.outstanding;
    }
}

int on_property_reply(sd_bus_message* reply, void* userdata, sd_bus_error*) {
    auto* read = static_cast<PropertyRead*>(userdata);
    Pipeline* pipeline = read->pipeline;
    --pipeline->outstanding;
    if (!sd_bus_message_is_method_error(reply, nullptr) &&
        sd_bus_message_enter_container(reply, 'v', std::string(1, read->type).c_str()) >= 0) {
        auto& details = pipeline->details[read->unit_index];
        if (!details) details.emplace();
        if (read->type == 't') {
            std::uint64_t usec = 0;
            if (sd_bus_message_read_basic(reply, 't', &usec) >= 0 && usec != 0) {
                details->since_unix_usec = static_cast<std::int64_t>(usec);
            }
        } else {
            std::uint32_t pid = 0;
            if (sd_bus_message_read_basic(reply, 'u', &pid) >= 0 && pid != 0) {
                details->main_pid = pid;
            }
        }
    }
    send_more(*pipeline);
    return 0;
}

}  // namespace

Expected<std::vector<RawUnit>, std::string> decode_unit_list(sd_bus_message* reply,
                                                             std::size_t cap) {
    std::vector<RawUnit> units;
    int r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
    if (r < 0) return unexpected(bus_failure(r, "ListUnits reply"));
    for (;;) {
        const char *name, *description, *load, *active, *sub, *following, *path, *job_type,
            *job_path;
        std::uint32_t job_id = 0;
        r = sd_bus_message_read(reply, "(ssssssouso)", &name, &description, &load, &active, &sub,
                                &following, &path, &job_id, &job_type, &job_path);
        if (r < 0) return unexpected(bus_failure(r, "ListUnits entry"));
        if (r == 0) break;
        if (units.size() >= cap) {
            return unexpected("more than " + std::to_string(cap) + " units in the reply");
        }
        units.push_back(RawUnit{name, description, load, active, sub, following, path, job_id,
                                job_type, job_path});
    }
    sd_bus_message_exit_container(reply);
    return units;
}

Expected<std::vector<RawUnitFile>, std::string> decode_unit_file_list(sd_bus_message* reply,
                                                                      std::size_t cap) {
    std::vector<RawUnitFile> files;
    int r = sd_bus_message_enter_container(reply, 'a', "(ss)");
    if (r < 0) return unexpected(bus_failure(r, "ListUnitFiles reply"));
    for (;;) {
        const char *path, *state;
        r = sd_bus_message_read(reply, "(ss)", &path, &state);
        if (r < 0) return unexpected(bus_failure(r, "ListUnitFiles entry"));
        if (r == 0) break;
        if (files.size() >= cap) {
            return unexpected("more than " + std::to_string(cap) + " unit files in the reply");
        }
        files.push_back(RawUnitFile{path, state});
    }
    sd_bus_message_exit_container(reply);
    return files;
}

std::vector<Unit> merge_units(const std::vector<RawUnit>& loaded,
                              const std::vector<RawUnitFile>& files) {
    std::map<std::string, const RawUnitFile*> file_by_name;
    for (const RawUnitFile& file : files) file_by_name.emplace(basename_of(file.path), &file);

    std::map<std::string, Unit> units;
    for (const RawUnit& raw : loaded) {
        Unit unit;
        unit.name = raw.name;
        unit.description = raw.description;
        unit.load_state = raw.load_state;
        unit.active_state = raw.active_state;
        unit.sub_state = raw.sub_state;
        if (auto file = file_by_name.find(raw.name); file != file_by_name.end()) {
            unit.unit_file_state = file->second->state;
            unit.fragment_path = file->second->path;
        }
        units.emplace(unit.name, std::move(unit));
    }
    for (const auto& [name, file] : file_by_name) {
        if (units.count(name)) continue;
        Unit unit;
        unit.name = name;
        unit.load_state = "not-loaded";
        unit.active_state = "inactive";
        unit.sub_state = "dead";
        unit.unit_file_state = file->state;
        unit.fragment_path = file->path;
        units.emplace(name, std::move(unit));
    }
    std::vector<Unit> merged;
    merged.reserve(units.size());
    for (auto& [name, unit] : units) merged.push_back(std::move(unit));
    return merged;
}

bool wants_details(const Unit& unit) {
    return unit.load_state != "not-loaded" && unit.active_state != "inactive";
}

std::vector<std::optional<UnitDetails>> fetch_unit_details(
    Bus& bus, const std::vector<std::pair<std::string, bool>>& paths_and_is_service,
    std::size_t window, std::chrono::steady_clock::time_point deadline) {
    auto pipeline = std::make_unique<Pipeline>();
    pipeline->bus = &bus;
    pipeline->units = &paths_and_is_service;
    pipeline->window = std::max<std::size_t>(window, 1);
    pipeline->details.resize(paths_and_is_service.size());
    for (std::size_t i = 0; i < paths_and_is_service.size(); ++i) {
        pipeline->reads.push_back(
            {pipeline.get(), i, io::systemd::kUnitInterface, "StateChangeTimestamp", 't'});
        if (paths_and_is_service[i].second) {
            pipeline->reads.push_back(
                {pipeline.get(), i, io::systemd::kServiceInterface, "MainPID", 'u'});
        }
    }
    pipeline->slots.assign(pipeline->reads.size(), nullptr);
    send_more(*pipeline);
    Pipeline& running = *pipeline;
    auto waited = bus.wait_until(deadline, [&running] { return running.done(); });
    (void)waited;  // whatever did not arrive stays without details
    return std::move(pipeline->details);
}

SystemdSection collect_systemd(Bus& bus, const SystemdQuery& query,
                               std::chrono::steady_clock::time_point deadline) {
    SystemdSection section;
    static const std::vector<std::string> any_state;
    auto units_reply =
        call_with_string_arrays(bus, "ListUnitsByPatterns", {any_state, query.patterns});
    if (!units_reply) {
        section.status.error = units_reply.error();
        return section;
    }
    auto loaded = decode_unit_list(units_reply->get());
    if (!loaded) {
        section.status.error = loaded.error();
        return section;
    }
    auto files_reply =
        call_with_string_arrays(bus, "ListUnitFilesByPatterns", {any_state, query.patterns});
    if (!files_reply) {
        section.status.error = files_reply.error();
        return section;
    }
    auto files = decode_unit_file_list(files_reply->get());
    if (!files) {
        section.status.error = files.error();
        return section;
    }
    section.units = merge_units(*loaded, *files);
    if (!query.fetch_details) return section;

    std::map<std::string, const std::string*> path_by_name;
    for (const RawUnit& raw : *loaded) path_by_name.emplace(raw.name, &raw.object_path);
    std::vector<std::size_t> wanted;
    std::vector<std::pair<std::string, bool>> requests;
    for (std::size_t i = 0; i < section.units.size(); ++i) {
        const Unit& unit = section.units[i];
        if (!wants_details(unit)) continue;
        auto path = path_by_name.find(unit.name);
        if (path == path_by_name.end()) continue;
        if (requests.size() >= query.max_detail_units) {
            ++section.details_skipped;
            continue;
        }
        wanted.push_back(i);
        requests.emplace_back(*path->second, io::systemd::is_service_unit(unit.name));
    }
    auto details = fetch_unit_details(bus, requests, query.pipeline_window, deadline);
    for (std::size_t k = 0; k < wanted.size(); ++k) {
        if (!details[k]) {
            ++section.details_skipped;
            continue;
        }
        section.units[wanted[k]].since_unix_usec = details[k]->since_unix_usec;
        section.units[wanted[k]].main_pid = details[k]->main_pid;
    }
    return section;
}

Expected<std::vector<Unit>, std::string> list_units_by_names(
    Bus& bus, const std::vector<std::string>& names) {
    if (names.empty()) return std::vector<Unit>{};
    auto reply = call_with_string_arrays(bus, "ListUnitsByNames", {names});
    if (!reply) return unexpected(reply.error());
    return decode_units_by_names(reply->get());
}

// What merge_units(loaded, {}) gives (one unit per name, the first, sorted by name), with the
// strings moved rather than copied through a map: the observer decodes 1,000 units every round.
Expected<std::vector<Unit>, std::string> decode_units_by_names(sd_bus_message* reply) {
    auto loaded = decode_unit_list(reply);
    if (!loaded) return unexpected(loaded.error());
    std::vector<Unit> units;
    units.reserve(loaded->size());
    for (RawUnit& raw : *loaded) {
        Unit unit;
        unit.name = std::move(raw.name);
        unit.description = std::move(raw.description);
        unit.load_state = std::move(raw.load_state);
        unit.active_state = std::move(raw.active_state);
        unit.sub_state = std::move(raw.sub_state);
        units.push_back(std::move(unit));
    }
    auto by_name = [](const Unit& a, const Unit& b) { return a.name < b.name; };
    std::stable_sort(units.begin(), units.end(), by_name);
    auto same_name = [](const Unit& a, const Unit& b) { return a.name == b.name; };
    units.erase(std::unique(units.begin(), units.end(), same_name), units.end());
    return units;
}

}  // namespace monsys::inventory
