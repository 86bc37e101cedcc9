/*
 * transport.c - what every transport shares (see transport.h).
 */
#include "transport.h"

unsigned transport_broadcast(const struct transport *t, const struct msg_writer *w,
                             const bool *want, bool *failed, int wait_ms)
{
    unsigned nfailed = 0;
    for (unsigned i = 0; i < t->nshards; i++) {
        if (failed)
            failed[i] = false;
        if (want && !want[i])
            continue;
        if (transport_send(t, i, w, wait_ms) < 0) {
            nfailed++;
            if (failed)
                failed[i] = true;
        }
    }
    return nfailed;
}
