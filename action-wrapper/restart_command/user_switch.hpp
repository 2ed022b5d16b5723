#pragma once
// Who a restart command runs as: the policy entry's user. As root, run-restart-command becomes
// that user for good before it starts the command (supplementary groups, gid, uid, then a check
// that root cannot be regained). Not as root (tests, a user's own manager), it can only run
// commands of entries whose user it already is.
#include <sys/types.h>

#include <string>

#include "common/util/expected.hpp"

namespace monsys::action {

struct UserIdentity {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;  // the primary group from the passwd entry
};

// The passwd entry of `name`.
Expected<UserIdentity, std::string> lookup_user(const std::string& name);

enum class UserSwitch {
    stay,  // already that user (or root for a root entry): nothing to change
    drop,  // root becomes the user
};

// Pure: what to do for `target` when running with these ids; the error is the refusal.
Expected<UserSwitch, std::string> plan_user_switch(uid_t real_uid, uid_t effective_uid,
                                                   const UserIdentity& target);

// Becomes `user` for good: initgroups, setresgid, setresuid, then checks that the ids are the
// user's and that setuid(0) fails. The error names the step that failed.
Expected<UserSwitch, std::string> become_user(const UserIdentity& user);

}  // namespace monsys::action
