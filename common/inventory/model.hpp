#pragma once
// The extended inventory of one host as plain data: what the collectors produce, what the
// document serialises, and what the observed-state mapping reads. No I/O here.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/app/app.hpp"

namespace monsys::inventory {

inline constexpr int schema_version = 1;

// Every section says whether its source answered. A section that failed keeps its error and
// whatever it had, and the observed-state mapping treats its apps as unknown.
struct SectionStatus {
    std::optional<std::string> error;
    double duration_ms = 0;

    bool ok() const { return !error.has_value(); }
};

struct OsRelease {
    std::string id;
    std::string version_id;
    std::string name;
    std::string pretty_name;
    std::string version_codename;
};

// monsys-action's public signing key as the host holds it (docs/monsys-action.md, "The signing
// key"): the same document `hello` carries, so a hub can compare the two with its pin.
struct ActionKeyInfo {
    std::string kid;
    std::string x;  // the Ed25519 public key, base64url (the JWK's "x")
    std::vector<std::string> rotations;
};

struct HostInfo {
    SectionStatus status;
    std::string hostname;
    std::string machine_id;
    std::string boot_id;
    OsRelease os;
    std::string kernel;
    std::optional<double> uptime_secs;
    std::string agent_version;
    std::optional<ActionKeyInfo> action_key;
    std::optional<std::string> action_key_error;  // why action_key is null; not a section error
};

struct Unit {
    std::string name;
    std::string description;
    std::string load_state;  // systemd's value, or "not-loaded" for an installed, unloaded unit
    std::string active_state;
    std::string sub_state;
    std::optional<std::string> unit_file_state;
    std::optional<std::int64_t> main_pid;
    std::optional<std::int64_t> since_unix_usec;  // StateChangeTimestamp
    std::optional<std::string> fragment_path;
};

struct SystemdSection {
    SectionStatus status;
    std::string bus;
    std::vector<Unit> units;  // sorted by name
    // Units whose main_pid/since were not fetched because the deadline or the cap was reached.
    std::size_t details_skipped = 0;
};

struct Container {
    std::string id;
    std::string name;  // without Docker's leading '/'
    std::string image;
    std::string state;
    std::string status;
    std::int64_t created_unix = 0;
    std::optional<std::string> started_at;  // RFC 3339 as the engine gives it
    std::optional<int> restart_count;
    std::map<std::string, std::string> labels;
};

struct ComposeService {
    std::string project;
    std::string service;
    std::vector<std::string> containers;  // container names, sorted
    int running = 0;

    std::string identifier() const { return project + "::" + service; }
};

struct DockerSection {
    SectionStatus status;
    std::string api_version;
    std::vector<Container> containers;             // sorted by name
    std::vector<ComposeService> compose_services;  // sorted by identifier
    std::size_t inspect_skipped = 0;
};

// How the app a process runs (exe, script) was learned.
enum class ProcessIdentity {
    none,  // neither: a kernel thread, or another user's process whose command line names no path
    exe,   // the /proc/PID/exe link (and, for an interpreter, its script argument)
    cmdline,  // only the command line, which anyone may write: the exe link was denied
};
const char* to_string(ProcessIdentity identity);

struct Process {
    int pid = 0;
    int ppid = 0;
    std::uint32_t uid = 0;
    std::string user;
    std::optional<std::string>
        exe;              // resolved /proc/PID/exe; absent for kernel threads or no access
    std::string cmdline;  // arguments joined by ' ', capped
    bool cmdline_truncated = false;
    std::optional<std::string> script;  // for an interpreter: the absolute path of its script
    // An interpreter's script argument as written, when it could not be made a path (relative,
    // and the working directory unreadable): it may run any script of that name.
    std::string unresolved_script;
    char state = '?';
    std::int64_t start_time_unix = 0;
    std::uint64_t rss_bytes = 0;
    bool foreign_root =
        false;  // in another mount namespace (e.g. a container): exe is not a host path
    bool exe_denied = false;  // exe could not be read for lack of privilege
    ProcessIdentity identity = ProcessIdentity::none;
    // The kernel's name of the process (stat's comm): the first 15 bytes of the basename of the
    // file it executed, unless the process renamed itself. Read for the full inventory, and in a
    // path scan for a process it could not identify.
    std::string name;
    std::uint64_t start_ticks = 0;  // since boot (stat field 22); with the pid, one process
};

struct ProcessVisibility {
    std::optional<std::string> hidepid;  // the /proc mount option, when set
    bool restricted = false;             // hidepid is in force for this agent: some may be hidden
    std::size_t inaccessible = 0;        // processes listed whose details could not be read
    // Processes whose executable the agent may not read (EACCES/EPERM: another user's, and the
    // agent is not root). Any of them could be a tracked app that seems absent.
    std::size_t exe_denied = 0;
};

struct ProcessesSection {
    SectionStatus status;
    ProcessVisibility visibility;
    std::vector<Process> processes;  // sorted by pid
    std::size_t vanished = 0;        // exited during the scan
};

struct Package {
    std::string name;
    std::string version;
    std::string architecture;
    std::string
        status;  // dpkg: the state word of Status (installed, config-files, ...); rpm: installed
};

struct PackagesSection {
    SectionStatus status;
    std::string manager;  // dpkg or rpm
    std::vector<Package> packages;
};

struct ListeningPort {
    std::string protocol;  // tcp or udp
    std::string family;    // ipv4 or ipv6
    std::string address;
    std::uint16_t port = 0;
    std::uint32_t uid = 0;
    std::uint64_t inode = 0;
    std::optional<int> pid;
    std::optional<std::string> exe;
};

struct PortsSection {
    SectionStatus status;
    std::vector<ListeningPort> ports;
};

enum class AppState { running, stopped, unknown };
const char* to_string(AppState state);

struct DiscoveredApp {
    app::AppType type = app::AppType::systemd;
    std::string identifier;
    std::string name;
    AppState state = AppState::unknown;
};

// A section that was not asked for is absent; its apps are unknown.
struct Inventory {
    std::int64_t collected_at_unix_usec = 0;
    double duration_ms = 0;
    HostInfo host;
    std::optional<SystemdSection> systemd;
    std::optional<DockerSection> docker;
    std::optional<ProcessesSection> processes;
    std::optional<PackagesSection> packages;
    std::optional<PortsSection> ports;
    std::vector<DiscoveredApp> discovered;
};

}  // namespace monsys::inventory
