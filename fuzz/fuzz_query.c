/*
 * fuzz_query.c - libFuzzer target for the parsing of a search's fields
 * (query.c): the JSON body of POST /api/queries, and the GET parameters.
 *
 * Input: the whole input is first given to query_spec_from_json() as a
 * body.  Then it is cut at '\n' into up to 16 parameters for
 * query_spec_from_args(): each piece's first byte picks a name (one of the
 * real ones, or a stray one) and the rest, up to a NUL as MHD would cut
 * it, is the value.  Whatever is accepted must be within the documented
 * limits (doc/api.md); an error must be a 4xx with a code and a message.
 * A violation calls abort(), so the fuzzer reports it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

#define TIMEOUT_DEFAULT 10000u
#define MAX_PARAMS      16

static void require(bool cond, const char *what)
{
    if (!cond) {
        fprintf(stderr, "fuzz_query: property violated: %s\n", what);
        abort();
    }
}

static void check_error(const struct api_error *e)
{
    require(e->status >= 400 && e->status < 500, "an error is a 4xx");
    require(e->code[0] != '\0', "an error has a code");
    require(e->message[0] != '\0', "an error has a message");
    require(memchr(e->code, '\0', sizeof e->code) != NULL, "code is terminated");
    require(memchr(e->message, '\0', sizeof e->message) != NULL, "message is terminated");
}

static void check_spec(const struct query_spec *s)
{
    require(s->q && *s->q, "q is present and not empty");
    require(strlen(s->q) <= QUERY_Q_MAX, "q is at most QUERY_Q_MAX bytes");
    require(s->path && strlen(s->path) <= QUERY_GLOBS_MAX, "path is bounded");
    require(s->exclude && strlen(s->exclude) <= QUERY_GLOBS_MAX, "exclude is bounded");
    require(s->max <= QUERY_MAX_LIMIT, "max within 0..100000");
    require(s->context <= QUERY_CONTEXT_MAX, "context within 0..10");
    require(s->timeout_ms >= 1 && s->timeout_ms <= TIMEOUT_DEFAULT,
            "timeout_ms within 1..server's");
    require(s->cmode == CASE_AUTO || s->cmode == CASE_YES || s->cmode == CASE_NO, "case mode");
    (void)query_caseless(s);
    require(query_case_name(s->cmode) != NULL, "case name");
    struct query_spec copy;
    query_spec_copy(&copy, s);
    require(!strcmp(copy.q, s->q) && !strcmp(copy.path, s->path) &&
                !strcmp(copy.exclude, s->exclude),
            "a copy holds the same strings");
    query_spec_free(&copy);
}

struct params {
    const char *key[MAX_PARAMS];
    char *value[MAX_PARAMS];
    size_t n;
};

static const char *const names[] = {"q",   "literal", "case",       "path",  "exclude",
                                    "max", "context", "timeout_ms", "stray", ""};

static const char *lookup(void *ctx, const char *key)
{
    const struct params *p = ctx;
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->key[i], key))
            return p->value[i]; /* the first one, as MHD returns */
    return NULL;
}

static void split_params(const uint8_t *data, size_t size, struct params *p)
{
    size_t pos = 0;
    p->n = 0;
    while (pos < size && p->n < MAX_PARAMS) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - data) : size;
        if (end > pos) {
            p->key[p->n] = names[data[pos] % (sizeof names / sizeof names[0])];
            size_t vlen = end - pos - 1;
            const uint8_t *nul = memchr(data + pos + 1, '\0', vlen);
            if (nul)
                vlen = (size_t)(nul - (data + pos + 1));
            char *v = malloc(vlen + 1);
            memcpy(v, data + pos + 1, vlen);
            v[vlen] = '\0';
            p->value[p->n++] = v;
        }
        pos = end + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct query_spec s;
    struct api_error e;

    /* The body arrives as MHD hands it over: NUL-terminated bytes. */
    char *body = malloc(size + 1);
    memcpy(body, data, size);
    body[size] = '\0';
    if (query_spec_from_json(&s, body, size, TIMEOUT_DEFAULT, &e) == 0) {
        check_spec(&s);
        query_spec_free(&s);
    } else {
        check_error(&e);
        require(!s.q && !s.path && !s.exclude, "nothing is left allocated after an error");
    }
    free(body);

    struct params p;
    split_params(data, size, &p);
    if (query_spec_from_args(&s, lookup, &p, TIMEOUT_DEFAULT, &e) == 0) {
        check_spec(&s);
        require(!strcmp(s.q, lookup(&p, "q")), "q is the parameter as given");
        query_spec_free(&s);
    } else {
        check_error(&e);
    }
    /* The paging parameters use the same number parser. */
    for (size_t i = 0; i < p.n; i++) {
        uint32_t v = 7;
        if (query_parse_uint(p.value[i], "offset", 0, QUERY_MAX_LIMIT, &v, &e) == 0)
            require(v <= QUERY_MAX_LIMIT, "a parsed number is within its range");
        else
            check_error(&e);
        free(p.value[i]);
    }
    return 0;
}
