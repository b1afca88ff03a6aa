/*
 * templates.c: GET /api/v1/channels/{id}/templates, the message
 * templates of a channel's account, for the composer (outside the care
 * window, WhatsApp takes templates only).
 *
 * The provider is asked the way a connection test asks it (channels.c):
 * the database hands over the channel's sealed credentials and the
 * organization's wrapped data key, the worker opens them, and a task
 * thread pages through the provider's list with the plugin's
 * templates_build, classify(INBOX_OP_TEMPLATES) and templates_parse
 * (ABI 1.1): plugins build and parse, the host does the I/O. Nothing is
 * stored, except that credentials the provider rejects put the channel
 * in error, as a failed test or send does. Adapters without templates
 * (Messenger, Instagram) answer 422 before anything is opened.
 */
#include <time.h>

#include "app.h"
#include "channels.h"

/* Bounds on one listing: pages, time for all of them, bytes kept. */
#define TEMPLATES_PAGES_MAX	25
#define TEMPLATES_TIME_MS	20000
#define TEMPLATES_BYTES_MAX	(4 * 1024 * 1024)
/* A page is not started with less time left than this. */
#define TEMPLATES_PAGE_MIN_MS	1000

static const char SQL_TEMPLATES_BEGIN[] =
    "SELECT status, body::text FROM api.channel_templates_begin($1, "
    "$2::jsonb, $3::jsonb)";
static const char SQL_REJECTED[] =
    "SELECT status, body::text FROM api.channel_credentials_rejected($1, "
    "$2::jsonb, $3::jsonb)";

static int	tmpl_supported(struct call *);
static int	tmpl_task(struct kore_task *);
static int	tmpl_page(struct chan_job *, const char *, long, char **,
		    size_t *);
static long	tmpl_ms_since(const struct timespec *);
static int	tmpl_reply(struct call *);

/*
 * Whether the channel's adapter lists templates; 422 UNSUPPORTED if not
 * (a plugin not loaded is chan_begin_result's to answer). -1 after
 * replying.
 */
static int
tmpl_supported(struct call *c)
{
	const struct host_plugin	*p;
	json_t				*b;
	int				 status, rc = 0;

	if (call_api_result(c, &status, &b) == -1)
		return (-1);
	p = plugin_find(plugins, json_string_value(json_object_get(b,
	    "adapter")));
	if (p != NULL && !plugin_has_templates(p)) {
		reply_error(c->req, 422, "UNSUPPORTED", "This channel's "
		    "adapter has no message templates (they are a WhatsApp "
		    "feature)", json_pack("{s:s}", "adapter", p->desc.name));
		rc = -1;
	}
	json_decref(b);
	return (rc);
}

static long
tmpl_ms_since(const struct timespec *start)
{
	struct timespec	now;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	return ((now.tv_sec - start->tv_sec) * 1000 +
	    (now.tv_nsec - start->tv_nsec) / 1000000);
}

/*
 * On the task thread: one page, at cursor (NULL: the first), within
 * timeout_ms. Its templates are appended to j->templates and counted in
 * *bytes; *next gets the next page's cursor (malloc'd; NULL after the
 * last page). -1 when the provider failed or refused, as j says.
 */
static int
tmpl_page(struct chan_job *j, const char *cursor, long timeout_ms,
    char **next, size_t *bytes)
{
	const struct inbox_plugin	*p = &j->plugin->desc;
	struct inbox_call		 call;
	struct inbox_http_request	 req;
	struct inbox_http_response	 resp;
	struct inbox_templates		 page;
	struct inbox_result		 out;
	struct http_result		 res;
	json_t				*list = NULL;
	int				 rc = -1;

	*next = NULL;
	memset(&res, 0, sizeof(res));
	memset(&req, 0, sizeof(req));
	memset(&page, 0, sizeof(page));
	if (plugin_call_begin(&call, j->creds, j->ncreds) == -1) {
		j->outcome = INBOX_OUTCOME_RETRY;
		snprintf(j->kind, sizeof(j->kind), "unavailable");
		snprintf(j->message, sizeof(j->message), "Out of memory");
		return (-1);
	}
	if (chan_exchange(j, &call, INBOX_OP_TEMPLATES,
	    p->templates_build(&call, cursor, &req), &req, timeout_ms, &res,
	    &out) == -1)
		goto cleanup;
	http_result_response(&res, &resp);
	if (p->templates_parse(&call, &resp, &page) != INBOX_OK ||
	    page.templates == NULL || (list = json_loadb(page.templates,
	    page.templates_len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_array(list) || json_array_extend(j->templates,
	    list) == -1 || (page.next != NULL &&
	    (*next = strdup(page.next)) == NULL)) {
		j->outcome = INBOX_OUTCOME_PERMANENT;
		snprintf(j->kind, sizeof(j->kind), "bad_answer");
		snprintf(j->message, sizeof(j->message), "The provider's list "
		    "of templates could not be read");
		goto cleanup;
	}
	*bytes += page.templates_len;
	rc = 0;
cleanup:
	json_decref(list);
	http_result_free(&res);
	plugin_call_end(&call);
	return (rc);
}

/*
 * On a task thread: touches only its job. Pages until the provider says
 * there are no more, or until the bounds, past which the list is cut
 * (j->truncated). A page that fails fails the whole list: a list with
 * holes would look complete.
 */
static int
tmpl_task(struct kore_task *t)
{
	struct chan_call	*cc = call_task_arg(t);
	struct chan_job		*j = cc->job;
	struct timespec		 start;
	char			*cursor = NULL, *next;
	size_t			 pages, bytes = 0;
	long			 left;

	(void)clock_gettime(CLOCK_MONOTONIC, &start);
	if ((j->templates = json_array()) == NULL) {
		j->outcome = INBOX_OUTCOME_RETRY;
		snprintf(j->kind, sizeof(j->kind), "unavailable");
		snprintf(j->message, sizeof(j->message), "Out of memory");
		return (KORE_RESULT_OK);
	}
	for (pages = 0;; pages++) {
		left = TEMPLATES_TIME_MS - tmpl_ms_since(&start);
		if (pages == TEMPLATES_PAGES_MAX ||
		    bytes > TEMPLATES_BYTES_MAX ||
		    left < TEMPLATES_PAGE_MIN_MS) {
			j->truncated = 1;
			break;
		}
		if (tmpl_page(j, cursor, left < CHANNEL_HTTP_TIMEOUT_MS ?
		    left : CHANNEL_HTTP_TIMEOUT_MS, &next, &bytes) == -1)
			break;
		free(cursor);
		if ((cursor = next) == NULL)
			break;
	}
	free(cursor);
	return (KORE_RESULT_OK);
}

/*
 * The list, or what went wrong, in the shape of the channel test's
 * outcomes: credentials rejected 409 (the channel is in error by now),
 * the provider throttling or failing 503 (with its Retry-After), not
 * answering in time 504, anything else 502.
 */
static int
tmpl_reply(struct call *c)
{
	struct chan_call	*cc = c->task_arg;
	struct chan_job		*j = cc->job;
	const char		*code;
	char			 buf[16];
	int			 status;

	if (j->outcome == INBOX_OUTCOME_OK)
		return (reply_json(c->req, 200, json_pack("{s:O, s:b}",
		    "templates", j->templates, "truncated", j->truncated)));
	if (j->outcome == INBOX_OUTCOME_AUTH) {
		status = 409;
		code = "CREDENTIALS_REJECTED";
	} else if (strcmp(j->kind, "unavailable") == 0) {
		status = 503;
		code = "PROVIDER_UNAVAILABLE";
		if (j->retry_after > 0) {
			snprintf(buf, sizeof(buf), "%u", j->retry_after);
			http_response_header(c->req, "retry-after", buf);
		}
	} else if (strcmp(j->kind, "timeout") == 0) {
		status = 504;
		code = "PROVIDER_TIMEOUT";
	} else {
		status = 502;
		code = "PROVIDER_ERROR";
	}
	return (reply_error(c->req, status, code, j->message, json_pack(
	    "{s:s, s:s}", "outcome", j->kind, "provider_message",
	    j->message)));
}

/*
 * GET /api/v1/channels/:id/templates, as steps:
 *   0  who is asking (any member), the channel (channel_templates_begin)
 *   1  the adapter lists templates; the credentials opened; the
 *      provider asked, page by page (task)
 *   2  the list, or, credentials rejected: the channel in error
 *      (channel_credentials_rejected), then the 409
 */
int
h_channel_templates(struct call *c)
{
	struct chan_call	*cc = c->task_arg;

	switch (c->step) {
	case 0:
		cc = kore_calloc(1, sizeof(*cc));
		c->task_arg = cc;
		c->task_free = chan_free;
		return (call_query_api(c, SQL_TEMPLATES_BEGIN));
	case 1:
		if (tmpl_supported(c) == -1 ||
		    chan_begin_result(c, NULL) == -1)
			return (CALL_DONE);
		return (call_task(c, tmpl_task, cc, chan_free));
	case 2:
		if (cc->job->outcome != INBOX_OUTCOME_AUTH)
			return (tmpl_reply(c));
		json_object_set_new(c->srv, "outcome", json_pack("{s:s}",
		    "status_message", cc->job->message));
		return (call_query_api(c, SQL_REJECTED));
	default:
		if (call_failed(c))
			return (call_fail_db(c));
		return (tmpl_reply(c));
	}
}
