#include "action-wrapper/restart/restart_outcome.hpp"

namespace monsys::action {

const char* to_string(RestartStatus status) {
    switch (status) {
        case RestartStatus::succeeded:
            return "succeeded";
        case RestartStatus::failed:
            return "failed";
        case RestartStatus::timeout:
            return "timeout";
    }
    return "failed";
}

}  // namespace monsys::action
