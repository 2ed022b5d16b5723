#include "common/io/docker/negotiation.hpp"

#include "common/json/capped_json.hpp"

namespace monsys::io::docker {

std::optional<Expected<ApiVersion, std::string>> version_from_ping(const Response& ping) {
    if (ping.status != 200) return std::nullopt;
    auto header = ping.header("Api-Version");
    if (!header) return std::nullopt;
    return choose_api_version(*header);
}

Expected<ApiVersion, std::string> version_from_version_reply(const Response& reply) {
    if (reply.status != 200) {
        return unexpected("the engine answered GET /version with HTTP " +
                          std::to_string(reply.status));
    }
    auto parsed = json::parse(reply.body, json::Limits{64 * 1024, 8, false});
    if (!parsed) return unexpected("cannot read GET /version: " + parsed.error().message);
    auto field = parsed->find("ApiVersion");
    if (field == parsed->end() || !field->is_string()) {
        return unexpected(std::string("GET /version has no ApiVersion"));
    }
    return choose_api_version(field->get<std::string>());
}

}  // namespace monsys::io::docker
