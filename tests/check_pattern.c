/*
 * check_pattern.c - unit tests for src/pattern.c, the one reader of PCRE2
 * pattern syntax: the tokens of a pattern (compared as a compact text,
 * see describe()), each token's bytes, depth and class membership, the
 * characters' code points, and pattern_features().
 *
 * Token text: a character is its form and code point in hex (p plain,
 * q quoted, n named, d coded: "p41" is a plain A, "d1c" is \c\); "any";
 * "[" "[^" "]" and "-" for a class and a range; assertions by name ("^"
 * "$" "\b" "\B" "\A" "\z" "\Z" "\G" "\K" "<w" ">w"); "ref", "call",
 * "callout", "verb", "set", "opt"; a group's opening by kind ("(c1" a
 * capture numbered 1, "(:" "(|" "(>" "(=" "(!" "(*=" "(<=" "(<!" "(<*"
 * "(?" "(sr" "(asr"); ")" and "|"; a quantifier as "{min,max}" (max left
 * out when unlimited) with "?" (lazy) or "+" (possessive); "?syntax" and
 * "?version" for PAT_UNKNOWN.  Table-driven tests collect every wrong
 * row before failing.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "check_suites.h"
#include "pattern.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define ML        PAT_OPT_MULTILINE

static void add(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

static const char *group_name(enum pattern_group g)
{
    static const char *const names[] = {
        "(c", "(:", "(|", "(>", "(=", "(!", "(*=", "(<=", "(<!", "(<*", "(?", "(sr", "(asr"};
    return names[g];
}

static void describe_token(const struct pattern_token *t, char *buf, size_t cap)
{
    static const char forms[] = "pqnd";
    static const char *const asserts[] = {"^",   "$",   "\\b", "\\B", "\\A", "\\z",
                                          "\\Z", "\\G", "\\K", "<w",  ">w"};
    static const char *const plain[] = {
        [PAT_ANY] = "any",     [PAT_CLASS_CLOSE] = "]", [PAT_RANGE] = "-",
        [PAT_BACKREF] = "ref", [PAT_CALL] = "call",     [PAT_CALLOUT] = "callout",
        [PAT_VERB] = "verb",   [PAT_SETTING] = "set",   [PAT_OPTIONS] = "opt",
        [PAT_CLOSE] = ")",     [PAT_ALT] = "|"};
    switch (t->kind) {
    case PAT_CHAR:
        add(buf, cap, "%c%x", forms[t->form], t->cp);
        break;
    case PAT_CLASS_OPEN:
        add(buf, cap, "%s", t->negated ? "[^" : "[");
        break;
    case PAT_ASSERT:
        add(buf, cap, "%s", asserts[t->assert]);
        break;
    case PAT_OPEN:
        add(buf, cap, "%s", group_name(t->group));
        if (t->group == PG_CAPTURE)
            add(buf, cap, "%u", t->number);
        break;
    case PAT_QUANT:
        add(buf, cap, "{%u,", t->min);
        if (t->max != PAT_UNLIMITED)
            add(buf, cap, "%u", t->max);
        add(buf, cap, "}%s", t->lazy ? "?" : t->possessive ? "+" : "");
        break;
    case PAT_UNKNOWN:
        add(buf, cap, "%s", t->why == PAT_WHY_SYNTAX ? "?syntax" : "?version");
        break;
    default:
        add(buf, cap, "%s", plain[t->kind]);
        break;
    }
}

/* The tokens of a pattern as text (see the top of the file). */
static void describe(const char *p, bool literal, unsigned opts, char *buf, size_t cap)
{
    struct pattern_reader r;
    struct pattern_token t;
    buf[0] = '\0';
    pattern_open(&r, p, strlen(p), literal, opts);
    while (pattern_next(&r, &t)) {
        if (buf[0])
            add(buf, cap, " ");
        describe_token(&t, buf, cap);
    }
}

struct token_case {
    const char *pattern;
    const char *want;
};

/* Read every row (multiline, not literal) and compare. */
static void check_tokens(const char *what, const struct token_case *c, size_t n)
{
    static char failures[8192];
    unsigned bad = 0;
    failures[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char got[2048];
        describe(c[i].pattern, false, ML, got, sizeof got);
        if (strcmp(got, c[i].want) != 0) {
            bad++;
            add(failures, sizeof failures, "\n  /%s/ -> \"%s\", want \"%s\"", c[i].pattern, got,
                c[i].want);
        }
    }
    ck_assert_msg(bad == 0, "pattern_next, %s: %u of %zu wrong:%s", what, bad, n, failures);
}

/* ------------------------------------------------------------------ */
/* pattern_next                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_next_plain)
{
    static const struct token_case c[] = {
        {"", ""},
        {"ab", "p61 p62"},
        {"caf\xc3\xa9", "p63 p61 p66 pe9"},
        {"\xe2\x82\xac!", "p20ac p21"},
        {"a.b", "p61 any p62"},
        {"^a|b$", "^ p61 | p62 $"},
        {"}]", "p7d p5d"},
        {"\xc3", "p2000c3"}, /* invalid UTF-8: one raw byte */
    };
    check_tokens("plain text", c, NCASES(c));
}
END_TEST

START_TEST(test_next_escapes)
{
    static const struct token_case c[] = {
        /* escaped non-alphanumerics are the characters */
        {"\\.\\(\\\\\\_\\#", "q2e q28 q5c q5f q23"},
        {"\\\xc3\x89", "qc9"},
        /* named characters */
        {"\\t\\n\\r\\f\\e\\a", "n9 na nd nc n1b n7"},
        /* by number */
        {"\\x41\\x4g\\x\\x{263a}\\x{0041}", "d41 d4 p67 d0 d263a d41"},
        {"\\o{101}\\o{0}\\N{U+41}\\N{U+1F600}", "d41 d0 d41 d1f600"},
        {"\\0\\012\\0123\\07777", "d0 da da p33 d3f p37 p37"},
        /* \cX: any printable X, letters upper-cased, then 0x40 flipped */
        {"\\cA\\ca\\c[\\c\\\\c)\\c]\\c ", "d1 d1 d1b d1c d69 d1d d60"},
        /* classes of characters, assertions */
        {"\\d\\D\\s\\S\\w\\W\\h\\H\\v\\V\\R\\X\\N\\C", "any any any any any any any any any any "
                                                       "any any any any"},
        {"\\pL\\PL\\p{Lu}\\p{^Lu}\\P{Greek}\\p{ L u }", "any any any any any any"},
        {"\\b\\B\\A\\z\\Z\\G\\K", "\\b \\B \\A \\z \\Z \\G \\K"},
        /* \N{n} is \N repeated */
        {"\\N{2}\\N{2,}", "any {2,2} any {2,}"},
    };
    check_tokens("escapes", c, NCASES(c));
}
END_TEST

START_TEST(test_next_references)
{
    static const struct token_case c[] = {
        /* \1-\9 are references; \10 and up only with that many groups
         * before them, else octal (up to three digits) */
        {"(a)\\1\\9\\10\\18", "(c1 p61 ) ref ref d8 d1 p38"},
        {"(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)\\10\\11",
         "(c1 p61 ) (c2 p62 ) (c3 p63 ) (c4 p64 ) (c5 p65 ) (c6 p66 ) (c7 p67 ) (c8 p68 ) "
         "(c9 p69 ) (c10 p6a ) ref d9"},
        {"\\81\\8", "ref ref"},
        /* (?| numbers each branch afresh */
        {"(?|(a)|(b)(c))(d)", "(| (c1 p61 ) | (c1 p62 ) (c2 p63 ) ) (c3 p64 )"},
        {"(?n)(a)(?<x>b)", "opt (: p61 ) (c1 p62 )"},
        {"\\g1\\g-1\\g+1\\g{1}\\g{-1}\\g{name}", "ref ref ref ref ref ref"},
        {"\\k<n>\\k'n'\\k{n}(?P=n)", "ref ref ref ref"},
        {"\\g<1>\\g'-1'\\g<name>\\g'name'", "call call call call"},
        {"(?R)(?0)(?1)(?-1)(?+1)(?&n)(?P>n)", "call call call call call call call"},
    };
    check_tokens("references", c, NCASES(c));
}
END_TEST

START_TEST(test_next_quoting)
{
    static const struct token_case c[] = {
        {"\\Qa.b\\E", "q61 q2e q62"},
        {"\\Q(*)[\\E]", "q28 q2a q29 q5b p5d"},
        {"\\Qa|b", "q61 q7c q62"}, /* to the end */
        {"\\Q\\Eab", "p61 p62"},
        {"a\\Eb", "p61 p62"}, /* a lone \E is nothing */
        {"\\Q\\\\E", "q5c"},  /* \Q\\E: a backslash, then \E */
        {"\\Qab\\E+", "q61 q62 {1,}"},
        {"a\\Q\\E+", "p61 {1,}"}, /* \Q\E between an item and its quantifier */
        {"[\\Q]\\E]", "[ q5d ]"},
        {"[\\Q^\\E]", "[ q5e ]"},
        {"(?=\\Q)\\E)", "(= q29 )"},
    };
    check_tokens("\\Q...\\E", c, NCASES(c));
}
END_TEST

START_TEST(test_next_classes)
{
    static const struct token_case c[] = {
        {"[ab]", "[ p61 p62 ]"},
        {"[^ab]", "[^ p61 p62 ]"},
        {"[]a]", "[ p5d p61 ]"}, /* a ']' first is a member */
        {"[^]a]", "[^ p5d p61 ]"},
        {"[\\E]a]", "[ p5d p61 ]"}, /* also after \E or \Q\E */
        {"[\\Q\\E^]]", "[^ p5d ]"},
        {"[a-z]", "[ p61 - p7a ]"},
        {"[a-]", "[ p61 p2d ]"},
        {"[-a]", "[ p2d p61 ]"},
        {"[a-\\Q\\E]", "[ p61 p2d ]"},
        {"[--a]", "[ p2d - p61 ]"},
        {"[a-z-0]", "[ p61 - p7a p2d p30 ]"},
        {"[\\x41-\\x{5a}]", "[ d41 - d5a ]"},
        {"[[:alpha:][:^digit:]x]", "[ any any p78 ]"},
        {"[[:a]|]", "[ p5b p3a p61 ] | p5d"}, /* "[:" without ":]" is text */
        {"[\\d\\pL\\h]", "[ any any any ]"},
        {"[\\b\\g\\8\\9\\12\\1]", "[ n8 q67 q38 q39 da d1 ]"},
        {"[(*)|.?]", "[ p28 p2a p29 p7c p2e p3f ]"},
        {"[\\c]x]", "[ d1d p78 ]"},
        {"[\\c\\]x]", "[ d1c ] p78 p5d"}, /* \c\ escapes nothing */
        {"[[:<:]]a[[:>:]]", "<w p61 >w"},
        {"[#a b]", "[ p23 p61 p20 p62 ]"},
        {"(?x)[ a#]", "opt [ p20 p61 p23 ]"}, /* x keeps spaces and # in a class */
        {"(?xx)[ a b ]", "opt [ p61 p62 ]"},  /* xx drops spaces and tabs */
        {"(?xx)[ ^a]", "opt [^ p61 ]"},
    };
    check_tokens("classes", c, NCASES(c));
}
END_TEST

START_TEST(test_next_groups)
{
    static const struct token_case c[] = {
        {"(a)(?:b)(?<n>c)(?'m'd)(?P<o>e)", "(c1 p61 ) (: p62 ) (c2 p63 ) (c3 p64 ) (c4 p65 )"},
        {"(?|a)(?>b)(?=c)(?!d)(?*e)", "(| p61 ) (> p62 ) (= p63 ) (! p64 ) (*= p65 )"},
        {"(?<=a)(?<!b)(?<*c)", "(<= p61 ) (<! p62 ) (<* p63 )"},
        {"(*pla:a)(*positive_lookahead:a)(*nla:b)(*negative_lookahead:b)",
         "(= p61 ) (= p61 ) (! p62 ) (! p62 )"},
        {"(*plb:a)(*nlb:b)(*napla:c)(*naplb:d)(*non_atomic_positive_lookahead:e)",
         "(<= p61 ) (<! p62 ) (*= p63 ) (<* p64 ) (*= p65 )"},
        {"(*atomic:a)(*sr:b)(*script_run:b)(*asr:c)(*atomic_script_run:c)",
         "(> p61 ) (sr p62 ) (sr p62 ) (asr p63 ) (asr p63 )"},
        {"((a))", "(c1 (c2 p61 ) )"},
        /* a group name of any script is not text */
        {"(?<\xc3\x89t\xc3\xa9>x)", "(c1 p78 )"},
        /* comments are nothing, and end at the first ')' */
        {"a(?#b(c\\)d", "p61 p64"},
        {"(?#x)*", "{0,}"},
    };
    check_tokens("groups", c, NCASES(c));
}
END_TEST

START_TEST(test_next_conditions)
{
    static const struct token_case c[] = {
        {"(a)(?(1)b|c)", "(c1 p61 ) (? p62 | p63 )"},
        {"(?(-1)a)(?(+1)b)", "(? p61 ) (? p62 )"},
        {"(?(<n>)a)(?('n')b)(?(n)c)", "(? p61 ) (? p62 ) (? p63 )"},
        {"(?(R)a)(?(R1)b)(?(R&n)c)(?(DEFINE)d)", "(? p61 ) (? p62 ) (? p63 ) (? p64 )"},
        {"(?(VERSION>=10.4)a)(?(VERSION=10)b)", "(? p61 ) (? p62 )"},
        /* an assertion as the condition is a group of its own */
        {"(?(?=a)b|c)", "(? (= p61 ) p62 | p63 )"},
        {"(?(?<!a)b)", "(? (<! p61 ) p62 )"},
        {"(?(*pla:a)b)", "(? (= p61 ) p62 )"},
        {"(?(?C1)(?=a)b)", "(? callout (= p61 ) p62 )"},
    };
    check_tokens("conditions", c, NCASES(c));
}
END_TEST

START_TEST(test_next_options)
{
    static const struct token_case c[] = {
        {"(?i)a(?-i)b(?i:c)(?^)d(?)", "opt p61 opt p62 (: p63 ) opt p64 opt"},
        {"(?imnsxxUJ-imnsx)", "opt"},
        /* extended mode: white space and # comments are nothing, until
         * the end of the group that set it */
        {"(?x) a b\t# c )\nd", "opt p61 p62 p64"},
        {"(a(?x) b) c", "(c1 p61 opt p62 ) p20 p63"},
        {"(?x:a b) c", "(: p61 p62 ) p20 p63"},
        {"(?x)a\\ b\\#c", "opt p61 q20 p62 q23 p63"},
        {"(?x)a + ?b", "opt p61 {1,}? p62"},
        {"(?x)a#x\n(?-x) b", "opt p61 opt p20 p62"},
        {"(?^x)a b(?^) c", "opt p61 p62 opt p20 p63"},
        {"(?x)(?#)a\xc2\x85\xe2\x80\xa8"
         "b",
         "opt p61 p62"}, /* NEL, LS */
        /* the newline that ends a # comment is the pattern's */
        {"(*CR)(?x)a#b\rc", "set opt p61 p63"},
        {"(*CR)(?x)a#b\nc", "set opt p61"},
        {"(*CRLF)(?x)a#b\nc\r\nd", "set opt p61 p64"},
        {"(*ANY)(?x)a#b\xc2\x85"
         "c",
         "set opt p61 p63"},
    };
    check_tokens("options", c, NCASES(c));
}
END_TEST

START_TEST(test_next_verbs_settings)
{
    static const struct token_case c[] = {
        {"(*UTF)(*UTF8)(*UCP)(*NO_JIT)(*LIMIT_MATCH=99)(*CRLF)a", "set set set set set set p61"},
        {"(*NOTEMPTY)(*NOTEMPTY_ATSTART)(*NO_AUTO_POSSESS)(*NO_DOTSTAR_ANCHOR)(*NO_START_OPT)",
         "set set set set set"},
        {"(*LIMIT_HEAP=1)(*LIMIT_DEPTH=2)(*LIMIT_RECURSION=3)(*BSR_ANYCRLF)(*BSR_UNICODE)",
         "set set set set set"},
        {"(*CR)(*LF)(*ANY)(*ANYCRLF)(*NUL)", "set set set set set"},
        {"(*ACCEPT)(*FAIL)(*F)(*COMMIT)(*PRUNE)(*SKIP)(*THEN)",
         "verb verb verb verb verb verb verb"},
        {"(*MARK:A(b)(*:x)(*SKIP:y)(*THEN:)", "verb verb verb verb"},
        {"(?C)(?C12)(?C'a''b')(?C{x})(?C\"y\")", "callout callout callout callout callout"},
        /* a setting is one only at the start */
        {"a(*UTF)", "p61 ?syntax"},
    };
    check_tokens("verbs and settings", c, NCASES(c));
}
END_TEST

START_TEST(test_next_quantifiers)
{
    static const struct token_case c[] = {
        {"a?b*c+", "p61 {0,1} p62 {0,} p63 {1,}"},
        {"a??b*+c+?", "p61 {0,1}? p62 {0,}+ p63 {1,}?"},
        {"a{2}b{2,}c{2,5}d{0}", "p61 {2,2} p62 {2,} p63 {2,5} p64 {0,0}"},
        {"a{2}?b{2,5}+", "p61 {2,2}? p62 {2,5}+"},
        {"a*(?#x)+", "p61 {0,}+"}, /* a comment before the suffix */
        /* '{' that is no quantifier is a character */
        {"a{b{2,3x{}", "p61 p7b p62 p7b p32 p2c p33 p78 p7b p7d"},
        /* text that is a quantifier to a later PCRE2 only */
        {"a{,3}b{ 2 }c{2 ,}d", "p61 ?version p62 ?version p63 ?version p64"},
        {"a{,}", "p61 p7b p2c p7d"},
    };
    check_tokens("quantifiers", c, NCASES(c));
}
END_TEST

START_TEST(test_next_unknown)
{
    /* Text PCRE2 rejects: one PAT_UNKNOWN to the end, nothing after. */
    static const struct token_case c[] = {
        {"a\\", "p61 ?syntax"},
        {"a\\yb", "p61 ?syntax"},
        {"a\\Lb", "p61 ?syntax"},
        {"a\\c\xc3\xa9", "p61 ?syntax"},
        {"a\\x{}b", "p61 ?syntax"},
        {"a\\x{110000}", "p61 ?syntax"},
        {"a\\x{d800}", "p61 ?syntax"},
        {"a\\o{8}", "p61 ?syntax"},
        {"a\\k", "p61 ?syntax"},
        {"a\\g", "p61 ?syntax"},
        {"a\\N{3x}", "p61 ?syntax"},
        {"a(b", "p61 (c1 p62 ?syntax"},
        {"a)b", "p61 ?syntax"},
        {"a[b", "p61 [ p62 ?syntax"},
        {"[:alpha:]", "?syntax"},
        {"[[:foo:]]", "[ ?syntax"},
        {"a(?#b", "p61 ?syntax"},
        {"(?<1a>x)", "?syntax"},
        {"(?<Unclosed", "?syntax"},
        {"(?Z)", "?syntax"},
        {"(?i-m-s)", "?syntax"},
        {"(?^-i)", "?syntax"},
        {"(*", "?syntax"},
        {"(*)", "?syntax"},
        {"(*utf)", "?syntax"},
        {"(*MARK)", "?syntax"},
        {"(*NOPE)", "?syntax"},
        {"(*LIMIT_MATCH=)a", "?syntax"},
        {"(*LIMIT_MATCH=9a", "?syntax"},
        {"(?C256)", "?syntax"},
        {"(?C'x)", "?syntax"},
        {"(?(x", "?syntax"},
        {"[\\A]", "[ ?syntax"},
        {"a{70000}", "p61 ?syntax"},
        {"a{3,2}", "p61 ?syntax"},
    };
    check_tokens("unknown", c, NCASES(c));
}
END_TEST

START_TEST(test_next_past_bugs)
{
    /* The ChangeLog's: \c) \c] \c\ neither close a group or class nor
     * escape what follows; so this '|' is at the top. */
    static const struct token_case c[] = {
        {"f1oo(?=ba\\x41\\101\\c\\)|", "p66 p31 p6f p6f (= p62 p61 d41 d41 d1c ) |"},
        {"f1oo(?=x\\c))|", "p66 p31 p6f p6f (= p78 d69 ) |"},
        {"f1oo[\\c\\]|", "p66 p31 p6f p6f [ d1c ] |"},
        {"f1oo[\\c]]|", "p66 p31 p6f p6f [ d1d ] |"},
        {"struct \\w{+opera|", "p73 p74 p72 p75 p63 p74 p20 any p7b {1,} p6f p70 p65 p72 p61 |"},
        {"(abc(?#()d)?xyz", "(c1 p61 p62 p63 p64 ) {0,1} p78 p79 p7a"},
        {"x(?#()|\\Q)\\Eabc", "p78 | q29 p61 p62 p63"},
        {"(*NO_JIT)tcp", "set p74 p63 p70"},
    };
    check_tokens("past bugs", c, NCASES(c));
}
END_TEST

START_TEST(test_next_literal)
{
    static const char *const c[] = {"a.b(c)\\Q[", "(*UTF)\\x41", "caf\xc3\xa9"};
    static const char *const want[] = {"p61 p2e p62 p28 p63 p29 p5c p51 p5b",
                                       "p28 p2a p55 p54 p46 p29 p5c p78 p34 p31",
                                       "p63 p61 p66 pe9"};
    for (size_t i = 0; i < NCASES(c); i++) {
        char got[512];
        describe(c[i], true, ML, got, sizeof got);
        ck_assert_msg(strcmp(got, want[i]) == 0, "literal /%s/ -> \"%s\", want \"%s\"", c[i], got,
                      want[i]);
    }
}
END_TEST

START_TEST(test_next_spans)
{
    /* Each token's bytes, depth, options and class membership. */
    const char *p = "(?i)a[\\x41]((?x)b c)+";
    static const struct {
        enum pattern_kind kind;
        size_t start, len;
        unsigned depth, opts;
        bool in_class;
    } want[] = {
        {PAT_OPTIONS, 0, 4, 0, ML | PAT_OPT_CASELESS, false},
        {PAT_CHAR, 4, 1, 0, ML | PAT_OPT_CASELESS, false},
        {PAT_CLASS_OPEN, 5, 1, 0, ML | PAT_OPT_CASELESS, false},
        {PAT_CHAR, 6, 4, 0, ML | PAT_OPT_CASELESS, true},
        {PAT_CLASS_CLOSE, 10, 1, 0, ML | PAT_OPT_CASELESS, false},
        {PAT_OPEN, 11, 1, 0, ML | PAT_OPT_CASELESS, false},
        {PAT_OPTIONS, 12, 4, 1, ML | PAT_OPT_CASELESS | PAT_OPT_EXTENDED, false},
        {PAT_CHAR, 16, 1, 1, ML | PAT_OPT_CASELESS | PAT_OPT_EXTENDED, false},
        {PAT_CHAR, 18, 1, 1, ML | PAT_OPT_CASELESS | PAT_OPT_EXTENDED, false},
        {PAT_CLOSE, 19, 1, 0, ML | PAT_OPT_CASELESS, false},
        {PAT_QUANT, 20, 1, 0, ML | PAT_OPT_CASELESS, false},
    };
    struct pattern_reader r;
    struct pattern_token t;
    size_t i = 0;
    pattern_open(&r, p, strlen(p), false, ML);
    while (pattern_next(&r, &t)) {
        ck_assert_msg(i < NCASES(want), "more than %zu tokens", NCASES(want));
        ck_assert_msg(t.kind == want[i].kind && t.start == want[i].start && t.len == want[i].len &&
                          t.depth == want[i].depth && t.opts == want[i].opts &&
                          t.in_class == want[i].in_class,
                      "token %zu: kind %d at %zu+%zu depth %u opts %x class %d; want kind %d at "
                      "%zu+%zu depth %u opts %x class %d",
                      i, t.kind, t.start, t.len, t.depth, t.opts, t.in_class, want[i].kind,
                      want[i].start, want[i].len, want[i].depth, want[i].opts, want[i].in_class);
        i++;
    }
    ck_assert_msg(i == NCASES(want), "%zu tokens, want %zu", i, NCASES(want));
    ck_assert_msg(!pattern_next(&r, &t), "a token after the end");
}
END_TEST

START_TEST(test_next_depth_limit)
{
    /* PCRE2 nests at most 250 groups: past that the reader gives up. */
    char p[600];
    for (size_t depth = 249; depth <= 251; depth++) {
        memset(p, '(', depth);
        memset(p + depth, ')', depth);
        p[2 * depth] = '\0';
        unsigned f = pattern_features(p, 2 * depth, false, ML);
        ck_assert_msg(((f & PAT_F_UNKNOWN) != 0) == (depth > PATTERN_MAX_DEPTH),
                      "%zu nested groups: unknown %d", depth, (f & PAT_F_UNKNOWN) != 0);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* pattern_char_bytes                                                  */
/* ------------------------------------------------------------------ */

START_TEST(test_char_bytes)
{
    static const struct {
        uint32_t cp;
        const char *want;
    } c[] = {
        {0x41, "A"},
        {0xe9, "\xc3\xa9"},
        {0x20ac, "\xe2\x82\xac"},
        {0x1f600, "\xf0\x9f\x98\x80"},
        {0x10ffff, "\xf4\x8f\xbf\xbf"},
        {PAT_RAW_BYTE(0xc3), "\xc3"},
    };
    for (size_t i = 0; i < NCASES(c); i++) {
        unsigned char b[4];
        size_t n = pattern_char_bytes(c[i].cp, b);
        ck_assert_msg(n == strlen(c[i].want) && !memcmp(b, c[i].want, n),
                      "pattern_char_bytes(0x%x): %zu bytes, want %zu", c[i].cp, n,
                      strlen(c[i].want));
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* pattern_features                                                    */
/* ------------------------------------------------------------------ */

START_TEST(test_features)
{
    static const struct {
        const char *pattern;
        bool literal;
        unsigned want;
    } c[] = {
        {"foo", false, 0},
        {"a(?=b)", false, PAT_F_LOOKAHEAD},
        {"a(?*b)", false, PAT_F_LOOKAHEAD},
        {"(*pla:b)", false, PAT_F_LOOKAHEAD},
        {"a(?!b)(*nla:c)", false, PAT_F_NEG_LOOKAHEAD},
        {"(?<=a)(?<!b)(?<*c)(*plb:d)", false, PAT_F_LOOKBEHIND},
        {"(?>a)", false, PAT_F_ATOMIC},
        {"(*atomic:a)(*asr:b)", false, PAT_F_ATOMIC},
        {"a*+b++c?+d{2}+", false, PAT_F_POSSESSIVE},
        {"(a)(?(1)b)", false, PAT_F_CONDITION},
        {"\\Aa\\z", false, PAT_F_SUBJECT_ANCHOR},
        {"^a$", false, 0},
        {"(?-m)^a", false, PAT_F_SUBJECT_ANCHOR},
        {"a(?-m:$)", false, PAT_F_SUBJECT_ANCHOR},
        {"(*UTF)a", false, PAT_F_SETTING},
        {"a(*SKIP)b", false, PAT_F_VERB},
        {"(a)(?1)", false, PAT_F_CALL},
        {"(?C1)a", false, PAT_F_CALLOUT},
        {"(a)\\1", false, PAT_F_BACKREF},
        {"(?i)a", false, PAT_F_OPT_CASELESS},
        {"(?-i:a)", false, PAT_F_OPT_CASELESS},
        {"(?x)a", false, PAT_F_OPT_EXTENDED},
        {"(?^)a", false, 0}, /* names no letter */
        {"a\\", false, PAT_F_UNKNOWN},
        {"[[:<:]]a", false, PAT_F_LOOKAHEAD},
        {"a[[:>:]]", false, PAT_F_LOOKBEHIND},
        /* text that only looks like the constructs */
        {"[(?=(?<=(*]\\(?<=a\\Q(?!\\E\\\\A\\++", false, 0},
        {"(?<=a)\\A(*UTF)", true, 0},
    };
    unsigned bad = 0;
    char failures[4096] = "";
    for (size_t i = 0; i < NCASES(c); i++) {
        unsigned got = pattern_features(c[i].pattern, strlen(c[i].pattern), c[i].literal, ML);
        if (got != c[i].want) {
            bad++;
            add(failures, sizeof failures, "\n  /%s/%s: 0x%x, want 0x%x", c[i].pattern,
                c[i].literal ? " (literal)" : "", got, c[i].want);
        }
    }
    ck_assert_msg(bad == 0, "pattern_features: %u wrong:%s", bad, failures);
}
END_TEST

Suite *suite_pattern(void)
{
    Suite *s = suite_create("pattern");
    TCase *tc;

    tc = tcase_create("pattern_next");
    tcase_add_test(tc, test_next_plain);
    tcase_add_test(tc, test_next_escapes);
    tcase_add_test(tc, test_next_references);
    tcase_add_test(tc, test_next_quoting);
    tcase_add_test(tc, test_next_classes);
    tcase_add_test(tc, test_next_groups);
    tcase_add_test(tc, test_next_conditions);
    tcase_add_test(tc, test_next_options);
    tcase_add_test(tc, test_next_verbs_settings);
    tcase_add_test(tc, test_next_quantifiers);
    tcase_add_test(tc, test_next_unknown);
    tcase_add_test(tc, test_next_past_bugs);
    tcase_add_test(tc, test_next_literal);
    tcase_add_test(tc, test_next_spans);
    tcase_add_test(tc, test_next_depth_limit);
    suite_add_tcase(s, tc);

    tc = tcase_create("pattern_char_bytes");
    tcase_add_test(tc, test_char_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("pattern_features");
    tcase_add_test(tc, test_features);
    suite_add_tcase(s, tc);

    return s;
}
