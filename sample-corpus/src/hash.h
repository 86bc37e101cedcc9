#ifndef KV_HASH_H
#define KV_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t fnv1a_64(const void *data, size_t len);
uint32_t murmur_mix32(uint32_t h);

/* Map a key onto one of nbuckets slots. nbuckets must be a power of two. */
size_t hash_bucket(const char *key, size_t key_len, size_t nbuckets);

/* Rehash every entry of kv into a table with new_nbuckets slots. */
struct kv_store;
int hash_resize(struct kv_store *kv, size_t new_nbuckets);

#endif
