/*
 * pjansson.h: the jansson helpers the plugins used before pjson.h's
 * document model, under the prefix pjj_ while the plugins move to it.
 * Temporary: what still includes this is what is left to convert.
 */
#ifndef PLUGIN_PJANSSON_H
#define PLUGIN_PJANSSON_H

#include <jansson.h>

#include "inbox_plugin.h"
#include "common/pjson.h"

#pragma GCC visibility push(hidden)

int		 pjj_load(const char *, size_t, json_t **);
int		 pjj_load_any(const char *, size_t, json_t **);
const char	*pjj_str(const json_t *, const char *);
json_t		*pjj_obj(const json_t *, const char *);
json_t		*pjj_arr(const json_t *, const char *);
int		 pjj_true(const json_t *, const char *);
const char	*pjj_id(const json_t *, char [PJ_IDLEN]);
int		 pjj_set(json_t *, const char *, json_t *);
int		 pjj_set_str(json_t *, const char *, const char *);
int		 pjj_dump(const struct inbox_call *, const json_t *,
		    const char **, size_t *);

#pragma GCC visibility pop

#endif /* !PLUGIN_PJANSSON_H */
