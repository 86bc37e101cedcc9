#ifndef KV_FRAME_H
#define KV_FRAME_H

#include <stddef.h>
#include <stdint.h>

/*
 * Wire format (big endian):
 *   u8  op
 *   u8  status
 *   u16 key_len
 *   u32 value_len
 *   key bytes, value bytes
 */
#define FRAME_HEADER_SIZE 8

enum frame_op {
    FRAME_OP_PING = 0x00,
    FRAME_OP_GET  = 0x01,
    FRAME_OP_PUT  = 0x02,
    FRAME_OP_DEL  = 0x03,
    FRAME_OP_REPLY = 0x80,
};

struct kv_frame {
    uint8_t  op;
    int8_t   status;
    uint16_t key_len;
    uint32_t value_len;
    char    *key;
    char    *value;
};

int  frame_decode(const unsigned char *buf, size_t len, struct kv_frame *f);
int  frame_encode(const struct kv_frame *f, unsigned char *out, size_t cap);
int  frame_reply_status(struct kv_frame *resp, int status);
int  frame_reply_value(struct kv_frame *resp, const void *val, size_t len);
void frame_clear(struct kv_frame *f);

#endif
