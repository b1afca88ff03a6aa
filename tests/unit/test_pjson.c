/*
 * test_pjson.c: the plugins' JSON document model (plugins/common/pjson),
 * compiled in, with the real host table and arenas of app/core.
 *
 * The parser must accept exactly what jansson's strict parse accepts
 * (json_loadb with JSON_REJECT_DUPLICATES, and JSON_DECODE_ANY for
 * pj_load_any): the host answers 400 or 2xx by jansson's verdict. Every
 * text here is judged by both, and when both accept it the two trees
 * must serialise to the same bytes (pj_dump against json_dumps with
 * JSON_COMPACT | JSON_ENCODE_ANY), which checks the values, key order
 * and real formatting too. Beside that: look-ups, builders, and the arena running out.
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

#include "arena.h"
#include "plugin_host.h"

#include "common/pjson.inc"

/* Bytes a test document may take in the arena at most. */
#define TEST_ARENA_MAX	(4u * 1024 * 1024)

static void	 call_init(struct inbox_call *, size_t);
static void	 call_done(struct inbox_call *);
static char	*pdump(const struct inbox_call *, const struct pj_value *);
static int	 agree_len(const char *, size_t);
static int	 agree(const char *);
static void	 agree_all(const char *const *, size_t, int);
/* Every text of a static list is accepted (ok 1) or refused (ok 0). */
#define AGREE_ALL(list, ok)	\
	agree_all((list), sizeof(list) / sizeof((list)[0]), (ok))
/* A literal with NULs in it, all of its bytes. */
#define agree_lit(s)	agree_len((s), sizeof(s) - 1)
static char	*nest(const char *, size_t, const char *, const char *);
static void	 test_grammar(void **);
static void	 test_whitespace(void **);
static void	 test_nul_after_token(void **);
static void	 test_literals(void **);
static void	 test_numbers(void **);
static void	 test_int64(void **);
static void	 test_reals(void **);
static void	 test_strings(void **);
static void	 test_utf8(void **);
static void	 test_escapes(void **);
static void	 test_surrogates(void **);
static void	 test_nul(void **);
static void	 test_depth(void **);
static void	 test_duplicates(void **);
static void	 test_roots(void **);
static void	 test_huge(void **);
static void	 test_lookups(void **);
static void	 test_ids(void **);
static void	 test_builders(void **);
static void	 test_sticky(void **);
static void	 test_arena_parse(void **);
static void	 test_arena_build(void **);

/* A call as the host makes one, with an arena of at most limit bytes
 * (0: the host's default). */
static void
call_init(struct inbox_call *call, size_t limit)
{
	memset(call, 0, sizeof(*call));
	call->host = plugin_host_table();
	call->arena = arena_new(limit);
	assert_non_null(call->arena);
}

static void
call_done(struct inbox_call *call)
{
	arena_free(call->arena);
	memset(call, 0, sizeof(*call));
}

/* pj_dump of v, malloc'd. */
static char *
pdump(const struct inbox_call *call, const struct pj_value *v)
{
	const char	*text;
	size_t		 len;
	char		*s;

	assert_int_equal(pj_dump(call, v, &text, &len), INBOX_OK);
	assert_int_equal(strlen(text), len);
	s = strdup(text);
	assert_non_null(s);
	return (s);
}

/*
 * Judges the len bytes of text (from an allocation of exactly that size,
 * so a read past them is ASan's) with pj_load_any and pj_load, and with
 * jansson; the verdicts and the trees must be the same. Whether it was
 * accepted.
 */
static int
agree_len(const char *text, size_t len)
{
	struct inbox_call	 call;
	const struct pj_value	*v, *o;
	json_error_t		 err;
	json_t			*j;
	char			*copy, *s1, *s2;
	int			 ok;

	copy = malloc(len == 0 ? 1 : len);
	assert_non_null(copy);
	memcpy(copy, text, len);
	call_init(&call, 0);
	j = json_loadb(copy, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &err);
	assert_int_equal(pj_load_any(&call, copy, len, &v), INBOX_OK);
	if ((j == NULL) != (v == NULL))
		fail_msg("%.60s: jansson %s, pj_load_any %s", text,
		    j == NULL ? err.text : "accepts",
		    v == NULL ? "refuses" : "accepts");
	assert_int_equal(pj_load(&call, copy, len, &o),
	    json_is_object(j) ? INBOX_OK : INBOX_EINVAL);
	ok = j != NULL;
	if (ok) {
		s1 = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
		s2 = pdump(&call, v);
		assert_non_null(s1);
		if (strcmp(s1, s2) != 0)
			fail_msg("%.60s:\n jansson %.200s\n pjson   %.200s",
			    text, s1, s2);
		free(s1);
		free(s2);
	}
	json_decref(j);
	call_done(&call);
	free(copy);
	return (ok);
}

static int
agree(const char *text)
{
	return (agree_len(text, strlen(text)));
}

static void
agree_all(const char *const *texts, size_t n, int ok)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (agree(texts[i]) != ok)
			fail_msg("%s: expected %s", texts[i],
			    ok ? "accepted" : "refused");
}

/* inner inside n levels of open and close, malloc'd. */
static char *
nest(const char *open, size_t n, const char *inner, const char *close)
{
	size_t	 ol = strlen(open), il = strlen(inner), cl = strlen(close);
	size_t	 i;
	char	*s, *p;

	s = malloc(n * (ol + cl) + il + 1);
	assert_non_null(s);
	for (p = s, i = 0; i < n; i++, p += ol)
		memcpy(p, open, ol);
	memcpy(p, inner, il);
	p += il;
	for (i = 0; i < n; i++, p += cl)
		memcpy(p, close, cl);
	*p = '\0';
	return (s);
}

static void
test_grammar(void **state)
{
	static const char *const good[] = {
		"{}", "[]", "{\"a\":1}", "[1,2,3]", "{\"a\":{\"b\":[{}]}}",
		"[[],[[]],{},{\"\":\"\"}]", "{\"a\":[1,\"x\",true,null,{}]}",
	};
	static const char *const bad[] = {
		"", "{", "}", "[", "]", "[}", "{]", "[1,]", "[,1]", "[,]",
		"{,}", "{\"a\":1,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}",
		"{a:1}", "{'a':1}", "['a']", "{1:2}", "{null:1}", "[1 2]",
		"{\"a\":1 \"b\":2}", "[]]", "{}}", "{}{}", "[][]", "[] x",
		"[1]x", "{\"a\":1}\"", "[\"a\" \"b\"]", "[1,,2]", "{\"a\"::1}",
		"[1:2]", "{\"a\",1}",
	};

	(void)state;
	AGREE_ALL(good, 1);
	AGREE_ALL(bad, 0);
}

/* Space, tab, CR and LF only; not even between a minus and digits. */
static void
test_whitespace(void **state)
{
	static const char *const bad[] = {
		"\f[]", "[]\v", "[\x0b]", "\xc2\xa0[]", "\xef\xbb\xbf{}",
		"[- 1]", "{\"a\":tr ue}",
	};

	(void)state;
	assert_true(agree(" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , 2 ]"
	    " \t\r\n} \t\r\n"));
	assert_true(agree("  [  ]  "));
	AGREE_ALL(bad, 0);
	assert_false(agree_lit("[1]\0"));
	assert_false(agree_lit("[\0]"));
	assert_false(agree_lit("\0"));
	assert_false(agree_lit("[\"a\"\0]"));
	assert_false(agree_lit("[1 \0]"));
	assert_false(agree_lit("[1,\0 2]"));
	assert_false(agree("   "));
}

/*
 * jansson loses one NUL put back after reading past a number or a
 * literal: "[1\0]" is [1] to it, so to pjson too; a second NUL, or one
 * anywhere else, is a syntax error.
 */
static void
test_nul_after_token(void **state)
{
	(void)state;
	assert_true(agree_lit("[1\0]"));
	assert_true(agree_lit("[0\0,-0\0,1.5\0,1e5\0]"));
	assert_true(agree_lit("[true\0,false\0,null\0]"));
	assert_true(agree_lit("{\"a\":1\0}"));
	assert_true(agree_lit("[1\0 ]"));
	assert_true(agree_lit("1\0"));
	assert_true(agree_lit("true\0"));
	assert_false(agree_lit("[1\0\0]"));
	assert_false(agree_lit("1\0\0"));
	assert_false(agree_lit("[1\0x]"));
	assert_false(agree_lit("[-\0]"));
	assert_false(agree_lit("[1.\0]"));
	assert_false(agree_lit("[tr\0ue]"));
}

static void
test_literals(void **state)
{
	static const char *const bad[] = {
		"[tru]", "[truee]", "[True]", "[nul]", "[nulll]", "[NULL]",
		"[fals]", "[falsey]", "[t]", "[n]", "[f]", "[true1]",
		"[nan]", "[NaN]", "[Infinity]", "[-Infinity]", "[undefined]",
		"t", "nul", "fals",
	};

	(void)state;
	assert_true(agree("[true,false,null]"));
	assert_true(agree("true"));
	assert_true(agree("null"));
	assert_true(agree("false"));
	AGREE_ALL(bad, 0);
}

static void
test_numbers(void **state)
{
	static const char *const good[] = {
		"[0]", "[-0]", "[1]", "[-1]", "[10]", "[1234567890]",
		"[0.5]", "[-0.5]", "[1e5]", "[1E5]", "[1e+5]", "[1e-5]",
		"[1.5e300]", "[0e0]", "[-0.0]", "[0.0e-0]", "[12.34E+56]",
		"1", "-1.5", "0",
	};
	static const char *const bad[] = {
		"[01]", "[-01]", "[00]", "[+1]", "[.5]", "[1.]", "[1.e5]",
		"[1e]", "[1e+]", "[1e-]", "[-]", "[--1]", "[-.5]", "[0x10]",
		"[1_000]", "[1,5.]", "[.]", "[e5]", "[1e5.5]", "[1.5.5]",
		"[0.5e]", "[ -]", "[- 1]", "[1 .5]", "-", "01",
	};

	(void)state;
	AGREE_ALL(good, 1);
	AGREE_ALL(bad, 0);
}

/* Integers are int64_t; one outside is refused, not rounded. */
static void
test_int64(void **state)
{
	static const char	 doc[] = "{\"a\":9223372036854775807,"
	    "\"b\":-9223372036854775808,\"c\":-0,\"d\":1.0}";
	struct inbox_call	 call;
	const struct pj_value	*v;

	(void)state;
	assert_true(agree("[9223372036854775807,-9223372036854775808]"));
	assert_false(agree("[9223372036854775808]"));
	assert_false(agree("[-9223372036854775809]"));
	assert_false(agree("[18446744073709551616]"));
	assert_false(agree("[99999999999999999999999999999]"));
	assert_true(agree("[9223372036854775807.0]"));
	assert_true(agree("[1e19]"));

	call_init(&call, 0);
	assert_int_equal(pj_load(&call, doc, sizeof(doc) - 1, &v), INBOX_OK);
	assert_true(pj_int(pj_get(v, "a")) == INT64_MAX);
	assert_true(pj_int(pj_get(v, "b")) == INT64_MIN);
	assert_int_equal(pj_type(pj_get(v, "c")), PJ_INTEGER);
	assert_true(pj_int(pj_get(v, "c")) == 0);
	/* A fraction makes a real, whatever its value. */
	assert_int_equal(pj_type(pj_get(v, "d")), PJ_REAL);
	assert_true(pj_int(pj_get(v, "d")) == 0);
	call_done(&call);
}

/* Overflow to infinity is refused, underflow is not; the text jansson
 * writes for each is the same. */
static void
test_reals(void **state)
{
	static const char *const good[] = {
		"[1.7976931348623157e308]", "[-1.7976931348623157e308]",
		"[1e-400]", "[-1e-400]", "[4.9e-324]", "[2.2250738585072014e-308]",
		"[0.1,0.2,0.30000000000000004]", "[1e20,1e21,1e22,1e-7]",
		"[123.0,100e-2,1.5e1,3.14159265358979323846]",
		"[1e16,1e17,12345678901234567890.0]", "[5e-324,1e-5,1e-4]",
	};
	static const char *const bad[] = {
		"[1e309]", "[-1e309]", "[1.8e308]", "[1e99999]",
		"[179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792.0]",
	};

	(void)state;
	AGREE_ALL(good, 1);
	AGREE_ALL(bad, 0);
}

/* Raw control characters are refused in strings; DEL and the rest of
 * ASCII are not. */
static void
test_strings(void **state)
{
	char	text[8];
	int	c;

	(void)state;
	assert_true(agree("[\"\",\"a\",\" ~\x7f\",\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]"));
	assert_false(agree("[\"abc]"));
	assert_false(agree("[\"abc\\\"]"));
	assert_false(agree("\"abc"));
	assert_false(agree("\""));
	for (c = 1; c < 0x20; c++) {
		snprintf(text, sizeof(text), "[\"%c\"]", c);
		assert_false(agree(text));
		snprintf(text, sizeof(text), "{\"%c\":1}", c);
		assert_false(agree(text));
	}
}

/* Invalid UTF-8 anywhere is refused: overlong forms, encoded
 * surrogates, past U+10FFFF, stray or missing continuation bytes; and
 * pj_utf8_ok says the same of a C string. */
static void
test_utf8(void **state)
{
	static const char *const good[] = {
		"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
		"\xee\x80\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
		"\xf4\x8f\xbf\xbf",
		"Zo\xc3\xab M\xc3\xbcller \xe2\x80\x94 \xf0\x9f\x98\x80",
	};
	static const char *const bad[] = {
		"\x80", "\xbf", "\xc0\x80", "\xc1\xbf", "\xc2", "\xc2\x41",
		"\xc2\xc0", "\xe0\x80\x80", "\xe0\x9f\xbf", "\xe2\x82",
		"\xe2\x28\xa1", "\xed\xa0\x80", "\xed\xbf\xbf",
		"\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\xf8\x88\x80\x80\x80", "\xfe", "\xff",
		"\xf0\x9f\x98", "\xf0\x9f",
	};
	char	text[64];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[\"%s\"]", good[i]);
		assert_true(agree(text));
		snprintf(text, sizeof(text), "{\"%s\":0}", good[i]);
		assert_true(agree(text));
		/* What the host hands a plugin is checked the same way. */
		assert_true(pj_utf8_ok(good[i]));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "x%sy", bad[i]);
		assert_false(pj_utf8_ok(text));
		snprintf(text, sizeof(text), "[\"%s\"]", bad[i]);
		assert_false(agree(text));
		snprintf(text, sizeof(text), "{\"a%s\":0}", bad[i]);
		assert_false(agree(text));
		/* Outside a string it is a syntax error as well. */
		snprintf(text, sizeof(text), "[%s]", bad[i]);
		assert_false(agree(text));
	}
	/* A sequence cut off by the end of the input. */
	assert_false(agree_lit("[\"\xe2\x82"));
	assert_false(agree_lit("\"\xf0"));
}

static void
test_escapes(void **state)
{
	static const char *const bad[] = {
		"[\"\\x\"]", "[\"\\a\"]", "[\"\\U0041\"]", "[\"\\u\"]",
		"[\"\\u1\"]", "[\"\\u12\"]", "[\"\\u123\"]", "[\"\\u12G4\"]",
		"[\"\\u 123\"]", "[\"\\'\"]", "[\"\\0\"]", "[\"\\\"]",
		"[\"\\", "[\"\\u00", "{\"\\q\":1}",
	};
	static const char	 esc[] = "{\"k\\u00e9y\":\"a\\tb\\u20ac\\\"\"}";
	struct inbox_call	 call;
	const struct pj_value	*v;

	(void)state;
	assert_true(agree("[\"\\u0041\\u00e9\\u00E9\\u20AC\\uffff\\u0001"
	    "\\u001f\\u007f\"]"));
	assert_true(agree("{\"\\u0041\\n\":\"\\/\\/\"}"));
	AGREE_ALL(bad, 0);

	/* Unescaped in place, with the length known. */
	call_init(&call, 0);
	assert_int_equal(pj_load(&call, esc, sizeof(esc) - 1, &v), INBOX_OK);
	assert_string_equal(pj_string(pj_get(v, "k\xc3\xa9y")),
	    "a\tb\xe2\x82\xac\"");
	assert_int_equal(v->u.members[0].keylen, 4);
	assert_int_equal(v->u.members[0].value->n, 7);
	call_done(&call);
}

/* A high surrogate escape needs a low one right after it; nothing else
 * pairs, and a low one alone is refused. */
static void
test_surrogates(void **state)
{
	static const char *const bad[] = {
		"[\"\\ud800\"]", "[\"\\udbff\"]", "[\"\\udc00\"]",
		"[\"\\udfff\"]", "[\"\\ud800x\"]", "[\"\\ud800\\n\"]",
		"[\"\\ud800\\u0041\"]", "[\"\\ud800\\ud800\"]",
		"[\"\\udc00\\ud800\"]", "[\"\\ud800\\\"]", "[\"\\ud800\\u\"]",
		"[\"\\ud800\\udc0\"]", "[\"\\ud800\\ue000\"]",
		"[\"a\\ud83d\"]", "{\"\\ud83d\":1}", "[\"\\ud800",
	};
	static const char	 pair[] = "\"\\ud83d\\ude00\\udbff\\udfff\"";
	struct inbox_call	 call;
	const struct pj_value	*v;

	(void)state;
	assert_true(agree("[\"\\ud83d\\ude00\",\"\\uD83D\\uDE00\","
	    "\"\\ud800\\udc00\",\"\\udbff\\udfff\",\"x\\ud83d\\ude00y\"]"));
	assert_true(agree("{\"\\ud83d\\ude00\":1}"));
	AGREE_ALL(bad, 0);

	call_init(&call, 0);
	assert_int_equal(pj_load_any(&call, pair, sizeof(pair) - 1, &v),
	    INBOX_OK);
	assert_string_equal(pj_string(v), "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
	call_done(&call);
}

/* \u0000 is refused in values (no JSON_ALLOW_NUL) and keys. */
static void
test_nul(void **state)
{
	(void)state;
	assert_false(agree("[\"\\u0000\"]"));
	assert_false(agree("[\"a\\u0000b\"]"));
	assert_false(agree("{\"\\u0000\":1}"));
	assert_false(agree("{\"a\\u0000\":1}"));
	assert_true(agree("[\"\\\\u0000\"]"));
	assert_true(agree("[\"\\u0001\"]"));
}

/* A value is at depth one more than the containers around it, scalars
 * included; PJ_DEPTH_MAX (2048) is the last depth allowed. */
static void
test_depth(void **state)
{
	char	*s;

	(void)state;
	s = nest("[", PJ_DEPTH_MAX, "", "]");
	assert_true(agree(s));
	free(s);
	s = nest("[", PJ_DEPTH_MAX + 1, "", "]");
	assert_false(agree(s));
	free(s);
	s = nest("[", PJ_DEPTH_MAX - 1, "1", "]");
	assert_true(agree(s));
	free(s);
	s = nest("[", PJ_DEPTH_MAX, "1", "]");
	assert_false(agree(s));
	free(s);
	s = nest("{\"a\":", PJ_DEPTH_MAX - 1, "{}", "}");
	assert_true(agree(s));
	free(s);
	s = nest("{\"a\":", PJ_DEPTH_MAX, "{}", "}");
	assert_false(agree(s));
	free(s);
	s = nest("{\"a\":[", PJ_DEPTH_MAX / 2, "", "]}");
	assert_true(agree(s));
	free(s);
	s = nest("{\"a\":[", PJ_DEPTH_MAX / 2, "0", "]}");
	assert_false(agree(s));
	free(s);
	/* Far deeper than allowed, and never closed: refused, no stack
	 * overflow. */
	s = nest("[", 1000000, "", "");
	assert_false(agree(s));
	free(s);
	s = nest("{\"a\":", 200000, "", "");
	assert_false(agree(s));
	free(s);
	/* Deep, then back up and on: depth is counted down again. */
	s = nest("[", PJ_DEPTH_MAX - 1, "[],[[1]],{\"a\":{}}", "]");
	assert_false(agree(s));
	free(s);
	s = nest("[", PJ_DEPTH_MAX - 2, "[],[1],{\"a\":{}}", "]");
	assert_true(agree(s));
	free(s);
}

/* Keys compared after unescaping; small objects pair by pair, large ones
 * sorted. */
static void
test_duplicates(void **state)
{
	char	*s, *p;
	int	 i, k, dup;

	(void)state;
	assert_false(agree("{\"a\":1,\"a\":1}"));
	assert_false(agree("{\"a\":1,\"b\":2,\"a\":3}"));
	assert_false(agree("{\"a\":1,\"\\u0061\":2}"));
	assert_false(agree("{\"\\u00e9\":1,\"\xc3\xa9\":2}"));
	assert_false(agree("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}"));
	assert_false(agree("{\"\\/\":1,\"/\":2}"));
	assert_false(agree("{\"\":1,\"\":2}"));
	assert_false(agree("[{\"x\":{\"a\":1,\"a\":2}}]"));
	assert_false(agree("{\"x\":[{\"b\":{}},{\"a\":1,\"b\":[],\"a\":2}]}"));
	/* The same key in different objects, and keys that only share a
	 * prefix or a length. */
	assert_true(agree("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},"
	    "{\"a\":2}]}"));
	assert_true(agree("{\"a\":1,\"ab\":2,\"abc\":3,\"b\":4,\"ba\":5}"));
	assert_true(agree("{\"a\":1,\"A\":2,\"\\u0041\\u0062\":3,\"ab\":4}"));

	/* Objects of 2 to 40 keys, the duplicate (if any) last. */
	s = malloc(1024);
	assert_non_null(s);
	for (i = 2; i <= 40; i++) {
		for (dup = 0; dup <= 1; dup++) {
			p = s;
			p += sprintf(p, "{");
			for (k = 0; k < i; k++)
				p += sprintf(p, "%s\"k%d\":%d", k ? "," : "",
				    dup && k == i - 1 ? 0 : k, k);
			sprintf(p, "}");
			assert_int_equal(agree(s), !dup);
		}
	}
	free(s);
}

/* pj_load wants an object; pj_load_any takes any value. */
static void
test_roots(void **state)
{
	static const char *const roots[] = {
		"[]", "1", "-1.5", "\"s\"", "\"\"", "true", "false", "null",
		"[{}]",
	};
	struct inbox_call	 call;
	const struct pj_value	*v;
	size_t			 i;

	(void)state;
	call_init(&call, 0);
	for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
		assert_true(agree(roots[i]));
		assert_int_equal(pj_load(&call, roots[i], strlen(roots[i]),
		    &v), INBOX_EINVAL);
		assert_null(v);
	}
	assert_int_equal(pj_load(&call, NULL, 0, &v), INBOX_EINVAL);
	assert_int_equal(pj_load(&call, "", 0, &v), INBOX_EINVAL);
	assert_int_equal(pj_load_any(&call, NULL, 0, &v), INBOX_OK);
	assert_null(v);
	assert_int_equal(pj_load_any(&call, "", 0, &v), INBOX_OK);
	assert_null(v);
	assert_int_equal(pj_load_any(&call, "{", 1, &v), INBOX_OK);
	assert_null(v);
	/* Only len bytes are read. */
	assert_int_equal(pj_load(&call, "{}garbage", 2, &v), INBOX_OK);
	assert_int_equal(pj_size(v), 0);
	call_done(&call);
}

/* Megabytes: long strings (escaped and not), long arrays, many keys. */
static void
test_huge(void **state)
{
	const size_t	 len = 2 * 1024 * 1024;
	char		*s, *p;
	size_t		 i;

	(void)state;
	s = malloc(len + 64);
	assert_non_null(s);

	/* One string, plain then escaped then raw UTF-8. */
	p = s;
	*p++ = '[';
	*p++ = '"';
	for (i = 0; i < len / 8; i++)
		*p++ = (char)('a' + i % 26);
	for (i = 0; i < len / 16; i++) {
		memcpy(p, i % 2 ? "\\u00e9" : "\\n\\\"\\/", 6);
		p += 6;
	}
	for (i = 0; i < len / 32; i++) {
		memcpy(p, "\xe2\x82\xac", 3);
		p += 3;
	}
	memcpy(p, "\"]", 3);
	assert_true(agree(s));
	/* The same with a control character at the very end. */
	p[0] = '\001';
	memcpy(p + 1, "\"]", 3);
	assert_false(agree(s));

	/* 200000 elements. */
	p = s;
	*p++ = '[';
	for (i = 0; i < 200000; i++)
		p += sprintf(p, "%s%zu", i ? "," : "", i);
	memcpy(p, "]", 2);
	assert_true(agree(s));

	/* 50000 keys, then the first one again. */
	p = s;
	*p++ = '{';
	for (i = 0; i < 50000; i++)
		p += sprintf(p, "%s\"key%zu\":[%zu]", i ? "," : "", i, i);
	memcpy(p, "}", 2);
	assert_true(agree(s));
	memcpy(p, ",\"key0\":1}", 11);
	assert_false(agree(s));
	free(s);
}

static void
test_lookups(void **state)
{
	static const char	 doc[] = "{\"s\":\"x\",\"e\":\"\",\"i\":7,"
	    "\"r\":2.5,\"t\":true,\"f\":false,\"n\":null,\"o\":{\"k\":\"v\"},"
	    "\"a\":[1,\"two\",{}]}";
	struct inbox_call	 call;
	const struct pj_value	*v, *a;

	(void)state;
	call_init(&call, 0);
	assert_int_equal(pj_load(&call, doc, sizeof(doc) - 1, &v), INBOX_OK);
	assert_int_equal(pj_type(v), PJ_OBJECT);
	assert_int_equal(pj_size(v), 9);
	assert_int_equal(pj_type(NULL), PJ_NONE);
	assert_int_equal(pj_type(pj_get(v, "s")), PJ_STRING);
	assert_int_equal(pj_type(pj_get(v, "i")), PJ_INTEGER);
	assert_int_equal(pj_type(pj_get(v, "r")), PJ_REAL);
	assert_int_equal(pj_type(pj_get(v, "t")), PJ_TRUE);
	assert_int_equal(pj_type(pj_get(v, "f")), PJ_FALSE);
	assert_int_equal(pj_type(pj_get(v, "n")), PJ_NULL);
	assert_null(pj_get(v, "missing"));
	assert_null(pj_get(v, ""));
	assert_null(pj_get(pj_get(v, "a"), "s"));
	assert_null(pj_get(NULL, "s"));

	/* Non-empty strings only, and NULL for the wrong type. */
	assert_string_equal(pj_str(v, "s"), "x");
	assert_null(pj_str(v, "e"));
	assert_string_equal(pj_string(pj_get(v, "e")), "");
	assert_null(pj_str(v, "i"));
	assert_null(pj_string(pj_get(v, "o")));
	assert_non_null(pj_obj(v, "o"));
	assert_null(pj_obj(v, "a"));
	assert_non_null(pj_arr(v, "a"));
	assert_null(pj_arr(v, "o"));
	assert_true(pj_true(v, "t"));
	assert_false(pj_true(v, "f"));
	assert_false(pj_true(v, "s"));
	assert_true(pj_int(pj_get(v, "i")) == 7);
	assert_true(pj_int(pj_get(v, "s")) == 0);
	assert_string_equal(pj_str(pj_obj(v, "o"), "k"), "v");

	a = pj_arr(v, "a");
	assert_int_equal(pj_size(a), 3);
	assert_true(pj_int(pj_at(a, 0)) == 1);
	assert_string_equal(pj_string(pj_at(a, 1)), "two");
	assert_int_equal(pj_type(pj_at(a, 2)), PJ_OBJECT);
	assert_null(pj_at(a, 3));
	assert_null(pj_at(v, 0));
	assert_null(pj_at(NULL, 0));
	assert_int_equal(pj_size(pj_get(v, "s")), 0);
	assert_int_equal(pj_size(NULL), 0);
	call_done(&call);
}

/* Ids as strings or numbers, numbers printed into the arena. */
static void
test_ids(void **state)
{
	static const char	 doc[] = "[\"123\",123,-9223372036854775808,"
	    "\"\",1.5,null,{}]";
	struct inbox_call	 call;
	struct pj_build		 b;
	const struct pj_value	*a;

	(void)state;
	call_init(&call, 0);
	b.call = &call;
	b.rc = INBOX_OK;
	assert_int_equal(pj_load_any(&call, doc, sizeof(doc) - 1, &a),
	    INBOX_OK);
	assert_string_equal(pj_id(&b, pj_at(a, 0)), "123");
	assert_string_equal(pj_id(&b, pj_at(a, 1)), "123");
	assert_string_equal(pj_id(&b, pj_at(a, 2)), "-9223372036854775808");
	assert_null(pj_id(&b, pj_at(a, 3)));
	assert_null(pj_id(&b, pj_at(a, 4)));
	assert_null(pj_id(&b, pj_at(a, 5)));
	assert_null(pj_id(&b, pj_at(a, 6)));
	assert_null(pj_id(&b, NULL));
	assert_int_equal(b.rc, INBOX_OK);
	call_done(&call);
}

/* What the builders make, serialised. */
static void
test_builders(void **state)
{
	static const char	 ref[] = "{\"r\":[1.5,{\"x\":\"\\u00e9\"}]}";
	struct inbox_call	 call;
	struct pj_build		 b;
	const struct pj_value	*doc;
	struct pj_value		*o, *a, *c;
	const char		*text;
	size_t			 len;
	char			*s;
	int			 i;

	(void)state;
	call_init(&call, 0);
	b.call = &call;
	b.rc = INBOX_OK;
	o = pj_object(&b);
	pj_set_str(&b, o, "kind", "message");
	pj_set_str(&b, o, "none", NULL);
	pj_set_opt(&b, o, "left_out", NULL);
	pj_set_opt(&b, o, "kept", "\"q\" \\ \x01\x1f\x7f \xc3\xa9 /");
	pj_set_int(&b, o, "ts", INT64_MIN);
	pj_set_bool(&b, o, "yes", 1);
	pj_set_bool(&b, o, "no", 0);
	pj_set(&b, o, "null", NULL);
	a = pj_array(&b);
	for (i = 0; i < 9; i++)
		pj_append(&b, a, i % 2 ? pj_object(&b) : NULL);
	pj_set(&b, o, "list", a);
	/* Setting a key again replaces its value where it is. */
	pj_set_str(&b, o, "kind", "status");
	pj_set_int(&b, o, "none", 5);
	/* A parsed value goes in as it is, and can be in two places. */
	assert_int_equal(pj_load(&call, ref, sizeof(ref) - 1, &doc), INBOX_OK);
	c = pj_object(&b);
	pj_set(&b, c, "referral", pj_get(doc, "r"));
	pj_set(&b, o, "content", c);
	pj_set(&b, o, "again", pj_get(doc, "r"));
	pj_set(&b, o, "", pj_object(&b));
	assert_int_equal(b.rc, INBOX_OK);
	assert_int_equal(pj_dump(&call, o, &text, &len), INBOX_OK);
	assert_string_equal(text, "{\"kind\":\"status\",\"none\":5,"
	    "\"kept\":\"\\\"q\\\" \\\\ \\u0001\\u001F\x7f \xc3\xa9 /\","
	    "\"ts\":-9223372036854775808,\"yes\":true,\"no\":false,"
	    "\"null\":null,\"list\":[null,{},null,{},null,{},null,{},null],"
	    "\"content\":{\"referral\":[1.5,{\"x\":\"\xc3\xa9\"}]},"
	    "\"again\":[1.5,{\"x\":\"\xc3\xa9\"}],\"\":{}}");
	assert_int_equal(strlen(text), len);

	/* Any value is dumped; a failed build is NULL. */
	assert_int_equal(pj_dump(&call, pj_get(o, "ts"), &text, &len),
	    INBOX_OK);
	assert_string_equal(text, "-9223372036854775808");
	assert_int_equal(pj_dump(&call, NULL, &text, &len), INBOX_ENOMEM);

	/* Text longer than the stack buffer moves into the arena. */
	a = pj_array(&b);
	for (i = 0; i < 5000; i++)
		pj_append(&b, a, pj_get(doc, "r"));
	assert_int_equal(b.rc, INBOX_OK);
	assert_int_equal(pj_dump(&call, a, &text, &len), INBOX_OK);
	assert_int_equal(len, 5000 * 17 + 1);
	assert_int_equal(strlen(text), len);
	s = pdump(&call, a);
	assert_string_equal(s, text);
	free(s);

	/* A value set into itself is refused, not a stack overflow. */
	o = pj_object(&b);
	pj_set(&b, o, "self", o);
	assert_int_equal(pj_dump(&call, o, &text, &len), INBOX_ENOMEM);
	call_done(&call);
}

/* Once a builder failed, nothing more happens and rc stays. */
static void
test_sticky(void **state)
{
	struct inbox_call	 call;
	struct pj_build		 b;
	struct pj_value		*o, *a;

	(void)state;
	call_init(&call, 0);
	b.call = &call;
	b.rc = INBOX_OK;
	o = pj_object(&b);
	a = pj_array(&b);
	/* Into no container, or the wrong kind: a failure. */
	pj_set_str(&b, NULL, "k", "v");
	assert_int_equal(b.rc, INBOX_ENOMEM);
	assert_null(pj_object(&b));
	assert_null(pj_array(&b));
	pj_set_str(&b, o, "k", "v");
	pj_append(&b, a, NULL);
	assert_int_equal(pj_size(o), 0);
	assert_int_equal(pj_size(a), 0);
	b.rc = INBOX_OK;
	pj_append(&b, o, NULL);
	assert_int_equal(b.rc, INBOX_ENOMEM);
	b.rc = INBOX_OK;
	pj_set(&b, a, "k", NULL);
	assert_int_equal(b.rc, INBOX_ENOMEM);
	call_done(&call);
}

/*
 * Arenas too small: every parse (and dump of what it made) answers
 * INBOX_ENOMEM or the full tree, never INBOX_EINVAL for a valid text or
 * a crash.
 */
static void
test_arena_parse(void **state)
{
	struct inbox_call	 call;
	const struct pj_value	*v;
	const char		*text;
	char			*doc, *p, *want;
	size_t			 len, tlen, limit;
	int			 i, rc, full = 0;

	(void)state;
	doc = malloc(64 * 1024);
	assert_non_null(doc);
	p = doc;
	p += sprintf(p, "{\"object\":\"whatsapp_business_account\",\"entry\":[");
	for (i = 0; i < 60; i++)
		p += sprintf(p, "%s{\"id\":\"%d\",\"changes\":[{\"value\":"
		    "{\"n\":%d,\"r\":%d.5,\"t\":\"caf\\u00e9 \\ud83d\\ude00"
		    " \xc3\xa9\",\"b\":[true,false,null,{},[]]},\"field\":"
		    "\"messages\"}]}", i ? "," : "", i, i, i);
	p += sprintf(p, "]}");
	len = (size_t)(p - doc);

	call_init(&call, 0);
	assert_int_equal(pj_load(&call, doc, len, &v), INBOX_OK);
	want = pdump(&call, v);
	call_done(&call);
	for (limit = 1; limit < TEST_ARENA_MAX && !full; limit += 97) {
		call_init(&call, limit);
		rc = pj_load(&call, doc, len, &v);
		if (rc == INBOX_OK)
			rc = pj_dump(&call, v, &text, &tlen);
		if (rc == INBOX_OK) {
			assert_string_equal(text, want);
			full = 1;
		} else
			assert_int_equal(rc, INBOX_ENOMEM);
		call_done(&call);
	}
	assert_true(full);
	free(want);
	free(doc);
}

/* The same for building and dumping. */
static void
test_arena_build(void **state)
{
	struct inbox_call	 call;
	struct pj_build		 b;
	struct pj_value		*o, *a, *e;
	const char		*text, *want = NULL;
	char			*keep = NULL;
	size_t			 len, limit;
	int			 i, rc, full = 0;

	(void)state;
	for (limit = 1; limit < TEST_ARENA_MAX && !full; limit += 61) {
		call_init(&call, limit);
		b.call = &call;
		b.rc = INBOX_OK;
		o = pj_object(&b);
		a = pj_array(&b);
		for (i = 0; i < 100; i++) {
			e = pj_object(&b);
			pj_set_str(&b, e, "kind", "status");
			pj_set_int(&b, e, "n", i);
			pj_set_str(&b, e, "id", pj_id(&b, pj_get(e, "n")));
			pj_append(&b, a, e);
		}
		pj_set(&b, o, "events", a);
		rc = b.rc;
		if (rc == INBOX_OK)
			rc = pj_dump(&call, o, &text, &len);
		if (rc == INBOX_OK) {
			want = "{\"events\":[{\"kind\":\"status\",\"n\":0,"
			    "\"id\":\"0\"},{\"kind\"";
			assert_memory_equal(text, want, strlen(want));
			assert_int_equal(strlen(text), len);
			keep = strdup(text);
			full = 1;
		} else
			assert_int_equal(rc, INBOX_ENOMEM);
		call_done(&call);
	}
	assert_true(full);
	assert_non_null(strstr(keep, "{\"kind\":\"status\",\"n\":99,"
	    "\"id\":\"99\"}]}"));
	free(keep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grammar),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_nul_after_token),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_int64),
		cmocka_unit_test(test_reals),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_surrogates),
		cmocka_unit_test(test_nul),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_sticky),
		cmocka_unit_test(test_arena_parse),
		cmocka_unit_test(test_arena_build),
	};

	return (cmocka_run_group_tests_name("pjson", tests, NULL, NULL));
}
