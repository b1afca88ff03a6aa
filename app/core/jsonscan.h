/*
 * jsonscan.h: one top-level string member of a JSON object, found without
 * parsing the text into a tree. See jsonscan.c for what is checked and
 * why the answer may be "unsure".
 */
#ifndef JSONSCAN_H
#define JSONSCAN_H

#include <stddef.h>

#define JSONSCAN_FOUND		1	/* a string, no escapes: *val, *vlen */
#define JSONSCAN_ABSENT		0	/* no member of that name */
#define JSONSCAN_UNSURE		-1	/* anything else: parse it properly */

/* Deepest nesting followed, the top-level object counting as 1. */
#define JSONSCAN_MAXDEPTH	64

int	jsonscan_top_string(const char *, size_t, const char *,
	    const char **, size_t *);

#endif /* !JSONSCAN_H */
