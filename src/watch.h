/*
 * watch.h - following the tree as it changes: the watcher.
 *
 * One thread in the master.  It watches every folder of the tree with
 * inotify (a watch per folder, added as folders appear; a new folder is
 * walked right after its watch is added, since files can land in it
 * before), and gathers what the events name into a set of paths and
 * folders to look at again.  When the events pause (WATCH_SETTLE_MS), or
 * WATCH_BATCH_MS after the first of them at the latest, it looks: a path
 * is stat()ed and judged as the walk judges (a regular file, not ignored,
 * not too large: walk.h), a folder is walked again; the verdicts go to the
 * file table (ftable.h), which says what changed, and the changes go to
 * the workers that hold the files, in CHANGES batches (msg.h) that each
 * worker applies as one version (store.h).  A burst (a checkout touching
 * thousands of files) is thus read once, in a few batches, while queries
 * go on.
 *
 * Renames are not paired: the old path goes, the new one comes (its own
 * id).  An ignore file that changes makes its folder be walked again, so
 * files come and go as the rules say.
 *
 * When the kernel's event queue overflows (IN_Q_OVERFLOW), events were
 * lost: one warning, and the whole tree is walked again (a rescan), the
 * table giving what changed.  When a watch cannot be added (the
 * max_user_watches limit), one warning, and from then on the tree is
 * rescanned every rescan_ms instead: never silently stale.  SIGHUP and
 * POST /api/reindex ask for a rescan too; the index answers meanwhile,
 * and each change is applied as it is found.
 *
 * A batch is never dropped.  Each shard's batches wait in an outbox and
 * go to the transport in order, without waiting: a worker busy applying a
 * burst (its queue full) gets the rest a few ms later; a dead one gets
 * them once restarted, after the file list it loads (it keeps them until
 * then, worker.h), and loading a change twice is harmless.  The file
 * table says a change is indexed the moment it is seen, so a lost batch
 * would stay lost: no rescan would find it.
 *
 * The workers answer each batch with APPLIED; watch_applied() takes them
 * (from the registry, which receives them), so the stats can say what is
 * pending and how far behind the index is.
 */
#ifndef SHARDGREP_WATCH_H
#define SHARDGREP_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "ftable.h"
#include "transport.h"
#include "walk.h"

#define WATCH_SETTLE_MS 10
#define WATCH_BATCH_MS  50

struct watch_options {
    const char *root; /* the tree's folder */
    uint32_t tree;    /* its index */
    const struct walk_options *walk;
    bool inotify;       /* false: --no-watch; only rescans asked for */
    bool poll;          /* rescan every rescan_ms even with inotify off */
    unsigned rescan_ms; /* the period of rescans when watching fails */
};

struct watcher;

/* Start the thread.  Never NULL: when inotify cannot be had at all, it
 * warns and polls. */
struct watcher *watch_start(const struct watch_options *o, struct ftable *files,
                            const struct transport *t);
/* Stop following the tree: the thread ends, nothing more is sent.  The
 * watcher still takes watch_applied() and watch_shard_back() (the
 * aggregator's thread may deliver an APPLIED until it is stopped); free it
 * after that.  Both accept NULL. */
void watch_stop(struct watcher *w);
void watch_free(struct watcher *w);

/* Walk the whole tree again, soon. */
void watch_rescan(struct watcher *w);
/* A worker applied batch seq (from the registry).  Each tree has its own
 * watcher, and each numbers its batches in its own range:
 * watch_seq_tree() tells whose a batch is. */
void watch_applied(struct watcher *w, unsigned shard, uint64_t seq);
/* shard's worker was restarted and loaded the file table as it is now:
 * every batch sent to its predecessor counts as applied. */
void watch_shard_back(struct watcher *w, unsigned shard);
#define WATCH_SEQ_TREE_SHIFT 48
static inline unsigned watch_seq_tree(uint64_t seq)
{
    return (unsigned)(seq >> WATCH_SEQ_TREE_SHIFT);
}

struct watch_stats {
    const char *state; /* "watching", "rescanning", "polling", "off" */
    unsigned watches;
    uint64_t pending; /* changes sent and not yet applied */
    uint64_t applied; /* changes applied since start-up */
    uint64_t rescans, overflows;
    double lag_ms;       /* how long the oldest pending change has waited (0: none) */
    char last_path[256]; /* the last change applied */
    double last_at;      /* its time (seconds since the epoch; 0: none yet) */
    double last_lag_ms;  /* from its first event to its last shard applying it */
};
void watch_stats(struct watcher *w, struct watch_stats *out);

#endif
