/*
 * webhooks.c: the endpoint every provider posts to, for every tenant.
 *
 * POST /api/v1/webhooks/{adapter}, and /api/v1/webhooks/meta where the
 * payload's Meta "object" names the adapter, goes through these steps;
 * nothing is stored before the last one:
 *   1. the raw body, up to WEBHOOK_BODY_MAX (413 above it);
 *   2. authentication over those exact bytes: X-Hub-Signature-256 under
 *      the platform's Meta app secret, or, for adapters that register a
 *      per-channel secret header with the provider (360dialog), that
 *      header: 401 when it is missing or malformed, 403 when it is wrong;
 *   3. the adapter's plugin turns the body into normalized events and
 *      names their routing keys (400 when the body is not a JSON object,
 *      is not UTF-8 or has duplicate keys);
 *   4. api.webhook_ingest() journals the delivery and applies each
 *      routing key's events in the organization that owns the key; the
 *      deliveries ready at the same time share one statement and one
 *      commit (ingest.c). The 200 goes out only after that commit; when
 *      the database cannot be reached the answer is 503, so the provider
 *      delivers again.
 * The common case, a Meta delivery signed with the platform's secret, is
 * one round trip. A signature the platform secret does not verify may
 * come from a tenant's own Meta app: one more query fetches the sealed
 * app secrets of the channels the payload names; they are unsealed and
 * tried here, and such a signature covers only the accounts of the
 * channels whose secret it matched. A 360dialog secret covers exactly its
 * own channel's number, which the ingest function checks before it
 * writes anything. GET is Meta's verification handshake.
 *
 * Load: a worker takes at most WEBHOOK_INFLIGHT_MAX deliveries at once;
 * the next one is answered 503 with Retry-After at once, before any
 * work: the provider delivers it again later, and nothing was
 * acknowledged. docs/webhooks.md
 * has the whole story, the journal and replay; docs/performance.md the
 * measurements.
 */
#include <time.h>

#include <sodium.h>

#include "app.h"
#include "ingest.h"
#include "jsonscan.h"
#include "plugin_host.h"
#include "signature.h"
#include "vault.h"

#define WEBHOOK_META		"meta"
#define WEBHOOK_SIG_HEADER	"x-hub-signature-256"
#define WEBHOOK_CHALLENGE_MAX	128
/* Longer than any Meta "object" an adapter could claim. */
#define WEBHOOK_OBJECT_MAX	64
#define WEBHOOK_HEADER_KEEP	512
/* Unanswered deliveries a worker holds: well under a second of work. */
#define WEBHOOK_INFLIGHT_MAX	128
#define WEBHOOK_BUSY_RETRY	"5"
#define WEBHOOK_BUSY_LOG_MS	10000

static const char SQL_APP_SECRETS[] =
    "SELECT status, body::text FROM api.webhook_app_secrets($1, $2, "
    "$3::jsonb, $4)";
static const char SQL_SECRET_KNOWN[] =
    "SELECT status, body::text FROM api.webhook_secret_known($1, $2)";

/* Which query the request waits on. */
#define WH_INGEST		1
#define WH_SECRETS		2
#define WH_SECRET_KNOWN		3

/* What wh_parse() found. */
#define WH_PARSED		0
#define WH_INVALID		1
#define WH_REPLIED		-1

/* One delivery's state across steps, in c->task_arg (wh_free). */
struct wh_call {
	int				 next;		/* WH_* in flight */
	int				 auth;		/* INBOX_WEBHOOK_* */
	int				 meta;		/* /meta: by object */
	const char			*endpoint;	/* in c->srv */
	const struct host_plugin	*plugin;	/* NULL: unclaimed */
	char				*body;		/* NUL-terminated */
	size_t				 len;
	char				*events;	/* normalized, JSON */
	json_t				*keys;		/* routing keys */
	json_t				*allowed;	/* tenant secret: keys */
	char				 secret_hash[65];
	char				 reason[160];	/* why it is invalid */
	long long			 received_ms;
	int				 counted;	/* wh_inflight */
	struct ingest_job		 job;
};

/* This worker's deliveries in progress, and those refused for it. */
static u_int32_t	wh_inflight;
static u_int64_t	wh_refused, wh_refused_logged_ms;

static void	 wh_free(void *);
static int	 wh_start(struct call *);
static int	 wh_handshake(struct call *, struct wh_call *);
static int	 wh_read_body(struct call *, struct wh_call *);
static int	 wh_meta_auth(struct call *, struct wh_call *);
static int	 wh_channel_auth(struct call *, struct wh_call *);
static int	 wh_parse(struct call *, struct wh_call *);
static json_t	*wh_strict(struct wh_call *);
static const struct host_plugin *wh_meta_plugin(const char *);
static int	 wh_ingest(struct call *, struct wh_call *, const char *);
static int	 wh_ingested(struct call *, struct wh_call *);
static int	 wh_secrets(struct call *, struct wh_call *);
static int	 wh_secret_known(struct call *, struct wh_call *);
static int	 wh_unseal_verify(struct wh_call *, json_t *, const char *,
		    const char *);
static int	 wh_fail_db(struct call *);
static int	 wh_not_stored(struct call *, const char *, const char *);
static int	 wh_busy(struct call *);
static int	 wh_invalid(struct call *, struct wh_call *);
static int	 wh_token_eq(const char *, const char *);
static int	 wh_secret_ok(const char *);
static json_t	*wh_headers(struct call *);
static const char *wh_family(const struct host_plugin *);
static const char *wh_app_secret_field(const struct host_plugin *);

/* POST and GET /api/v1/webhooks/:adapter. */
int
h_webhook(struct call *c)
{
	struct wh_call	*w = c->task_arg;

	if (c->step == 0)
		return (wh_start(c));
	switch (w->next) {
	case WH_INGEST:
		return (wh_ingested(c, w));
	case WH_SECRETS:
		return (wh_secrets(c, w));
	case WH_SECRET_KNOWN:
		return (wh_secret_known(c, w));
	default:
		fatal("h_webhook: step %d", w->next);
	}
	return (CALL_DONE);
}

/* Frees what the delivery's state owns; secrets never live in it. */
static void
wh_free(void *arg)
{
	struct wh_call	*w = arg;

	if (w->counted)
		wh_inflight--;
	ingest_forget(&w->job);
	kore_free(w->body);
	kore_free(w->events);
	json_decref(w->keys);
	json_decref(w->allowed);
	kore_free(w);
}

static const char *
wh_family(const struct host_plugin *p)
{
	if (p == NULL)
		return (NULL);
	return (p->desc.family != NULL ? p->desc.family : p->desc.name);
}

/* The plugin's credential field holding a tenant's own app secret. */
static const char *
wh_app_secret_field(const struct host_plugin *p)
{
	size_t	i;

	for (i = 0; p != NULL && i < p->desc.nfields; i++) {
		if (p->desc.fields[i].flags & INBOX_FIELD_APP_SECRET)
			return (p->desc.fields[i].name);
	}
	return (NULL);
}

static int
wh_start(struct call *c)
{
	struct wh_call		*w;
	const struct host_plugin *p = NULL;
	struct timespec		 ts;

	w = kore_calloc(1, sizeof(*w));
	c->task_arg = w;
	c->task_free = wh_free;
	clock_gettime(CLOCK_REALTIME, &ts);
	w->received_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	w->endpoint = json_string_value(json_object_get(json_object_get(
	    c->srv, "path"), "adapter"));
	if (w->endpoint == NULL)
		fatal("h_webhook: no adapter in the path");

	if (strcmp(w->endpoint, WEBHOOK_META) == 0) {
		w->meta = 1;
		w->auth = INBOX_WEBHOOK_META_SIGNATURE;
	} else {
		p = plugin_find(plugins, w->endpoint);
		if (p == NULL || !(p->desc.capabilities & INBOX_CAP_WEBHOOK) ||
		    p->desc.webhook_auth == INBOX_WEBHOOK_NONE)
			return (reply_error(c->req, 404, "NOT_FOUND",
			    "No adapter takes webhooks here", NULL));
		w->plugin = p;
		w->auth = p->desc.webhook_auth;
	}

	if (c->req->method == HTTP_METHOD_GET ||
	    c->req->method == HTTP_METHOD_HEAD)
		return (wh_handshake(c, w));
	if (wh_inflight >= WEBHOOK_INFLIGHT_MAX)
		return (wh_busy(c));
	wh_inflight++;
	w->counted = 1;
	if (wh_read_body(c, w) == -1)
		return (CALL_DONE);
	if (w->auth == INBOX_WEBHOOK_META_SIGNATURE)
		return (wh_meta_auth(c, w));
	return (wh_channel_auth(c, w));
}

/*
 * Meta's verification GET: hub.mode=subscribe and our verify token get
 * the bare hub.challenge back as text; anything else 403.
 */
static int
wh_handshake(struct call *c, struct wh_call *w)
{
	json_t		*q = json_object_get(c->srv, "query");
	const char	*mode, *token, *challenge;
	size_t		 len;

	if (w->auth != INBOX_WEBHOOK_META_SIGNATURE) {
		http_response_header(c->req, "allow", "POST");
		return (reply_error(c->req, 405, "METHOD_NOT_ALLOWED",
		    "This adapter has no verification handshake", NULL));
	}
	mode = json_string_value(json_object_get(q, "hub.mode"));
	token = json_string_value(json_object_get(q, "hub.verify_token"));
	challenge = json_string_value(json_object_get(q, "hub.challenge"));
	if (mode == NULL || strcmp(mode, "subscribe") != 0 || token == NULL ||
	    app_config.meta_verify_token == NULL ||
	    !wh_token_eq(token, app_config.meta_verify_token))
		return (reply_error(c->req, 403, "VERIFICATION_FAILED",
		    "hub.mode or hub.verify_token is wrong", NULL));
	/* Reflected as text/plain; still, only what a challenge looks like. */
	len = challenge == NULL ? 0 : strlen(challenge);
	if (len == 0 || len > WEBHOOK_CHALLENGE_MAX || strspn(challenge,
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "-_") != len)
		return (reply_error(c->req, 400, "INVALID_CHALLENGE",
		    "hub.challenge is missing or not a token", NULL));
	return (reply_text(c->req, 200, challenge, len));
}

/* Constant-time equality of two strings of any length. */
static int
wh_token_eq(const char *a, const char *b)
{
	u_int8_t	ha[32], hb[32];

	crypto_generichash(ha, sizeof(ha), (const u_int8_t *)a, strlen(a),
	    NULL, 0);
	crypto_generichash(hb, sizeof(hb), (const u_int8_t *)b, strlen(b),
	    NULL, 0);
	return (sodium_memcmp(ha, hb, sizeof(ha)) == 0);
}

/* The raw body into w->body (NUL-terminated). -1 after replying. */
static int
wh_read_body(struct call *c, struct wh_call *w)
{
	struct http_request	*req = c->req;
	ssize_t			 n;
	size_t			 cap;

	if (req->http_body_length > WEBHOOK_BODY_MAX) {
		reply_error(req, 413, "PAYLOAD_TOO_LARGE",
		    "The webhook body is too large",
		    json_pack("{s:i}", "max_bytes", WEBHOOK_BODY_MAX));
		return (-1);
	}
	cap = req->http_body_length;
	w->body = kore_malloc(cap + 1);
	w->len = 0;
	if (!http_body_rewind(req)) {
		reply_error(req, 500, "INTERNAL_ERROR", "Cannot read body",
		    NULL);
		return (-1);
	}
	while (w->len < cap && (n = http_body_read(req, w->body + w->len,
	    cap - w->len)) > 0)
		w->len += n;
	if (w->len != cap) {
		reply_error(req, 400, "INVALID_BODY", "Cannot read the body",
		    NULL);
		return (-1);
	}
	w->body[w->len] = '\0';
	return (0);
}

/*
 * X-Hub-Signature-256: the platform's secret first; then, when the body
 * names accounts connected with their own Meta app, their secrets.
 */
static int
wh_meta_auth(struct call *c, struct wh_call *w)
{
	const char	*sig, *field, *secret = app_config.meta_app_secret;
	u_int8_t	 mac[SIGNATURE_MAC_LEN];
	char		*keys;
	int		 rc;

	if (!http_request_header(c->req, WEBHOOK_SIG_HEADER, &sig))
		return (reply_error(c->req, 401, "SIGNATURE_MISSING",
		    "X-Hub-Signature-256 is missing", NULL));
	if (signature_parse(sig, strlen(sig), mac) != SIGNATURE_OK)
		return (reply_error(c->req, 401, "SIGNATURE_MALFORMED",
		    "X-Hub-Signature-256 must be sha256= and 64 hex digits",
		    NULL));
	if (secret != NULL && signature_verify(sig, strlen(sig), secret,
	    strlen(secret), w->body, w->len) == SIGNATURE_OK) {
		if ((rc = wh_parse(c, w)) == WH_REPLIED)
			return (CALL_DONE);
		if (rc == WH_INVALID)
			return (wh_invalid(c, w));
		return (wh_ingest(c, w, "platform_secret"));
	}

	/* Not ours: read (but trust nothing of) the body for its accounts. */
	if ((rc = wh_parse(c, w)) == WH_REPLIED)
		return (CALL_DONE);
	if (rc == WH_INVALID || json_array_size(w->keys) == 0 ||
	    (field = wh_app_secret_field(w->plugin)) == NULL)
		return (reply_error(c->req, 403, "SIGNATURE_INVALID",
		    "X-Hub-Signature-256 does not match the body", NULL));
	if ((keys = json_dumps(w->keys, JSON_COMPACT)) == NULL)
		fatal("wh_meta_auth: json_dumps");
	w->next = WH_SECRETS;
	rc = call_query(c, SQL_APP_SECRETS, 4, w->plugin->desc.name,
	    wh_family(w->plugin), keys, field);
	free(keys);
	return (rc);
}

/*
 * A per-channel secret header (360dialog): its keyed hash names the
 * channel; api.webhook_ingest() checks that the body's accounts are that
 * channel's before it stores anything.
 */
static int
wh_channel_auth(struct call *c, struct wh_call *w)
{
	const char	*secret;
	int		 rc;

	if (!http_request_header(c->req, WEBHOOK_SECRET_HEADER, &secret))
		return (reply_error(c->req, 401, "WEBHOOK_SECRET_MISSING",
		    "X-Inbox-Secret is missing", NULL));
	if (!wh_secret_ok(secret))
		return (reply_error(c->req, 401, "WEBHOOK_SECRET_MALFORMED",
		    "X-Inbox-Secret is not a secret this server issued",
		    NULL));
	keys_hash_hex(key_webhooks, secret, w->secret_hash);
	if ((rc = wh_parse(c, w)) == WH_REPLIED)
		return (CALL_DONE);
	if (rc == WH_PARSED)
		return (wh_ingest(c, w, "channel_secret"));
	/* 400 only to whoever holds a secret of ours. */
	w->next = WH_SECRET_KNOWN;
	return (call_query(c, SQL_SECRET_KNOWN, 2, w->plugin->desc.name,
	    w->secret_hash));
}

/* What keys_random_token() makes: 43 characters of base64url. */
static int
wh_secret_ok(const char *s)
{
	size_t	len = strlen(s);

	return (len == VAULT_TOKEN_LEN && strspn(s,
	    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "-_") == len);
}

/*
 * The body into w->events and w->keys, for the adapter's plugin (for
 * /meta the one that claims the payload's "object"; none claims it: no
 * events). The body must be strict JSON: UTF-8, no duplicate keys, an
 * object root. The plugin parses it that strictly anyway, so on the
 * common path it is parsed once, by the plugin: /meta finds its object
 * with jsonscan, which builds nothing, and the host parses the body
 * itself only when nobody else will, when jsonscan is unsure, or to say
 * why a body the plugin refused is invalid.
 * WH_PARSED, WH_INVALID with w->reason, or WH_REPLIED.
 */
static int
wh_parse(struct call *c, struct wh_call *w)
{
	struct inbox_call		 call;
	struct inbox_parsed		 out;
	json_t				*root;
	const char			*obj;
	char				 name[WEBHOOK_OBJECT_MAX];
	size_t				 i, len;
	int				 rc, strict = 0;

	if (w->events != NULL)
		return (WH_PARSED);
	if (w->meta) {
		rc = jsonscan_top_string(w->body, w->len, "object", &obj,
		    &len);
		w->plugin = NULL;
		if (rc == JSONSCAN_FOUND && len < sizeof(name)) {
			memcpy(name, obj, len);
			name[len] = '\0';
			w->plugin = wh_meta_plugin(name);
		} else if (rc != JSONSCAN_ABSENT) {
			if ((root = wh_strict(w)) == NULL)
				return (WH_INVALID);
			obj = json_string_value(json_object_get(root, "object"));
			w->plugin = obj == NULL ? NULL : wh_meta_plugin(obj);
			json_decref(root);
			strict = 1;
		}
	}

	w->keys = json_array();
	if (w->plugin == NULL) {
		if (!strict) {
			if ((root = wh_strict(w)) == NULL)
				return (WH_INVALID);
			json_decref(root);
		}
		w->events = kore_strdup("[]");
		return (WH_PARSED);
	}
	if (plugin_call_begin_input(&call, NULL, 0, w->len) == -1)
		fatal("wh_parse: out of memory");
	memset(&out, 0, sizeof(out));
	rc = w->plugin->desc.webhook_parse(&call, w->body, w->len, &out);
	if (rc == INBOX_OK) {
		w->events = kore_malloc(out.events_len + 1);
		memcpy(w->events, out.events, out.events_len);
		w->events[out.events_len] = '\0';
		for (i = 0; i < out.nrouting_keys; i++)
			json_array_append_new(w->keys,
			    json_string(out.routing_keys[i]));
	}
	plugin_call_end(&call);
	if (rc == INBOX_OK)
		return (WH_PARSED);
	if (rc == INBOX_EINVAL) {
		if ((root = wh_strict(w)) == NULL)
			return (WH_INVALID);
		json_decref(root);
		snprintf(w->reason, sizeof(w->reason), "%s",
		    "the adapter cannot read this body");
		return (WH_INVALID);
	}
	if (rc == INBOX_ENOMEM) {
		/*
		 * The call's arena (PLUGIN_ARENA_PER_INPUT_BYTE per byte)
		 * holds what any real payload makes; only a body of
		 * thousands of near-empty events does not: too large in
		 * what it asks of us rather than in bytes.
		 */
		kore_log(LOG_WARNING, "webhook %s: %s: %zu bytes make more "
		    "events than a call may hold", w->endpoint,
		    w->plugin->desc.name, w->len);
		reply_error(c->req, 413, "PAYLOAD_TOO_LARGE",
		    "The body holds more events than the server takes at once",
		    json_pack("{s:i}", "max_bytes", WEBHOOK_BODY_MAX));
		return (WH_REPLIED);
	}
	kore_log(LOG_ERR, "webhook %s: %s webhook_parse failed (%d)",
	    w->endpoint, w->plugin->desc.name, rc);
	reply_error(c->req, 500, "INTERNAL_ERROR",
	    "Something went wrong on our side", NULL);
	return (WH_REPLIED);
}

/*
 * The body parsed as strictly as the plugins parse it, or NULL with
 * w->reason saying why it is not a webhook payload.
 */
static json_t *
wh_strict(struct wh_call *w)
{
	json_error_t	 jerr;
	json_t		*root;

	root = json_loadb(w->body, w->len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		snprintf(w->reason, sizeof(w->reason), "%s", root == NULL ?
		    jerr.text : "the body must be a JSON object");
		json_decref(root);
		return (NULL);
	}
	return (root);
}

/* The plugin that takes Meta deliveries of this object, if any. */
static const struct host_plugin *
wh_meta_plugin(const char *object)
{
	const struct host_plugin	*p;

	p = plugin_find_webhook_object(plugins, object);
	if (p != NULL && (!(p->desc.capabilities & INBOX_CAP_WEBHOOK) ||
	    p->desc.webhook_auth != INBOX_WEBHOOK_META_SIGNATURE))
		return (NULL);
	return (p);
}

static int
wh_invalid(struct call *c, struct wh_call *w)
{
	return (reply_error(c->req, 400, "INVALID_JSON",
	    "The body is not a valid webhook payload",
	    json_pack("{s:s}", "reason", w->reason)));
}

/* The request headers worth keeping, never a secret. */
static json_t *
wh_headers(struct call *c)
{
	static const char	*names[] = { "content-type", "user-agent",
	    WEBHOOK_SIG_HEADER };
	json_t			*h;
	const char		*v;
	size_t			 i;

	h = json_pack("{s:I, s:O?}", "content-length",
	    (json_int_t)c->req->http_body_length,
	    "ip", json_object_get(c->srv, "ip"));
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (http_request_header(c->req, names[i], &v))
			json_object_set_new(h, names[i], json_stringn(v,
			    strnlen(v, WEBHOOK_HEADER_KEEP)));
	}
	if (http_request_header(c->req, WEBHOOK_SECRET_HEADER, &v))
		json_object_set_new(h, "x-inbox-secret",
		    json_string("(present)"));
	return (h);
}

/*
 * Hands the delivery to ingest.c, which stores it with whatever else is
 * ready; verification says how it was authenticated.
 */
static int
wh_ingest(struct call *c, struct wh_call *w, const char *verification)
{
	json_t	*meta;
	char	*m;

	meta = json_pack("{s:s?, s:s?, s:s, s:o, s:I}",
	    "adapter", w->plugin ? w->plugin->desc.name : NULL,
	    "family", wh_family(w->plugin),
	    "verification", verification,
	    "headers", wh_headers(c),
	    "received_at", (json_int_t)w->received_ms);
	if (meta == NULL)
		fatal("wh_ingest: json_pack");
	if (w->secret_hash[0] != '\0')
		json_object_set_new(meta, "secret_hash",
		    json_string(w->secret_hash));
	if (w->allowed != NULL)
		json_object_set(meta, "allowed_keys", w->allowed);
	if ((m = json_dumps(meta, JSON_COMPACT)) == NULL)
		fatal("wh_ingest: json_dumps");
	json_decref(meta);

	w->job.endpoint = w->endpoint;
	w->job.meta = kore_strdup(m);
	free(m);
	w->job.events = w->events;
	w->job.body = w->body;
	w->job.body_len = w->len;
	w->events = w->body = NULL;
	w->next = WH_INGEST;
	ingest_submit(&w->job, c->req);
	return (CALL_WAIT);
}

static int
wh_ingested(struct call *c, struct wh_call *w)
{
	json_t	*body;

	if (!ingest_over(&w->job))
		return (CALL_WAIT);
	if (w->job.state == INGEST_FAILED)
		return (wh_not_stored(c, w->job.sqlstate, w->job.errmsg));
	if (call_answer_parse(c, w->job.answer, &body) == -1)
		return (CALL_DONE);
	return (call_reply_body(c, w->job.status, body));
}

/*
 * Nothing was committed: the provider must deliver again, so any
 * failure of the database is a 503 (ours, app.fail(), keep theirs).
 */
static int
wh_fail_db(struct call *c)
{
	if (strncmp(c->sqlstate, "IB", 2) == 0)
		return (call_fail_db(c));
	return (wh_not_stored(c, c->sqlstate, c->errmsg));
}

/* A statement failed (state, msg): nothing of the delivery is stored. */
static int
wh_not_stored(struct call *c, const char *state, const char *msg)
{
	kore_log(LOG_ERR, "webhook %s not stored (%s): %s", c->req->path,
	    state, msg);
	http_response_header(c->req, "retry-after", "5");
	return (reply_error(c->req, 503, "DATABASE_UNAVAILABLE",
	    "The delivery was not stored; deliver it again", NULL));
}

/*
 * Too many deliveries in progress here: 503 before any work, so that
 * overload is refused rather than queued. Logged at most every
 * WEBHOOK_BUSY_LOG_MS, with the count since the last line.
 */
static int
wh_busy(struct call *c)
{
	u_int64_t	now = kore_time_ms();

	wh_refused++;
	if (now - wh_refused_logged_ms >= WEBHOOK_BUSY_LOG_MS) {
		kore_log(LOG_WARNING, "webhooks: %llu deliveries refused "
		    "(503), %u in progress in this worker",
		    (unsigned long long)wh_refused, wh_inflight);
		wh_refused = 0;
		wh_refused_logged_ms = now;
	}
	http_response_header(c->req, "retry-after", WEBHOOK_BUSY_RETRY);
	return (reply_error(c->req, 503, "OVERLOADED",
	    "Too many deliveries in progress; deliver it again later",
	    NULL));
}

/* The own app secrets of the accounts the body names: try each. */
static int
wh_secrets(struct call *c, struct wh_call *w)
{
	const char	*sig, *field = wh_app_secret_field(w->plugin);
	json_t		*body, *row;
	size_t		 i;
	int		 status;

	if (call_failed(c))
		return (wh_fail_db(c));
	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	if (!http_request_header(c->req, WEBHOOK_SIG_HEADER, &sig))
		fatal("wh_secrets: the signature header went away");
	w->allowed = json_array();
	json_array_foreach(json_object_get(body, "data"), i, row) {
		if (wh_unseal_verify(w, row, field, sig) == 0)
			json_array_append(w->allowed,
			    json_object_get(row, "routing_key"));
	}
	json_decref(body);
	if (json_array_size(w->allowed) == 0)
		return (reply_error(c->req, 403, "SIGNATURE_INVALID",
		    "X-Hub-Signature-256 does not match the body", NULL));
	return (wh_ingest(c, w, "tenant_secret"));
}

/*
 * Whether sig verifies under the app secret sealed in row (one channel's,
 * under its organization's data key): 0 if it does. The secret and the
 * data key are wiped before returning.
 */
static int
wh_unseal_verify(struct wh_call *w, json_t *row, const char *field,
    const char *sig)
{
	struct vault_datakey	 dk;
	u_int8_t		 raw[256], *blob = NULL;
	char			*plain = NULL;
	const char		*org, *chan, *dkhex, *hex;
	size_t			 rawlen, blen, plen, cap;
	int			 rc = -1, have_dk = 0;

	org = json_string_value(json_object_get(row, "org_id"));
	chan = json_string_value(json_object_get(row, "channel_id"));
	dkhex = json_string_value(json_object_get(row, "data_key"));
	hex = json_string_value(json_object_get(row, "sealed"));
	if (org == NULL || chan == NULL || dkhex == NULL || hex == NULL)
		goto cleanup;
	if (sodium_hex2bin(raw, sizeof(raw), dkhex, strlen(dkhex), NULL,
	    &rawlen, NULL) != 0 || vault_datakey_unwrap(app_vault, org, raw,
	    rawlen, (uint32_t)json_integer_value(json_object_get(row,
	    "data_key_version")), &dk) != VAULT_OK) {
		kore_log(LOG_ERR, "webhook: org %s: data key does not unwrap",
		    org);
		goto cleanup;
	}
	have_dk = 1;
	cap = strlen(hex) / 2 + 1;
	blob = kore_malloc(cap);
	plain = kore_malloc(cap);
	if (sodium_hex2bin(blob, cap, hex, strlen(hex), NULL, &blen,
	    NULL) != 0 || vault_unseal(&dk, org, chan, field, blob, blen,
	    (uint32_t)json_integer_value(json_object_get(row, "key_version")),
	    plain, cap, &plen) != VAULT_OK) {
		kore_log(LOG_ERR, "webhook: channel %s: %s does not decrypt",
		    chan, field);
		goto cleanup;
	}
	if (signature_verify(sig, strlen(sig), plain, plen, w->body,
	    w->len) == SIGNATURE_OK)
		rc = 0;

cleanup:
	if (plain != NULL) {
		sodium_memzero(plain, cap);
		kore_free(plain);
	}
	kore_free(blob);
	if (have_dk)
		vault_datakey_wipe(&dk);
	return (rc);
}

/* A body that does not parse, under a 360dialog secret: 400 if the
 * secret is one of ours, else 403. */
static int
wh_secret_known(struct call *c, struct wh_call *w)
{
	json_t	*body;
	int	 status, known;

	if (call_failed(c))
		return (wh_fail_db(c));
	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	known = json_is_true(json_object_get(body, "known"));
	json_decref(body);
	if (!known)
		return (reply_error(c->req, 403, "WEBHOOK_FORBIDDEN",
		    "The webhook secret does not match this account", NULL));
	return (wh_invalid(c, w));
}
