#include "action-wrapper/action_result.hpp"

namespace monsys::action {

nlohmann::json to_json(const ActionResult& result) {
    results::ActionResult printed = result;
    printed.wrapper_exit_code = static_cast<int>(result.exit);
    return results::to_json(printed);
}

}  // namespace monsys::action
