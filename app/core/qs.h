/*
 * qs.h: query strings into JSON objects.
 */
#ifndef QS_H
#define QS_H

#include <stddef.h>

#include <jansson.h>

#define QS_MAX_ARGS	20
#define QS_MAX_KEY	32
#define QS_MAX_VALUE	1024

/*
 * Adds each name=value of qs (may be NULL) to out as strings, decoded.
 * Names are [a-z0-9_.]{1,32}; values valid UTF-8 of at most 1024 bytes;
 * at most 20 arguments, no name twice. Returns 0, or -1 with a message
 * for the client in err.
 */
int	qs_parse(const char *, json_t *, char *, size_t);
/* Decodes %XX and '+' from src[0..len) into dst (len + 1 bytes);
 * returns the decoded length or -1 on a bad escape. */
int	qs_decode(const char *, size_t, char *);

#endif
