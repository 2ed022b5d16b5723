#!/usr/bin/env bash
# Installs the .deb on this machine (as root, with or without systemd as PID 1), checks users,
# modes, polkit and units, reinstalls it, then purges it and checks that nothing is left. The
# machine is left as it was found: a trap purges even on failure. What the package does under a
# real systemd (the agent service, the action socket, polkit, the upgrade) is the PID 1 suite's
# (tests/packaging/pid1).
# Usage: deb_install_test.sh PACKAGE_DIR MAX_EXPOSURE
# Exit status: 0 passed, 1 failed, 77 skipped (not root, or no apt-get).
set -uo pipefail
package_dir=$1
max_exposure=$2

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "SKIPPED: needs root and apt-get (Debian)"
  exit 77
fi
deb=$(readlink -f "$(ls "$package_dir"/monsys-agent_*.deb 2>/dev/null | head -n1)")
[ -f "$deb" ] || { echo "FAIL: no .deb in $package_dir"; exit 1; }

failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
check() {  # check DESCRIPTION COMMAND...: passes when the command succeeds
  local what=$1; shift
  if "$@" >/tmp/monsys-check.out 2>&1; then pass "$what"; else fail "$what"; sed 's/^/     /' /tmp/monsys-check.out; fi
}
refused() {  # refused DESCRIPTION COMMAND...: passes when the command fails
  local what=$1; shift
  if "$@" >/tmp/monsys-check.out 2>&1; then fail "$what (was allowed)"; sed 's/^/     /' /tmp/monsys-check.out; else pass "$what"; fi
}
mode_is() {  # mode_is PATH OWNER GROUP MODE
  local got
  got=$(stat -c '%U %G %a' "$1" 2>/dev/null || echo missing)
  if [ "$got" = "$2 $3 $4" ]; then pass "$1 is $2:$3 $4"; else fail "$1 is '$got', want '$2 $3 $4'"; fi
}

export DEBIAN_FRONTEND=noninteractive
purge() { apt-get purge -y -q monsys-agent >/dev/null 2>&1 || dpkg --purge monsys-agent >/dev/null 2>&1 || true; }

# A docker group exercises the postinst path that adds monsys-action to it. Made here only when
# the machine has none, and removed again by the trap.
made_docker_group=
polkit_dir_before=$(stat -c '%U %G %a' /usr/share/polkit-1/rules.d 2>/dev/null || echo absent)
cleanup() {
  purge
  if [ -n "$made_docker_group" ]; then groupdel docker 2>/dev/null || true; fi
  rm -f /tmp/monsys-check.out
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if dpkg-query -W -f='${Status}' monsys-agent 2>/dev/null | grep -q 'installed\|config-files'; then
  echo "note: purging monsys-agent left over from an earlier run"
  purge
fi
if ! getent group docker >/dev/null; then
  groupadd --system docker && made_docker_group=1
fi

echo "== install $deb"
if apt-get install -y -q "$deb" >/tmp/monsys-install.log 2>&1; then
  pass "apt-get install ./$(basename "$deb")"
else
  fail "apt-get install"; cat /tmp/monsys-install.log; exit 1
fi
sed 's/^/     | /' /tmp/monsys-install.log | grep -iE 'monsys|not start|fill|check-config|setup' || true
rm -f /tmp/monsys-install.log
agent_present=
[ -x /usr/bin/monsys-agent ] && agent_present=1

echo "== users and groups"
check "user monsys exists" getent passwd monsys
check "user monsys-action exists" getent passwd monsys-action
check "group monsys exists" getent group monsys
check "monsys-action is in group monsys" sh -c 'id -nG monsys-action | tr " " "\n" | grep -qx monsys'
check "monsys-action is in group docker (the group exists)" sh -c 'id -nG monsys-action | tr " " "\n" | grep -qx docker'
refused "monsys is not in group docker" sh -c 'id -nG monsys | tr " " "\n" | grep -qx docker'
refused "monsys is not in group monsys-action" sh -c 'id -nG monsys | tr " " "\n" | grep -qx monsys-action'
for user in monsys monsys-action; do
  check "$user has no login shell" sh -c "getent passwd $user | cut -d: -f7 | grep -qE '/(nologin|false)\$'"
done

echo "== files, owners and modes"
mode_is /etc/monsys root monsys 750
mode_is /etc/monsys/agent.json root monsys 640
mode_is /etc/monsys/agent.token monsys monsys 600
mode_is /var/lib/monsys/hub monsys monsys 700
mode_is /var/lib/monsys monsys monsys 750
mode_is /var/lib/monsys-action monsys-action monsys 750
refused "no replay store inside the agent's directory (/var/lib/monsys/eat)" test -e /var/lib/monsys/eat
mode_is /run/monsys-restart root monsys-action 750
check "monsys-action's home is /var/lib/monsys-action" sh -c \
  'test "$(getent passwd monsys-action | cut -d: -f6)" = /var/lib/monsys-action'
mode_is /usr/libexec/monsys/monsys-action root root 755
mode_is /usr/share/polkit-1/rules.d/50-monsys-action.rules root root 644
units="monsys-agent.service monsys-agent-once.service monsys-agent-once.timer monsys-action.socket monsys-action@.service monsys-restart@.service"
for unit in $units; do
  mode_is /usr/lib/systemd/system/$unit root root 644
done
refused "no sudoers drop-in is installed" test -e /etc/sudoers.d/monsys
mode_is /usr/lib/sysusers.d/monsys-agent.conf root root 644
mode_is /usr/lib/tmpfiles.d/monsys-agent.conf root root 644
if [ -n "$agent_present" ]; then mode_is /usr/bin/monsys-agent root root 755; fi
check "polkit rules directory keeps its owner and mode ($polkit_dir_before)" \
  test "$(stat -c '%U %G %a' /usr/share/polkit-1/rules.d 2>/dev/null || echo absent)" = "$polkit_dir_before"
check "no setuid or setgid file in the package" sh -c \
  'dpkg -L monsys-agent | while read -r f; do [ -f "$f" ] && [ -u "$f" -o -g "$f" ] && echo "$f"; done | grep -q . && exit 1 || exit 0'
check "agent.json is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' monsys-agent | grep -q ' /etc/monsys/agent.json '"
refused "the shipped config leaves the layout to the built-in defaults (no state_dir)" \
  grep -qE '^[[:space:]]*"state_dir"' /etc/monsys/agent.json
check "the service is enabled" test -L /etc/systemd/system/multi-user.target.wants/monsys-agent.service
check "the action socket is enabled" test -L /etc/systemd/system/sockets.target.wants/monsys-action.socket
refused "the once timer is not enabled" test -e /etc/systemd/system/timers.target.wants/monsys-agent-once.timer

echo "== who can read and write what"
check "monsys reads the config" runuser -u monsys -- cat /etc/monsys/agent.json
check "monsys-action reads the config" runuser -u monsys-action -- cat /etc/monsys/agent.json
refused "monsys cannot write the config" runuser -u monsys -- sh -c ': >> /etc/monsys/agent.json'
check "monsys reads the hub token" runuser -u monsys -- cat /etc/monsys/agent.token
refused "monsys-action cannot read the hub token" runuser -u monsys-action -- cat /etc/monsys/agent.token
refused "nobody cannot read the config" runuser -u nobody -- cat /etc/monsys/agent.json
store=/var/lib/monsys-action
# monsys-action gives the files it makes there the directory's group (monsys); so does this.
check "monsys-action writes the replay store directory" runuser -u monsys-action -g monsys -- sh -c \
  "umask 027 && : > $store/eat-replay.db && : > $store/eat-replay.db.lock"
check "monsys reads the replay store" runuser -u monsys -- cat $store/eat-replay.db
refused "monsys cannot write the replay store" runuser -u monsys -- sh -c ": >> $store/eat-replay.db"
refused "monsys cannot replace files in the replay store directory" runuser -u monsys -- \
  sh -c ": > $store/x || mv $store/eat-replay.db $store/y"
refused "monsys cannot rename the replay store directory" runuser -u monsys -- mv $store /var/lib/monsys/x
check "monsys writes its state directory" runuser -u monsys -- sh -c ': > /var/lib/monsys/.probe && rm /var/lib/monsys/.probe'
rm -f $store/eat-replay.db $store/eat-replay.db.lock

echo "== no other way from monsys to monsys-action"
action=/usr/libexec/monsys/monsys-action
# No sudo rule is shipped: the socket is the only way from monsys to monsys-action.
if command -v sudo >/dev/null; then
  check "visudo -c (sudoers untouched)" visudo -c
  refused "monsys may not run /bin/sh as monsys-action through sudo" sudo -u monsys sudo -n -u monsys-action /bin/sh -c id
  refused "monsys may not run monsys-action through sudo" sudo -u monsys sudo -n -u monsys-action "$action" --help
fi

echo "== systemd units"
for unit in $units; do
  if systemd-analyze verify --man=no /usr/lib/systemd/system/$unit >/tmp/monsys-check.out 2>&1; then
    pass "systemd-analyze verify $unit"
  elif [ -z "$agent_present" ] && ! grep -v '/usr/bin/monsys-agent' /tmp/monsys-check.out | grep -q .; then
    echo "SKIPPED systemd-analyze verify $unit: only complains that /usr/bin/monsys-agent is missing (not built yet)"
  else
    fail "systemd-analyze verify $unit"; sed 's/^/     /' /tmp/monsys-check.out
  fi
done
exposure_of() {
  systemd-analyze security --offline=true "/usr/lib/systemd/system/$1" 2>/dev/null |
    sed -n 's/^→ Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p'
}
score=$(exposure_of monsys-agent.service)
echo "     monsys-agent.service exposure: ${score:-unknown} (limit $max_exposure; see docs/security.md)"
check "monsys-agent.service exposure ${score:-?} <= $max_exposure" \
  awk -v s="${score:-99}" -v m="$max_exposure" 'BEGIN { exit !(s + 0 <= m + 0) }'
check "monsys-agent.service is rated OK or better" sh -c \
  "systemd-analyze security --offline=true /usr/lib/systemd/system/monsys-agent.service 2>/dev/null | grep -qE 'Overall exposure level.* (OK|SAFE)'"
score=$(exposure_of monsys-action@.service)
check "monsys-action@.service exposure ${score:-?} <= 2.0" \
  awk -v s="${score:-99}" 'BEGIN { exit !(s + 0 <= 2.0) }'
score=$(exposure_of monsys-agent-once.service)
check "monsys-agent-once.service exposure ${score:-?} <= 2.0" \
  awk -v s="${score:-99}" 'BEGIN { exit !(s + 0 <= 2.0) }'

echo "== the agent binary"
if [ -n "$agent_present" ]; then
  check "monsys-agent --version runs from /usr/bin" /usr/bin/monsys-agent --version
  if /usr/bin/monsys-agent --help 2>/dev/null | grep -q check-config; then
    refused "check-config refuses the shipped (incomplete) config" runuser -u monsys -- /usr/bin/monsys-agent check-config
  else
    echo "SKIPPED check-config: this monsys-agent has no check-config subcommand yet"
  fi
else
  echo "SKIPPED monsys-agent --version: the package has no /usr/bin/monsys-agent (agent/main.cpp not built)"
fi

echo "== reinstall (upgrade path of the maintainer scripts)"
echo "# local edit" >> /etc/monsys/agent.json
# The layout of older packages: the replay store in /var/lib/monsys/eat, and a kept conffile
# that still names it. The scripts move the store once and tell the admin about the line.
rm -f /var/lib/monsys-action/eat-replay.db
install -d -o monsys-action -g monsys -m 2750 /var/lib/monsys/eat
printf 'old-store\n' > /var/lib/monsys/eat/eat-replay.db
chown monsys-action:monsys /var/lib/monsys/eat/eat-replay.db
echo '  "state_dir": "/var/lib/monsys/eat",' >> /etc/monsys/agent.json
reinstall_rc=0
apt-get install -y -q --reinstall -o Dpkg::Options::=--force-confold "$deb" >/tmp/monsys-reinstall.out 2>&1 ||
  reinstall_rc=$?
check "apt-get install --reinstall" test "$reinstall_rc" -eq 0
[ "$reinstall_rc" -eq 0 ] || sed 's/^/     /' /tmp/monsys-reinstall.out
check "a local config edit survives" grep -q '^# local edit' /etc/monsys/agent.json
mode_is /etc/monsys/agent.json root monsys 640
mode_is /var/lib/monsys-action monsys-action monsys 750
check "the old replay store moved to /var/lib/monsys-action" grep -qx old-store /var/lib/monsys-action/eat-replay.db
mode_is /var/lib/monsys-action/eat-replay.db monsys-action monsys 640
refused "the old /var/lib/monsys/eat is gone" test -e /var/lib/monsys/eat
check "the admin is told to remove state_dir /var/lib/monsys/eat" \
  grep -q 'still sets' /tmp/monsys-reinstall.out
check "the conffile is not edited by the scripts" grep -qF '"state_dir": "/var/lib/monsys/eat"' /etc/monsys/agent.json
sed -i '/"state_dir": "\/var\/lib\/monsys\/eat"/d' /etc/monsys/agent.json
# A second move never happens, and a link planted by the agent's user is never followed: a
# store that is a link to root's file stays behind and is not copied.
install -d -o monsys-action -g monsys -m 2750 /var/lib/monsys/eat
ln -s /etc/shadow /var/lib/monsys/eat/eat-replay.db
check "reinstall over a planted link" apt-get install -y -q --reinstall -o Dpkg::Options::=--force-confold "$deb"
check "the existing store is kept" grep -qx old-store /var/lib/monsys-action/eat-replay.db
rm -f /var/lib/monsys-action/eat-replay.db
install -d -o monsys-action -g monsys -m 2750 /var/lib/monsys/eat
ln -s /etc/shadow /var/lib/monsys/eat/eat-replay.db
check "reinstall over a planted link, no store yet" apt-get install -y -q --reinstall -o Dpkg::Options::=--force-confold "$deb"
refused "a linked old store is not copied" test -e /var/lib/monsys-action/eat-replay.db
refused "the old /var/lib/monsys/eat is gone (the link with it, not its target)" test -e /var/lib/monsys/eat
check "/etc/shadow is untouched" sh -c 'test "$(stat -c "%U %G" /etc/shadow)" = "root shadow"'
check "the service is still enabled" test -L /etc/systemd/system/multi-user.target.wants/monsys-agent.service

echo "== remove"
check "apt-get remove" apt-get remove -y -q monsys-agent
refused "remove disables the service" test -L /etc/systemd/system/multi-user.target.wants/monsys-agent.service
check "remove keeps the config" test -e /etc/monsys/agent.json
check "remove keeps the users" getent passwd monsys

echo "== purge"
check "apt-get purge" apt-get purge -y -q monsys-agent
refused "no user monsys" getent passwd monsys
refused "no user monsys-action" getent passwd monsys-action
refused "no group monsys" getent group monsys
refused "no group monsys-action" getent group monsys-action
refused "no /etc/monsys" test -e /etc/monsys
refused "no /var/lib/monsys" test -e /var/lib/monsys
refused "no /var/lib/monsys-action" test -e /var/lib/monsys-action
refused "no /run/monsys-restart" test -e /run/monsys-restart
refused "no sudoers drop-in" test -e /etc/sudoers.d/monsys
refused "no polkit rule" test -e /usr/share/polkit-1/rules.d/50-monsys-action.rules
refused "no statoverride left" sh -c 'dpkg-statoverride --list | grep -q monsys'
refused "no unit symlinks left" sh -c 'find /etc/systemd/system -name "monsys-agent*" | grep -q .'
refused "no deb-systemd-helper state left" sh -c 'ls /var/lib/systemd/deb-systemd-helper-enabled 2>/dev/null | grep -q monsys'
check "polkit rules directory unchanged after purge" \
  test "$(stat -c '%U %G %a' /usr/share/polkit-1/rules.d 2>/dev/null || echo absent)" = "$polkit_dir_before"

echo
if [ "$failures" -eq 0 ]; then echo "deb install test: all checks passed"; exit 0; fi
echo "deb install test: $failures check(s) failed"
exit 1
