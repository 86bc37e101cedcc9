#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "../../kvstore.h"

int frame_decode(const unsigned char *buf, size_t len, struct kv_frame *f)
{
    if (len < FRAME_HEADER_SIZE)
        return 0; /* need more bytes */

    uint16_t klen;
    uint32_t vlen;
    memcpy(&klen, buf + 2, 2);
    memcpy(&vlen, buf + 4, 4);
    klen = ntohs(klen);
    vlen = ntohl(vlen);

    if (klen > KVSTORE_MAX_KEY || vlen > KVSTORE_MAX_VALUE)
        return -1;
    if (len < FRAME_HEADER_SIZE + (size_t)klen + vlen)
        return 0;

    f->op = buf[0];
    f->status = (int8_t)buf[1];
    f->key_len = klen;
    f->value_len = vlen;
    f->key = malloc(klen + 1);
    f->value = malloc(vlen + 1);
    if (!f->key || !f->value) {
        frame_clear(f);
        return -1;
    }
    memcpy(f->key, buf + FRAME_HEADER_SIZE, klen);
    memcpy(f->value, buf + FRAME_HEADER_SIZE + klen, vlen);
    f->key[klen] = '\0';
    f->value[vlen] = '\0';
    return (int)(FRAME_HEADER_SIZE + klen + vlen);
}

int frame_encode(const struct kv_frame *f, unsigned char *out, size_t cap)
{
    size_t total = FRAME_HEADER_SIZE + f->key_len + f->value_len;
    if (cap < total)
        return -1;
    uint16_t klen = htons(f->key_len);
    uint32_t vlen = htonl(f->value_len);
    out[0] = f->op;
    out[1] = (unsigned char)f->status;
    memcpy(out + 2, &klen, 2);
    memcpy(out + 4, &vlen, 4);
    if (f->key_len)
        memcpy(out + FRAME_HEADER_SIZE, f->key, f->key_len);
    if (f->value_len)
        memcpy(out + FRAME_HEADER_SIZE + f->key_len, f->value, f->value_len);
    return (int)total;
}

int frame_reply_status(struct kv_frame *resp, int status)
{
    memset(resp, 0, sizeof(*resp));
    resp->op = FRAME_OP_REPLY;
    resp->status = (int8_t)status;
    return 0;
}

int frame_reply_value(struct kv_frame *resp, const void *val, size_t len)
{
    frame_reply_status(resp, KV_OK);
    resp->value = malloc(len ? len : 1);
    if (!resp->value)
        return -1;
    memcpy(resp->value, val, len);
    resp->value_len = (uint32_t)len;
    return 0;
}

void frame_clear(struct kv_frame *f)
{
    free(f->key);
    free(f->value);
    f->key = f->value = NULL;
    f->key_len = 0;
    f->value_len = 0;
}
