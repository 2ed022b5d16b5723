#pragma once
// Reading the engine's API version from its replies (pure: Response in, version out), shared by
// the blocking DockerClient and the AsyncDockerClient: GET /_ping's Api-Version header first,
// GET /version's ApiVersion when the ping does not say.
#include <optional>
#include <string>

#include "common/io/docker/api_version.hpp"
#include "common/io/docker/response.hpp"
#include "common/util/expected.hpp"

namespace monsys::io::docker {

// The version from a GET /_ping reply, or nullopt when it names none (then ask GET /version).
std::optional<Expected<ApiVersion, std::string>> version_from_ping(const Response& ping);

// The version from a GET /version reply.
Expected<ApiVersion, std::string> version_from_version_reply(const Response& reply);

}  // namespace monsys::io::docker
