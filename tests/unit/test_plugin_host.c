/*
 * test_plugin_host.c: loading and refusing plugins, the host service
 * table, calls, and credential validation. Runs from the repository root
 * and loads the test plugins built from tests/plugins/<name>/.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "arena.h"
#include "plugin_host.h"

#define TP(name)	"tests/plugins/" name ".so"

static void	 log_capture(int, const char *);
static const char *config_test(const char *);
static const char *last_line(void);
static const char *detail(json_t *, const char *);
static void	 refuse(const char *, const char *);
static int	 setup(void **);
static int	 teardown(void **);
static void	 test_load_good(void **);
static void	 test_abi_refusals(void **);
static void	 test_missing_functions(void **);
static void	 test_bad_declarations(void **);
static void	 test_duplicate(void **);
static void	 test_list_others_still_load(void **);
static void	 test_old_minor_tail_reads_null(void **);
static void	 test_templates(void **);
static void	 test_host_table(void **);
static void	 test_call(void **);
static void	 test_creds_validate(void **);

static char		 lines[64][1024];
static size_t		 nlines;
static struct plugin_registry *reg;

static void
log_capture(int level, const char *line)
{
	(void)level;
	if (nlines < sizeof(lines) / sizeof(lines[0]))
		snprintf(lines[nlines++], sizeof(lines[0]), "%s", line);
}

static const char *
config_test(const char *name)
{
	if (strcmp(name, "GOOD_API_BASE") == 0)
		return ("https://graph.test/v23.0");
	return (NULL);
}

static const char *
last_line(void)
{
	return (nlines == 0 ? "" : lines[nlines - 1]);
}

/* The message validation left for field, or NULL. */
static const char *
detail(json_t *d, const char *field)
{
	return (json_string_value(json_object_get(d, field)));
}

/* Loading path is refused with exactly one log line containing want. */
static void
refuse(const char *path, const char *want)
{
	size_t	before = nlines, count = plugin_count(reg);

	assert_int_equal(plugin_registry_load(reg, path), -1);
	assert_int_equal(nlines, before + 1);
	if (strstr(last_line(), want) == NULL)
		fail_msg("log line \"%s\" lacks \"%s\"", last_line(), want);
	assert_int_equal(plugin_count(reg), count);
}

static int
setup(void **state)
{
	(void)state;
	nlines = 0;
	plugin_host_set_log(log_capture);
	plugin_host_set_config(config_test);
	return ((reg = plugin_registry_new()) == NULL ? -1 : 0);
}

static int
teardown(void **state)
{
	(void)state;
	plugin_registry_free(reg);
	reg = NULL;
	return (0);
}

static void
test_load_good(void **state)
{
	const struct host_plugin	*p;

	(void)state;
	assert_int_equal(plugin_registry_load(reg, TP("good")), 0);
	assert_string_equal(last_line(), "plugin " TP("good") ": loaded good "
	    "version 1.0.0 (ABI 1.1)");
	assert_int_equal(plugin_count(reg), 1);
	assert_non_null(p = plugin_find(reg, "good"));
	assert_ptr_equal(plugin_at(reg, 0), p);
	assert_null(plugin_at(reg, 1));
	assert_ptr_equal(plugin_find_webhook_object(reg, "good_object"), p);
	assert_null(plugin_find_webhook_object(reg, "page"));
	assert_null(plugin_find(reg, "nope"));
	assert_null(plugin_find(reg, NULL));
	assert_string_equal(p->path, TP("good"));
	assert_int_equal(p->desc.nfields, 3);
	assert_int_equal(p->desc.webhook_auth, INBOX_WEBHOOK_META_SIGNATURE);
}

static void
test_abi_refusals(void **state)
{
	(void)state;
	refuse(TP("bad_major"), "plugin " TP("bad_major") ": ABI 2.0 is not "
	    "supported by host 1.1");
	assert_string_equal(last_line(), "plugin " TP("bad_major") ": ABI 2.0 "
	    "is not supported by host 1.1");
	refuse(TP("newer_minor"), "plugin " TP("newer_minor") ": ABI 1.2 is "
	    "not supported by host 1.1");
	refuse(TP("too_small"), "descriptor size");
	refuse(TP("no_entry"), "no inbox_plugin_entry symbol");
	refuse("tests/plugins/does_not_exist.so", "cannot load");
	assert_int_equal(plugin_count(reg), 0);
}

static void
test_missing_functions(void **state)
{
	(void)state;
	refuse(TP("no_classify"), "no_classify has no classify");
	refuse(TP("no_webhook_parse"), "INBOX_CAP_WEBHOOK but no "
	    "webhook_parse");
	refuse(TP("no_send_build"), "send capability but no send_build");
	refuse(TP("no_register_build"), "INBOX_CAP_REGISTER but no "
	    "register_build");
	refuse(TP("half_templates"), "half_templates has templates_build but "
	    "no templates_parse");
}

static void
test_bad_declarations(void **state)
{
	(void)state;
	refuse(TP("bad_name"), "name \"Bad-Name\" is not [a-z0-9_]{1,32}");
	refuse(TP("bad_pattern"), "field token: pattern \"([a-z\" is not a "
	    "valid POSIX ERE");
	refuse(TP("secret_routing"), "a routing field must be the only one "
	    "and not secret");
}

static void
test_duplicate(void **state)
{
	const struct host_plugin	*p;

	(void)state;
	assert_int_equal(plugin_registry_load(reg, TP("dup_a")), 0);
	refuse(TP("dup_b"), "plugin " TP("dup_b") ": refused: dup version "
	    "2.0.0 duplicates dup version 1.0.0 already loaded from "
	    TP("dup_a"));
	assert_non_null(p = plugin_find(reg, "dup"));
	assert_string_equal(p->desc.version, "1.0.0");
	assert_string_equal(p->desc.display_name, "Dup A");
	/* The same file twice is a duplicate too, and stays loaded once. */
	refuse(TP("dup_a"), "duplicates dup version 1.0.0");
	assert_string_equal(plugin_find(reg, "dup")->desc.display_name,
	    "Dup A");
}

static void
test_list_others_still_load(void **state)
{
	int	refused;

	(void)state;
	refused = plugin_registry_load_list(reg, "tests/plugins",
	    " bad_major, good,dup_a,dup_b ,, newer_minor ,"
	    "tests/plugins/old_tail.so,Bad.Name,tests/plugins/nope.so");
	assert_int_equal(refused, 5);
	assert_int_equal(plugin_count(reg), 3);
	assert_string_equal(plugin_at(reg, 0)->desc.name, "good");
	assert_string_equal(plugin_at(reg, 1)->desc.name, "dup");
	assert_string_equal(plugin_at(reg, 2)->desc.name, "old_tail");
	assert_string_equal(plugin_at(reg, 0)->path, "tests/plugins/good.so");
	assert_int_equal(plugin_registry_load_list(reg, NULL, NULL), 0);
	assert_int_equal(plugin_registry_load_list(reg, NULL, " , "), 0);
}

/*
 * A newer host than this one (1.1, say) appends members. Seen through such
 * a host's struct, a plugin that declares the 1.0 size must read them as
 * NULL, although non-zero bytes follow its descriptor in memory.
 */
static void
test_old_minor_tail_reads_null(void **state)
{
	struct future_plugin {
		struct inbox_plugin	 v1_0;
		int			(*appended_fn)(void);
		const char		*appended_str;
		uint32_t		 appended_num;
	}				 future;
	const struct host_plugin	*p;
	const struct inbox_plugin	*raw;
	struct inbox_plugin		 bigger;
	inbox_plugin_entry_fn		 entry;
	const unsigned char		*after;

	(void)state;
	assert_int_equal(plugin_registry_load(reg, TP("old_tail")), 0);
	assert_non_null(p = plugin_find(reg, "old_tail"));
	assert_int_equal(p->desc.size, PLUGIN_DESC_SIZE_1_0);
	assert_non_null(p->desc.send_build);
	/* This host's own 1.1 members, where the tail's bytes lie. */
	assert_null(p->desc.templates_build);
	assert_null(p->desc.templates_parse);
	assert_false(plugin_has_templates(p));

	*(void **)&entry = dlsym(p->dl, INBOX_PLUGIN_ENTRY);
	assert_non_null(entry);
	raw = entry(plugin_host_table());
	after = (const unsigned char *)raw + PLUGIN_DESC_SIZE_1_0;
	assert_int_equal(after[0], 0xde);	/* the test means something */

	memset(&future, 0xff, sizeof(future));
	assert_int_equal(plugin_desc_copy(&future, sizeof(future), raw),
	    PLUGIN_DESC_SIZE_1_0);
	assert_null(future.appended_fn);
	assert_null(future.appended_str);
	assert_int_equal(future.appended_num, 0);
	assert_string_equal(future.v1_0.name, "old_tail");
	assert_ptr_equal(future.v1_0.send_build, raw->send_build);

	/* A descriptor larger than the host's is cut to the host's size. */
	bigger = p->desc;
	bigger.size = sizeof(future);
	memset(&future, 0xff, sizeof(future));
	assert_int_equal(plugin_desc_copy(&future.v1_0,
	    sizeof(struct inbox_plugin), &bigger),
	    sizeof(struct inbox_plugin));
	assert_int_equal(*(const unsigned char *)&future.appended_fn, 0xff);
}

/* ABI 1.1: a plugin with both template functions lists templates. */
static void
test_templates(void **state)
{
	const struct host_plugin	*p;

	(void)state;
	assert_int_equal(plugin_registry_load(reg, TP("templates_ok")), 0);
	assert_non_null(p = plugin_find(reg, "templates_ok"));
	assert_int_equal(p->desc.size, sizeof(struct inbox_plugin));
	assert_true(p->desc.size >= PLUGIN_DESC_SIZE_1_1);
	assert_true(plugin_has_templates(p));
	assert_int_equal(plugin_registry_load(reg, TP("good")), 0);
	assert_false(plugin_has_templates(plugin_find(reg, "good")));
}

static void
test_host_table(void **state)
{
	const struct inbox_host	*h = plugin_host_table();
	uint8_t			 mac[32];
	static const uint8_t	 want[4] = { 0x5b, 0xdc, 0xc1, 0x46 };

	(void)state;
	assert_int_equal(h->abi_major, INBOX_ABI_MAJOR);
	assert_int_equal(h->abi_minor, INBOX_ABI_MINOR);
	assert_int_equal(h->size, sizeof(struct inbox_host));

	/* RFC 4231 case 2 and a key longer than a block. */
	h->hmac_sha256((const uint8_t *)"Jefe", 4,
	    (const uint8_t *)"what do ya want for nothing?", 28, mac);
	assert_memory_equal(mac, want, sizeof(want));
	assert_int_equal(h->memcmp_ct("abc", "abc", 3), 0);
	assert_int_not_equal(h->memcmp_ct("abc", "abd", 3), 0);

	assert_string_equal(h->config("GOOD_API_BASE"),
	    "https://graph.test/v23.0");
	assert_null(h->config("MASTER_KEY"));
	assert_null(h->config(NULL));

	/* Plugin log lines are tagged and cannot forge new lines. */
	h->log(INBOX_LOG_WARN, "good", "provider said %s", "a\nb\rc");
	assert_string_equal(last_line(), "plugin good: provider said a?b?c");
	h->log(99, "good", "level clamped");
	plugin_host_set_config(NULL);
	assert_null(h->config("GOOD_API_BASE"));
}

static void
test_call(void **state)
{
	const struct host_plugin	*p;
	struct inbox_call		 call;
	struct inbox_http_request	 req;
	struct inbox_parsed		 parsed;
	struct inbox_result		 res;
	struct inbox_http_response	 resp;
	const struct inbox_cred		 creds[] = {
		{ "phone_number_id", "1234567" },
		{ "access_token", "EAAtoken" },
	};

	(void)state;
	assert_int_equal(plugin_registry_load(reg, TP("good")), 0);
	p = plugin_find(reg, "good");

	assert_int_equal(plugin_call_begin(&call, creds, 2), 0);
	assert_ptr_equal(call.host, plugin_host_table());
	assert_non_null(call.arena);
	memset(&req, 0, sizeof(req));
	assert_int_equal(p->desc.test_build(&call, &req), INBOX_OK);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.url, "https://graph.test/v23.0/1234567");
	assert_int_equal(req.nheaders, 1);
	assert_string_equal(req.headers[0].value, "Bearer EAAtoken");

	memset(&parsed, 0, sizeof(parsed));
	assert_int_equal(p->desc.webhook_parse(&call, "{}", 2, &parsed),
	    INBOX_OK);
	assert_int_equal(parsed.nrouting_keys, 1);
	assert_string_equal(parsed.routing_keys[0], "12345");
	assert_non_null(strstr(parsed.events, "\"len\":2"));

	memset(&resp, 0, sizeof(resp));
	memset(&res, 0, sizeof(res));
	resp.status = 200;
	assert_int_equal(p->desc.classify(&call, INBOX_OP_TEST, &resp, &res),
	    INBOX_OK);
	assert_int_equal(res.outcome, INBOX_OUTCOME_OK);
	assert_string_equal(res.routing_key, "1234567");
	plugin_call_end(&call);
	assert_null(call.arena);

	/* No config: the plugin says so instead of crashing. */
	plugin_host_set_config(NULL);
	assert_int_equal(plugin_call_begin(&call, creds, 2), 0);
	memset(&req, 0, sizeof(req));
	assert_int_equal(p->desc.test_build(&call, &req), INBOX_EINVAL);
	plugin_call_end(&call);
}

/* A parsing call's arena grows with its input, past the default limit. */
static void
test_call_input(void **state)
{
	struct inbox_call	call;
	size_t			big = ARENA_DEFAULT_LIMIT;

	(void)state;
	assert_int_equal(plugin_call_begin_input(&call, NULL, 0, 100), 0);
	assert_null(arena_alloc(call.arena, ARENA_DEFAULT_LIMIT + 1));
	plugin_call_end(&call);

	assert_int_equal(plugin_call_begin_input(&call, NULL, 0, big), 0);
	assert_non_null(arena_alloc(call.arena, ARENA_DEFAULT_LIMIT + 1));
	assert_null(arena_alloc(call.arena,
	    big * PLUGIN_ARENA_PER_INPUT_BYTE));
	plugin_call_end(&call);

	/* A length whose limit would overflow: refused, not wrapped. */
	assert_int_equal(plugin_call_begin_input(&call, NULL, 0,
	    SIZE_MAX / 2), -1);
}

static void
test_creds_validate(void **state)
{
	const struct host_plugin	*p;
	json_t				*d;
	char				*s;
	const struct inbox_cred		 ok[] = {
		{ "phone_number_id", "1234567" },
		{ "access_token", "EAAsecret" },
		{ "app_secret", "" },
	};
	const struct inbox_cred		 bad[] = {
		{ "phone_number_id", "x1234567" },
		{ "access_token", "EAA\r\nX-Injected: 1" },
		{ "app_secret", "0123456789abcdef0123456789abcdeF" },
		{ "page_id", "1" },
	};
	const struct inbox_cred		 bad2[] = {
		{ "phone_number_id", "123456789012345678901" },
		{ "access_token", "a" },
		{ "access_token", "b" },
		{ "app_secret", "none" },
	};
	const struct inbox_cred		 anchored[] = {
		{ "phone_number_id", "12345" },
		{ "access_token", "t" },
		{ "app_secret", "nonex" },
	};

	(void)state;
	assert_int_equal(plugin_registry_load(reg, TP("good")), 0);
	p = plugin_find(reg, "good");

	assert_non_null(d = json_object());
	assert_int_equal(plugin_creds_validate(p, ok, 3, d), 0);
	assert_int_equal(json_object_size(d), 0);
	assert_int_equal(plugin_creds_validate(p, ok, 2, d), 0);

	assert_int_equal(plugin_creds_validate(p, NULL, 0, d), 2);
	assert_string_equal(detail(d, "phone_number_id"), "is required");
	assert_string_equal(detail(d, "access_token"), "is required");
	json_object_clear(d);

	assert_int_equal(plugin_creds_validate(p, bad, 4, d), 4);
	assert_string_equal(detail(d, "phone_number_id"),
	    "does not have the expected format: digits only");
	assert_string_equal(detail(d, "access_token"),
	    "must not contain control characters");
	assert_string_equal(detail(d, "app_secret"),
	    "does not have the expected format: 32 hex digits");
	assert_string_equal(detail(d, "page_id"),
	    "is not a field of this channel");
	/* Values, secret or not, never appear in the details. */
	assert_non_null(s = json_dumps(d, 0));
	assert_null(strstr(s, "EAA"));
	assert_null(strstr(s, "x1234567"));
	free(s);
	json_object_clear(d);

	assert_int_equal(plugin_creds_validate(p, bad2, 4, d), 2);
	assert_string_equal(detail(d, "phone_number_id"),
	    "must be at most 20 bytes");
	assert_string_equal(detail(d, "access_token"),
	    "is given more than once");
	json_object_clear(d);

	/* "[0-9a-f]{32}|none" is anchored as a whole: "nonex" fails. */
	assert_int_equal(plugin_creds_validate(p, anchored, 3, d), 1);
	assert_non_null(json_object_get(d, "app_secret"));
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_load_good, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_abi_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_functions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_declarations, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_duplicate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_others_still_load,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_minor_tail_reads_null,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_templates, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_host_table, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_call, setup, teardown),
		cmocka_unit_test(test_call_input),
		cmocka_unit_test_setup_teardown(test_creds_validate, setup,
		    teardown),
	};

	return (cmocka_run_group_tests_name("plugin_host", tests, NULL,
	    NULL));
}
