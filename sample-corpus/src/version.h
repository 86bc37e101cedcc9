#ifndef KVLITE_VERSION_H
#define KVLITE_VERSION_H

#define KVLITE_VERSION_MAJOR 0
#define KVLITE_VERSION_MINOR 4
#define KVLITE_VERSION_PATCH 2
#define KVLITE_VERSION_STRING "0.4.2"

/* Bumped whenever the on-disk WAL layout changes. */
#define KVLITE_WAL_FORMAT 1

/* Bumped whenever the wire protocol changes. */
#define KVLITE_PROTOCOL_VERSION 2

static inline const char *kvlite_version(void)
{
    return KVLITE_VERSION_STRING;
}

static inline int kvlite_version_at_least(int major, int minor)
{
    if (KVLITE_VERSION_MAJOR != major)
        return KVLITE_VERSION_MAJOR > major;
    return KVLITE_VERSION_MINOR >= minor;
}

#endif /* KVLITE_VERSION_H */
/* build id: no_final_newline_marker */