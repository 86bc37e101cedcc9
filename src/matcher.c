/*
 * matcher.c - PCRE2 compilation and matching (see matcher.h).
 *
 * A case-sensitive literal skips PCRE2 entirely and uses memmem(), the
 * fastest search glibc has.  Everything else goes through PCRE2 with JIT
 * when the platform has it; the interpreter is the fallback.  Match, depth
 * and heap limits bound what a hostile pattern can cost per call.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "matcher.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "utf8.h"
#include "util.h"

#define MATCH_LIMIT    10000000u
#define DEPTH_LIMIT    100000u
#define HEAP_LIMIT_KIB (64u * 1024u)

struct matcher {
    pcre2_code *code;
    pcre2_match_data *md;
    pcre2_match_context *mctx;
    bool jit;
    bool line_mode;
    bool lookahead; /* looks ahead: a match may depend on what follows the line */
    char *literal;  /* set for a case-sensitive literal: memmem() path */
    size_t literal_len;
};

/*
 * When can the buffer scan miss a line that matches on its own?  In the
 * buffer a line is followed by '\n' where, alone, it is followed by the
 * end of the subject.  Greedy and lazy items that step over the '\n' can
 * always backtrack, and ^, $ (multiline), \b and positive lookahead judge
 * a '\n' and the end alike, so the buffer finds every such match (maybe
 * as part of a longer one that the line check then settles).  What cannot
 * give the '\n' back, or judges it differently, can miss: negative
 * lookahead (?!\s), atomic groups, possessive quantifiers (\s*+$),
 * conditionals, \A \z \Z \G and ^ $ outside multiline mode ((?-m)),
 * lookbehind, and (*VERB)s and start-of-pattern settings.  Such patterns
 * run line by line.  The pattern reader (pattern.h) says which of these a
 * pattern holds, so text inside a class or an escape ("[(*]", "\++")
 * raises no alarm; what it does not understand runs line by line too.
 */
#define LINE_MODE_FEATURES                                                                         \
    (PAT_F_NEG_LOOKAHEAD | PAT_F_LOOKBEHIND | PAT_F_ATOMIC | PAT_F_POSSESSIVE | PAT_F_CONDITION |  \
     PAT_F_SUBJECT_ANCHOR | PAT_F_VERB | PAT_F_SETTING | PAT_F_UNKNOWN)

static int compile(struct matcher *m, const char *pattern, size_t len, bool literal, bool caseless,
                   char *err, size_t errlen, long *erroff)
{
    /* PCRE2_LITERAL refuses most other options; a literal needs none. */
    uint32_t opts = PCRE2_UTF;
    if (literal)
        opts |= PCRE2_LITERAL;
    else
        opts |= PCRE2_MULTILINE | PCRE2_NEVER_BACKSLASH_C;
    if (caseless)
        opts |= PCRE2_CASELESS;
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
    int code;
    PCRE2_SIZE off;
    m->code = pcre2_compile((PCRE2_SPTR)pattern, len, opts, &code, &off, cctx);
    pcre2_compile_context_free(cctx);
    if (!m->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        set_err(err, errlen, "%s at offset %zu", (const char *)msg, (size_t)off);
        if (erroff)
            *erroff = (long)off;
        return SG_ERR;
    }
    return SG_OK;
}

/* The JIT stack (up to 4 MiB, for deep patterns): one a thread, kept
 * until the thread ends.  A thread runs one match at a time, and a
 * matcher is used by the thread that made it (matcher.h).  One a matcher
 * mapped and unmapped 4 MiB, and faulted its pages in, for every query. */
static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;

static void stack_free(void *st)
{
    pcre2_jit_stack_free(st);
}

static void stack_key_make(void)
{
    if (pthread_key_create(&stack_key, stack_free) != 0)
        die("pthread_key_create failed");
}

/* NULL when it cannot be had: PCRE2 then uses 32 KiB of the machine
 * stack, and a deeper pattern stops at the limit (MATCHER_LIMIT). */
static pcre2_jit_stack *thread_stack(void)
{
    (void)pthread_once(&stack_once, stack_key_make);
    pcre2_jit_stack *st = pthread_getspecific(stack_key);
    if (!st) {
        st = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, NULL);
        if (st && pthread_setspecific(stack_key, st) != 0) {
            pcre2_jit_stack_free(st);
            st = NULL;
        }
    }
    return st;
}

/* What matching needs: the JIT code, its stack, match data and limits. */
static void prepare(struct matcher *m)
{
    /* JIT compiling "succeeds" without doing anything for a pattern that
     * starts with (*NO_JIT): only JIT code that exists may be run. */
    size_t jit_size = 0;
    m->jit = pcre2_jit_compile(m->code, PCRE2_JIT_COMPLETE) == 0 &&
             pcre2_pattern_info(m->code, PCRE2_INFO_JITSIZE, &jit_size) == 0 && jit_size > 0;
    m->md = pcre2_match_data_create_from_pattern(m->code, NULL);
    m->mctx = pcre2_match_context_create(NULL);
    pcre2_set_match_limit(m->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(m->mctx, DEPTH_LIMIT);
    pcre2_set_heap_limit(m->mctx, HEAP_LIMIT_KIB);
    if (m->jit)
        pcre2_jit_stack_assign(m->mctx, NULL, thread_stack());
}

/* The pattern as the matcher takes it: valid UTF-8 without NUL, and
 * accepted by PCRE2 (its code in m->code). */
static int take_pattern(struct matcher *m, const char *pattern, size_t len, bool literal,
                        bool caseless, char *err, size_t errlen, long *erroff)
{
    if (erroff)
        *erroff = -1;
    size_t bad;
    if (!utf8_valid(pattern, len, &bad)) {
        /* The HTTP layer turns %00 into C0 80 (http.c). */
        bool nul = bad + 1 < len && (unsigned char)pattern[bad] == 0xC0 &&
                   (unsigned char)pattern[bad + 1] == 0x80;
        set_err(err, errlen,
                nul ? "the pattern holds a NUL byte (no indexed line does)"
                    : "the pattern is not valid UTF-8");
        if (erroff)
            *erroff = (long)bad;
        return SG_ERR;
    }
    /* Compile even the memmem() case: it validates and keeps one code path
     * for the rare callers that need PCRE2 (none today). */
    return compile(m, pattern, len, literal, caseless, err, errlen, erroff);
}

int matcher_check(const char *pattern, size_t len, bool literal, bool caseless, char *err,
                  size_t errlen, long *erroff)
{
    struct matcher m = {0};
    int rc = take_pattern(&m, pattern, len, literal, caseless, err, errlen, erroff);
    pcre2_code_free(m.code);
    return rc;
}

struct matcher *matcher_new(const char *pattern, size_t len, bool literal, bool caseless, char *err,
                            size_t errlen, long *erroff)
{
    struct matcher *m = xcalloc(1, sizeof *m);
    if (take_pattern(m, pattern, len, literal, caseless, err, errlen, erroff) < 0) {
        free(m);
        return NULL;
    }
    prepare(m);
    if (literal && !caseless) {
        m->literal = xstrndup(pattern, len);
        m->literal_len = len;
    }
    unsigned f = literal ? 0
                         : pattern_features(pattern, len, false,
                                            PAT_OPT_MULTILINE | (caseless ? PAT_OPT_CASELESS : 0));
    m->line_mode = (f & LINE_MODE_FEATURES) != 0;
    m->lookahead = (f & (PAT_F_LOOKAHEAD | PAT_F_UNKNOWN)) != 0;
    return m;
}

void matcher_free(struct matcher *m)
{
    if (!m)
        return;
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->mctx);
    pcre2_code_free(m->code);
    free(m->literal);
    free(m);
}

bool matcher_line_mode(const struct matcher *m)
{
    return m->line_mode;
}

static int run(struct matcher *m, const char *s, size_t n, size_t start)
{
    if (m->jit)
        return pcre2_jit_match(m->code, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK, m->md,
                               m->mctx);
    return pcre2_match(m->code, (PCRE2_SPTR)s, n, start, PCRE2_NO_UTF_CHECK, m->md, m->mctx);
}

bool matcher_local(const struct matcher *m)
{
    return !m->lookahead;
}

int matcher_find(struct matcher *m, const char *s, size_t n, size_t start, size_t *at, size_t *end)
{
    if (start > n)
        return 0;
    if (m->literal) {
        const char *p = memmem(s + start, n - start, m->literal, m->literal_len);
        if (!p)
            return 0;
        *at = (size_t)(p - s);
        *end = *at + m->literal_len;
        return 1;
    }
    int rc = run(m, s, n, start);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0)
        return MATCHER_LIMIT;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
    /* With \K in a lookahead the start can lie after the end. */
    *at = ov[0] < ov[1] ? ov[0] : ov[1];
    *end = ov[1];
    return 1;
}

int matcher_test(struct matcher *m, const char *s, size_t n)
{
    if (m->literal)
        return memmem(s, n, m->literal, m->literal_len) != NULL || m->literal_len == 0;
    int rc = run(m, s, n, 0);
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    return rc < 0 ? MATCHER_LIMIT : 1;
}

static int literal_line(struct matcher *m, const char *s, size_t n, struct mrange *out, int cap,
                        bool *matched)
{
    int k = 0;
    size_t pos = 0;
    if (m->literal_len == 0) {
        *matched = true; /* the empty string is everywhere */
        return 0;
    }
    while (pos <= n) {
        const char *p = memmem(s + pos, n - pos, m->literal, m->literal_len);
        if (!p)
            break;
        *matched = true;
        size_t st = (size_t)(p - s);
        if (k < cap)
            out[k++] = (struct mrange){(uint32_t)st, (uint32_t)(st + m->literal_len)};
        pos = st + m->literal_len;
    }
    return k;
}

int matcher_line(struct matcher *m, const char *s, size_t n, struct mrange *out, int cap,
                 bool *matched)
{
    *matched = false;
    if (m->literal)
        return literal_line(m, s, n, out, cap, matched);
    int k = 0;
    size_t pos = 0;
    while (pos <= n && k < cap) {
        int rc = run(m, s, n, pos);
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc < 0)
            return *matched ? k : MATCHER_LIMIT;
        *matched = true;
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
        size_t st = ov[0] < ov[1] ? ov[0] : ov[1], en = ov[1];
        if (en > st) {
            out[k++] = (struct mrange){(uint32_t)st, (uint32_t)en};
            pos = en;
        } else {
            /* An empty match: step over one character to make progress. */
            if (st >= n)
                break;
            size_t step = utf8_seq_len((const unsigned char *)s + st, n - st);
            pos = st + (step ? step : 1);
        }
    }
    return k;
}
