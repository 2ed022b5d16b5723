#pragma once
// The observed state of one tracked app, read from an inventory. The hub's liveness rules rely on
// exactly this mapping; docs/inventory.md carries it as a table, and the two must agree.
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/app/app.hpp"
#include "common/inventory/model.hpp"

namespace monsys::inventory {

struct Observation {
    AppState state = AppState::unknown;
    std::string detail;
};

// Tells whether a path exists on the host. The mapping needs it only for process apps (a tracked
// path that exists but runs nowhere is stopped, a path that does not exist is unknown).
using PathExists = std::function<bool(const std::string& path)>;

Observation observe_systemd(const Inventory& inventory, std::string_view unit_name);
Observation observe_docker(const Inventory& inventory, std::string_view container);
Observation observe_compose(const Inventory& inventory, std::string_view identifier);
Observation observe_process(const Inventory& inventory, std::string_view path,
                            const PathExists& path_exists);

Observation observe(const Inventory& inventory, app::AppType type, std::string_view identifier,
                    const PathExists& path_exists);

// observe() for many apps of one inventory: the units are indexed by name once, so observing n
// systemd apps takes n lookups instead of n scans of the section (a round over 1,000 tracked
// units). Every answer is the one observe() gives. Keeps a reference to `inventory`.
class InventoryIndex {
  public:
    explicit InventoryIndex(const Inventory& inventory);
    Observation observe(app::AppType type, std::string_view identifier,
                        const PathExists& path_exists) const;

  private:
    const Inventory& inventory_;
    std::unordered_map<std::string_view, const Unit*> units_;  // the first of each name
};

// The per-row rules, also used by discovery so that both say the same thing.
Observation observe_unit(const Unit& unit);
Observation observe_container(const Container& container);
Observation observe_compose_service(const ComposeService& service);

// Whether `process` runs the app at `path`: its exe (also "<path> (deleted)", when not in another
// mount namespace), or the script an interpreter runs. The same rule for either identity: a
// process identified by its command line (another user's, seen without privilege) counts as
// running what its command line claims. monsys-action judges a process restart by this rule too.
bool process_runs_path(const Process& process, std::string_view path);

// Whether `process`, which could not be identified (its exe denied, its command line naming no
// path), may still run the app at `path`: its kernel name (comm) is the path's basename as the
// kernel shortens it, or it is an interpreter whose relative script argument has the path's
// basename.
// While such a process exists, a reader without privilege cannot tell that the app is stopped.
bool process_may_run_path(const Process& process, std::string_view path);

}  // namespace monsys::inventory
