#include "common/eat/claim_rules.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "common/app/identifier.hpp"

namespace monsys::eat::detail {
namespace {

using Json = nlohmann::json;

// nullptr when absent. Member lookup goes through find() so that nothing is ever inserted.
const Json* member(const Json& object, const char* name) {
    auto it = object.find(name);
    return it == object.end() ? nullptr : &*it;
}

const std::string* string_member(const Json& object, const char* name) {
    const Json* value = member(object, name);
    return value != nullptr && value->is_string() ? value->get_ptr<const std::string*>() : nullptr;
}

// Only JSON integers count: 1700000000.0, "1700000000" and 1e9 are refused, because a number
// that is not an integer in the JSON text has no single reading as a second.
std::optional<std::int64_t> integer_member(const Json& object, const char* name) {
    const Json* value = member(object, name);
    if (value == nullptr) return std::nullopt;
    if (value->is_number_unsigned()) {
        auto u = value->get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            return std::nullopt;
        }
        return static_cast<std::int64_t>(u);
    }
    if (value->is_number_integer()) return value->get<std::int64_t>();
    return std::nullopt;
}

// A string or an array of strings, as RFC 7519 allows for aud; amr is always an array.
std::optional<std::vector<std::string>> string_list(const Json& value, bool allow_single) {
    if (allow_single && value.is_string()) return std::vector{value.get<std::string>()};
    if (!value.is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const Json& element : value) {
        if (!element.is_string()) return std::nullopt;
        out.push_back(element.get<std::string>());
    }
    return out;
}

bool contains(const std::vector<std::string>& list, std::string_view wanted) {
    return std::find(list.begin(), list.end(), wanted) != list.end();
}

Expected<void, Rejection> check_optional_string(const Json& payload, const char* name,
                                               std::optional<std::string>& out) {
    const Json* value = member(payload, name);
    if (value == nullptr) return {};
    if (!value->is_string()) {
        return refuse(Refusal::bad_payload, std::string(name) + " is not a string");
    }
    out = value->get<std::string>();
    return {};
}

Expected<void, Rejection> read_times(const Json& payload, const VerifierSettings& settings,
                                    std::int64_t now, Claims& claims) {
    auto iat = integer_member(payload, "iat");
    auto nbf = integer_member(payload, "nbf");
    auto exp = integer_member(payload, "exp");
    if (!iat || !nbf || !exp) {
        return refuse(Refusal::bad_time_claims, "iat, nbf and exp must all be present as integer seconds");
    }
    for (std::int64_t t : {*iat, *nbf, *exp}) {
        if (t < 0 || t > max_time_unix) {
            return refuse(Refusal::bad_time_claims, "a time claim is out of range");
        }
    }
    if (*exp <= *iat) return refuse(Refusal::bad_time_claims, "exp is not after iat");
    if (*exp < *nbf) return refuse(Refusal::bad_time_claims, "exp is before nbf");
    if (*exp - *iat > settings.max_lifetime_secs) {
        return refuse(Refusal::lifetime_too_long, "exp - iat = " + std::to_string(*exp - *iat) + " s exceeds " +
                             std::to_string(settings.max_lifetime_secs) + " s");
    }
    const std::int64_t skew = settings.clock_skew_secs;
    if (now >= *exp + skew) {
        return refuse(Refusal::expired, "expired at " + std::to_string(*exp) + " (now " +
                                               std::to_string(now) + ", skew " +
                                               std::to_string(skew) + " s)");
    }
    if (now + skew < *nbf) {
        return refuse(Refusal::not_yet_valid, "not valid before " + std::to_string(*nbf) +
                                                     " (now " + std::to_string(now) + ", skew " +
                                                     std::to_string(skew) + " s)");
    }
    if (*iat > now + skew) {
        return refuse(Refusal::issued_in_future, "issued at " + std::to_string(*iat) + " (now " +
                                                        std::to_string(now) + ", skew " +
                                                        std::to_string(skew) + " s)");
    }
    claims.iat = *iat;
    claims.nbf = *nbf;
    claims.exp = *exp;
    return {};
}

Expected<void, Rejection> read_app(const Json& payload, Claims& claims) {
    const Json* app = member(payload, "app");
    if (app == nullptr || !app->is_object()) {
        return refuse(Refusal::bad_app, "app is missing or not an object");
    }
    const std::string* id = string_member(*app, "id");
    if (id == nullptr || !app::is_valid_app_id(*id)) {
        return refuse(Refusal::bad_app, "app.id must be a string of " + std::string(app::app_id_rule));
    }
    const std::string* type_name = string_member(*app, "type");
    std::optional<app::AppType> type;
    if (type_name != nullptr) type = app::parse_app_type(*type_name);
    if (!type) {
        return refuse(Refusal::bad_app, "app.type must be systemd, docker, compose or process");
    }
    const std::string* identifier = string_member(*app, "identifier");
    if (identifier == nullptr) {
        return refuse(Refusal::bad_app, "app.identifier is missing or not a string");
    }
    if (auto valid = app::check_identifier(*type, *identifier); !valid) {
        return refuse(Refusal::bad_identifier, "app.identifier " + log_quoted(*identifier) + ": " + valid.error());
    }
    const Json* command = member(*app, "restart_command");
    if (*type == app::AppType::process) {
        if (command == nullptr || !command->is_string()) {
            return refuse(Refusal::bad_restart_command, "a process app needs app.restart_command");
        }
        const auto& path = command->get_ref<const std::string&>();
        if (!app::is_absolute_normalized_path(path)) {
            return refuse(Refusal::bad_restart_command, "app.restart_command " + log_quoted(path) + " is not an absolute, normalized path");
        }
        claims.app.restart_command = path;
    } else if (command != nullptr) {
        // Refused rather than ignored: a hub that sends one expects it to be run, and it never
        // would be for this type.
        return refuse(Refusal::bad_restart_command, std::string("app.restart_command is only allowed for process apps, not ") +
                             app::to_string(*type));
    }
    claims.app.id = *id;
    claims.app.type = *type;
    claims.app.identifier = *identifier;
    return {};
}

}  // namespace

std::string log_quoted(std::string_view value, std::size_t max_bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (std::size_t i = 0; i < value.size() && i < max_bytes; ++i) {
        auto c = static_cast<unsigned char>(value[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xF];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
    if (value.size() > max_bytes) out += "...";
    return out;
}

Expected<Claims, Rejection> read_claims(Json payload, std::string kid,
                                        const VerifierSettings& settings, std::int64_t now) {
    if (!payload.is_object()) return refuse(Refusal::bad_payload, "payload is not a JSON object");
    Claims claims;
    claims.kid = std::move(kid);

    const std::string* iss = string_member(payload, "iss");
    if (iss == nullptr || *iss != settings.issuer) {
        return refuse(Refusal::wrong_issuer,
                      iss == nullptr ? "iss is missing or not a string"
                                     : "iss " + log_quoted(*iss) + " is not the configured issuer");
    }
    claims.iss = *iss;

    const Json* aud_value = member(payload, "aud");
    auto aud = aud_value ? string_list(*aud_value, /*allow_single=*/true) : std::nullopt;
    if (!aud || !contains(*aud, "monsys-agent")) {
        return refuse(Refusal::wrong_audience,
                      "aud must be \"monsys-agent\" or an array of strings containing it");
    }
    claims.aud = std::move(*aud);

    const std::string* sub = string_member(payload, "sub");
    if (sub == nullptr || *sub != settings.agent_id) {
        return refuse(Refusal::wrong_agent, sub == nullptr
                                                ? "sub is missing or not a string"
                                                : "sub " + log_quoted(*sub) + " is not this agent");
    }
    claims.sub = *sub;

    const std::string* jti = string_member(payload, "jti");
    if (jti == nullptr || jti->empty() || jti->size() > max_jti_bytes) {
        return refuse(Refusal::bad_jti, "jti must be a non-empty string of at most " +
                                            std::to_string(max_jti_bytes) + " bytes");
    }
    claims.jti = *jti;

    if (auto read = read_times(payload, settings, now, claims); !read) {
        return unexpected(std::move(read.error()));
    }

    auto lvl = integer_member(payload, "lvl");
    if (!lvl || *lvl < settings.required_level) {
        return refuse(Refusal::insufficient_level,
                      (lvl ? "lvl " + std::to_string(*lvl) : std::string("a missing lvl")) +
                          " is below the required " + std::to_string(settings.required_level));
    }
    // The comparison above already bounds lvl from below; the cap keeps the int conversion exact.
    claims.lvl = static_cast<int>(std::min<std::int64_t>(*lvl, std::numeric_limits<int>::max()));

    const std::string* act = string_member(payload, "act");
    if (act == nullptr || *act != settings.action) {
        return refuse(Refusal::wrong_action, "act must be " + log_quoted(settings.action));
    }
    claims.act = *act;

    const Json* amr_value = member(payload, "amr");
    auto amr = amr_value ? string_list(*amr_value, /*allow_single=*/false) : std::nullopt;
    if (!amr || !contains(*amr, "otp")) {
        return refuse(Refusal::no_otp, "amr must be an array of strings containing \"otp\"");
    }
    claims.amr = std::move(*amr);

    if (auto read = read_app(payload, claims); !read) return unexpected(std::move(read.error()));

    if (const Json* reason = member(payload, "reason")) {
        if (!reason->is_string() ||
            reason->get_ref<const std::string&>().size() > max_reason_bytes) {
            return refuse(Refusal::bad_reason, "reason must be a string of at most " +
                                                   std::to_string(max_reason_bytes) + " bytes");
        }
        claims.reason = reason->get<std::string>();
    }
    if (auto read = check_optional_string(payload, "by", claims.by); !read) {
        return unexpected(std::move(read.error()));
    }
    if (auto read = check_optional_string(payload, "tid", claims.tid); !read) {
        return unexpected(std::move(read.error()));
    }

    claims.payload = std::move(payload);
    return claims;
}

}  // namespace monsys::eat::detail
