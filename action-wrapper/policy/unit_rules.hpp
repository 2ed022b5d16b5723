#pragma once
// Which systemd units a restart may touch: only services, never a bare template, never a unit on
// the deny list, under any of its names. Pure: names in, a named refusal out. The wrapper asks
// systemd for a unit's names (Id and Names); this file only judges them.
#include <string>
#include <string_view>
#include <vector>

#include "common/util/expected.hpp"

namespace monsys::action {

// Units that are never restarted, whatever the policy file says (glob patterns, fnmatch without
// flags): shells that hand out a root prompt, the service manager's own services, the bus, polkit,
// logins and the per-user managers, and this product's own units (a process restart goes through
// monsys-restart@ by the process path only, never by a token naming the unit). A policy file's
// `denied_units` adds to this list and cannot remove from it.
const std::vector<std::string>& builtin_denied_units();

// The names systemd knows one unit by.
struct UnitNames {
    std::string requested;           // the name the token asked for
    std::string id;                  // systemd's Id property: the unit's real name
    std::vector<std::string> names;  // systemd's Names property: the Id and every alias
};

// Success when a unit known by these names may be restarted, else why it is refused. Every name
// (Id first, then Names in order) must be a `.service` that is not a template without an
// instance and must match neither the built-in deny list nor `policy_denied` (the policy file's
// own patterns). The first refusal is the error, e.g. "poweroff.target is not a service: only
// .service units are restarted" or "dbus-org.freedesktop.login1.service is an alias of
// systemd-logind.service, which is on the built-in deny list".
Expected<void, std::string> check_unit_allowed(const UnitNames& unit,
                                               const std::vector<std::string>& policy_denied = {});

// The same rules on one name, as the token gives it, before asking systemd (aliases unknown).
Expected<void, std::string> check_unit_name_allowed(
    const std::string& name, const std::vector<std::string>& policy_denied = {});

}  // namespace monsys::action
