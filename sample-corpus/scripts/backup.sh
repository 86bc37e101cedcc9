#!/bin/sh
# Copy the kvlite write-ahead log to a timestamped backup file.
# Usage: backup.sh [data_dir] [backup_dir]
set -eu

DATA_DIR=${1:-/var/lib/kvlite}
BACKUP_DIR=${2:-/var/backups/kvlite}
KEEP=${KVLITE_BACKUP_KEEP:-7}

WAL="$DATA_DIR/kvlite.wal"
if [ ! -f "$WAL" ]; then
    echo "backup: no WAL at $WAL" >&2
    exit 1
fi

mkdir -p "$BACKUP_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dest="$BACKUP_DIR/kvlite-$stamp.wal"

# FIXME: the server may be appending while we copy; a torn tail is
# tolerated by wal_replay but the backup may miss the last write.
cp "$WAL" "$dest.tmp"
mv "$dest.tmp" "$dest"
gzip -9 "$dest"
echo "backup: wrote $dest.gz"

# Keep only the newest $KEEP backups.
count=0
for f in $(ls -1t "$BACKUP_DIR"/kvlite-*.wal.gz 2>/dev/null); do
    count=$((count + 1))
    if [ "$count" -gt "$KEEP" ]; then
        echo "backup: pruning $f"
        rm -f "$f"
    fi
done
