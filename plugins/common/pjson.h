/*
 * pjson.h: the jansson helpers every channel plugin uses.
 *
 * Untrusted bodies are loaded strictly (duplicate keys rejected, an object
 * root required); look-ups return NULL for a missing key and for a value
 * of the wrong type alike, so a parser can walk a provider's payload
 * without checking types at every step; and JSON is serialised straight
 * into the call's arena, so nothing jansson allocated outlives a call.
 *
 * Shared code lives in plugins/common as a header and a .inc file. Each
 * plugin compiles the .inc files it needs from a one-file shared.c in its
 * own directory (the Makefile turns every directory holding .c files into
 * a plugin, so common/ must hold none). Hidden visibility keeps these
 * symbols out of the plugin's dynamic symbol table.
 */
#ifndef PLUGIN_PJSON_H
#define PLUGIN_PJSON_H

#include <jansson.h>

#include "inbox_plugin.h"

/* Room for a JSON integer printed in decimal, with its NUL. */
#define PJ_IDLEN	24

#pragma GCC visibility push(hidden)

int		 pj_load(const char *, size_t, json_t **);
int		 pj_load_any(const char *, size_t, json_t **);
const char	*pj_str(const json_t *, const char *);
json_t		*pj_obj(const json_t *, const char *);
json_t		*pj_arr(const json_t *, const char *);
int		 pj_true(const json_t *, const char *);
const char	*pj_id(const json_t *, char [PJ_IDLEN]);
int		 pj_streq(const char *, const char *);
int		 pj_set(json_t *, const char *, json_t *);
int		 pj_set_str(json_t *, const char *, const char *);
size_t		 pj_chars(const char *);
int		 pj_chars_ok(const char *, size_t);
int		 pj_copy(const struct inbox_call *, const char *,
		    const char **);
int		 pj_dump(const struct inbox_call *, const json_t *,
		    const char **, size_t *);

#pragma GCC visibility pop

#endif /* !PLUGIN_PJSON_H */
