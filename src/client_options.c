/*
 * client_options.c - parses shardgrep-query's command line (getopt_long:
 * flags may follow the pattern, "--" or -e takes a pattern that starts
 * with '-') and turns it into the query's JSON.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_buf.h"
#include "client_options.h"

enum {
    OPT_SERVER = 256,
    OPT_TOKEN,
    OPT_COLOR,
    OPT_JSON,
    OPT_MAX,
    OPT_HEADING,
    OPT_NO_HEADING,
    OPT_TREE
};

static const struct option long_options[] = {
    {"ignore-case", no_argument, NULL, 'i'},
    {"case-sensitive", no_argument, NULL, 's'},
    {"smart-case", no_argument, NULL, 'S'},
    {"fixed-strings", no_argument, NULL, 'F'},
    {"word-regexp", no_argument, NULL, 'w'},
    {"glob", required_argument, NULL, 'g'},
    {"files-with-matches", no_argument, NULL, 'l'},
    {"count", no_argument, NULL, 'c'},
    {"context", required_argument, NULL, 'C'},
    {"regexp", required_argument, NULL, 'e'},
    {"line-number", no_argument, NULL, 'n'},
    {"no-line-number", no_argument, NULL, 'N'},
    {"heading", no_argument, NULL, OPT_HEADING},
    {"no-heading", no_argument, NULL, OPT_NO_HEADING},
    {"color", required_argument, NULL, OPT_COLOR},
    {"colour", required_argument, NULL, OPT_COLOR},
    {"json", no_argument, NULL, OPT_JSON},
    {"max", required_argument, NULL, OPT_MAX},
    {"tree", required_argument, NULL, OPT_TREE},
    {"server", required_argument, NULL, OPT_SERVER},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: shardgrep-query [OPTIONS] PATTERN\n"
               "Searches a shardgrep server and prints the answer the way rg does.\n"
               "\n"
               "  -i, --ignore-case          case-insensitive\n"
               "  -s, --case-sensitive       case-sensitive (the default, as in rg)\n"
               "  -S, --smart-case           insensitive unless PATTERN has a capital\n"
               "  -F, --fixed-strings        PATTERN is plain text, not a regex\n"
               "  -w, --word-regexp          match whole words only\n"
               "  -g, --glob GLOB            search only paths GLOB selects; '!GLOB' skips\n"
               "                             them (repeatable; the server's glob rules)\n"
               "  -l, --files-with-matches   print the paths of matching files\n"
               "  -c, --count                print path:count of matching lines\n"
               "  -C, --context N            N lines around each match (0..10)\n"
               "  -e, --regexp PATTERN       the pattern (one starting with '-')\n"
               "  -n, --line-number          print line numbers (the default)\n"
               "  -N, --no-line-number       do not\n"
               "      --heading, --no-heading  group by file (default on a terminal)\n"
               "      --color WHEN           auto (default), always or never\n"
               "      --json                 the server's result objects, one a line\n"
               "      --max N                keep at most N results (default 100000)\n"
               "      --tree NAMES           with several trees: search these\n"
               "      --server URL           the server (default $SHARDGREP_URL, else\n"
               "                             " CLIENT_DEFAULT_URL ")\n"
               "      --token TOKEN          its --token (default $SHARDGREP_TOKEN)\n"
               "  -h, --help, -V, --version\n"
               "\n"
               "Exit status: 0 if something matched, 1 if nothing did, 2 on an error.\n");
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Appends glob to the comma-joined list *list. */
static void add_glob(char **list, const char *glob)
{
    struct cbuf b = {0};
    if (*list) {
        cbuf_adds(&b, *list);
        cbuf_adds(&b, ",");
        free(*list);
    }
    cbuf_adds(&b, glob);
    *list = cbuf_take(&b);
}

static void set_defaults(struct client_options *o)
{
    memset(o, 0, sizeof *o);
    const char *env = getenv("SHARDGREP_URL");
    o->server = env && *env ? env : CLIENT_DEFAULT_URL;
    env = getenv("SHARDGREP_TOKEN");
    o->token = env && *env ? env : NULL;
    o->case_mode = "yes";
    o->line_numbers = true;
    o->heading = -1;
    o->max = CLIENT_MAX_RESULTS;
}

static int bad(const char *what, const char *value)
{
    fprintf(stderr, "shardgrep-query: %s: %s\n", what, value);
    fprintf(stderr, "Try 'shardgrep-query --help'.\n");
    return PARSE_EXIT_USAGE;
}

/* One option; PARSE_RUN to go on. */
static int apply_option(struct client_options *o, int c, const char *arg)
{
    long v;
    switch (c) {
    case 'i':
        o->case_mode = "no";
        break;
    case 's':
        o->case_mode = "yes";
        break;
    case 'S':
        o->case_mode = "auto";
        break;
    case 'F':
        o->literal = true;
        break;
    case 'w':
        o->word = true;
        break;
    case 'l':
        o->output = OUT_FILES;
        break;
    case 'c':
        o->output = OUT_COUNT;
        break;
    case 'n':
        o->line_numbers = true;
        break;
    case 'N':
        o->line_numbers = false;
        break;
    case 'e':
        o->pattern = arg;
        break;
    case 'g':
        if (arg[0] == '!')
            add_glob(&o->exclude, arg + 1);
        else
            add_glob(&o->path, arg);
        break;
    case 'C':
        if (parse_int(arg, 0, CLIENT_MAX_CONTEXT, &v) != 0)
            return bad("-C takes 0 to 10 lines (the server's bound)", arg);
        o->context = (int)v;
        break;
    case OPT_MAX:
        if (parse_int(arg, 0, CLIENT_MAX_RESULTS, &v) != 0)
            return bad("--max takes 0 to 100000", arg);
        o->max = v;
        break;
    case OPT_COLOR:
        if (strcmp(arg, "auto") == 0)
            o->color = COLOR_AUTO;
        else if (strcmp(arg, "always") == 0)
            o->color = COLOR_ALWAYS;
        else if (strcmp(arg, "never") == 0)
            o->color = COLOR_NEVER;
        else
            return bad("--color takes auto, always or never", arg);
        break;
    case OPT_HEADING:
        o->heading = 1;
        break;
    case OPT_NO_HEADING:
        o->heading = 0;
        break;
    case OPT_JSON:
        o->json = true;
        break;
    case OPT_TREE:
        o->tree = arg;
        break;
    case OPT_SERVER:
        o->server = arg;
        break;
    case OPT_TOKEN:
        o->token = arg;
        break;
    case 'h':
        usage(stdout);
        return PARSE_EXIT_OK;
    case 'V':
        printf("shardgrep-query (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        return PARSE_EXIT_OK;
    default:
        fprintf(stderr, "Try 'shardgrep-query --help'.\n");
        return PARSE_EXIT_USAGE;
    }
    return PARSE_RUN;
}

enum client_parse client_options_parse(struct client_options *o, int argc, char **argv)
{
    set_defaults(o);
    opterr = 1;
    int c;
    while ((c = getopt_long(argc, argv, "isSFwg:lcC:e:nNhV", long_options, NULL)) != -1) {
        int rc = apply_option(o, c, optarg);
        if (rc != PARSE_RUN)
            return rc;
    }
    if (!o->pattern && optind < argc)
        o->pattern = argv[optind++];
    if (optind < argc)
        return bad("unexpected argument (paths are chosen with -g)", argv[optind]);
    if (!o->pattern)
        return bad("missing", "PATTERN");
    if (!*o->pattern)
        return bad("the pattern is empty (the server needs one)", "''");
    return PARSE_RUN;
}

void client_options_free(struct client_options *o)
{
    if (!o)
        return;
    free(o->path);
    free(o->exclude);
    o->path = o->exclude = NULL;
}

/* The pattern -w sends: (?<!\w)(?:P)(?!\w), rg's rule (no word character
 * just before or after the match; \b would also let "f(" match in "f(x)"),
 * P escaped first if it was literal.  A
 * backslash before any ASCII character that is not a letter or digit
 * makes it literal in PCRE2; other bytes (UTF-8 included) are left. */
static char *word_pattern(const char *p, bool literal)
{
    struct cbuf b = {0};
    cbuf_adds(&b, "(?<!\\w)(?:");
    for (; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        bool alnum =
            (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
        if (literal && ch < 0x80 && !alnum)
            cbuf_add(&b, "\\", 1);
        cbuf_add(&b, p, 1);
    }
    cbuf_adds(&b, ")(?!\\w)");
    return cbuf_take(&b);
}

char *client_options_query_json(const struct client_options *o)
{
    cJSON *q = cJSON_CreateObject();
    if (o->word) {
        char *w = word_pattern(o->pattern, o->literal);
        cJSON_AddStringToObject(q, "q", w);
        free(w);
        cJSON_AddBoolToObject(q, "literal", 0);
    } else {
        cJSON_AddStringToObject(q, "q", o->pattern);
        cJSON_AddBoolToObject(q, "literal", o->literal);
    }
    cJSON_AddStringToObject(q, "case", o->case_mode);
    if (o->path)
        cJSON_AddStringToObject(q, "path", o->path);
    if (o->exclude)
        cJSON_AddStringToObject(q, "exclude", o->exclude);
    if (o->tree)
        cJSON_AddStringToObject(q, "tree", o->tree);
    cJSON_AddNumberToObject(q, "max", (double)o->max);
    if (o->output != OUT_LINES)
        cJSON_AddStringToObject(q, "select", "files");
    else if (o->context)
        cJSON_AddNumberToObject(q, "context", o->context);
    char *s = cJSON_PrintUnformatted(q);
    cJSON_Delete(q);
    if (!s) {
        fprintf(stderr, "shardgrep-query: out of memory\n");
        abort();
    }
    return s;
}
