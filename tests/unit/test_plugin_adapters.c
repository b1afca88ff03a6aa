/*
 * test_plugin_adapters.c: the channel plugins under plugins/, loaded as
 * the host loads them, against their golden cases.
 *
 * Each plugin is loaded by the real host (app/core/plugin_host), which
 * refuses a bad descriptor, and every case is run and its output
 * compared structurally with the case's expectation, as
 * inbox-plugin-check does; what this test adds is running each case
 * again under memory pressure: with arenas too small to hold the
 * output, then with the arena's allocations (through the host table)
 * failing one at a time, each in turn. A call must then answer
 * INBOX_ENOMEM or exactly the expected output, never crash or answer
 * something else. The case format is in docs/plugins.md.
 *
 * Run from the repository root (make test-unit does). GOLDEN_SHOW=1
 * prints every case's actual output, for writing new cases.
 */
#include <sys/types.h>

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "arena.h"
#include "inbox_plugin.h"
#include "plugin_host.h"

#define PLUGINS_DIR	"plugins"
#define MAX_CASES	512

struct gcase {
	char	path[1024];
	json_t	*doc;
};

static int		 alloc_fails(void);
static void		*test_alloc(struct inbox_arena *, size_t);
static char		*test_strndup(struct inbox_arena *, const char *,
			    size_t);
static char		*test_printf(struct inbox_arena *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
static void		 test_log(int, const char *);
static const char	*test_config(const char *);
static int		 case_cmp(const void *, const void *);
static size_t		 list_cases(const char *, struct gcase *, size_t);
static json_t		*run_case(const struct inbox_plugin *, json_t *,
			    struct inbox_arena *, long, int *);
static json_t		*request_json(const struct inbox_http_request *);
static json_t		*result_json(const struct inbox_result *);
static json_t		*expect_json(json_t *);
static void		 check_descriptor(const struct inbox_plugin *,
			    const char *);
static void		 check_case(const struct inbox_plugin *,
			    struct gcase *);
static void		 test_plugin(void **);

/*
 * The arena's allocations are numbered from 0 during a plugin call, and
 * the one numbered fail_at (when >= 0) fails: only that one, as in an
 * arena, where a smaller request can fit after a larger one failed, so
 * a failure the plugin forgot about is not hidden by the next one.
 */
static long		 fail_at = -1;
static long		 numbered;
static int		 failed;
/* The host's table but for the arena functions, which are numbered. */
static struct inbox_host test_host;
/* The configuration of the case being run: the host's config() has no
 * context argument, so it reads this. */
static json_t		*cur_config;

static const char *const outcomes[] = {
	"none", "ok", "retry", "permanent", "auth", "not_found"
};

/* Whether the allocation being made is to fail. */
static int
alloc_fails(void)
{
	if (fail_at < 0 || numbered++ != fail_at)
		return (0);
	failed = 1;
	return (1);
}

static void *
test_alloc(struct inbox_arena *a, size_t n)
{
	return (alloc_fails() ? NULL : arena_alloc(a, n));
}

static char *
test_strndup(struct inbox_arena *a, const char *s, size_t n)
{
	return (alloc_fails() ? NULL : arena_strndup(a, s, n));
}

static char *
test_printf(struct inbox_arena *a, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	if (alloc_fails())
		return (NULL);
	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return (p);
}

/* Plugins are loaded and called through the real host, app/core's
 * plugin_host, with these two callbacks. */
static void
test_log(int level, const char *line)
{
	if (level <= INBOX_LOG_WARN)
		fprintf(stderr, "%s\n", line);
}

static const char *
test_config(const char *name)
{
	return (json_string_value(json_object_get(cur_config, name)));
}

static int
case_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct gcase *)a)->path,
	    ((const struct gcase *)b)->path));
}

/* The golden cases of plugin name, sorted by file name. */
static size_t
list_cases(const char *name, struct gcase *cases, size_t max)
{
	struct dirent	*de;
	json_error_t	 err;
	DIR		*d;
	char		 dir[512];
	size_t		 n, len;

	snprintf(dir, sizeof(dir), "%s/%s/golden", PLUGINS_DIR, name);
	if ((d = opendir(dir)) == NULL)
		return (0);
	n = 0;
	while ((de = readdir(d)) != NULL && n < max) {
		len = strlen(de->d_name);
		if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(cases[n].path, sizeof(cases[n].path), "%s/%s", dir,
		    de->d_name);
		cases[n].doc = json_load_file(cases[n].path,
		    JSON_REJECT_DUPLICATES, &err);
		if (cases[n].doc == NULL)
			fail_msg("%s:%d: %s", cases[n].path, err.line,
			    err.text);
		n++;
	}
	closedir(d);
	qsort(cases, n, sizeof(cases[0]), case_cmp);
	return (n);
}

static json_t *
request_json(const struct inbox_http_request *req)
{
	json_t	*headers, *body;
	size_t	 i;

	headers = json_object();
	for (i = 0; i < req->nheaders; i++)
		json_object_set_new(headers, req->headers[i].name,
		    json_string(req->headers[i].value));
	body = json_null();
	if (req->body != NULL) {
		assert_int_equal(strlen(req->body), req->body_len);
		body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY,
		    NULL);
		if (body == NULL)
			body = json_stringn(req->body, req->body_len);
	}
	return (json_pack("{s:s, s:s, s:o, s:o}", "method", req->method,
	    "url", req->url, "headers", headers, "body", body));
}

static json_t *
result_json(const struct inbox_result *r)
{
	assert_true(r->outcome >= 0 && r->outcome <= 5);
	return (json_pack("{s:s, s:s?, s:s?, s:s?, s:i, s:s?, s:s?}",
	    "outcome", outcomes[r->outcome],
	    "message_id", r->message_id,
	    "routing_key", r->routing_key,
	    "account_name", r->account_name,
	    "retry_after", (int)r->retry_after,
	    "error_code", r->error_code,
	    "error_title", r->error_title));
}

/*
 * One call of case doc. Returns its output as the case's "expect"
 * would hold it; every jansson object the harness makes is made outside
 * the window around the plugin call, in which allocations are counted
 * and, with inject >= 0, fail after that many. *spare says whether the
 * call needed fewer.
 */
static json_t *
run_case(const struct inbox_plugin *p, json_t *doc, struct inbox_arena *a,
    long inject, int *spare)
{
	struct inbox_http_request	 req;
	struct inbox_http_response	 resp;
	struct inbox_header		 hdrs[INBOX_MAX_HEADERS];
	struct inbox_parsed		 parsed;
	struct inbox_result		 res;
	struct inbox_templates		 tpl;
	struct inbox_cred		 creds[16];
	struct inbox_call		 call;
	json_t				*input, *out, *rh, *v, *keys;
	const char			*op, *k, *body, *rop;
	char				*msg;
	size_t				 i;
	int				 rc, iop;

	op = json_string_value(json_object_get(doc, "op"));
	input = json_object_get(doc, "input");
	cur_config = json_object_get(doc, "config");
	memset(&call, 0, sizeof(call));
	call.host = &test_host;
	call.arena = a;
	call.creds = creds;
	i = 0;
	json_object_foreach(json_object_get(doc, "creds"), k, v) {
		assert_true(i < 16);
		creds[i].name = k;
		creds[i].value = json_string_value(v);
		i++;
	}
	call.ncreds = i;
	memset(&req, 0, sizeof(req));
	memset(&parsed, 0, sizeof(parsed));
	memset(&res, 0, sizeof(res));
	memset(&tpl, 0, sizeof(tpl));
	msg = NULL;
	iop = 0;
	rc = INBOX_EINVAL;

	if (strcmp(op, "send_build") == 0) {
		msg = json_dumps(json_object_get(input, "message"),
		    JSON_COMPACT | JSON_ENCODE_ANY);
		assert_non_null(msg);
	} else if (strcmp(op, "classify") == 0 ||
	    strcmp(op, "templates_parse") == 0) {
		rop = json_string_value(json_object_get(input, "op"));
		iop = rop == NULL ? 0 : strcmp(rop, "test") == 0 ?
		    INBOX_OP_TEST : strcmp(rop, "register") == 0 ?
		    INBOX_OP_REGISTER : strcmp(rop, "templates") == 0 ?
		    INBOX_OP_TEMPLATES : INBOX_OP_SEND;
		rh = json_object_get(json_object_get(input, "response"),
		    "headers");
		i = 0;
		json_object_foreach(rh, k, v) {
			hdrs[i].name = k;
			hdrs[i].value = json_string_value(v);
			i++;
		}
		memset(&resp, 0, sizeof(resp));
		resp.status = (int)json_integer_value(json_object_get(
		    json_object_get(input, "response"), "status"));
		resp.headers = hdrs;
		resp.nheaders = i;
		body = json_string_value(json_object_get(json_object_get(
		    input, "response"), "body"));
		resp.body = body;
		resp.body_len = body != NULL ? strlen(body) : 0;
	}

	fail_at = inject;
	numbered = 0;
	failed = 0;
	if (strcmp(op, "webhook_parse") == 0) {
		body = json_string_value(json_object_get(input, "body"));
		assert_non_null(body);
		rc = p->webhook_parse(&call, body, strlen(body), &parsed);
	} else if (strcmp(op, "send_build") == 0)
		rc = p->send_build(&call, msg, strlen(msg), &req);
	else if (strcmp(op, "test_build") == 0)
		rc = p->test_build(&call, &req);
	else if (strcmp(op, "register_build") == 0)
		rc = p->register_build(&call,
		    json_string_value(json_object_get(input, "url")),
		    json_string_value(json_object_get(input, "header_name")),
		    json_string_value(json_object_get(input, "header_value")),
		    &req);
	else if (strcmp(op, "classify") == 0)
		rc = p->classify(&call, iop, &resp, &res);
	else if (strcmp(op, "templates_build") == 0)
		rc = p->templates_build(&call, json_string_value(
		    json_object_get(input, "cursor")), &req);
	else if (strcmp(op, "templates_parse") == 0)
		rc = p->templates_parse(&call, &resp, &tpl);
	else
		fail_msg("%s: unknown op", op);
	*spare = !failed;
	fail_at = -1;
	free(msg);

	if ((out = json_pack("{s:i}", "rc", rc)) == NULL)
		fail_msg("out of memory");
	if (rc != INBOX_OK)
		return (out);
	if (strcmp(op, "webhook_parse") == 0) {
		assert_int_equal(strlen(parsed.events), parsed.events_len);
		v = json_loads(parsed.events, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(v);
		keys = json_array();
		for (i = 0; i < parsed.nrouting_keys; i++)
			json_array_append_new(keys,
			    json_string(parsed.routing_keys[i]));
		json_object_set_new(out, "events", v);
		json_object_set_new(out, "routing_keys", keys);
	} else if (strcmp(op, "classify") == 0)
		json_object_set_new(out, "result", result_json(&res));
	else if (strcmp(op, "templates_parse") == 0) {
		assert_int_equal(strlen(tpl.templates), tpl.templates_len);
		v = json_loads(tpl.templates, JSON_REJECT_DUPLICATES, NULL);
		assert_true(json_is_array(v));
		json_object_set_new(out, "templates", v);
		json_object_set_new(out, "next", tpl.next != NULL ?
		    json_string(tpl.next) : json_null());
	} else
		json_object_set_new(out, "request", request_json(&req));
	return (out);
}

/* A case's expectation with the result keys it leaves out filled in. */
static json_t *
expect_json(json_t *doc)
{
	json_t	*exp, *res, *full;

	exp = json_deep_copy(json_object_get(doc, "expect"));
	if (json_is_array(json_object_get(exp, "templates")) &&
	    json_object_get(exp, "next") == NULL)
		json_object_set_new(exp, "next", json_null());
	res = json_object_get(exp, "result");
	if (res == NULL)
		return (exp);
	full = json_pack("{s:n, s:n, s:n, s:i, s:n, s:n}", "message_id",
	    "routing_key", "account_name", "retry_after", 0, "error_code",
	    "error_title");
	json_object_update(full, res);
	json_object_set_new(exp, "result", full);
	return (exp);
}

static void
check_case(const struct inbox_plugin *p, struct gcase *c)
{
	struct inbox_arena	*a;
	json_t			*exp, *got, *again;
	char			*s1, *s2;
	size_t			 limit;
	long			 n;
	int			 rc, spare;

	exp = expect_json(c->doc);
	a = arena_new(0);
	got = run_case(p, c->doc, a, -1, &spare);
	arena_free(a);
	if (getenv("GOLDEN_SHOW") != NULL) {
		s1 = json_dumps(got, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		printf("== %s\n%s\n", c->path, s1);
		free(s1);
	}
	if (!json_equal(exp, got)) {
		s1 = json_dumps(exp, JSON_COMPACT | JSON_SORT_KEYS);
		s2 = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("%s:\n expected %s\n got      %s", c->path, s1, s2);
	}

	/* Arenas too small: ENOMEM, or the same answer when it fits. */
	for (limit = 1; limit < 64 * 1024; limit *= 4) {
		a = arena_new(limit);
		again = run_case(p, c->doc, a, -1, &spare);
		arena_free(a);
		rc = (int)json_integer_value(json_object_get(again, "rc"));
		if (rc != INBOX_ENOMEM && !json_equal(again, got))
			fail_msg("%s: arena of %zu bytes: rc %d and a "
			    "different answer", c->path, limit, rc);
		json_decref(again);
	}

	/*
	 * The n-th allocation failing, for every n until the call needs
	 * no more than n: never a crash, and ENOMEM or the answer.
	 */
	for (n = 0;; n++) {
		a = arena_new(0);
		again = run_case(p, c->doc, a, n, &spare);
		arena_free(a);
		rc = (int)json_integer_value(json_object_get(again, "rc"));
		if (rc != INBOX_ENOMEM && !json_equal(again, got))
			fail_msg("%s: allocation %ld failing: rc %d and a "
			    "different answer", c->path, n, rc);
		json_decref(again);
		if (spare)
			break;
	}
	json_decref(exp);
	json_decref(got);
}

/*
 * What the host's own checks (it refuses a bad descriptor at load) leave
 * to this project: a plugin's name is its directory's, it has a family,
 * a send rate and the full 1.0 descriptor, and a plugin that sends has
 * a routing field or learns its key from the connection test.
 */
static void
check_descriptor(const struct inbox_plugin *p, const char *name)
{
	size_t	i, routing;

	assert_string_equal(p->name, name);
	assert_non_null(p->family);
	assert_true(p->send_rate > 0);
	assert_int_equal(p->size, sizeof(struct inbox_plugin));
	for (routing = i = 0; i < p->nfields; i++)
		if (p->fields[i].flags & INBOX_FIELD_ROUTING)
			routing++;
	assert_true(routing == 1 || strcmp(name, "360dialog") == 0);
}

static void
test_plugin(void **state)
{
	const struct host_plugin	*hp;
	const struct inbox_plugin	*p;
	struct plugin_registry		*reg;
	struct gcase			*cases;
	const char			*name = *state;
	char				 path[512];
	size_t				 i, n;

	snprintf(path, sizeof(path), "./%s/%s.so", PLUGINS_DIR, name);
	reg = plugin_registry_new();
	assert_non_null(reg);
	if (plugin_registry_load(reg, path) == -1)
		fail_msg("%s: refused by the host", path);
	hp = plugin_find(reg, name);
	assert_non_null(hp);
	p = &hp->desc;
	check_descriptor(p, name);
	cases = calloc(MAX_CASES, sizeof(*cases));
	assert_non_null(cases);
	n = list_cases(name, cases, MAX_CASES);
	if (n == 0)
		fail_msg("%s: no golden cases", name);
	for (i = 0; i < n; i++) {
		check_case(p, &cases[i]);
		json_decref(cases[i].doc);
	}
	free(cases);
	plugin_registry_free(reg);
}

int
main(void)
{
	static const char *names[] = {
		"whatsapp_cloud", "360dialog", "messenger", "instagram",
		"example"
	};
	struct CMUnitTest	tests[sizeof(names) / sizeof(names[0])];
	size_t			i;

	test_host = *plugin_host_table();
	test_host.alloc = test_alloc;
	test_host.strndup = test_strndup;
	test_host.printf = test_printf;
	plugin_host_set_log(test_log);
	plugin_host_set_config(test_config);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(&tests[i], 0, sizeof(tests[i]));
		tests[i].name = names[i];
		tests[i].test_func = test_plugin;
		tests[i].initial_state = (void *)(uintptr_t)names[i];
	}
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
