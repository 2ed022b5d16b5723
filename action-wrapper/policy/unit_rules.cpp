#include "action-wrapper/policy/unit_rules.hpp"

#include <fnmatch.h>

#include <algorithm>

namespace monsys::action {
namespace {

constexpr std::string_view kServiceSuffix = ".service";
constexpr std::string_view kTemplateSuffix = "@.service";

bool ends_with(std::string_view text, std::string_view suffix) {
    return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& name) {
    return std::any_of(patterns.begin(), patterns.end(), [&name](const std::string& pattern) {
        return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
    });
}

// Success, or what one name is wrong by, as the end of a sentence whose subject is that name
// ("is not a service: ...").
Expected<void, std::string> check_name(const std::string& name,
                                       const std::vector<std::string>& policy_denied) {
    if (!ends_with(name, kServiceSuffix) || name.size() == kServiceSuffix.size()) {
        return unexpected(std::string("is not a service: only .service units are restarted"));
    }
    if (ends_with(name, kTemplateSuffix)) {
        const std::string prefix = name.substr(0, name.size() - kTemplateSuffix.size());
        return unexpected("is a template without an instance: only its instances (" + prefix +
                          "@NAME.service) are restarted");
    }
    if (matches_any(builtin_denied_units(), name)) {
        return unexpected(std::string("is on the built-in deny list"));
    }
    if (matches_any(policy_denied, name)) {
        return unexpected(std::string("is on the local policy's deny list (denied_units)"));
    }
    return ok();
}

// The subject of the refusal sentence: the requested name itself, or how the name found wrong
// relates to it.
std::string subject(const UnitNames& unit, const std::string& name) {
    if (name == unit.requested) return name;
    if (name == unit.id) return unit.requested + " is an alias of " + unit.id + ", which";
    if (unit.requested == unit.id) return unit.requested + " is also named " + name + ", which";
    return unit.requested + " is an alias of " + unit.id + ", also named " + name + ", which";
}

}  // namespace

const std::vector<std::string>& builtin_denied_units() {
    static const std::vector<std::string> patterns = {
        // A root shell or a single-user prompt.
        "debug-shell.service", "emergency.service", "rescue.service",
        // The service manager's own services (journald, logind, udevd, networkd, ...).
        "systemd-*.service",
        // Login prompts on consoles and terminals.
        "getty@*.service", "serial-getty@*.service", "console-getty.service",
        "container-getty@*.service", "autovt@*.service",
        // The system bus and the names services are bus-activated by (dbus-org.*), polkit.
        "dbus.service", "dbus-broker.service", "dbus-*.service", "polkit.service",
        // The per-user managers.
        "user@*.service", "user-runtime-dir@*.service",
        // This product's own units.
        "monsys-agent.service", "monsys-agent-once.service", "monsys-action@*.service",
        "monsys-restart@*.service"};
    return patterns;
}

Expected<void, std::string> check_unit_allowed(const UnitNames& unit,
                                               const std::vector<std::string>& policy_denied) {
    std::vector<const std::string*> order;
    auto add = [&order](const std::string& name) {
        bool seen = std::any_of(order.begin(), order.end(),
                                [&name](const std::string* other) { return *other == name; });
        if (!seen) order.push_back(&name);
    };
    // Id first: an alias is judged by the unit it names. The requested name is judged even when
    // systemd does not list it, and even when it is empty.
    if (!unit.id.empty()) add(unit.id);
    for (const std::string& name : unit.names) {
        if (!name.empty()) add(name);
    }
    add(unit.requested);
    for (const std::string* name : order) {
        if (auto allowed = check_name(*name, policy_denied); !allowed) {
            return unexpected(subject(unit, *name) + " " + allowed.error());
        }
    }
    return ok();
}

Expected<void, std::string> check_unit_name_allowed(const std::string& name,
                                                    const std::vector<std::string>& policy_denied) {
    return check_unit_allowed(UnitNames{name, name, {name}}, policy_denied);
}

}  // namespace monsys::action
