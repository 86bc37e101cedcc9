#include "aggregator.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "msg.h"
#include "util.h"

struct aggregator {
    struct queue *q;
    struct registry *r;
    pthread_t thread;
    atomic_bool stop;
};

static void *run(void *arg)
{
    struct aggregator *a = arg;
    uint8_t *buf = xmalloc(MSG_MAX);
    double last_tick = now_ms();
    while (!atomic_load(&a->stop)) {
        ssize_t n = queue_recv(a->q, buf, MSG_MAX, AGGREGATOR_TICK_MS);
        if (n > 0)
            registry_deliver(a->r, buf, (size_t)n);
        if (now_ms() - last_tick >= AGGREGATOR_TICK_MS) {
            registry_tick(a->r);
            last_tick = now_ms();
        }
    }
    free(buf);
    return NULL;
}

struct aggregator *aggregator_start(struct queue *q, struct registry *r)
{
    struct aggregator *a = xcalloc(1, sizeof *a);
    a->q = q;
    a->r = r;
    atomic_init(&a->stop, false);
    if (pthread_create(&a->thread, NULL, run, a) != 0)
        die("cannot start the aggregator thread");
    return a;
}

void aggregator_stop(struct aggregator *a)
{
    if (!a)
        return;
    atomic_store(&a->stop, true);
    pthread_join(a->thread, NULL);
    free(a);
}
