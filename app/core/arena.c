/*
 * arena.c: the per-call bump allocator behind inbox_host.alloc, strndup
 * and printf.
 *
 * Memory comes from malloc in chunks that double from ARENA_FIRST_CHUNK up
 * to ARENA_MAX_CHUNK (an allocation larger than that gets a chunk of its
 * own), under a cap the creator chooses, so a plugin that loops on a bad
 * input runs out of arena rather than out of the process's memory.
 *
 * Chunks come from calloc and every byte handed out is wiped on reset and
 * free, so the unused part of a chunk is always zero: that is what makes
 * arena_alloc's memory zeroed without a memset on each call, and it is why
 * a decrypted credential copied into the arena does not outlive the call.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

#define ARENA_MAX_CHUNK		(1024u * 1024)
#define ARENA_ALIGN		(_Alignof(max_align_t))

struct arena_chunk {
	struct arena_chunk	*prev;		/* the chunk filled before */
	size_t			 size;		/* bytes in data */
	size_t			 used;		/* bytes handed out */
	max_align_t		 data[];
};

struct inbox_arena {
	struct arena_chunk	*cur;	/* the one allocations come from */
	struct arena_chunk	*first;	/* kept across resets */
	size_t			 limit;	/* cap on the sum of chunk sizes */
	size_t			 total;	/* sum of chunk sizes */
	size_t			 used;	/* bytes handed out, all chunks */
};

static struct arena_chunk	*arena_chunk_new(size_t);
static void			 arena_chunk_wipe(struct arena_chunk *);

/*
 * A new arena that will never hold more than limit bytes in all (0 for
 * ARENA_DEFAULT_LIMIT). The caller owns it and releases it with
 * arena_free(). NULL when out of memory.
 */
struct inbox_arena *
arena_new(size_t limit)
{
	struct inbox_arena	*a;
	size_t			 first;

	if (limit == 0)
		limit = ARENA_DEFAULT_LIMIT;
	first = limit < ARENA_FIRST_CHUNK ? limit : ARENA_FIRST_CHUNK;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return (NULL);
	if ((a->first = arena_chunk_new(first)) == NULL) {
		free(a);
		return (NULL);
	}
	a->cur = a->first;
	a->limit = limit;
	a->total = first;
	return (a);
}

/* Wipes and releases the arena and everything allocated from it. NULL is
 * allowed. Every pointer the arena handed out is invalid afterwards. */
void
arena_free(struct inbox_arena *a)
{
	if (a == NULL)
		return;
	arena_reset(a);
	arena_chunk_wipe(a->first);
	free(a->first);
	free(a);
}

/*
 * Wipes everything allocated so far and makes the arena empty again,
 * keeping only its first chunk. Every pointer it handed out is invalid
 * afterwards.
 */
void
arena_reset(struct inbox_arena *a)
{
	struct arena_chunk	*c, *prev;

	for (c = a->cur; c != a->first; c = prev) {
		prev = c->prev;
		arena_chunk_wipe(c);
		free(c);
	}
	arena_chunk_wipe(a->first);
	a->cur = a->first;
	a->total = a->first->size;
	a->used = 0;
}

/*
 * len zeroed bytes aligned for any type, owned by the arena (never pass
 * them to free). NULL when the arena's limit would be exceeded or malloc
 * fails. A request for 0 bytes gets a distinct, valid pointer.
 */
void *
arena_alloc(struct inbox_arena *a, size_t len)
{
	struct arena_chunk	*c;
	size_t			 size;
	void			*p;

	if (len == 0)
		len = 1;
	if (len > SIZE_MAX - (ARENA_ALIGN - 1))
		return (NULL);
	len = (len + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);

	c = a->cur;
	if (c->size - c->used < len) {
		if (len > a->limit - a->total)
			return (NULL);
		size = c->size < ARENA_MAX_CHUNK / 2 ?
		    c->size * 2 : ARENA_MAX_CHUNK;
		if (size < len)
			size = len;
		if (size > a->limit - a->total)
			size = a->limit - a->total;
		if ((c = arena_chunk_new(size)) == NULL)
			return (NULL);
		c->prev = a->cur;
		a->cur = c;
		a->total += size;
	}

	/* Already zero: see the comment at the top of the file. */
	p = (unsigned char *)c->data + c->used;
	c->used += len;
	a->used += len;
	return (p);
}

/*
 * A NUL-terminated copy of at most len bytes of s, stopping at a NUL like
 * strndup(3), owned by the arena. NULL when the arena is exhausted.
 */
char *
arena_strndup(struct inbox_arena *a, const char *s, size_t len)
{
	char	*p;

	len = strnlen(s, len);
	if (len == SIZE_MAX || (p = arena_alloc(a, len + 1)) == NULL)
		return (NULL);
	memcpy(p, s, len);
	return (p);
}

/* vprintf(3) into a string owned by the arena. NULL when the arena is
 * exhausted or the format fails. */
char *
arena_vprintf(struct inbox_arena *a, const char *fmt, va_list ap)
{
	va_list	 ap2;
	char	*p;
	int	 len;

	va_copy(ap2, ap);
	len = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (len < 0 || (p = arena_alloc(a, (size_t)len + 1)) == NULL)
		return (NULL);
	(void)vsnprintf(p, (size_t)len + 1, fmt, ap);
	return (p);
}

/* printf(3) into a string owned by the arena; see arena_vprintf(). */
char *
arena_printf(struct inbox_arena *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return (p);
}

/* Bytes handed out since the last reset, alignment padding included. */
size_t
arena_used(const struct inbox_arena *a)
{
	return (a->used);
}

/* A zeroed chunk with size usable bytes, owned by the caller. */
static struct arena_chunk *
arena_chunk_new(size_t size)
{
	struct arena_chunk	*c;

	if (size > SIZE_MAX - sizeof(*c))
		return (NULL);
	if ((c = calloc(1, sizeof(*c) + size)) == NULL)
		return (NULL);
	c->size = size;
	return (c);
}

/* explicit_bzero, not memset: the compiler must not drop it before free. */
static void
arena_chunk_wipe(struct arena_chunk *c)
{
	explicit_bzero(c->data, c->used);
	c->used = 0;
}
