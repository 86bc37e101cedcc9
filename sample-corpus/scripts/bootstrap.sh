#!/bin/sh
# Prepare a fresh machine to run kvlite: create the service user, the data
# directory and a default configuration file.
set -eu

KVLITE_USER=${KVLITE_USER:-kvlite}
KVLITE_HOME=${KVLITE_HOME:-/var/lib/kvlite}
KVLITE_CONF=${KVLITE_CONF:-/etc/kvlite/kvlite.ini}

log() { printf '[bootstrap] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
    log "must be run as root"
    exit 1
fi

if ! id "$KVLITE_USER" >/dev/null 2>&1; then
    log "creating user $KVLITE_USER"
    useradd --system --home-dir "$KVLITE_HOME" --shell /usr/sbin/nologin "$KVLITE_USER"
fi

mkdir -p "$KVLITE_HOME" "$(dirname "$KVLITE_CONF")"
chown "$KVLITE_USER": "$KVLITE_HOME"
chmod 0750 "$KVLITE_HOME"

if [ ! -f "$KVLITE_CONF" ]; then
    log "writing default config to $KVLITE_CONF"
    cat > "$KVLITE_CONF" <<CONF
[server]
bind = 127.0.0.1
port = 7379
data_dir = $KVLITE_HOME
fsync = yes
max_clients = 128
compaction_threshold_mb = 64
CONF
fi

if [ -d /etc/systemd/system ]; then
    log "installing systemd unit"
    cat > /etc/systemd/system/kvlite.service <<UNIT
[Unit]
Description=kvlite key-value store
After=network.target

[Service]
User=$KVLITE_USER
ExecStart=/usr/local/bin/kvlite -c $KVLITE_CONF
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
    systemctl daemon-reload
fi

# TODO: open the firewall port only when bind is not 127.0.0.1
log "done"
