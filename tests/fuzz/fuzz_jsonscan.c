/*
 * fuzz_jsonscan.c: libFuzzer target for the top-level member scanner
 * (app/core/jsonscan.c), checked against jansson.
 *
 * The webhook host picks an adapter from the scanner's answer instead of
 * parsing the body, so the answer must never contradict the strict parse
 * (json_loadb with JSON_REJECT_DUPLICATES) of a text that parse accepts:
 * FOUND must be exactly the top-level "object" string, ABSENT must mean
 * there is none (or one that is not a string). Texts jansson refuses may
 * get any answer. Besides that the target checks that a FOUND value lies
 * within the input, and aborts on anything else.
 *
 * The input is scanned from its own allocation of exactly its size, so
 * ASan sees any read past the end. Run without a corpus directory, it
 * seeds tests/fuzz/bin/corpus_jsonscan with the webhook bodies of every
 * adapter's golden cases and a few hostile texts (as the plugin targets
 * do, see fuzz_golden.inc), so a short run starts from real payloads.
 * Build and run (from the repository root):
 *   make tests/fuzz/bin/fuzz_jsonscan
 *   tests/fuzz/bin/fuzz_jsonscan -max_total_time=60
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <glob.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonscan.h"

#define FUZZ_CORPUS	"tests/fuzz/bin/corpus_jsonscan"

int		LLVMFuzzerInitialize(int *, char ***);
int		LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void	fuzz_seed(void);
static void	fuzz_seed_one(const char *, const char *, size_t);

static char	*fuzz_argv[64];

/* What the golden cases lack: escapes, duplicates, depth, odd roots. */
static const char *const fuzz_seeds[] = {
	"{\"object\":\"page\",\"entry\":[{\"a\":\"\\\"]{\",\"n\":-1.5e3}]}",
	"{\"obj\\u0065ct\":\"page\"}",
	"{\"object\":\"pa\\u0067e\"}",
	"{\"object\":\"page\",\"object\":\"instagram\"}",
	"{\"e\":{\"object\":\"page\"},\"t\":\"\\\"object\\\":\\\"x\"}",
	"{\"object\":[true,false,null,{}]}",
	" \t\r\n{ \"object\" : \"page\" } \n",
	"[{\"object\":\"page\"}]",
	"{\"a\":[[[[[[[[[[[[[[[[{\"b\":{}}]]]]]]]]]]]]]]]],\"object\":\"x\"}",
};

/*
 * Adds a corpus directory seeded here and crash files under
 * tests/fuzz/bin when they are not given.
 */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int	i, n, has_corpus = 0, has_prefix = 0;

	if (*argc > 60)
		return (0);
	for (i = n = 0; i < *argc; i++) {
		if (i > 0 && (*argv)[i][0] != '-')
			has_corpus = 1;
		if (strncmp((*argv)[i], "-artifact_prefix=", 17) == 0)
			has_prefix = 1;
		fuzz_argv[n++] = (*argv)[i];
	}
	if (!has_prefix)
		fuzz_argv[n++] = "-artifact_prefix=tests/fuzz/bin/";
	if (!has_corpus) {
		fuzz_seed();
		fuzz_argv[n++] = FUZZ_CORPUS;
	}
	fuzz_argv[n] = NULL;
	*argc = n;
	*argv = fuzz_argv;
	return (0);
}

/* The seeds above and every golden case's webhook body. */
static void
fuzz_seed(void)
{
	json_error_t	 jerr;
	json_t		*c, *body;
	glob_t		 g;
	char		 name[64];
	size_t		 i;

	(void)mkdir("tests/fuzz/bin", 0755);
	(void)mkdir(FUZZ_CORPUS, 0755);
	for (i = 0; i < sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]); i++) {
		snprintf(name, sizeof(name), "seed_%zu", i);
		fuzz_seed_one(name, fuzz_seeds[i], strlen(fuzz_seeds[i]));
	}
	if (glob("plugins/*/golden/parse_*.json", 0, NULL, &g) != 0)
		return;
	for (i = 0; i < g.gl_pathc; i++) {
		if ((c = json_load_file(g.gl_pathv[i], 0, &jerr)) == NULL)
			continue;
		body = json_object_get(json_object_get(c, "input"), "body");
		snprintf(name, sizeof(name), "golden_%zu", i);
		if (json_is_string(body))
			fuzz_seed_one(name, json_string_value(body),
			    json_string_length(body));
		json_decref(c);
	}
	globfree(&g);
}

static void
fuzz_seed_one(const char *name, const char *text, size_t len)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", FUZZ_CORPUS, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fwrite(text, 1, len, f);
	fclose(f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	json_error_t	 err;
	json_t		*root, *o;
	const char	*val;
	char		*buf;
	size_t		 vlen;
	int		 rc;

	if ((buf = malloc(len == 0 ? 1 : len)) == NULL)
		abort();
	memcpy(buf, data, len);
	rc = jsonscan_top_string(buf, len, "object", &val, &vlen);
	if (rc == JSONSCAN_FOUND) {
		if (val < buf || vlen > len || val + vlen > buf + len)
			abort();
	} else if (rc == JSONSCAN_ABSENT || rc == JSONSCAN_UNSURE) {
		if (val != NULL || vlen != 0)
			abort();
	} else
		abort();

	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (root != NULL && rc != JSONSCAN_UNSURE) {
		if (!json_is_object(root))
			abort();
		o = json_object_get(root, "object");
		if (rc == JSONSCAN_FOUND && (!json_is_string(o) ||
		    json_string_length(o) != vlen ||
		    memcmp(json_string_value(o), val, vlen) != 0))
			abort();
		if (rc == JSONSCAN_ABSENT && json_is_string(o))
			abort();
	}
	json_decref(root);
	free(buf);
	return (0);
}
