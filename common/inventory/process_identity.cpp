#include "common/inventory/process_identity.hpp"

#include <array>
#include <filesystem>

#include "common/app/identifier.hpp"

namespace monsys::inventory {
namespace {

std::string_view basename_of(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

enum class Family { none, shell, python, perl, ruby, node, php };

Family family_of(std::string_view name) {
    constexpr std::array<std::string_view, 8> shells = {"sh",  "bash", "dash", "zsh",
                                                        "ksh", "mksh", "ash",  "busybox"};
    for (auto shell : shells) {
        if (name == shell) return Family::shell;
    }
    if (starts_with(name, "python") || starts_with(name, "pypy")) return Family::python;
    if (starts_with(name, "perl")) return Family::perl;
    if (starts_with(name, "ruby")) return Family::ruby;
    if (name == "node" || name == "nodejs") return Family::node;
    if (starts_with(name, "php")) return Family::php;
    return Family::none;
}

// busybox is one binary for every applet: argv[0] says which one runs.
Family family_of_process(std::string_view exe, std::string_view argv0) {
    Family by_exe = family_of(basename_of(exe));
    if (basename_of(exe) != "busybox") return by_exe;
    Family by_argv0 = family_of(basename_of(argv0));
    return by_argv0 == Family::shell && basename_of(argv0) != "busybox" ? Family::shell
                                                                        : Family::none;
}

// Options after which the interpreter runs no script file.
bool runs_inline_code(Family family, std::string_view option) {
    switch (family) {
        case Family::shell:
            return option == "-c" || option == "-s" || option == "-i";
        case Family::python:
            return option == "-c" || option == "-m" || option == "-";
        case Family::perl:
        case Family::ruby:
            return option == "-e" || option == "-E";
        case Family::node:
            return option == "-e" || option == "-p" || option == "--eval";
        case Family::php:
            return option == "-r";
        case Family::none:
            return false;
    }
    return false;
}

bool option_takes_value(Family family, std::string_view option) {
    switch (family) {
        case Family::shell:
            return option == "-o" || option == "+o";
        case Family::python:
            return option == "-W" || option == "-X" || option == "-Q";
        case Family::node:
            return option == "-r" || option == "--require";
        default:
            return false;
    }
}

}  // namespace

bool is_interpreter(std::string_view exe, std::string_view argv0) {
    return family_of_process(exe, argv0) != Family::none;
}

std::optional<std::string> script_argument(std::string_view exe,
                                           const std::vector<std::string>& argv) {
    if (argv.empty()) return std::nullopt;
    Family family = family_of_process(exe, argv.front());
    if (family == Family::none) return std::nullopt;
    for (std::size_t i = 1; i < argv.size(); ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") {
            if (i + 1 < argv.size()) return argv[i + 1];
            return std::nullopt;
        }
        if (arg.empty()) return std::nullopt;
        if (arg.front() != '-' && arg.front() != '+') return std::string(arg);
        if (runs_inline_code(family, arg)) return std::nullopt;
        // Bundled short options such as `sh -ec '...'` end in the inline-code flag.
        if (family == Family::shell && arg.size() > 2 && arg[1] != '-' && arg.back() == 'c') {
            return std::nullopt;
        }
        if (option_takes_value(family, arg)) ++i;
    }
    return std::nullopt;
}

std::optional<std::string> resolve_script_path(std::string_view script, std::string_view cwd) {
    if (script.empty()) return std::nullopt;
    std::filesystem::path path(script);
    if (path.is_relative()) {
        if (cwd.empty() || cwd.front() != '/') return std::nullopt;
        path = std::filesystem::path(cwd) / path;
    }
    std::string normal = path.lexically_normal().string();
    if (!app::is_absolute_normalized_path(normal)) return std::nullopt;
    // A script fed through a descriptor (`bash /dev/fd/3`, fexecve) has no path to track.
    if (normal.rfind("/dev/", 0) == 0 || normal.rfind("/proc/", 0) == 0) return std::nullopt;
    return normal;
}

CommandLineClaim claim_from_cmdline(const std::vector<std::string>& argv) {
    CommandLineClaim claim;
    if (argv.empty()) return claim;
    const std::string& argv0 = argv.front();
    if (is_interpreter(argv0, argv0)) {
        auto script = script_argument(argv0, argv);
        if (script && !script->empty() && script->front() == '/') {
            claim.script = resolve_script_path(*script, "");
        }
        return claim;
    }
    // Only a path already in normal form: `/opt/app/../app/run` is not taken apart.
    if (app::is_absolute_normalized_path(argv0)) claim.exe = argv0;
    return claim;
}

std::vector<std::string> split_cmdline(std::string_view raw) {
    std::vector<std::string> args;
    std::size_t start = 0;
    while (start < raw.size()) {
        auto end = raw.find('\0', start);
        if (end == std::string_view::npos) end = raw.size();
        args.emplace_back(raw.substr(start, end - start));
        start = end + 1;
    }
    return args;
}

}  // namespace monsys::inventory
