/*
 * options.c - the command line (see options.h).  Every value is checked
 * here, with a message that names the option and its range, so the
 * server never starts on a value it would have to correct.  The memory
 * budgets default from the machine: 1 GiB each, or an eighth of the memory
 * this process may use (physical, or ulimit -v) when that is less.
 */
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "http.h"
#include "util.h"

enum {
    OPT_MAX_FILE_SIZE = 256,
    OPT_NO_IGNORE,
    OPT_WEB_ROOT,
    OPT_KEEP_QUERIES,
    OPT_KEEP_SECONDS,
    OPT_TIMEOUT_MS,
    OPT_TOKEN,
    OPT_MAX_RUNNING,
    OPT_MAX_QUEUED,
    OPT_MAX_CONNECTIONS,
    OPT_MAX_PER_IP,
    OPT_KEEP_MEMORY,
    OPT_QUERY_MEMORY,
    OPT_ANSWER_MEMORY,
    OPT_UNRESPONSIVE_MS,
    OPT_NO_WATCH,
    OPT_INDEX_DIR,
    OPT_RESCAN_INTERVAL,
    OPT_HEAD_TIMEOUT,
    OPT_BODY_TIMEOUT,
    OPT_NO_REQUEST_LOG,
    OPT_LOG_FORMAT,
    OPT_LOG_QUERIES,
    OPT_EDITOR_URL,
    OPT_LINK_URL,
    OPT_SEGMENT_SIZE,
};

static const struct option long_options[] = {
    {"port", required_argument, NULL, 'p'},
    {"bind", required_argument, NULL, 'b'},
    {"workers", required_argument, NULL, 'w'},
    {"max-file-size", required_argument, NULL, OPT_MAX_FILE_SIZE},
    {"segment-size", required_argument, NULL, OPT_SEGMENT_SIZE},
    {"no-ignore", no_argument, NULL, OPT_NO_IGNORE},
    {"web-root", required_argument, NULL, OPT_WEB_ROOT},
    {"keep-queries", required_argument, NULL, OPT_KEEP_QUERIES},
    {"keep-seconds", required_argument, NULL, OPT_KEEP_SECONDS},
    {"keep-memory", required_argument, NULL, OPT_KEEP_MEMORY},
    {"query-memory", required_argument, NULL, OPT_QUERY_MEMORY},
    {"answer-memory", required_argument, NULL, OPT_ANSWER_MEMORY},
    {"timeout-ms", required_argument, NULL, OPT_TIMEOUT_MS},
    {"unresponsive-ms", required_argument, NULL, OPT_UNRESPONSIVE_MS},
    {"no-watch", no_argument, NULL, OPT_NO_WATCH},
    {"index-dir", required_argument, NULL, OPT_INDEX_DIR},
    {"rescan-interval", required_argument, NULL, OPT_RESCAN_INTERVAL},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"max-running", required_argument, NULL, OPT_MAX_RUNNING},
    {"max-queued", required_argument, NULL, OPT_MAX_QUEUED},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"max-connections-per-ip", required_argument, NULL, OPT_MAX_PER_IP},
    {"head-timeout", required_argument, NULL, OPT_HEAD_TIMEOUT},
    {"body-timeout", required_argument, NULL, OPT_BODY_TIMEOUT},
    {"no-request-log", no_argument, NULL, OPT_NO_REQUEST_LOG},
    {"log-format", required_argument, NULL, OPT_LOG_FORMAT},
    {"log-queries", no_argument, NULL, OPT_LOG_QUERIES},
    {"editor-url", required_argument, NULL, OPT_EDITOR_URL},
    {"link-url", required_argument, NULL, OPT_LINK_URL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

const char *options_help(void)
{
    return "Usage: shardgrep [OPTIONS] [[NAME=]DIR...]\n"
           "Serve a code search over each DIR (default: the bundled sample-corpus) on HTTP.\n"
           "Several trees are named by their folder's base name, or by NAME.\n"
           "\n"
           "  -p, --port N            port to listen on (default 8080; 0 picks a free one)\n"
           "  -b, --bind ADDR         address or host name to listen on (default 127.0.0.1)\n"
           "  -w, --workers N         worker processes, one shard each (default: online CPUs)\n"
           "      --max-file-size S   skip files larger than S bytes; K, M, G suffixes\n"
           "                          (default 16M, at most 1G)\n"
           "      --no-ignore         index what .gitignore and .ignore files exclude\n"
           "      --segment-size S    hold each shard in segments of about S of text, each\n"
           "                          with its own index: a change rebuilds only the one\n"
           "                          it falls in (default 64M, at least 4K)\n"
           "      --index-dir DIR     keep each shard's index in DIR, so that a restart\n"
           "                          reads only the files changed since (made if missing)\n"
           "      --no-watch          do not follow changes to the tree as they happen\n"
           "                          (SIGHUP and POST /api/reindex still rescan it)\n"
           "      --rescan-interval N rescan the tree every N seconds when it cannot be\n"
           "                          watched (default 5); with --no-watch, always\n"
           "      --web-root DIR      serve the search page from DIR (default: bundled web/)\n"
           "      --keep-queries N    finished queries kept for polling (default 1000)\n"
           "      --keep-seconds N    and for how long (default 600)\n"
           "      --keep-memory S     and in all at most S of results; the oldest go\n"
           "                          first (default 1G, or an eighth of the memory\n"
           "                          when that is less; K, M, G suffixes)\n"
           "      --query-memory S    results one query may hold; past it a query's\n"
           "                          results stop short of max (default 256M, at most\n"
           "                          --keep-memory)\n"
           "      --answer-memory S   large answers being sent hold at most S; past it,\n"
           "                          503 overloaded with Retry-After (default as\n"
           "                          --keep-memory)\n"
           "      --timeout-ms N      query deadline, also the largest a client may ask\n"
           "                          for (default 10000)\n"
           "      --unresponsive-ms N a worker silent this long (stopped, hung) is marked\n"
           "                          unresponsive: skipped, and /healthz says so\n"
           "                          (default 5000)\n"
           "      --max-running N     searches at the workers at once (default 2)\n"
           "      --max-queued N      more that wait their turn (default 64); past that,\n"
           "                          503 overloaded with Retry-After\n"
           "      --max-connections N open HTTP connections at most (default 512)\n"
           "      --max-connections-per-ip N\n"
           "                          from any one address (default 64; 0: no limit)\n"
           "      --head-timeout N    seconds from a request's first byte to the end of its\n"
           "                          head; then the connection is closed (default 10)\n"
           "      --body-timeout N    and from there to the end of its body (default 30)\n"
           "      --token TOKEN       require \"Authorization: Bearer TOKEN\" on /api/ and\n"
           "                          /metrics (default: $SHARDGREP_TOKEN; none when unset)\n"
           "      --no-request-log    no line per HTTP request on stderr\n"
           "      --log-format F      those lines as text (the default) or json\n"
           "      --log-queries       log the query string too (it holds what was searched)\n"
           "      --editor-url T      link each result and file view to your editor: T is a\n"
           "                          URL with {abspath} {path} {line} {tree}, such as\n"
           "                          vscode://file/{abspath}:{line}\n"
           "      --link-url [TREE=]T and to the code host: T such as\n"
           "                          https://git.example.org/r/blob/main/{path}#L{line};\n"
           "                          once per TREE, and once without for the others\n"
           "  -h, --help              show this help and exit\n"
           "  -V, --version           show the version and exit\n"
           "\n"
           "When ready, prints \"listening on http://HOST:PORT\" on stdout.\n"
           "API: GET /api/search?q=..., POST /api/queries, GET|DELETE /api/queries/ID,\n"
           "GET /api/files/PATH, GET /api/stats, GET /healthz, GET /metrics.\n"
           "See shardgrep(1).\n";
}

/* RFC 6750's token68 characters. */
#define TOKEN_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="

static int parse_uint(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
    if (!s || !*s)
        return SG_ERR;
    unsigned long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return SG_ERR;
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > hi)
            return SG_ERR;
    }
    if (v < lo)
        return SG_ERR;
    *out = v;
    return SG_OK;
}

int options_parse_size(const char *s, uint64_t max, uint64_t *out)
{
    if (!s || !*s)
        return SG_ERR;
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > max)
            return SG_ERR;
    }
    if (p == s)
        return SG_ERR;
    uint64_t mult = 1;
    if (*p) { /* the limit applies to the result, checked below */
        switch (*p) {
        case 'k':
        case 'K':
            mult = 1024;
            break;
        case 'm':
        case 'M':
            mult = 1024 * 1024;
            break;
        case 'g':
        case 'G':
            mult = 1024 * 1024 * 1024;
            break;
        default:
            return SG_ERR;
        }
        p++;
        if (*p == 'i' && p[1] == 'B')
            p += 2;
        else if (*p == 'B')
            p++;
        if (*p)
            return SG_ERR;
    }
    if (v > max / mult)
        return SG_ERR;
    *out = v * mult;
    return SG_OK;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        return 1;
    return n > OPT_WORKERS_MAX ? OPT_WORKERS_MAX : (unsigned)n;
}

/* The memory this process may use: physical memory, or less under a
 * limit on its address space (ulimit -v).  0 when unknown. */
static uint64_t memory_room(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t room = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
    struct rlimit as;
    if (getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
        (room == 0 || (uint64_t)as.rlim_cur < room))
        room = (uint64_t)as.rlim_cur;
    return room;
}

/* A default budget: want, or an eighth of the room when that is less (the
 * two budgets that default this way, an eighth each, leave the master
 * three quarters for the rest), and at least OPT_MEMORY_MIN. */
static uint64_t budget(uint64_t want, uint64_t room)
{
    uint64_t b = room && room / 8 < want ? room / 8 : want;
    return b < OPT_MEMORY_MIN ? OPT_MEMORY_MIN : b;
}

static void defaults(struct options *o)
{
    memset(o, 0, sizeof *o);
    o->bind = "127.0.0.1";
    o->port = 8080;
    o->workers = online_cpus();
    o->max_file_size = 16 * 1024 * 1024;
    o->segment_bytes = OPT_SEGMENT_DEFAULT;
    o->keep_queries = 1000;
    o->keep_seconds = 600;
    /* A query of max=100000 with context=10 over Linux holds about 120 MB
     * once finished (230 MB while it runs); a thousand of them must not
     * take the master's memory. */
    uint64_t room = memory_room();
    o->keep_memory = budget(1ull << 30, room);
    o->query_memory = o->keep_memory < (256ull << 20) ? o->keep_memory : 256ull << 20;
    /* Such a page is 119 MB of JSON: a few clients reading it slowly must
     * not hold many. */
    o->answer_memory = budget(1ull << 30, room);
    o->timeout_ms = 10000;
    o->unresponsive_ms = 5000;
    o->rescan_interval_s = 5;
    /* Each search goes to every worker, and a worker runs one at a time:
     * more than a couple at the workers only queues them where their
     * deadlines run; waiting in the master's queue costs no deadline. */
    o->max_running = 2;
    o->max_queued = 64;
    /* A client that opens connections and sends nothing holds at most
     * max_per_ip of them, for HTTP_IDLE_TIMEOUT_S each. */
    o->max_connections = 512;
    o->max_per_ip = 64;
    /* A client that sends a byte a second is not idle, and would hold its
     * connection forever without a deadline for the whole request. */
    o->head_timeout_s = HTTP_HEAD_TIMEOUT_S;
    o->body_timeout_s = HTTP_BODY_TIMEOUT_S;
    o->request_log = true;
    const char *env = getenv("SHARDGREP_TOKEN");
    o->token = env && *env ? env : NULL;
}

/* One numeric option; on error fills err naming the option and range. */
static int number(const char *name, const char *arg, unsigned long lo, unsigned long hi,
                  unsigned long *out, char *err, size_t errlen)
{
    if (parse_uint(arg, lo, hi, out) == SG_OK)
        return SG_OK;
    set_err(err, errlen, "invalid value '%s' for --%s: expected an integer from %lu to %lu", arg,
            name, lo, hi);
    return SG_ERR;
}

/* One memory-size option (1M to 1024G), as number() does for counts. */
static int memory_size(const char *name, const char *arg, uint64_t *out, char *err, size_t errlen)
{
    uint64_t v;
    if (options_parse_size(arg, OPT_MEMORY_MAX, &v) == SG_OK && v >= OPT_MEMORY_MIN) {
        *out = v;
        return SG_OK;
    }
    set_err(err, errlen,
            "invalid value '%s' for --%s: expected a size such as 256M or 2G, from 1M to 1024G",
            arg, name);
    return SG_ERR;
}

static int apply(struct options *o, int c, const char *arg, char *err, size_t errlen)
{
    unsigned long v;
    switch (c) {
    case 'p':
        if (number("port", arg, 0, 65535, &v, err, errlen) < 0)
            return SG_ERR;
        o->port = (unsigned)v;
        return SG_OK;
    case 'b':
        o->bind = arg;
        return SG_OK;
    case 'w':
        if (number("workers", arg, 1, OPT_WORKERS_MAX, &v, err, errlen) < 0)
            return SG_ERR;
        o->workers = (unsigned)v;
        return SG_OK;
    case OPT_MAX_FILE_SIZE:
        if (options_parse_size(arg, OPT_FILE_SIZE_MAX, &o->max_file_size) < 0 ||
            o->max_file_size == 0) {
            set_err(err, errlen,
                    "invalid value '%s' for --max-file-size: expected a size such as 512K or 16M, "
                    "at most 1G",
                    arg);
            return SG_ERR;
        }
        return SG_OK;
    case OPT_SEGMENT_SIZE:
        if (options_parse_size(arg, OPT_MEMORY_MAX, &o->segment_bytes) < 0 ||
            o->segment_bytes < OPT_SEGMENT_MIN) {
            set_err(err, errlen,
                    "invalid value '%s' for --segment-size: expected a size such as 16M or 1G, "
                    "at least 4K",
                    arg);
            return SG_ERR;
        }
        return SG_OK;
    case OPT_NO_IGNORE:
        o->no_ignore = true;
        return SG_OK;
    case OPT_WEB_ROOT:
        o->web_root = arg;
        return SG_OK;
    case OPT_KEEP_QUERIES:
        if (number("keep-queries", arg, 1, 1000000, &v, err, errlen) < 0)
            return SG_ERR;
        o->keep_queries = (unsigned)v;
        return SG_OK;
    case OPT_KEEP_SECONDS:
        if (number("keep-seconds", arg, 1, 7 * 86400, &v, err, errlen) < 0)
            return SG_ERR;
        o->keep_seconds = (unsigned)v;
        return SG_OK;
    case OPT_KEEP_MEMORY:
        return memory_size("keep-memory", arg, &o->keep_memory, err, errlen);
    case OPT_QUERY_MEMORY:
        return memory_size("query-memory", arg, &o->query_memory, err, errlen);
    case OPT_ANSWER_MEMORY:
        return memory_size("answer-memory", arg, &o->answer_memory, err, errlen);
    case OPT_MAX_RUNNING:
        if (number("max-running", arg, 1, 1024, &v, err, errlen) < 0)
            return SG_ERR;
        o->max_running = (unsigned)v;
        return SG_OK;
    case OPT_MAX_QUEUED:
        if (number("max-queued", arg, 0, 100000, &v, err, errlen) < 0)
            return SG_ERR;
        o->max_queued = (unsigned)v;
        return SG_OK;
    case OPT_MAX_CONNECTIONS:
        if (number("max-connections", arg, 1, 100000, &v, err, errlen) < 0)
            return SG_ERR;
        o->max_connections = (unsigned)v;
        return SG_OK;
    case OPT_MAX_PER_IP:
        if (number("max-connections-per-ip", arg, 0, 100000, &v, err, errlen) < 0)
            return SG_ERR;
        o->max_per_ip = (unsigned)v;
        return SG_OK;
    case OPT_HEAD_TIMEOUT:
        if (number("head-timeout", arg, 1, 3600, &v, err, errlen) < 0)
            return SG_ERR;
        o->head_timeout_s = (unsigned)v;
        return SG_OK;
    case OPT_BODY_TIMEOUT:
        if (number("body-timeout", arg, 1, 3600, &v, err, errlen) < 0)
            return SG_ERR;
        o->body_timeout_s = (unsigned)v;
        return SG_OK;
    case OPT_NO_REQUEST_LOG:
        o->request_log = false;
        return SG_OK;
    case OPT_LOG_FORMAT:
        if (strcmp(arg, "text") && strcmp(arg, "json")) {
            set_err(err, errlen, "invalid value '%s' for --log-format: expected text or json", arg);
            return SG_ERR;
        }
        o->log_json = !strcmp(arg, "json");
        return SG_OK;
    case OPT_LOG_QUERIES:
        o->log_queries = true;
        return SG_OK;
    case OPT_EDITOR_URL:
        if (o->links.editor) {
            set_err(err, errlen, "--editor-url is given twice");
            return SG_ERR;
        }
        if (links_check_template("--editor-url", arg, err, errlen) < 0)
            return SG_ERR;
        o->links.editor = arg;
        return SG_OK;
    case OPT_LINK_URL:
        return links_spec_add_host(&o->links, arg, err, errlen);
    case OPT_TOKEN:
        o->token = arg; /* checked with the environment's, after the loop */
        return SG_OK;
    case OPT_TIMEOUT_MS:
        if (number("timeout-ms", arg, 1, 3600000, &v, err, errlen) < 0)
            return SG_ERR;
        o->timeout_ms = (uint32_t)v;
        return SG_OK;
    case OPT_NO_WATCH:
        o->no_watch = true;
        return SG_OK;
    case OPT_INDEX_DIR:
        if (!*arg) {
            set_err(err, errlen, "--index-dir needs a folder");
            return SG_ERR;
        }
        o->index_dir = arg;
        return SG_OK;
    case OPT_RESCAN_INTERVAL:
        if (number("rescan-interval", arg, 1, 86400, &v, err, errlen) < 0)
            return SG_ERR;
        o->rescan_interval_s = (unsigned)v;
        o->rescan_interval_set = true;
        return SG_OK;
    case OPT_UNRESPONSIVE_MS:
        if (number("unresponsive-ms", arg, 500, 3600000, &v, err, errlen) < 0)
            return SG_ERR;
        o->unresponsive_ms = (uint32_t)v;
        return SG_OK;
    default:
        return SG_ERR;
    }
}

/* A name given before '=': letters, digits, '.', '_' and '-'. */
static size_t given_name(const char *arg)
{
    size_t n = strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
    return n > 0 && arg[n] == '=' ? n : 0;
}

/* One [NAME=]DIR argument. */
static int add_tree(struct options *o, const char *arg, char *err, size_t errlen)
{
    if (o->ntrees == OPT_TREES_MAX) {
        set_err(err, errlen, "too many trees: at most %d", OPT_TREES_MAX);
        return SG_ERR;
    }
    size_t named = given_name(arg);
    const char *dir = named ? arg + named + 1 : arg;
    char *name = o->tree_names[o->ntrees];
    if (!*dir) {
        set_err(err, errlen, "'%s': a folder is missing after the name", arg);
        return SG_ERR;
    }
    if (named) {
        if (named > OPT_TREE_NAME_MAX) {
            set_err(err, errlen, "tree name '%.*s' is longer than %d bytes", (int)named, arg,
                    OPT_TREE_NAME_MAX);
            return SG_ERR;
        }
        memcpy(name, arg, named);
        name[named] = '\0';
    } else {
        /* The folder's base name; ',' (the filter's separator) and control
         * bytes become '_'. */
        size_t end = strlen(dir);
        while (end > 1 && dir[end - 1] == '/')
            end--;
        size_t start = end;
        while (start > 0 && dir[start - 1] != '/')
            start--;
        size_t n = end - start < OPT_TREE_NAME_MAX ? end - start : OPT_TREE_NAME_MAX;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)dir[start + i];
            name[i] = (char)(c == ',' || c < 0x20 || c == 0x7f ? '_' : c);
        }
        name[n] = '\0';
        if (!n || !strcmp(name, "/"))
            snprintf(name, OPT_TREE_NAME_MAX + 1, "root");
    }
    for (unsigned i = 0; i < o->ntrees; i++) {
        if (!strcmp(o->tree_names[i], name)) {
            set_err(err, errlen, "two trees are named '%s' (%s and %s): name them, as NAME=DIR",
                    name, o->roots[i], dir);
            return SG_ERR;
        }
    }
    o->roots[o->ntrees++] = dir;
    return SG_OK;
}

enum options_result options_parse(struct options *o, int argc, char **argv, char *err,
                                  size_t errlen)
{
    defaults(o);
    opterr = 0; /* we word the errors ourselves */
    optind = 0; /* 0, not 1: glibc then also forgets a half-read "-hV" */
    int c;
    while ((c = getopt_long(argc, argv, ":p:b:w:hV", long_options, NULL)) != -1) {
        if (c == 'h')
            return OPTIONS_HELP;
        if (c == 'V')
            return OPTIONS_VERSION;
        if (c == '?' || c == ':') {
            /* A long option is named by the word getopt read; a short one
             * (maybe inside a group like -zq) by optopt. */
            char shortopt[3] = {'-', (char)optopt, '\0'};
            const char *word = argv[optind - 1];
            const char *opt = !strncmp(word, "--", 2) || !optopt ? word : shortopt;
            set_err(err, errlen,
                    c == '?' ? "unknown option '%s' (see --help)" : "option '%s' needs a value",
                    opt);
            return OPTIONS_ERROR;
        }
        if (apply(o, c, optarg, err, errlen) < 0)
            return OPTIONS_ERROR;
    }
    if (o->token && (!*o->token || strlen(o->token) > 1024 ||
                     strspn(o->token, TOKEN_CHARS) != strlen(o->token))) {
        set_err(err, errlen,
                "invalid token (--token or SHARDGREP_TOKEN): 1 to 1024 letters, digits or "
                "-._~+/= expected");
        return OPTIONS_ERROR;
    }
    if (o->query_memory > o->keep_memory) {
        set_err(err, errlen,
                "--query-memory (%llu bytes) is more than --keep-memory (%llu bytes): one "
                "finished query would not fit",
                (unsigned long long)o->query_memory, (unsigned long long)o->keep_memory);
        return OPTIONS_ERROR;
    }
    for (; optind < argc; optind++)
        if (add_tree(o, argv[optind], err, errlen) < 0)
            return OPTIONS_ERROR;
    return OPTIONS_RUN;
}
