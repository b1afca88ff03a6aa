/*
 * inbox-plugin-check: the conformance runner for channel plugins.
 *
 *   inbox-plugin-check PLUGIN.so CASE.json|DIR...
 *
 * Loads the plugin through the same host code the server uses (so ABI
 * refusals are reported exactly as the server would log them), then runs
 * every golden case (a DIR stands for its *.json files, in name order).
 * Each case runs in a child process, so a plugin that crashes or hangs
 * fails that case instead of the run, and each case is checked for:
 *
 *   - the answer: the plugin's output, as JSON, equal (json_equal) to the
 *     case's "expect" once keys the case leaves out of a "result" or
 *     "request" are filled in as null (retry_after 0, headers {}), and
 *     a page of templates' "next" as null;
 *   - well-formedness: what the host would refuse to send or store
 *     (headers past INBOX_MAX_HEADERS, CR/LF in a URL or header, events
 *     or templates that are not a JSON array, lengths that do not
 *     match, templates without a name or language);
 *   - determinism: a second call with a fresh arena answers the same;
 *   - arena exhaustion: with small arenas the answer is INBOX_ENOMEM or
 *     the same answer, never anything else.
 *
 * A failing case prints "FAIL <case>" and indented lines saying what
 * differs. The last line is "N passed, N failed"; the exit status is 1 if
 * anything failed, 2 on a usage error. The case format is described in
 * docs/plugins.md.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "arena.h"
#include "plugin_host.h"

#define CASE_TIMEOUT	20		/* seconds per case */
#define DIFF_MAX	20		/* difference lines per case */
#define SHOW_MAX	300		/* characters of a value shown */

struct cases {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

static void		 usage(void) __attribute__((noreturn));
static void		 release(void);
static int		 cases_add(struct cases *, const char *);
static int		 cases_add_dir(struct cases *, const char *);
static int		 case_filter(const struct dirent *);
static int		 case_run_isolated(const struct host_plugin *,
			    const char *);
static int		 case_check(const struct host_plugin *, const char *);
static json_t		*case_call(const struct host_plugin *, json_t *,
			    size_t);
static json_t		*out_request(const struct inbox_http_request *);
static json_t		*out_parsed(const struct inbox_parsed *);
static json_t		*out_result(const struct inbox_result *);
static json_t		*out_templates(const struct inbox_templates *);
static json_t		*out_array(const char *, const char *, size_t);
static int		 case_response(json_t *, struct inbox_http_response *,
			    struct inbox_header **);
static json_t		*expect_normalize(json_t *);
static void		 fill(json_t *, const char *, json_t *);
static void		 diff(const char *, json_t *, json_t *);
static const char	*show(json_t *, char *, size_t);
static int		 text_ok(const char *);
static void		 problem(const char *, ...)
			    __attribute__((format(printf, 1, 2)));
static const char	*case_config(const char *);
static void		 log_line(int, const char *);

/* File-wide so that a case's child process can release them too. */
static struct plugin_registry	*reg;
static struct cases		 cases;
static char			*plugin_path;

static const char	*cur_path;	/* the case being checked */
static json_t		*cur_config;	/* its "config" object */
static int		 cur_failed;
static int		 cur_diffs;

static void
usage(void)
{
	fprintf(stderr, "usage: inbox-plugin-check PLUGIN.so "
	    "CASE.json|DIR...\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct stat		 st;
	size_t			 i, passed, failed;
	int			 a;

	if (argc < 3)
		usage();
	memset(&cases, 0, sizeof(cases));
	for (a = 2; a < argc; a++) {
		if (stat(argv[a], &st) == -1 || (S_ISDIR(st.st_mode) ?
		    cases_add_dir(&cases, argv[a]) :
		    cases_add(&cases, argv[a])) == -1) {
			fprintf(stderr, "inbox-plugin-check: %s: %s\n",
			    argv[a], strerror(errno));
			return (2);
		}
	}

	plugin_host_set_log(log_line);
	plugin_host_set_config(case_config);
	if ((reg = plugin_registry_new()) == NULL) {
		fprintf(stderr, "inbox-plugin-check: out of memory\n");
		return (1);
	}
	/* dlopen searches the library path for a name without a slash. */
	if (asprintf(&plugin_path, "%s%s", strchr(argv[1], '/') == NULL ?
	    "./" : "", argv[1]) == -1) {
		fprintf(stderr, "inbox-plugin-check: out of memory\n");
		return (1);
	}
	if (plugin_registry_load(reg, plugin_path) == -1) {
		printf("FAIL %s: refused by the host (see the log line)\n",
		    plugin_path);
		printf("0 passed, %zu failed\n", cases.n == 0 ? 1 : cases.n);
		release();
		return (1);
	}

	passed = failed = 0;
	for (i = 0; i < cases.n; i++) {
		if (case_run_isolated(plugin_at(reg, 0), cases.v[i]) == 0)
			passed++;
		else
			failed++;
	}
	if (cases.n == 0) {
		printf("FAIL no cases found\n");
		failed++;
	}
	printf("%zu passed, %zu failed\n", passed, failed);
	release();
	return (failed > 0 ? 1 : 0);
}

/* Frees what main() set up, in the parent and in each case's child. */
static void
release(void)
{
	size_t	i;

	for (i = 0; i < cases.n; i++)
		free(cases.v[i]);
	free(cases.v);
	memset(&cases, 0, sizeof(cases));
	plugin_registry_free(reg);
	reg = NULL;
	free(plugin_path);
	plugin_path = NULL;
}

/* Adds a copy of path to cases. -1 with errno set on failure. */
static int
cases_add(struct cases *c, const char *path)
{
	char	**v;

	if (c->n == c->cap) {
		if ((v = reallocarray(c->v, c->cap == 0 ? 16 : c->cap * 2,
		    sizeof(*v))) == NULL)
			return (-1);
		c->v = v;
		c->cap = c->cap == 0 ? 16 : c->cap * 2;
	}
	if ((c->v[c->n] = strdup(path)) == NULL)
		return (-1);
	c->n++;
	return (0);
}

static int
case_filter(const struct dirent *de)
{
	size_t	len = strlen(de->d_name);

	return (de->d_name[0] != '.' && len > 5 &&
	    strcmp(de->d_name + len - 5, ".json") == 0);
}

/* Adds dir's *.json files in name order. -1 with errno on failure. */
static int
cases_add_dir(struct cases *c, const char *dir)
{
	struct dirent	**list;
	char		  path[PATH_MAX];
	int		  n, i, rc;

	if ((n = scandir(dir, &list, case_filter, alphasort)) == -1)
		return (-1);
	rc = 0;
	for (i = 0; i < n; i++) {
		if (rc == 0) {
			(void)snprintf(path, sizeof(path), "%s/%s", dir,
			    list[i]->d_name);
			rc = cases_add(c, path);
		}
		free(list[i]);
	}
	free(list);
	return (rc);
}

/*
 * Checks one case in a child process: 0 when it passed. A child killed by
 * a signal (a crash, or the alarm after CASE_TIMEOUT) fails the case.
 */
static int
case_run_isolated(const struct host_plugin *p, const char *path)
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		printf("FAIL %s\n  cannot fork: %s\n", path, strerror(errno));
		return (-1);
	}
	if (pid == 0) {
		alarm(CASE_TIMEOUT);
		status = case_check(p, path);
		release();
		fflush(stdout);
		fflush(stderr);
		_exit(status == 0 ? 0 : 1);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return (-1);
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGALRM)
			printf("FAIL %s\n  did not finish within %d s\n", path,
			    CASE_TIMEOUT);
		else
			printf("FAIL %s\n  crashed: %s\n", path,
			    strsignal(WTERMSIG(status)));
		return (-1);
	}
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1);
}

/* Runs and checks the case in path; 0 when it passed. */
static int
case_check(const struct host_plugin *p, const char *path)
{
	static const size_t	 small[] = { 1, 64, 512, 4096 };
	json_error_t		 err;
	json_t			*doc, *expect, *exp, *got, *again;
	const char		*op;
	char			 buf[SHOW_MAX + 1];
	size_t			 i;

	cur_path = path;
	cur_failed = 0;
	exp = got = NULL;
	if ((doc = json_load_file(path, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL) {
		problem("not a JSON case: line %d: %s", err.line, err.text);
		return (-1);
	}
	op = json_string_value(json_object_get(doc, "op"));
	expect = json_object_get(doc, "expect");
	if (op == NULL || !json_is_object(expect) ||
	    !json_is_integer(json_object_get(expect, "rc"))) {
		problem("a case needs \"op\", and \"expect\" with an "
		    "integer \"rc\"");
		goto done;
	}
	cur_config = json_object_get(doc, "config");

	if ((got = case_call(p, doc, 0)) == NULL)
		goto done;
	exp = expect_normalize(expect);
	if (!json_equal(exp, got)) {
		problem("%s: the answer differs from \"expect\":", op);
		cur_diffs = 0;
		diff("", exp, got);
	}

	/* The same call again, with a fresh arena, answers the same. */
	if ((again = case_call(p, doc, 0)) != NULL && !json_equal(got, again))
		problem("%s: not deterministic: a second call answered %s",
		    op, show(again, buf, sizeof(buf)));
	json_decref(again);

	/* Running out of arena is ENOMEM, never another answer. */
	for (i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		if ((again = case_call(p, doc, small[i])) == NULL)
			break;
		if (!json_equal(got, again) && json_integer_value(
		    json_object_get(again, "rc")) != INBOX_ENOMEM)
			problem("%s: with a %zu-byte arena: %s; expected rc "
			    "%d (INBOX_ENOMEM) or the full answer", op,
			    small[i], show(again, buf, sizeof(buf)),
			    INBOX_ENOMEM);
		json_decref(again);
	}

done:
	json_decref(exp);
	json_decref(got);
	json_decref(doc);
	return (cur_failed ? -1 : 0);
}

/*
 * One call of the case doc with a fresh arena of limit bytes (0: the
 * default), as its output: {"rc"} and, when rc is 0, what the op returns.
 * NULL after problem() when the case or the plugin's output is malformed.
 */
static json_t *
case_call(const struct host_plugin *p, json_t *doc, size_t limit)
{
	const struct inbox_plugin	*d = &p->desc;
	struct inbox_call		 call;
	struct inbox_http_request	 req;
	struct inbox_http_response	 resp;
	struct inbox_parsed		 parsed;
	struct inbox_result		 res;
	struct inbox_templates		 tpl;
	struct inbox_cred		*creds;
	struct inbox_header		*hdrs;
	json_t				*input, *v, *out, *rh;
	const char			*op, *rop, *k;
	char				*msg;
	size_t				 n;
	int				 rc, iop;

	out = NULL;
	creds = NULL;
	hdrs = NULL;
	msg = NULL;
	memset(&call, 0, sizeof(call));
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	memset(&parsed, 0, sizeof(parsed));
	memset(&res, 0, sizeof(res));
	memset(&tpl, 0, sizeof(tpl));

	op = json_string_value(json_object_get(doc, "op"));
	input = json_object_get(doc, "input");
	if (input != NULL && !json_is_object(input)) {
		problem("\"input\" must be an object");
		goto done;
	}

	v = json_object_get(doc, "creds");
	if ((creds = calloc(json_object_size(v) + 1, sizeof(*creds))) ==
	    NULL) {
		problem("out of memory");
		goto done;
	}
	n = 0;
	json_object_foreach(v, k, rh) {
		if (!json_is_string(rh)) {
			problem("creds.%s must be a string", k);
			goto done;
		}
		creds[n].name = k;
		creds[n++].value = json_string_value(rh);
	}

	if (plugin_call_begin(&call, creds, n) == -1) {
		problem("out of memory");
		goto done;
	}
	if (limit != 0) {
		arena_free(call.arena);
		if ((call.arena = arena_new(limit)) == NULL) {
			problem("out of memory");
			goto done;
		}
	}

	if (strcmp(op, "webhook_parse") == 0) {
		if (!json_is_string(v = json_object_get(input, "body"))) {
			problem("input.body must be a string");
			goto done;
		}
		rc = d->webhook_parse == NULL ? INBOX_EUNSUPPORTED :
		    d->webhook_parse(&call, json_string_value(v),
		    json_string_length(v), &parsed);
	} else if (strcmp(op, "send_build") == 0) {
		if ((v = json_object_get(input, "message")) == NULL ||
		    (msg = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) ==
		    NULL) {
			problem("input.message is missing");
			goto done;
		}
		rc = d->send_build == NULL ? INBOX_EUNSUPPORTED :
		    d->send_build(&call, msg, strlen(msg), &req);
	} else if (strcmp(op, "test_build") == 0) {
		rc = d->test_build(&call, &req);
	} else if (strcmp(op, "register_build") == 0) {
		rc = d->register_build == NULL ? INBOX_EUNSUPPORTED :
		    d->register_build(&call,
		    json_string_value(json_object_get(input, "url")),
		    json_string_value(json_object_get(input, "header_name")),
		    json_string_value(json_object_get(input, "header_value")),
		    &req);
	} else if (strcmp(op, "classify") == 0) {
		rop = json_string_value(json_object_get(input, "op"));
		iop = rop == NULL ? 0 : strcmp(rop, "test") == 0 ?
		    INBOX_OP_TEST : strcmp(rop, "register") == 0 ?
		    INBOX_OP_REGISTER : strcmp(rop, "send") == 0 ?
		    INBOX_OP_SEND : strcmp(rop, "templates") == 0 ?
		    INBOX_OP_TEMPLATES : 0;
		if (iop == 0) {
			problem("classify needs input.op "
			    "test|register|send|templates");
			goto done;
		}
		if (case_response(json_object_get(input, "response"), &resp,
		    &hdrs) == -1)
			goto done;
		rc = d->classify(&call, iop, &resp, &res);
	} else if (strcmp(op, "templates_build") == 0) {
		v = json_object_get(input, "cursor");
		if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
			problem("input.cursor must be a string or null");
			goto done;
		}
		rc = !plugin_has_templates(p) ? INBOX_EUNSUPPORTED :
		    d->templates_build(&call, json_string_value(v), &req);
	} else if (strcmp(op, "templates_parse") == 0) {
		if (case_response(json_object_get(input, "response"), &resp,
		    &hdrs) == -1)
			goto done;
		rc = !plugin_has_templates(p) ? INBOX_EUNSUPPORTED :
		    d->templates_parse(&call, &resp, &tpl);
	} else {
		problem("unknown op \"%s\"", op);
		goto done;
	}

	if ((out = json_pack("{s:i}", "rc", rc)) == NULL) {
		problem("out of memory");
		goto done;
	}
	if (rc != INBOX_OK)
		goto done;
	if (strcmp(op, "webhook_parse") == 0)
		v = out_parsed(&parsed);
	else if (strcmp(op, "classify") == 0)
		v = out_result(&res);
	else if (strcmp(op, "templates_parse") == 0)
		v = out_templates(&tpl);
	else
		v = out_request(&req);
	if (v == NULL || json_object_update(out, v) == -1) {
		json_decref(out);
		out = NULL;
	}
	json_decref(v);

done:
	plugin_call_end(&call);
	if (hdrs != NULL) {
		for (n = 0; n < resp.nheaders; n++)
			free((char *)hdrs[n].name);
		free(hdrs);
	}
	free(creds);
	free(msg);
	return (out);
}

/*
 * A case's input.response ({"status", "headers", "body"}) as the host
 * hands it to plugins: header names in lowercase, in *hdrsp (the
 * caller frees the names and the array). -1 after problem().
 */
static int
case_response(json_t *response, struct inbox_http_response *resp,
    struct inbox_header **hdrsp)
{
	struct inbox_header	*hdrs;
	json_t			*rh, *v;
	const char		*k;
	char			*c;

	if (!json_is_integer(json_object_get(response, "status"))) {
		problem("input.response.status must be an integer");
		return (-1);
	}
	resp->status = (int)json_integer_value(json_object_get(response,
	    "status"));
	rh = json_object_get(response, "headers");
	if ((*hdrsp = hdrs = calloc(json_object_size(rh) + 1,
	    sizeof(*hdrs))) == NULL) {
		problem("out of memory");
		return (-1);
	}
	json_object_foreach(rh, k, v) {
		if (!json_is_string(v) || (c = strdup(k)) == NULL) {
			problem("response header %s must be a string", k);
			return (-1);
		}
		for (hdrs[resp->nheaders].name = c; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		hdrs[resp->nheaders++].value = json_string_value(v);
	}
	resp->headers = hdrs;
	if ((v = json_object_get(response, "body")) != NULL) {
		resp->body = json_string_value(v);
		resp->body_len = json_string_length(v);
	}
	return (0);
}

/*
 * {"templates": [...], "next": ...} of a page of templates, or NULL
 * after problem(): templates must be a JSON array of exactly
 * templates_len bytes, of objects with a name and a language.
 */
static json_t *
out_templates(const struct inbox_templates *t)
{
	json_t		*list, *e;
	size_t		 i;

	if (t->templates == NULL) {
		problem("rc 0 but no templates (\"[]\" when there are none)");
		return (NULL);
	}
	if ((list = out_array("templates", t->templates,
	    t->templates_len)) == NULL)
		return (NULL);
	json_array_foreach(list, i, e) {
		if (!json_is_string(json_object_get(e, "name")) ||
		    !json_is_string(json_object_get(e, "language"))) {
			problem("templates[%zu] has no name or language", i);
			json_decref(list);
			return (NULL);
		}
	}
	if (t->next != NULL && !text_ok(t->next)) {
		problem("next has control characters");
		json_decref(list);
		return (NULL);
	}
	return (json_pack("{s:o, s:s?}", "templates", list, "next", t->next));
}

/*
 * what's text (len bytes, NUL-terminated, not NULL) as a JSON array
 * without duplicate keys, or NULL after problem().
 */
static json_t *
out_array(const char *what, const char *text, size_t len)
{
	json_error_t	 err;
	json_t		*v;

	if (strlen(text) != len) {
		problem("%s_len is %zu but %s is %zu bytes", what, len, what,
		    strlen(text));
		return (NULL);
	}
	v = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!json_is_array(v)) {
		problem("%s is not a JSON array: %s", what, v == NULL ?
		    err.text : "another type");
		json_decref(v);
		return (NULL);
	}
	return (v);
}

/* {"request": {...}} for a built request, or NULL after problem(). */
static json_t *
out_request(const struct inbox_http_request *req)
{
	json_t	*headers, *body;
	size_t	 i;

	if (req->method == NULL || req->url == NULL) {
		problem("rc 0 but the request has no %s",
		    req->method == NULL ? "method" : "url");
		return (NULL);
	}
	if (!text_ok(req->url) || strchr(req->url, ' ') != NULL) {
		problem("the URL has spaces or control characters");
		return (NULL);
	}
	if (req->nheaders > INBOX_MAX_HEADERS) {
		problem("%zu headers, more than INBOX_MAX_HEADERS",
		    req->nheaders);
		return (NULL);
	}
	if (req->body == NULL && req->body_len != 0) {
		problem("body_len %zu but no body", req->body_len);
		return (NULL);
	}

	if ((headers = json_object()) == NULL)
		return (NULL);
	for (i = 0; i < req->nheaders; i++) {
		if (req->headers[i].name == NULL ||
		    req->headers[i].value == NULL ||
		    !text_ok(req->headers[i].name) ||
		    !text_ok(req->headers[i].value)) {
			problem("header %zu is NULL or has control characters",
			    i);
			json_decref(headers);
			return (NULL);
		}
		if (json_object_get(headers, req->headers[i].name) != NULL) {
			problem("header %s is set twice", req->headers[i].name);
			json_decref(headers);
			return (NULL);
		}
		json_object_set_new(headers, req->headers[i].name,
		    json_string(req->headers[i].value));
	}

	body = json_null();
	if (req->body != NULL &&
	    (body = json_loadb(req->body, req->body_len, JSON_DECODE_ANY,
	    NULL)) == NULL &&
	    (body = json_stringn(req->body, req->body_len)) == NULL) {
		problem("the body is neither JSON nor UTF-8 text");
		json_decref(headers);
		return (NULL);
	}
	return (json_pack("{s:{s:s, s:s, s:o, s:o}}", "request", "method",
	    req->method, "url", req->url, "headers", headers, "body", body));
}

/* {"events": [...], "routing_keys": [...]}, or NULL after problem(). */
static json_t *
out_parsed(const struct inbox_parsed *parsed)
{
	json_t		*events, *keys;
	size_t		 i, j;

	if (parsed->events == NULL) {
		problem("rc 0 but no events (\"[]\" when there are none)");
		return (NULL);
	}
	if ((events = out_array("events", parsed->events,
	    parsed->events_len)) == NULL)
		return (NULL);
	if (parsed->nrouting_keys > 0 && parsed->routing_keys == NULL) {
		problem("%zu routing keys but no array",
		    parsed->nrouting_keys);
		json_decref(events);
		return (NULL);
	}
	keys = json_array();
	for (i = 0; i < parsed->nrouting_keys; i++) {
		for (j = 0; j < i && parsed->routing_keys[i] != NULL; j++)
			if (strcmp(parsed->routing_keys[i],
			    parsed->routing_keys[j]) == 0)
				break;
		if (parsed->routing_keys[i] == NULL || j < i) {
			problem("routing key %zu is NULL or repeated", i);
			json_decref(events);
			json_decref(keys);
			return (NULL);
		}
		json_array_append_new(keys,
		    json_string(parsed->routing_keys[i]));
	}
	return (json_pack("{s:o, s:o}", "events", events, "routing_keys",
	    keys));
}

/* {"result": {...}} of a classification. */
static json_t *
out_result(const struct inbox_result *r)
{
	static const char	*names[] = { "none", "ok", "retry",
				    "permanent", "auth", "not_found" };
	char			 other[32];
	const char		*outcome;

	if (r->outcome >= 0 &&
	    (size_t)r->outcome < sizeof(names) / sizeof(names[0]))
		outcome = names[r->outcome];
	else {
		(void)snprintf(other, sizeof(other), "invalid(%d)",
		    r->outcome);
		outcome = other;
	}
	return (json_pack("{s:{s:s, s:s?, s:s?, s:s?, s:I, s:s?, s:s?}}",
	    "result", "outcome", outcome, "message_id", r->message_id,
	    "routing_key", r->routing_key, "account_name", r->account_name,
	    "retry_after", (json_int_t)r->retry_after,
	    "error_code", r->error_code, "error_title", r->error_title));
}

/*
 * A copy of a case's "expect" with what it may leave out filled in: the
 * keys of "result" (null, retry_after 0), of "request" (null, headers
 * {}) and a page of templates' "next" (null).
 */
static json_t *
expect_normalize(json_t *expect)
{
	json_t	*exp, *o;

	exp = json_deep_copy(expect);
	if (json_is_object(o = json_object_get(exp, "result"))) {
		fill(o, "message_id", json_null());
		fill(o, "routing_key", json_null());
		fill(o, "account_name", json_null());
		fill(o, "retry_after", json_integer(0));
		fill(o, "error_code", json_null());
		fill(o, "error_title", json_null());
	}
	if (json_is_array(json_object_get(exp, "templates")))
		fill(exp, "next", json_null());
	if (json_is_object(o = json_object_get(exp, "request"))) {
		fill(o, "method", json_null());
		fill(o, "url", json_null());
		fill(o, "headers", json_object());
		fill(o, "body", json_null());
	}
	return (exp);
}

/* Sets o.key to v (stolen) unless o has key already. */
static void
fill(json_t *o, const char *key, json_t *v)
{
	if (json_object_get(o, key) == NULL)
		json_object_set_new(o, key, v);
	else
		json_decref(v);
}

/*
 * Prints where exp and got differ, one "  <path>: expected X, got Y" line
 * per difference, descending into objects (keys in order) and arrays.
 */
static void
diff(const char *path, json_t *exp, json_t *got)
{
	const char	*key;
	json_t		*v;
	char		 sub[512], a[SHOW_MAX + 1], b[SHOW_MAX + 1];
	void		*iter;
	size_t		 i, n;

	if (json_equal(exp, got) || cur_diffs > DIFF_MAX)
		return;
	if (json_is_object(exp) && json_is_object(got)) {
		json_object_foreach(exp, key, v) {
			(void)snprintf(sub, sizeof(sub), "%s.%s", path, key);
			diff(sub, v, json_object_get(got, key));
		}
		for (iter = json_object_iter(got); iter != NULL;
		    iter = json_object_iter_next(got, iter)) {
			key = json_object_iter_key(iter);
			if (json_object_get(exp, key) != NULL)
				continue;
			(void)snprintf(sub, sizeof(sub), "%s.%s", path, key);
			diff(sub, NULL, json_object_iter_value(iter));
		}
		return;
	}
	if (json_is_array(exp) && json_is_array(got)) {
		n = json_array_size(exp) > json_array_size(got) ?
		    json_array_size(exp) : json_array_size(got);
		for (i = 0; i < n; i++) {
			(void)snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			diff(sub, json_array_get(exp, i),
			    json_array_get(got, i));
		}
		return;
	}
	if (++cur_diffs > DIFF_MAX) {
		printf("  (more differences)\n");
		return;
	}
	printf("  %s: expected %s, got %s\n", *path == '\0' ? "." : path,
	    show(exp, a, sizeof(a)), show(got, b, sizeof(b)));
}

/*
 * v compactly into buf (size bytes), cut to fit with "...", or
 * "(missing)" for NULL. Returns buf.
 */
static const char *
show(json_t *v, char *buf, size_t size)
{
	char	*s;

	if (v == NULL)
		(void)snprintf(buf, size, "(missing)");
	else if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_SORT_KEYS)) == NULL)
		(void)snprintf(buf, size, "(unprintable)");
	else {
		if (strlen(s) < size)
			(void)snprintf(buf, size, "%s", s);
		else
			(void)snprintf(buf, size, "%.*s...", (int)size - 4, s);
		free(s);
	}
	return (buf);
}

/* No control characters (CR/LF would split a header or a request line). */
static int
text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (0);
	return (1);
}

/* Marks the case failed and prints one line about it. */
static void
problem(const char *fmt, ...)
{
	va_list	ap;

	if (!cur_failed)
		printf("FAIL %s\n", cur_path);
	cur_failed = 1;
	printf("  ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* inbox_host.config for the case being run: its "config" object. */
static const char *
case_config(const char *name)
{
	return (json_string_value(json_object_get(cur_config, name)));
}

/* Host and plugin log lines, on stderr, after what stdout holds so far. */
static void
log_line(int level, const char *line)
{
	static const char	*names[] = { "error", "warning", "info",
				    "debug" };

	fflush(stdout);
	fprintf(stderr, "%s: %s\n", names[level], line);
}
