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
 * stored in the database, except that credentials the provider rejects
 * put the channel in error, as a failed test or send does. Adapters
 * without templates (Messenger, Instagram) answer 422 before anything is
 * opened.
 *
 * A listing holds a task thread for up to TEMPLATES_TIME_MS, and the
 * same threads hash passwords (sign-ins) and test channels, so each
 * worker runs at most TEMPLATES_BUSY_MAX listings at once and at most
 * one per channel, and answers the rest 429. It keeps a channel's last
 * list for TEMPLATES_CACHE_S, so a composer opened again and again does
 * not ask Meta or 360dialog each time (360dialog blocks a key after
 * repeated errors). Both tables are the worker's own (each worker is a
 * process) and are touched only on its event loop, never by the task
 * threads, so they need no lock.
 */
#include <sodium.h>
#include <time.h>

#include "app.h"
#include "channels.h"

/* Bounds on one listing: pages, time for all of them, bytes kept. */
#define TEMPLATES_PAGES_MAX	25
#define TEMPLATES_TIME_MS	20000
#define TEMPLATES_BYTES_MAX	(4 * 1024 * 1024)
/* A page is not started with less time left than this. */
#define TEMPLATES_PAGE_MIN_MS	1000

/* Listings under way in one worker, and what a 429 asks to wait. */
#define TEMPLATES_BUSY_MAX	2
#define TEMPLATES_RETRY_S	2
/*
 * Lists kept per worker: for how long, how many and how many bytes at
 * most (the oldest go first), so a worker's memory stays bounded
 * however many channels are listed.
 */
#define TEMPLATES_CACHE_S	60
#define TEMPLATES_CACHE_MAX	32
#define TEMPLATES_CACHE_BYTES	(16 * 1024 * 1024)

/* A channel being listed by this worker. */
struct tmpl_busy {
	int		 used;
	char		 org[40];
	char		 channel[40];
};

/*
 * A channel's last list, as the 200 sent it. creds is the digest of the
 * credentials it was listed with (tmpl_digest): new ones are asked
 * afresh rather than served a list their account may not have.
 */
struct tmpl_cached {
	char		 org[40];
	char		 channel[40];
	u_int8_t	 creds[CHAN_DIGEST_LEN];
	u_int64_t	 at;		/* kore_time_ms() when listed */
	char		*body;		/* malloc'd; NULL: the entry is free */
	size_t		 len;
};

static struct tmpl_busy		tmpl_busy[TEMPLATES_BUSY_MAX];
static struct tmpl_cached	tmpl_cache[TEMPLATES_CACHE_MAX];
static size_t			tmpl_cache_bytes;

static const char SQL_TEMPLATES_BEGIN[] =
    "SELECT status, body::text FROM api.channel_templates_begin($1, "
    "$2::jsonb, $3::jsonb)";
static const char SQL_REJECTED[] =
    "SELECT status, body::text FROM api.channel_credentials_rejected($1, "
    "$2::jsonb, $3::jsonb)";

static int	tmpl_supported(struct call *, json_t *);
static int	tmpl_start(struct call *, json_t *);
static void	tmpl_digest(json_t *, u_int8_t *);
static void	tmpl_cache_drop(struct tmpl_cached *);
static int	tmpl_cache_reply(struct call *, const char *, const char *,
		    const u_int8_t *);
static void	tmpl_cache_put(const char *, const char *, const u_int8_t *,
		    char *, size_t);
static int	tmpl_busy_refuse(struct call *, const char *, const char *);
static void	tmpl_busy_take(struct chan_call *);
static void	tmpl_free(void *);
static int	tmpl_task(struct kore_task *);
static int	tmpl_page(struct chan_job *, const char *, long, char **,
		    size_t *);
static void	tmpl_bad_answer(struct chan_job *, const char *);
static long	tmpl_ms_since(const struct timespec *);
static int	tmpl_reply(struct call *);

/*
 * Whether the channel's adapter (in step one's answer b) lists
 * templates; 422 UNSUPPORTED if not (a plugin not loaded is
 * chan_begin_body's to answer). -1 after replying.
 */
static int
tmpl_supported(struct call *c, json_t *b)
{
	const struct host_plugin	*p;

	p = plugin_find(plugins, json_string_value(json_object_get(b,
	    "adapter")));
	if (p != NULL && !plugin_has_templates(p)) {
		reply_error(c->req, 422, "UNSUPPORTED", "This channel's "
		    "adapter has no message templates (they are a WhatsApp "
		    "feature)", json_pack("{s:s}", "adapter", p->desc.name));
		return (-1);
	}
	return (0);
}

/*
 * The digest of the channel's credentials as step one's answer b has
 * them: adapter, config and sealed secrets. A change of credentials
 * seals them afresh (a new nonce), so the digest changes with every
 * change, even to the same values, and never without one.
 */
static void
tmpl_digest(json_t *b, u_int8_t *out)
{
	crypto_generichash_state	 st;
	const char			*keys[] = { "adapter", "config",
					    "secrets" };
	char				*s;
	size_t				 i;

	crypto_generichash_init(&st, NULL, 0, CHAN_DIGEST_LEN);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		/* NUL-separated, so no two answers hash the same. */
		s = json_dumps(json_object_get(b, keys[i]), JSON_COMPACT |
		    JSON_SORT_KEYS | JSON_ENCODE_ANY);
		crypto_generichash_update(&st, (const u_int8_t *)(s != NULL ?
		    s : ""), s != NULL ? strlen(s) + 1 : 1);
		free(s);
	}
	crypto_generichash_final(&st, out, CHAN_DIGEST_LEN);
}

static void
tmpl_cache_drop(struct tmpl_cached *e)
{
	tmpl_cache_bytes -= e->len;
	free(e->body);
	memset(e, 0, sizeof(*e));
}

/*
 * Answers from the list kept for org's channel, when there is one under
 * TEMPLATES_CACHE_S old listed with these credentials; 1 after
 * replying. One too old or for other credentials is dropped.
 */
static int
tmpl_cache_reply(struct call *c, const char *org, const char *channel,
    const u_int8_t *creds)
{
	struct tmpl_cached	*e;
	size_t			 i;

	for (i = 0; i < TEMPLATES_CACHE_MAX; i++) {
		e = &tmpl_cache[i];
		if (e->body == NULL || strcmp(e->org, org) != 0 ||
		    strcmp(e->channel, channel) != 0)
			continue;
		if (kore_time_ms() - e->at < TEMPLATES_CACHE_S * 1000 &&
		    sodium_memcmp(e->creds, creds, CHAN_DIGEST_LEN) == 0) {
			reply_json_text(c->req, 200, e->body, e->len);
			return (1);
		}
		tmpl_cache_drop(e);
	}
	return (0);
}

/*
 * Keeps body (len bytes, taken over) as org's channel's list, in place
 * of the one it had, making room by dropping the oldest lists. A list
 * larger than the whole cache is not kept.
 */
static void
tmpl_cache_put(const char *org, const char *channel, const u_int8_t *creds,
    char *body, size_t len)
{
	struct tmpl_cached	*e, *free_e, *oldest;
	size_t			 i;

	if (len > TEMPLATES_CACHE_BYTES) {
		free(body);
		return;
	}
	for (;;) {
		free_e = oldest = NULL;
		for (i = 0; i < TEMPLATES_CACHE_MAX; i++) {
			e = &tmpl_cache[i];
			if (e->body != NULL && strcmp(e->org, org) == 0 &&
			    strcmp(e->channel, channel) == 0)
				tmpl_cache_drop(e);
			if (e->body == NULL) {
				if (free_e == NULL)
					free_e = e;
			} else if (oldest == NULL || e->at < oldest->at)
				oldest = e;
		}
		if (free_e != NULL &&
		    tmpl_cache_bytes + len <= TEMPLATES_CACHE_BYTES)
			break;
		tmpl_cache_drop(oldest);
	}
	kore_strlcpy(free_e->org, org, sizeof(free_e->org));
	kore_strlcpy(free_e->channel, channel, sizeof(free_e->channel));
	memcpy(free_e->creds, creds, CHAN_DIGEST_LEN);
	free_e->at = kore_time_ms();
	free_e->body = body;
	free_e->len = len;
	tmpl_cache_bytes += len;
}

/*
 * 429 when this worker is listing org's channel already, or as many
 * channels as it may at once; -1 after replying.
 */
static int
tmpl_busy_refuse(struct call *c, const char *org, const char *channel)
{
	const char	*why = NULL;
	char		 buf[16];
	size_t		 i, used = 0;

	for (i = 0; i < TEMPLATES_BUSY_MAX; i++) {
		if (!tmpl_busy[i].used)
			continue;
		used++;
		if (strcmp(tmpl_busy[i].org, org) == 0 &&
		    strcmp(tmpl_busy[i].channel, channel) == 0)
			why = "This channel's templates are being listed; "
			    "try again in a moment";
	}
	if (why == NULL && used == TEMPLATES_BUSY_MAX)
		why = "The server is listing other channels' templates; "
		    "try again in a moment";
	if (why == NULL)
		return (0);
	snprintf(buf, sizeof(buf), "%d", TEMPLATES_RETRY_S);
	http_response_header(c->req, "retry-after", buf);
	reply_error(c->req, 429, "TOO_MANY_REQUESTS", why,
	    json_pack("{s:i}", "retry_after", TEMPLATES_RETRY_S));
	return (-1);
}

/* Takes a slot for cc's channel, which tmpl_busy_refuse left one for. */
static void
tmpl_busy_take(struct chan_call *cc)
{
	size_t	i;

	for (i = 0; i < TEMPLATES_BUSY_MAX; i++) {
		if (tmpl_busy[i].used)
			continue;
		tmpl_busy[i].used = 1;
		kore_strlcpy(tmpl_busy[i].org, cc->org,
		    sizeof(tmpl_busy[i].org));
		kore_strlcpy(tmpl_busy[i].channel, cc->channel,
		    sizeof(tmpl_busy[i].channel));
		cc->job->busy = 1;
		return;
	}
	fatal("tmpl_busy_take: no free slot");
}

/*
 * The request's free function: gives back its slot, which it holds
 * until the task thread is over (call_free waits for that), even when
 * the client left early.
 */
static void
tmpl_free(void *arg)
{
	struct chan_call	*cc = arg;
	size_t			 i;

	for (i = 0; cc->job != NULL && cc->job->busy &&
	    i < TEMPLATES_BUSY_MAX; i++) {
		if (tmpl_busy[i].used &&
		    strcmp(tmpl_busy[i].org, cc->org) == 0 &&
		    strcmp(tmpl_busy[i].channel, cc->channel) == 0)
			memset(&tmpl_busy[i], 0, sizeof(tmpl_busy[i]));
	}
	chan_free(cc);
}

/*
 * Step one's answer b: the list kept, a 429, or the credentials opened
 * and the provider asked on a task thread. The kept list and the 429
 * come before the credentials are opened: neither needs them.
 */
static int
tmpl_start(struct call *c, json_t *b)
{
	struct chan_call	*cc = c->task_arg;
	const char		*org, *channel;
	u_int8_t		 creds[CHAN_DIGEST_LEN];

	if (tmpl_supported(c, b) == -1)
		return (CALL_DONE);
	org = json_string_value(json_object_get(b, "org_id"));
	channel = json_string_value(json_object_get(b, "channel_id"));
	if (org == NULL || channel == NULL) {
		kore_log(LOG_ERR, "channel_templates_begin: no ids");
		return (reply_error(c->req, 500, "INTERNAL_ERROR",
		    "Something went wrong on our side", NULL));
	}
	tmpl_digest(b, creds);
	if (tmpl_cache_reply(c, org, channel, creds) ||
	    tmpl_busy_refuse(c, org, channel) == -1 ||
	    chan_begin_body(c, b, NULL) == -1)
		return (CALL_DONE);
	memcpy(cc->job->creds_digest, creds, sizeof(creds));
	tmpl_busy_take(cc);
	return (call_task(c, tmpl_task, cc, tmpl_free));
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
	int				 built, rc = -1;

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
	/*
	 * A cursor came from the provider's previous page: one the plugin
	 * cannot ask with is the provider's answer at fault, not the
	 * credentials chan_exchange would blame.
	 */
	built = p->templates_build(&call, cursor, &req);
	if (cursor != NULL && built == INBOX_EINVAL) {
		tmpl_bad_answer(j, "The provider's list of templates named a "
		    "next page that cannot be asked for");
		goto cleanup;
	}
	if (chan_exchange(j, &call, INBOX_OP_TEMPLATES, built, &req,
	    timeout_ms, &res, &out) == -1)
		goto cleanup;
	http_result_response(&res, &resp);
	if (p->templates_parse(&call, &resp, &page) != INBOX_OK ||
	    page.templates == NULL || (list = json_loadb(page.templates,
	    page.templates_len, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_array(list) || json_array_extend(j->templates,
	    list) == -1 || (page.next != NULL &&
	    (*next = strdup(page.next)) == NULL)) {
		tmpl_bad_answer(j, "The provider's list of templates could "
		    "not be read");
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

/* What the provider answered cannot be used as a list: a 502. */
static void
tmpl_bad_answer(struct chan_job *j, const char *why)
{
	j->outcome = INBOX_OUTCOME_PERMANENT;
	snprintf(j->kind, sizeof(j->kind), "bad_answer");
	snprintf(j->message, sizeof(j->message), "%s", why);
}

/*
 * On a task thread: touches only its job. Pages until the provider says
 * there are no more, or until the bounds, past which the list is cut
 * (j->truncated). A page that fails fails the whole list: a list with
 * holes would look complete. So does a next cursor equal to the page's
 * own: the provider would only give the same page again, until the
 * bounds.
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
		if (next != NULL && cursor != NULL &&
		    strcmp(next, cursor) == 0) {
			tmpl_bad_answer(j, "The provider's list of templates "
			    "gave the same page again as the next one");
			free(next);
			break;
		}
		free(cursor);
		if ((cursor = next) == NULL)
			break;
	}
	free(cursor);
	return (KORE_RESULT_OK);
}

/*
 * The list (kept for the next ones), or what went wrong, in the shape
 * of the channel test's outcomes: credentials rejected 409 (the channel
 * is in error by now), the provider throttling or failing 503 (with its
 * Retry-After), not answering in time 504, anything else 502. The
 * provider's words, masked, are the error's message.
 */
static int
tmpl_reply(struct call *c)
{
	struct chan_call	*cc = c->task_arg;
	struct chan_job		*j = cc->job;
	const char		*code;
	char			 buf[16], *body;
	json_t			*list;
	int			 status;

	if (j->outcome == INBOX_OUTCOME_OK) {
		list = json_pack("{s:O, s:b}", "templates", j->templates,
		    "truncated", j->truncated);
		if (list == NULL || (body = json_dumps(list,
		    JSON_COMPACT)) == NULL) {
			json_decref(list);
			return (reply_error(c->req, 500, "INTERNAL_ERROR",
			    "Something went wrong on our side", NULL));
		}
		json_decref(list);
		reply_json_text(c->req, 200, body, strlen(body));
		tmpl_cache_put(cc->org, cc->channel, j->creds_digest, body,
		    strlen(body));
		return (CALL_DONE);
	}
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
	    "{s:s}", "outcome", j->kind)));
}

/*
 * GET /api/v1/channels/:id/templates, as steps:
 *   0  who is asking (any member), the channel (channel_templates_begin)
 *   1  the adapter lists templates; the list kept, or a 429 when the
 *      worker is busy; else the credentials opened and the provider
 *      asked, page by page (task)
 *   2  the list, or, credentials rejected: the channel in error
 *      (channel_credentials_rejected), then the 409
 */
int
h_channel_templates(struct call *c)
{
	struct chan_call	*cc = c->task_arg;
	json_t			*b;
	int			 status, rc;

	switch (c->step) {
	case 0:
		cc = kore_calloc(1, sizeof(*cc));
		c->task_arg = cc;
		c->task_free = tmpl_free;
		return (call_query_api(c, SQL_TEMPLATES_BEGIN));
	case 1:
		if (call_api_result(c, &status, &b) == -1)
			return (CALL_DONE);
		rc = tmpl_start(c, b);
		json_decref(b);
		return (rc);
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
