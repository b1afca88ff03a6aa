/*
 * arena.h: a per-call bump allocator.
 *
 * Every plugin call gets one arena. The plugin allocates from it through
 * the host table and never frees; the host throws the whole arena away
 * after the call. The arena may hold decrypted credentials and request
 * bodies that contain them, so everything it handed out is wiped before
 * its memory is reused or returned to malloc.
 */
#ifndef ARENA_H
#define ARENA_H

#include <stdarg.h>
#include <stddef.h>

/* Size of the first chunk, and the cap on all chunks when 0 is given. */
#define ARENA_FIRST_CHUNK	4096
#define ARENA_DEFAULT_LIMIT	(64u * 1024 * 1024)

/* The type is opaque; plugins/inbox_plugin.h forward-declares it. */
struct inbox_arena;

struct inbox_arena	*arena_new(size_t);
void			 arena_free(struct inbox_arena *);
void			 arena_reset(struct inbox_arena *);
void			*arena_alloc(struct inbox_arena *, size_t);
char			*arena_strndup(struct inbox_arena *, const char *,
			    size_t);
char			*arena_vprintf(struct inbox_arena *, const char *,
			    va_list) __attribute__((format(printf, 2, 0)));
char			*arena_printf(struct inbox_arena *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
size_t			 arena_used(const struct inbox_arena *);

#endif /* !ARENA_H */
