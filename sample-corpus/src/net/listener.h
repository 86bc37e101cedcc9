#ifndef KV_LISTENER_H
#define KV_LISTENER_H

struct kv_listener;
struct kv_frame;

typedef int (*listener_handler_fn)(void *ctx, const struct kv_frame *req,
                                   struct kv_frame *resp);

struct kv_listener *listener_start(const char *addr, int port);
int  listener_poll(struct kv_listener *l, int timeout_ms,
                   listener_handler_fn fn, void *ctx);
void listener_stop(struct kv_listener *l);

#endif
