#include "action-wrapper/restart_command/command_result.hpp"

#include <string.h>

#include "common/json/capped_json.hpp"

namespace monsys::action {
namespace {

using json::Json;

Json output_json(const CommandOutput& output) {
    return {{"text", output.text},
            {"truncated", output.truncated},
            {"total_bytes", output.total_bytes}};
}

template <class T>
bool read_field(const Json& object, const char* name, T& out) {
    auto it = object.find(name);
    if (it == object.end()) return false;
    if constexpr (std::is_same_v<T, std::string>) {
        if (!it->is_string()) return false;
    } else if constexpr (std::is_same_v<T, bool>) {
        if (!it->is_boolean()) return false;
    } else {
        if (!it->is_number_integer()) return false;
    }
    out = it->get<T>();
    return true;
}

bool read_output(const Json& object, const char* name, CommandOutput& out) {
    auto it = object.find(name);
    if (it == object.end() || !it->is_object()) return false;
    return read_field(*it, "text", out.text) && read_field(*it, "truncated", out.truncated) &&
           read_field(*it, "total_bytes", out.total_bytes);
}

}  // namespace

const char* to_string(CommandEnding ending) {
    switch (ending) {
        case CommandEnding::exited:
            return "exited";
        case CommandEnding::signaled:
            return "signaled";
        case CommandEnding::timed_out:
            return "timed_out";
        case CommandEnding::not_run:
            return "not_run";
    }
    return "not_run";
}

std::optional<CommandEnding> parse_command_ending(std::string_view text) {
    for (CommandEnding ending : {CommandEnding::exited, CommandEnding::signaled,
                                 CommandEnding::timed_out, CommandEnding::not_run}) {
        if (text == to_string(ending)) return ending;
    }
    return std::nullopt;
}

int exit_status_of(const CommandResult& result, int refusal_code) {
    switch (result.ending) {
        case CommandEnding::exited:
            return result.exit_code;
        case CommandEnding::signaled:
            return 128 + result.signal;
        case CommandEnding::timed_out:
            return 124;
        case CommandEnding::not_run:
            return refusal_code;
    }
    return refusal_code;
}

nlohmann::json to_json(const CommandResult& result) {
    Json out = {{"entry", result.entry},
                {"command", result.command},
                {"user", result.user},
                {"started_at_ms", result.started_at_ms},
                {"ending", to_string(result.ending)},
                {"exit_code", result.exit_code},
                {"signal", result.signal},
                {"stdout", output_json(result.out)},
                {"stderr", output_json(result.err)},
                {"elapsed_ms", result.elapsed_ms}};
    if (result.signal != 0) {
        const char* name = sigabbrev_np(result.signal);
        out["signal_name"] = name != nullptr ? std::string("SIG") + name : "unknown";
    }
    if (!result.error.empty()) out["error"] = result.error;
    return out;
}

Expected<CommandResult, std::string> parse_command_result(std::string_view text) {
    json::Limits limits;
    limits.max_bytes = max_command_result_bytes;
    limits.max_depth = 4;
    auto document = json::parse(text, limits);
    if (!document) return unexpected("not valid JSON: " + document.error().message);
    if (!document->is_object()) return unexpected(std::string("not a JSON object"));

    CommandResult result;
    std::string ending;
    if (!read_field(*document, "entry", result.entry) ||
        !read_field(*document, "command", result.command) ||
        !read_field(*document, "user", result.user) ||
        !read_field(*document, "started_at_ms", result.started_at_ms) ||
        !read_field(*document, "ending", ending) ||
        !read_field(*document, "exit_code", result.exit_code) ||
        !read_field(*document, "signal", result.signal) ||
        !read_output(*document, "stdout", result.out) ||
        !read_output(*document, "stderr", result.err) ||
        !read_field(*document, "elapsed_ms", result.elapsed_ms)) {
        return unexpected(std::string("a field is missing or has the wrong type"));
    }
    auto parsed = parse_command_ending(ending);
    if (!parsed) return unexpected("unknown ending '" + ending + "'");
    result.ending = *parsed;
    if (document->contains("error") && !read_field(*document, "error", result.error)) {
        return unexpected(std::string("field 'error' must be a string"));
    }
    return result;
}

std::string command_result_file_name(std::string_view entry) {
    return std::string(entry) + ".json";
}

}  // namespace monsys::action
