/*
 * fuzz_pjson.c: libFuzzer target for the plugins' JSON document model
 * (plugins/common/pjson.inc, compiled in), checked against jansson.
 *
 * The host answers 400 or 2xx by jansson's strict parse, and the plugins
 * parse with pjson, so for every input:
 *   - pj_load_any accepts exactly what json_loadb accepts with
 *     JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, and pj_load exactly the
 *     objects among them;
 *   - what both accept is the same tree: pj_dump writes the bytes
 *     json_dumps writes with JSON_COMPACT | JSON_ENCODE_ANY, so values,
 *     key order and the formatting of reals all agree;
 *   - parsed again in an arena that may be too small (a size derived
 *     from the input), the answer is INBOX_ENOMEM or the same verdict
 *     and tree.
 * Besides that, no crash, leak or sanitizer report. The input is parsed
 * from its own allocation of exactly its size, so ASan sees any read past
 * the end.
 *
 * Run without a corpus directory, it seeds tests/fuzz/bin/corpus_pjson
 * with the golden webhook bodies and the hostile texts below
 * (fuzz_seed.inc). Build and run (from the repository root):
 *   make tests/fuzz/bin/fuzz_pjson
 *   tests/fuzz/bin/fuzz_pjson -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "arena.h"
#include "plugin_host.h"

#include "common/pjson.inc"

#define FUZZ_CORPUS	"tests/fuzz/bin/corpus_pjson"

static char	*fuzz_pdump(const struct inbox_call *,
		    const struct pj_value *);

/* What the golden cases lack: every rule the parser has to match. */
static const char *const fuzz_seeds[] = {
	"[0,-0,1.5,-1e-400,1e308,9223372036854775807,-9223372036854775808]",
	"[1e309,9223372036854775808,01,-,1.,.5,+1,0x10]",
	"[\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\"\\\\\"]",
	"[\"\\ud800\",\"\\udc00\",\"\\ud800\\u0041\",\"\\u0000\"]",
	"{\"a\":1,\"\\u0061\":2}",
	"{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k5\":5,\"k6\":6,"
	    "\"k7\":7,\"k8\":8,\"k9\":9,\"k0\":10}",
	"[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"\xc0\x80\xed\xa0\x80"
	    "\xf4\x90\x80\x80\"]",
	"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{\"a\":[[{}]]}]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	" \t\r\n[ true , false , null , { } , [ ] ] \t\r\n",
	"\"just a string\"",
	"1.5e-7",
	"[0.1,0.30000000000000004,1e21,123.0,5e-324,1.7976931348623157e308]",
};

#include "fuzz_seed.inc"

/* pj_dump of v, malloc'd; NULL when the arena is exhausted. */
static char *
fuzz_pdump(const struct inbox_call *call, const struct pj_value *v)
{
	const char	*text;
	size_t		 len;
	char		*s;

	if (pj_dump(call, v, &text, &len) != INBOX_OK)
		return (NULL);
	if (strlen(text) != len || (s = strdup(text)) == NULL)
		abort();
	return (s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct inbox_call	 call;
	const struct pj_value	*v, *o;
	json_error_t		 err;
	json_t			*j;
	char			*buf, *want = NULL, *got;
	int			 rc;

	if ((buf = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(buf, data, len);
	j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &err);

	if (plugin_call_begin(&call, NULL, 0) == -1)
		abort();
	if (pj_load_any(&call, buf, len, &v) != INBOX_OK ||
	    (j == NULL) != (v == NULL))
		abort();
	rc = pj_load(&call, buf, len, &o);
	if (rc != (json_is_object(j) ? INBOX_OK : INBOX_EINVAL))
		abort();
	if (j != NULL) {
		if ((want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    NULL)
			abort();
		if ((got = fuzz_pdump(&call, v)) == NULL ||
		    strcmp(want, got) != 0)
			abort();
		free(got);
	}
	plugin_call_end(&call);

	/* Again with an arena that may be too small. */
	memset(&call, 0, sizeof(call));
	call.host = plugin_host_table();
	if ((call.arena = arena_new(1 + len * 6)) == NULL)
		abort();
	rc = pj_load_any(&call, buf, len, &v);
	if ((rc != INBOX_OK && rc != INBOX_ENOMEM) ||
	    (rc == INBOX_OK && (j == NULL) != (v == NULL)))
		abort();
	if (rc == INBOX_OK && v != NULL &&
	    (got = fuzz_pdump(&call, v)) != NULL) {
		if (strcmp(want, got) != 0)
			abort();
		free(got);
	}
	arena_free(call.arena);

	free(want);
	json_decref(j);
	free(buf);
	return (0);
}
