/*
 * pjson.h: the JSON every channel plugin reads and writes, as a small
 * document model that lives entirely in the call's arena.
 *
 * Untrusted bodies are parsed strictly, accepting exactly what jansson's
 * json_loadb(JSON_REJECT_DUPLICATES) accepts (the host decides 400 or
 * 2xx with jansson, so the two must never disagree); look-ups return
 * NULL for a missing key and for a value of the wrong type alike, so a
 * parser can walk a provider's payload without checking types at every
 * step; values built for an answer are serialised compactly, byte for
 * byte as jansson's JSON_COMPACT would. Every value, and every string a
 * parsed value holds, is in the arena: nothing needs releasing, and
 * nothing outlives the call.
 *
 * Building uses a struct pj_build: the call, and the first failure.
 * Failures are sticky: once one happened, the builders do nothing, so a
 * function builds a whole answer and checks b->rc once at the end.
 *
 * Shared code lives in plugins/common as a header and a .inc file. Each
 * plugin compiles the .inc files it needs from a one-file shared.c in its
 * own directory (the Makefile turns every directory holding .c files into
 * a plugin, so common/ must hold none). Hidden visibility keeps these
 * symbols out of the plugin's dynamic symbol table.
 */
#ifndef PLUGIN_PJSON_H
#define PLUGIN_PJSON_H

#include <stddef.h>
#include <stdint.h>

#include "inbox_plugin.h"

/* Deepest value a document may hold (the root is at depth 1), as
 * jansson's JSON_PARSER_MAX_DEPTH. */
#define PJ_DEPTH_MAX	2048

/* What pj_type() says; PJ_NONE is no value at all (a NULL pointer). */
#define PJ_NONE		0
#define PJ_NULL		1
#define PJ_FALSE	2
#define PJ_TRUE		3
#define PJ_INTEGER	4	/* int64_t */
#define PJ_REAL		5	/* double */
#define PJ_STRING	6	/* NUL-terminated UTF-8, never holding a NUL */
#define PJ_ARRAY	7
#define PJ_OBJECT	8	/* keys unique, in document or insertion order */

struct pj_value;

/* Where values are built: the call whose arena holds them, and the first
 * failure (INBOX_OK until there is one). */
struct pj_build {
	const struct inbox_call	*call;
	int			 rc;
};

#pragma GCC visibility push(hidden)

int			 pj_load(const struct inbox_call *, const char *,
			    size_t, const struct pj_value **);
int			 pj_load_any(const struct inbox_call *, const char *,
			    size_t, const struct pj_value **);

int			 pj_type(const struct pj_value *);
const struct pj_value	*pj_get(const struct pj_value *, const char *);
size_t			 pj_size(const struct pj_value *);
const struct pj_value	*pj_at(const struct pj_value *, size_t);
const char		*pj_string(const struct pj_value *);
int64_t			 pj_int(const struct pj_value *);
const char		*pj_str(const struct pj_value *, const char *);
const struct pj_value	*pj_obj(const struct pj_value *, const char *);
const struct pj_value	*pj_arr(const struct pj_value *, const char *);
int			 pj_true(const struct pj_value *, const char *);
const char		*pj_id(struct pj_build *, const struct pj_value *);
const char		*pj_printf(struct pj_build *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));

struct pj_value		*pj_object(struct pj_build *);
struct pj_value		*pj_array(struct pj_build *);
void			 pj_set(struct pj_build *, struct pj_value *,
			    const char *, const struct pj_value *);
void			 pj_set_str(struct pj_build *, struct pj_value *,
			    const char *, const char *);
void			 pj_set_opt(struct pj_build *, struct pj_value *,
			    const char *, const char *);
void			 pj_set_int(struct pj_build *, struct pj_value *,
			    const char *, int64_t);
void			 pj_set_bool(struct pj_build *, struct pj_value *,
			    const char *, int);
void			 pj_append(struct pj_build *, struct pj_value *,
			    const struct pj_value *);
int			 pj_dump(const struct inbox_call *,
			    const struct pj_value *, const char **, size_t *);

int			 pj_streq(const char *, const char *);
size_t			 pj_chars(const char *);
int			 pj_chars_ok(const char *, size_t);
int			 pj_utf8_ok(const char *);
int			 pj_copy(const struct inbox_call *, const char *,
			    const char **);

#pragma GCC visibility pop

#endif /* !PLUGIN_PJSON_H */
