/*
 * utf8.c: counting characters, as people (and PostgreSQL) count them.
 *
 * Limits the API states ("10 to 128 characters", "at most 100
 * characters") are in characters, while strlen() counts bytes; every
 * string here came through jansson, which refuses invalid UTF-8, so
 * counting the bytes that do not continue a sequence is enough.
 */
#include "utf8.h"

size_t
utf8_chars(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return (n);
}
