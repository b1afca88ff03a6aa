/*
 * utf8.h: counting characters, as people (and PostgreSQL) count them.
 */
#ifndef UTF8_H
#define UTF8_H

#include <stddef.h>

/* Code points in s, which must be valid UTF-8 (jansson checked it). */
size_t	utf8_chars(const char *);

#endif
