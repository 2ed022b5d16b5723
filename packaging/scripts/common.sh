# ---- shared by the deb and rpm maintainer scripts (spliced in by packaging/CMakeLists.txt) ----
# POSIX sh. Every function is idempotent and works without systemd as PID 1.
MONSYS_UNIT=monsys-agent.service
MONSYS_ACTION_SOCKET=monsys-action.socket
MONSYS_CONFIG=/etc/monsys/agent.json
MONSYS_TOKEN=/etc/monsys/agent.token
MONSYS_AGENT=/usr/bin/monsys-agent
MONSYS_ACTION=/usr/libexec/monsys/monsys-action

monsys_have() { command -v "$1" >/dev/null 2>&1; }
monsys_systemd_running() { [ -d /run/systemd/system ]; }

# Users monsys (the agent) and monsys-action (the wrapper), both in group monsys.
# sysusers.d is the source of truth; useradd/adduser is the fallback for hosts without it.
monsys_create_users() {
    if monsys_have systemd-sysusers; then
        systemd-sysusers monsys-agent.conf
    else
        if ! getent group monsys >/dev/null; then
            groupadd --system monsys
        fi
        if ! getent passwd monsys >/dev/null; then
            useradd --system --gid monsys --home-dir /var/lib/monsys --no-create-home \
                --shell /usr/sbin/nologin --comment "monsys agent" monsys
        fi
        if ! getent passwd monsys-action >/dev/null; then
            useradd --system --user-group --home-dir /var/lib/monsys-action --no-create-home \
                --shell /usr/sbin/nologin --comment "monsys restart wrapper" monsys-action
        fi
        monsys_add_to_group monsys-action monsys
    fi
    monsys_update_action_home
}

# Older packages gave monsys-action the home /var/lib/monsys/eat, which is gone.
monsys_update_action_home() {
    if [ "$(getent passwd monsys-action | cut -d: -f6)" = /var/lib/monsys/eat ]; then
        usermod --home /var/lib/monsys-action monsys-action ||
            monsys_warn "could not change monsys-action's home to /var/lib/monsys-action"
    fi
}

monsys_add_to_group() {
    # $1 user, $2 group (existing). usermod -a keeps the other supplementary groups.
    if ! id -nG "$1" | tr ' ' '\n' | grep -qx "$2"; then
        usermod -a -G "$2" "$1"
    fi
}

monsys_warn() { echo "monsys-agent: $*" >&2; }

# True when only root can change entries of directory $1: a real directory (not a link), owned by
# root, not writable by group or others. Paths below such a directory cannot be swapped for a
# link by the agent's or the wrapper's user, so root may work on them by name.
monsys_root_only_dir() {
    [ -d "$1" ] && [ ! -L "$1" ] &&
        [ -n "$(find "$1" -maxdepth 0 -user root ! -perm /022 -print 2>/dev/null)" ]
}

# monsys_make_dir PATH OWNER GROUP MODE: creates PATH when absent and sets owner and mode, only
# when its parent is root's alone. A link at PATH is refused, never followed.
monsys_make_dir() {
    if ! monsys_root_only_dir "$(dirname "$1")"; then
        monsys_warn "$(dirname "$1") is not a root-owned directory; not creating $1"
        return 1
    fi
    if [ -L "$1" ]; then
        monsys_warn "$1 is a symbolic link; remove it and reinstall"
        return 1
    fi
    [ -e "$1" ] || mkdir -m "$4" "$1"
    if [ ! -d "$1" ]; then
        monsys_warn "$1 is not a directory; remove it and reinstall"
        return 1
    fi
    chown -h "$2:$3" "$1"
    chmod "$4" "$1"
}

# The packaged layout (systemd/monsys-agent.tmpfiles): /var/lib/monsys belongs to the agent,
# /var/lib/monsys-action to monsys-action (the replay store), /run/monsys-restart receives the
# results of monsys-restart@.service. systemd-tmpfiles does not follow links it did not create;
# the fallback works by name only where root alone can change the parent directory.
monsys_create_layout() {
    if monsys_have systemd-tmpfiles; then
        systemd-tmpfiles --create monsys-agent.conf
    else
        monsys_make_dir /var/lib/monsys monsys monsys 0750 || true
        monsys_make_dir /var/lib/monsys-action monsys-action monsys 0750 || true
        monsys_make_dir /run/monsys-restart root monsys-action 0750 || true
        # /var/lib/monsys is the agent's: what is in it is made as the agent's user, so nothing
        # there is followed with root's rights. The agent also creates it at start.
        if [ ! -e /var/lib/monsys/hub ] && [ ! -L /var/lib/monsys/hub ] && monsys_have runuser; then
            runuser -u monsys -- mkdir -m 0700 /var/lib/monsys/hub || true
        fi
    fi
    monsys_create_token
}

# monsys-action's result-signing key (docs/monsys-action.md, "The signing key"): made once, as
# user monsys-action, so root follows nothing in its directory; an existing key is kept (an
# upgrade never replaces it). When this cannot run, the wrapper makes it on first use.
monsys_create_action_key() {
    [ -x "$MONSYS_ACTION" ] || return 0
    if monsys_have runuser; then
        runuser -u monsys-action -- "$MONSYS_ACTION" --config "$MONSYS_CONFIG" init-key \
            >/dev/null || monsys_warn "could not make monsys-action's signing key now; it is made on first use"
    else
        "$MONSYS_ACTION" --config "$MONSYS_CONFIG" init-key >/dev/null ||
            monsys_warn "could not make monsys-action's signing key now; it is made on first use"
    fi
}

# The hub token: readable by the agent alone. Never overwritten once it exists, never followed
# when it is a link, and only handled while /etc/monsys is root's alone.
monsys_create_token() {
    if ! monsys_root_only_dir "$(dirname "$MONSYS_TOKEN")"; then
        monsys_warn "$(dirname "$MONSYS_TOKEN") is not a root-owned directory; not touching $MONSYS_TOKEN"
        return 0
    fi
    if [ -L "$MONSYS_TOKEN" ]; then
        monsys_warn "$MONSYS_TOKEN is a symbolic link; make it a file (owner monsys, mode 0600)"
        return 0
    fi
    if [ ! -e "$MONSYS_TOKEN" ]; then
        ( umask 077 && : > "$MONSYS_TOKEN" )
    fi
    if [ ! -f "$MONSYS_TOKEN" ]; then
        monsys_warn "$MONSYS_TOKEN is not a regular file; not changing it"
        return 0
    fi
    chown -h monsys:monsys "$MONSYS_TOKEN"
    chmod 0600 "$MONSYS_TOKEN"
}

# Upgrade from the layout that kept the replay store in /var/lib/monsys/eat, inside the agent's
# directory: the store moves once to /var/lib/monsys-action (only when that has none yet), then
# the old directory goes. The copy runs as monsys-action, so a link the agent's user plants is
# followed with no more than that user's rights, and a link is copied as a link and dropped.
MONSYS_OLD_STATE_DIR=/var/lib/monsys/eat
MONSYS_STATE_DIR=/var/lib/monsys-action

monsys_migrate_replay_store() {
    if [ ! -e "$MONSYS_OLD_STATE_DIR" ] && [ ! -L "$MONSYS_OLD_STATE_DIR" ]; then
        return 0
    fi
    if [ -d "$MONSYS_OLD_STATE_DIR" ] && [ ! -L "$MONSYS_OLD_STATE_DIR" ] &&
        [ ! -e "$MONSYS_STATE_DIR/eat-replay.db" ] && [ ! -L "$MONSYS_STATE_DIR/eat-replay.db" ] &&
        monsys_root_only_dir /var/lib && [ -d "$MONSYS_STATE_DIR" ] && [ ! -L "$MONSYS_STATE_DIR" ]; then
        if monsys_have runuser; then
            # shellcheck disable=SC2016
            runuser -u monsys-action -g monsys -- sh -c '
                cd -P "$1" || exit 1
                # The directory monsys-action kept, not one the agent put in its place.
                [ "$(pwd -P)" = "$1" ] && [ "$(stat -c %U .)" = monsys-action ] || exit 1
                [ -f eat-replay.db ] && [ ! -L eat-replay.db ] || exit 0
                tmp="$2/.eat-replay.db.migrating"
                rm -f "$tmp" || exit 1
                cp -P eat-replay.db "$tmp" || exit 1
                [ -f "$tmp" ] && [ ! -L "$tmp" ] || { rm -f "$tmp"; exit 1; }
                chmod 0640 "$tmp" && mv -T "$tmp" "$2/eat-replay.db"
            ' monsys-migrate "$MONSYS_OLD_STATE_DIR" "$MONSYS_STATE_DIR" ||
                monsys_warn "could not move the replay store from $MONSYS_OLD_STATE_DIR to $MONSYS_STATE_DIR; tokens seen before this upgrade are no longer remembered"
            [ -f "$MONSYS_STATE_DIR/eat-replay.db" ] &&
                echo "monsys-agent: moved the replay store to $MONSYS_STATE_DIR/eat-replay.db"
        else
            monsys_warn "runuser is missing; the replay store in $MONSYS_OLD_STATE_DIR was not moved"
        fi
    fi
    # rm does not follow links: a link there goes, not what it points to.
    rm -rf "$MONSYS_OLD_STATE_DIR"
}

# The old default config named the old directory; a kept (changed) conffile may still do so.
# The conffile is the admin's: say what to change, never edit it.
monsys_warn_old_state_dir() {
    [ -f "$MONSYS_CONFIG" ] || return 0
    if grep -Eq '^[^/]*"state_dir"[[:space:]]*:[[:space:]]*"/var/lib/monsys/eat/?"' "$MONSYS_CONFIG"; then
        cat >&2 <<TEXT
monsys-agent: WARNING: $MONSYS_CONFIG still sets
    "state_dir": "/var/lib/monsys/eat"
  That directory is gone: the replay store now lives in $MONSYS_STATE_DIR, a directory the
  agent's user cannot replace. Remove the "state_dir" line (the default is right), then run
    runuser -u monsys -- monsys-agent check-config
TEXT
    fi
}

# Docker restarts: monsys-action joins the docker group where there is one (root-equivalent,
# see docs/security.md). The agent is not added.
monsys_join_docker() {
    if getent group docker >/dev/null; then
        monsys_add_to_group monsys-action docker
    fi
}

# Prints what is missing and returns 1 when the config is not complete; 0 when complete.
# Returns 2 when it cannot tell (no agent binary, or one without check-config).
monsys_config_complete() {
    if [ ! -x "$MONSYS_AGENT" ]; then
        echo "monsys-agent: $MONSYS_AGENT is not installed; not starting the service."
        return 2
    fi
    if ! "$MONSYS_AGENT" --help 2>/dev/null | grep -q 'check-config'; then
        echo "monsys-agent: this build has no 'check-config'; not starting the service."
        return 2
    fi
    if monsys_have runuser; then
        runuser -u monsys -- "$MONSYS_AGENT" check-config && return 0
    else
        "$MONSYS_AGENT" check-config && return 0
    fi
    return 1
}

monsys_explain_setup() {
    cat <<'TEXT'
monsys-agent is installed and enabled but not started. To finish the setup:
  1. In /etc/monsys/agent.json set agent_id, issuer, hub_url and at least one key in hub_keys.
  2. Put the agent's hub token into /etc/monsys/agent.token (owner monsys, mode 0600).
  3. Check with:  runuser -u monsys -- monsys-agent check-config
  4. Start with:  systemctl start monsys-agent.service
TEXT
}

# Starts (action=start) or restarts (action=restart) the service when the config is complete.
# monsys_service ACTION is defined by each format's script (deb-systemd-invoke or systemctl).
# On upgrade an agent that is already running is restarted even when check-config now finds a
# problem (for example the old state_dir), so the old binary does not keep running; the problem
# was printed above and the admin fixes it.
monsys_start_if_ready() {
    action=$1
    rc=0
    monsys_config_complete || rc=$?
    if [ "$rc" -ne 0 ]; then
        if [ "$rc" -eq 1 ] && [ "$action" = restart ] && monsys_systemd_running &&
            systemctl --quiet is-active "$MONSYS_UNIT" 2>/dev/null; then
            echo "monsys-agent: restarting the running agent on the new version; fix what check-config reports above."
            monsys_service try-restart || true
        elif [ "$rc" -eq 1 ]; then
            monsys_explain_setup
        fi
        return 0
    fi
    if ! monsys_systemd_running; then
        echo "monsys-agent: systemd is not running; the service starts at the next boot."
        return 0
    fi
    monsys_service "$action" || true
}
# ---- end of the shared part ----
