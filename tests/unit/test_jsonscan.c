/*
 * test_jsonscan.c: the top-level member scanner (app/core/jsonscan.c).
 *
 * Every case is also checked against jansson: whenever json_loadb with
 * JSON_REJECT_DUPLICATES accepts a text, FOUND must give exactly its
 * top-level "object" string and ABSENT must mean it has none (or one that
 * is not a string), which is the promise the webhook host relies on.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "jsonscan.h"

static int	scan_len(const char *, size_t, char *, size_t);
static int	scan(const char *, char *, size_t);
static void	agree(const char *, size_t, int, const char *, size_t);
static void	test_found(void **);
static void	test_absent(void **);
static void	test_whitespace(void **);
static void	test_escapes(void **);
static void	test_duplicates(void **);
static void	test_nested_only(void **);
static void	test_not_string(void **);
static void	test_roots(void **);
static void	test_truncated(void **);
static void	test_nul_and_control(void **);
static void	test_depth(void **);
static void	test_brackets(void **);
static void	test_huge(void **);
static void	test_tricky_strings(void **);

/*
 * Scans a private copy of the len bytes of text (so nothing past len is
 * readable by accident), checks the answer against jansson's, and gives
 * the found value NUL-terminated in out.
 */
static int
scan_len(const char *text, size_t len, char *out, size_t outsz)
{
	const char	*val;
	char		*copy;
	size_t		 vlen;
	int		 rc;

	copy = malloc(len == 0 ? 1 : len);
	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = jsonscan_top_string(copy, len, "object", &val, &vlen);
	assert_true(rc == JSONSCAN_FOUND || rc == JSONSCAN_ABSENT ||
	    rc == JSONSCAN_UNSURE);
	if (rc == JSONSCAN_FOUND) {
		assert_true(val >= copy && val + vlen <= copy + len);
		assert_true(vlen < outsz);
		memcpy(out, val, vlen);
		out[vlen] = '\0';
	} else {
		assert_null(val);
		assert_int_equal(vlen, 0);
		out[0] = '\0';
	}
	agree(copy, len, rc, val, vlen);
	free(copy);
	return (rc);
}

static int
scan(const char *text, char *out, size_t outsz)
{
	return (scan_len(text, strlen(text), out, outsz));
}

/* The scanner's answer is one jansson's parse does not contradict. */
static void
agree(const char *text, size_t len, int rc, const char *val, size_t vlen)
{
	json_error_t	 err;
	json_t		*root, *o;

	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL)
		return;
	o = json_object_get(root, "object");
	if (rc == JSONSCAN_FOUND) {
		assert_true(json_is_object(root));
		assert_true(json_is_string(o));
		assert_int_equal(json_string_length(o), vlen);
		assert_memory_equal(json_string_value(o), val, vlen);
	} else if (rc == JSONSCAN_ABSENT) {
		assert_true(json_is_object(root));
		assert_false(json_is_string(o));
	}
	json_decref(root);
}

static void
test_found(void **state)
{
	char	v[64];

	(void)state;
	assert_int_equal(scan("{\"object\":\"page\"}", v, sizeof(v)),
	    JSONSCAN_FOUND);
	assert_string_equal(v, "page");
	assert_int_equal(scan("{\"object\":\"whatsapp_business_account\","
	    "\"entry\":[{\"id\":\"1\",\"changes\":[{\"value\":{\"a\":[1,2.5e3,"
	    "-0.1E-2,true,false,null,{}]},\"field\":\"messages\"}]}]}", v,
	    sizeof(v)), JSONSCAN_FOUND);
	assert_string_equal(v, "whatsapp_business_account");
	/* Last, after nested values. */
	assert_int_equal(scan("{\"entry\":[{\"object\":\"no\"}],\"x\":{\"y\":"
	    "[[[]]]},\"object\":\"instagram\"}", v, sizeof(v)),
	    JSONSCAN_FOUND);
	assert_string_equal(v, "instagram");
	/* Empty, and raw UTF-8, are values like any other. */
	assert_int_equal(scan("{\"object\":\"\"}", v, sizeof(v)),
	    JSONSCAN_FOUND);
	assert_string_equal(v, "");
	assert_int_equal(scan("{\"object\":\"p\xc3\xa4ge\"}", v, sizeof(v)),
	    JSONSCAN_FOUND);
	assert_string_equal(v, "p\xc3\xa4ge");
}

static void
test_absent(void **state)
{
	char	v[64];

	(void)state;
	assert_int_equal(scan("{}", v, sizeof(v)), JSONSCAN_ABSENT);
	assert_int_equal(scan("{\"entry\":[]}", v, sizeof(v)),
	    JSONSCAN_ABSENT);
	/* Near misses of the name. */
	assert_int_equal(scan("{\"objects\":\"page\",\"objec\":\"page\","
	    "\"Object\":\"page\",\"object \":\"page\"}", v, sizeof(v)),
	    JSONSCAN_ABSENT);
}

static void
test_whitespace(void **state)
{
	char	v[64];

	(void)state;
	assert_int_equal(scan(" \t\r\n{ \t\r\n\"a\" \n: [ 1 , { } , \"]\" ] "
	    ",\r\n\"object\"\t:\n\"page\" \t\r\n} \t\r\n", v, sizeof(v)),
	    JSONSCAN_FOUND);
	assert_string_equal(v, "page");
	/* Form feed and vertical tab are not JSON whitespace. */
	assert_int_equal(scan("{\"object\":\"page\"}\f", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("\v{\"object\":\"page\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	/* Non-breaking space (UTF-8) neither. */
	assert_int_equal(scan("{\xc2\xa0\"object\":\"page\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
}

static void
test_escapes(void **state)
{
	char	v[64];

	(void)state;
	/* A key that decodes to "object" (or might) is unsure. */
	assert_int_equal(scan("{\"obj\\u0065ct\":\"page\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\\\"b\":1,\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	/* An escaped value is unsure: the caller would need it decoded. */
	assert_int_equal(scan("{\"object\":\"pa\\u0067e\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":\"page\\/x\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	/* Escapes below the top level are skipped, not feared. */
	assert_int_equal(scan("{\"e\":{\"k\\\"ey\":\"a\\\"]{\\\\\",\"b\":"
	    "[\"\\\\\"]},\"object\":\"page\"}", v, sizeof(v)),
	    JSONSCAN_FOUND);
	assert_string_equal(v, "page");
	/* Bad escapes. */
	assert_int_equal(scan("{\"e\":\"\\x\",\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"e\":\"\\u12\",\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"e\":\"\\u12g4\",\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
}

static void
test_duplicates(void **state)
{
	char	v[64];

	(void)state;
	assert_int_equal(scan("{\"object\":\"page\",\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":\"page\",\"entry\":[],"
	    "\"object\":\"instagram\"}", v, sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":1,\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
}

static void
test_nested_only(void **state)
{
	char	v[64];

	(void)state;
	assert_int_equal(scan("{\"entry\":{\"object\":\"page\"}}", v,
	    sizeof(v)), JSONSCAN_ABSENT);
	assert_int_equal(scan("{\"entry\":[{\"object\":\"page\"},"
	    "[\"object\",\"page\"]]}", v, sizeof(v)), JSONSCAN_ABSENT);
	/* In a string value, at the top level or below. */
	assert_int_equal(scan("{\"text\":\"{\\\"object\\\":\\\"x\\\"}\"}", v,
	    sizeof(v)), JSONSCAN_ABSENT);
	assert_int_equal(scan("{\"text\":\"\\\",\\\"object\\\":\\\"x\","
	    "\"object\":\"page\"}", v, sizeof(v)), JSONSCAN_FOUND);
	assert_string_equal(v, "page");
	/* The value of a member named "object" is not a key. */
	assert_int_equal(scan("{\"a\":\"object\",\"b\":[\"object\"]}", v,
	    sizeof(v)), JSONSCAN_ABSENT);
}

static void
test_not_string(void **state)
{
	char	v[64];

	(void)state;
	assert_int_equal(scan("{\"object\":1}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":null}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":{\"object\":\"page\"}}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":[\"page\"]}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":true}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
}

static void
test_roots(void **state)
{
	char	v[64];

	(void)state;
	assert_int_equal(scan("", v, sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("   ", v, sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("[{\"object\":\"page\"}]", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("\"object\"", v, sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("null", v, sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("42", v, sizeof(v)), JSONSCAN_UNSURE);
	/* A byte-order mark: jansson refuses it too. */
	assert_int_equal(scan("\xef\xbb\xbf{\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	/* Two roots, or anything after the one. */
	assert_int_equal(scan("{\"object\":\"page\"}{}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":\"page\"} x", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":\"page\"}}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	/* NULL in, unsure out. */
	{
		const char	*val = "x";
		size_t		 vlen = 1;

		assert_int_equal(jsonscan_top_string(NULL, 0, "object", &val,
		    &vlen), JSONSCAN_UNSURE);
		assert_null(val);
		assert_int_equal(jsonscan_top_string("{}", 2, NULL, &val,
		    &vlen), JSONSCAN_UNSURE);
	}
}

static void
test_truncated(void **state)
{
	static const char	 full[] = "{\"object\":\"whatsapp_business_"
	    "account\",\"entry\":[{\"id\":\"1\\\"2\",\"n\":-1.5e3,\"t\":true,"
	    "\"changes\":[{\"value\":{}}]}]} ";
	char			 v[64];
	size_t			 n;

	(void)state;
	/* Every proper prefix but the one that drops only the trailing
	 * space is unsure. */
	for (n = 0; n < sizeof(full) - 2; n++)
		assert_int_equal(scan_len(full, n, v, sizeof(v)),
		    JSONSCAN_UNSURE);
	assert_int_equal(scan_len(full, n, v, sizeof(v)), JSONSCAN_FOUND);
	assert_int_equal(scan_len(full, n + 1, v, sizeof(v)), JSONSCAN_FOUND);
	assert_string_equal(v, "whatsapp_business_account");

	assert_int_equal(scan("{\"object\":\"page", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":\"page\\\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":\"\\", v, sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":tru", v, sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":\"\\u00", v, sizeof(v)),
	    JSONSCAN_UNSURE);
}

static void
test_nul_and_control(void **state)
{
	char	v[64];

	(void)state;
	assert_int_equal(scan_len("{\"object\":\"pa\0ge\"}", 18, v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan_len("{\"object\":\"page\"}\0", 18, v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan_len("\0{\"object\":\"page\"}", 18, v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan_len("{\"a\":\"\0\",\"object\":\"page\"}", 26,
	    v, sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan_len("{\"ob\0ect\":\"page\"}", 17, v,
	    sizeof(v)), JSONSCAN_UNSURE);
	/* A literal newline or tab inside a string. */
	assert_int_equal(scan("{\"object\":\"pa\nge\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":\"\t\",\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	/* Bytes the grammar has no place for. */
	assert_int_equal(scan("{\"a\":\xff,\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":'x',\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":1,,\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":1,\"object\":\"page\",}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\" 1,\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":[1 2],\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":truex,\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{object:\"page\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
}

static void
test_depth(void **state)
{
	char	*t, v[64];
	size_t	 n, d, i;

	(void)state;
	t = malloc(100000);
	assert_non_null(t);
	/* Exactly JSONSCAN_MAXDEPTH levels (the root is one) are followed. */
	for (d = JSONSCAN_MAXDEPTH - 2; d <= JSONSCAN_MAXDEPTH + 1; d++) {
		n = (size_t)sprintf(t, "{\"object\":\"page\",\"a\":");
		for (i = 0; i < d; i++) {
			if (i % 2) {
				memcpy(t + n, "{\"k\":", 5);
				n += 5;
			} else
				t[n++] = '[';
		}
		t[n++] = '1';
		for (i = d; i > 0; i--)
			t[n++] = (i - 1) % 2 ? '}' : ']';
		t[n++] = '}';
		assert_int_equal(scan_len(t, n, v, sizeof(v)),
		    d + 1 <= JSONSCAN_MAXDEPTH ? JSONSCAN_FOUND :
		    JSONSCAN_UNSURE);
	}
	/* Far deeper than anything is followed: unsure, no recursion. */
	n = 0;
	t[n++] = '{';
	memcpy(t + n, "\"a\":", 4);
	n += 4;
	for (i = 0; i < 40000; i++)
		t[n++] = '[';
	for (i = 0; i < 40000; i++)
		t[n++] = ']';
	t[n++] = '}';
	assert_int_equal(scan_len(t, n, v, sizeof(v)), JSONSCAN_UNSURE);
	free(t);
}

static void
test_brackets(void **state)
{
	char	v[64];

	(void)state;
	assert_int_equal(scan("{\"a\":[},\"object\":\"page\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":{]},\"object\":\"page\"}", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":\"page\"]", v, sizeof(v)),
	    JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":{\"b\"},\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"a\":{1:2},\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	/* Brackets and quotes inside strings are text. */
	assert_int_equal(scan("{\"a\":\"]}{[\",\"b\":[\"}\",\"\\\"]{\"],"
	    "\"object\":\"page\"}", v, sizeof(v)), JSONSCAN_FOUND);
	assert_string_equal(v, "page");
}

static void
test_huge(void **state)
{
	const size_t	 len = 1024 * 1024;
	char		*t, v[64];
	size_t		 n;

	(void)state;
	t = malloc(len);
	assert_non_null(t);
	/* 1 MiB: a long array of strings before the member. */
	n = (size_t)sprintf(t, "{\"entry\":[");
	while (n + 64 < len) {
		memcpy(t + n, "\"x\\\"y]}\",", 9);
		n += 9;
	}
	memcpy(t + n, "1],\"object\":\"page\"}", 19);
	n += 19;
	assert_int_equal(scan_len(t, n, v, sizeof(v)), JSONSCAN_FOUND);
	assert_string_equal(v, "page");
	/* One string of almost 1 MiB as the value. */
	n = (size_t)sprintf(t, "{\"object\":\"");
	memset(t + n, 'a', len - n - 2);
	memcpy(t + len - 2, "\"}", 2);
	{
		const char	*val;
		size_t		 vlen;

		assert_int_equal(jsonscan_top_string(t, len, "object", &val,
		    &vlen), JSONSCAN_FOUND);
		assert_int_equal(vlen, len - 13);
		assert_ptr_equal(val, t + 11);
	}
	free(t);
}

static void
test_tricky_strings(void **state)
{
	char	v[64];

	(void)state;
	/* A backslash before the closing quote of another string. */
	assert_int_equal(scan("{\"a\":\"\\\\\",\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_FOUND);
	assert_string_equal(v, "page");
	/* A key at the top level whose text holds the name. */
	assert_int_equal(scan("{\"\\\"object\":\"x\",\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	/* "object" as a value then as a key. */
	assert_int_equal(scan("{\"k\":\"object\",\"object\":\"page\"}", v,
	    sizeof(v)), JSONSCAN_FOUND);
	assert_string_equal(v, "page");
	/* A member value string holding "object":"x". */
	assert_int_equal(scan("{\"object\":\"\\\"object\\\":\\\"x\\\"\"}", v,
	    sizeof(v)), JSONSCAN_UNSURE);
	assert_int_equal(scan("{\"object\":\"page\",\"t\":\"\\\",\\\"object"
	    "\\\":\\\"x\"}", v, sizeof(v)), JSONSCAN_FOUND);
	assert_string_equal(v, "page");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found),
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_nested_only),
		cmocka_unit_test(test_not_string),
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_nul_and_control),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_brackets),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_tricky_strings),
	};

	return (cmocka_run_group_tests_name("jsonscan", tests, NULL, NULL));
}
