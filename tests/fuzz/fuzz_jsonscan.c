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
 * adapter's golden cases and a few hostile texts (fuzz_seed.inc), so a
 * short run starts from real payloads.
 * Build and run (from the repository root):
 *   make tests/fuzz/bin/fuzz_jsonscan
 *   tests/fuzz/bin/fuzz_jsonscan -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonscan.h"

#define FUZZ_CORPUS	"tests/fuzz/bin/corpus_jsonscan"

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

#include "fuzz_seed.inc"

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
