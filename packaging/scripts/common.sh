# ---- shared by the deb and rpm maintainer scripts (spliced in by packaging/CMakeLists.txt) ----
# POSIX sh. Every function is idempotent and works without systemd as PID 1.
MONSYS_UNIT=monsys-agent.service
MONSYS_ACTION_SOCKET=monsys-action.socket
MONSYS_CONFIG=/etc/monsys/agent.json
MONSYS_TOKEN=/etc/monsys/agent.token
MONSYS_AGENT=/usr/bin/monsys-agent

monsys_have() { command -v "$1" >/dev/null 2>&1; }
monsys_systemd_running() { [ -d /run/systemd/system ]; }

# Users monsys (the agent) and monsys-action (the wrapper), both in group monsys.
# sysusers.d is the source of truth; useradd/adduser is the fallback for hosts without it.
monsys_create_users() {
    if monsys_have systemd-sysusers; then
        systemd-sysusers monsys-agent.conf
        return
    fi
    if ! getent group monsys >/dev/null; then
        groupadd --system monsys
    fi
    if ! getent passwd monsys >/dev/null; then
        useradd --system --gid monsys --home-dir /var/lib/monsys --no-create-home \
            --shell /usr/sbin/nologin --comment "monsys agent" monsys
    fi
    if ! getent passwd monsys-action >/dev/null; then
        useradd --system --user-group --home-dir /var/lib/monsys/eat --no-create-home \
            --shell /usr/sbin/nologin --comment "monsys restart wrapper" monsys-action
    fi
    monsys_add_to_group monsys-action monsys
}

monsys_add_to_group() {
    # $1 user, $2 group (existing). usermod -a keeps the other supplementary groups.
    if ! id -nG "$1" | tr ' ' '\n' | grep -qx "$2"; then
        usermod -a -G "$2" "$1"
    fi
}

# Directories and modes. /var/lib/monsys belongs to the agent; the replay store lives in
# /var/lib/monsys/eat, writable by monsys-action only and readable by group monsys.
monsys_create_layout() {
    if monsys_have systemd-tmpfiles; then
        systemd-tmpfiles --create monsys-agent.conf
    else
        mkdir -p /var/lib/monsys/eat
        chown monsys:monsys /var/lib/monsys
        chmod 0750 /var/lib/monsys
        chown monsys-action:monsys /var/lib/monsys/eat
        chmod 2750 /var/lib/monsys/eat
        mkdir -p /var/lib/monsys/hub
        chown monsys:monsys /var/lib/monsys/hub
        chmod 0700 /var/lib/monsys/hub
    fi
    # The hub token: readable by the agent alone. Never overwritten once it exists.
    if [ ! -e "$MONSYS_TOKEN" ]; then
        ( umask 077 && : > "$MONSYS_TOKEN" )
    fi
    chown monsys:monsys "$MONSYS_TOKEN"
    chmod 0600 "$MONSYS_TOKEN"
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
monsys_start_if_ready() {
    action=$1
    rc=0
    monsys_config_complete || rc=$?
    if [ "$rc" -ne 0 ]; then
        [ "$rc" -eq 1 ] && monsys_explain_setup
        return 0
    fi
    if ! monsys_systemd_running; then
        echo "monsys-agent: systemd is not running; the service starts at the next boot."
        return 0
    fi
    monsys_service "$action" || true
}
# ---- end of the shared part ----
