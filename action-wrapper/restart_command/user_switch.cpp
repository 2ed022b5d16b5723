#include "action-wrapper/restart_command/user_switch.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace monsys::action {
namespace {

std::string errno_text(int error) {
    return std::strerror(error);
}

}  // namespace

Expected<UserIdentity, std::string> lookup_user(const std::string& name) {
    long size_hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buffer(size_hint > 0 ? static_cast<std::size_t>(size_hint) : 16384);
    passwd entry{};
    passwd* found = nullptr;
    int rc = 0;
    while ((rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
               ERANGE &&
           buffer.size() < (1 << 20)) {
        buffer.resize(buffer.size() * 2);
    }
    if (rc != 0) return unexpected("cannot look up user '" + name + "': " + errno_text(rc));
    if (found == nullptr) return unexpected("no such user '" + name + "'");
    return UserIdentity{name, entry.pw_uid, entry.pw_gid};
}

Expected<UserSwitch, std::string> plan_user_switch(uid_t real_uid, uid_t effective_uid,
                                                   const UserIdentity& target) {
    if (effective_uid == 0) {
        return target.uid == 0 ? UserSwitch::stay : UserSwitch::drop;
    }
    if (target.uid == effective_uid && target.uid == real_uid) return UserSwitch::stay;
    return unexpected("running as uid " + std::to_string(effective_uid) +
                      ", not as root: cannot run a command as user '" + target.name + "' (uid " +
                      std::to_string(target.uid) + ")");
}

Expected<UserSwitch, std::string> become_user(const UserIdentity& user) {
    auto plan = plan_user_switch(::getuid(), ::geteuid(), user);
    if (!plan || *plan == UserSwitch::stay) return plan;

    if (::initgroups(user.name.c_str(), user.gid) != 0) {
        return unexpected("initgroups(" + user.name + "): " + errno_text(errno));
    }
    if (::setresgid(user.gid, user.gid, user.gid) != 0) {
        return unexpected("setresgid(" + std::to_string(user.gid) + "): " + errno_text(errno));
    }
    if (::setresuid(user.uid, user.uid, user.uid) != 0) {
        return unexpected("setresuid(" + std::to_string(user.uid) + "): " + errno_text(errno));
    }
    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0 ||
        ruid != user.uid || euid != user.uid || suid != user.uid || rgid != user.gid ||
        egid != user.gid || sgid != user.gid) {
        return unexpected("the user and group ids are not " + user.name + "'s after the switch");
    }
    if (::setuid(0) == 0) {
        return unexpected("root could be regained after switching to user " + user.name);
    }
    return UserSwitch::drop;
}

}  // namespace monsys::action
