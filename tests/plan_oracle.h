/*
 * plan_oracle.h - what a query plan (qplan.h) says about one line, read
 * straight from the line's bytes: the oracle of the soundness checks in
 * tests/check_qplan.c and fuzz/fuzz_qplan.c (a plan must hold on every
 * line the pattern matches).  Header-only: the two are separate programs.
 */
#ifndef SHARDGREP_PLAN_ORACLE_H
#define SHARDGREP_PLAN_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qplan.h"

/* Whether s[0..n) holds the folded trigram (none holding '\n'). */
static inline bool oracle_has_tri(const char *s, size_t n, uint32_t tri)
{
    for (size_t i = 0; i + 3 <= n; i++) {
        uint32_t t = (uint32_t)qplan_fold((unsigned char)s[i]) << 16 |
                     (uint32_t)qplan_fold((unsigned char)s[i + 1]) << 8 |
                     qplan_fold((unsigned char)s[i + 2]);
        if (s[i] != '\n' && s[i + 1] != '\n' && s[i + 2] != '\n' && t == tri)
            return true;
    }
    return false;
}

/* Whether s[0..n) holds the shape key (six bytes of its classes, none
 * '\n'; the class table is checked byte by byte in check_qplan.c). */
static inline bool oracle_has_shape(const char *s, size_t n, uint32_t key)
{
    for (size_t i = 0; i + QPLAN_SHAPE_LEN <= n; i++)
        if (qplan_shape_key((const unsigned char *)s + i) == key)
            return true;
    return false;
}

/* A key of either kind. */
static inline bool oracle_has_key(const char *s, size_t n, uint32_t key)
{
    return key & QPLAN_SHAPE_BIT ? oracle_has_shape(s, n, key) : oracle_has_tri(s, n, key);
}

/* The plan's boolean query over the keys s[0..n) holds. */
static inline bool oracle_plan_holds(const struct qnode *q, const char *s, size_t n)
{
    switch (q->kind) {
    case QN_ALL:
        return true;
    case QN_KEY:
        return oracle_has_key(s, n, q->key);
    case QN_AND:
        for (size_t i = 0; i < q->nkids; i++)
            if (!oracle_plan_holds(q->kids[i], s, n))
                return false;
        return true;
    case QN_OR:
        for (size_t i = 0; i < q->nkids; i++)
            if (oracle_plan_holds(q->kids[i], s, n))
                return true;
        return false;
    }
    return false;
}

#endif
