/*
 * send.c: one message, from its claim to its result.
 *
 * When a held message's slot comes, its channel's credentials are
 * decrypted for that one call: the organization's data key is unwrapped
 * with the master key, each sealed field opened with it (the vault binds
 * every blob to its org, channel and field), and the plaintext lives
 * only until the plugin has built the request. curl copies what it
 * needs (URL, headers, body), the plugin's arena is wiped and freed at
 * once, and so are the plaintext values and the data key; the header
 * list curl sends from, which carries the token, is wiped when the
 * transfer ends.
 *
 * The plugin's classify() turns the answer into an outcome the database
 * understands (api.outbox_report): sent with the provider's id, retry
 * (throttled, 5xx, timeouts, connections refused) with the provider's
 * Retry-After, failed with its code and message, or auth when the
 * credentials were rejected.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dispatcher.h"
#include "vault.h"

/* Longest credential value we open (PLUGIN_CRED_MAX bytes of text). */
#define SEND_CRED_MAX	(PLUGIN_CRED_MAX + 1)

static CURLM	*multi;

static void	 send_result(json_t *, struct job *, const char *,
		    const struct inbox_result *, int);
static void	 send_fail(json_t *, struct job *, const char *,
		    const char *, const char *);
static int	 send_creds(struct job *, struct inbox_cred *, size_t *,
		    const char **);
static void	 send_creds_wipe(struct inbox_cred *, size_t);
static int	 send_cred_set(const struct host_plugin *, struct inbox_cred *,
		    size_t *, const char *, const char *);
static void	 send_headers_wipe(struct http_result *);

void
send_init(CURLM *m)
{
	multi = m;
}

void
lane_release(struct lane *lane)
{
	if (lane == NULL || --lane->refs > 0)
		return;
	json_decref(lane->claim);
	free(lane);
}

/* Frees a job that is in no queue and has no transfer in curl. */
void
job_free(struct job *j)
{
	if (j->curl != NULL) {
		curl_multi_remove_handle(multi, j->curl);
		curl_easy_cleanup(j->curl);
	}
	send_headers_wipe(&j->res);
	http_result_free(&j->res);
	free(j->payload);
	lane_release(j->lane);
	free(j);
}

/*
 * Queues one result for the database (api.outbox_report). outcome is
 * sent, retry, failed, auth or release; r (may be NULL) what the plugin
 * said; status the HTTP status (0 for none).
 */
static void
send_result(json_t *results, struct job *j, const char *outcome,
    const struct inbox_result *r, int status)
{
	json_t	*o;
	char	 code[16];

	o = json_pack("{s:s, s:s, s:I, s:s}", "org_id", j->lane->org,
	    "message_id", j->message_id, "attempt", (json_int_t)j->attempt,
	    "outcome", outcome);
	if (o == NULL)
		return;
	if (r != NULL) {
		if (r->message_id != NULL)
			json_object_set_new(o, "provider_message_id",
			    json_string(r->message_id));
		if (r->error_code != NULL)
			json_object_set_new(o, "error_code",
			    json_string(r->error_code));
		if (r->error_title != NULL)
			json_object_set_new(o, "error_title",
			    json_string(r->error_title));
		if (r->retry_after > 0)
			json_object_set_new(o, "retry_after",
			    json_integer(r->retry_after));
	}
	/* An answer without the provider's own code is known by status. */
	if (status > 0 && (r == NULL || r->error_code == NULL) &&
	    strcmp(outcome, "sent") != 0) {
		snprintf(code, sizeof(code), "HTTP_%d", status);
		json_object_set_new(o, "error_code", json_string(code));
	}
	if (status > 0)
		json_object_set_new(o, "http_status", json_integer(status));
	json_array_append_new(results, o);
	disp_debug("message %s attempt %lld: %s%s%s (HTTP %d)", j->message_id,
	    j->attempt, outcome, r && r->error_code ? " " : "",
	    r && r->error_code ? r->error_code : "", status);
}

/* A result made here, not by a plugin: our own code and title. */
static void
send_fail(json_t *results, struct job *j, const char *outcome,
    const char *code, const char *title)
{
	struct inbox_result	r;

	memset(&r, 0, sizeof(r));
	r.error_code = code;
	r.error_title = title;
	send_result(results, j, outcome, &r, 0);
}

/* Queues "release": the message was never sent and is free again. */
void
job_release(struct job *j, json_t *results)
{
	send_result(results, j, "release", NULL, 0);
}

/* Adds (a copy of) value as the plugin's field name. */
static int
send_cred_set(const struct host_plugin *p, struct inbox_cred *creds,
    size_t *n, const char *name, const char *value)
{
	size_t	i;

	for (i = 0; i < p->desc.nfields && *n < PLUGIN_FIELDS_MAX; i++) {
		if (strcmp(p->desc.fields[i].name, name) != 0)
			continue;
		if ((creds[*n].value = strdup(value)) == NULL)
			return (-1);
		creds[*n].name = p->desc.fields[i].name;
		(*n)++;
		return (0);
	}
	return (0);	/* a field the plugin no longer has: ignored */
}

static void
send_creds_wipe(struct inbox_cred *creds, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		sodium_memzero((char *)creds[i].value,
		    strlen(creds[i].value));
		free((char *)creds[i].value);
		creds[i].value = NULL;
	}
}

/*
 * The channel's credentials in the clear, for one call: config values
 * as they are, secrets unsealed. The caller wipes them with
 * send_creds_wipe(). -1 with *why set when they cannot be opened.
 */
static int
send_creds(struct job *j, struct inbox_cred *creds, size_t *n,
    const char **why)
{
	struct vault_datakey	 dk;
	const struct host_plugin *p = j->lane->plugin;
	json_t			*l = j->lane->claim, *v;
	const char		*name, *hex;
	uint8_t			 raw[VAULT_WRAPPED_LEN], *blob = NULL;
	char			*plain = NULL;
	size_t			 rawlen, blen, plen;
	int			 rc = -1;

	*n = 0;
	memset(&dk, 0, sizeof(dk));
	json_object_foreach(json_object_get(l, "config"), name, v) {
		if (json_is_string(v) && send_cred_set(p, creds, n, name,
		    json_string_value(v)) == -1)
			goto cleanup;
	}
	if (json_object_size(json_object_get(l, "secrets")) == 0) {
		rc = 0;
		goto cleanup;
	}
	hex = json_string_value(json_object_get(l, "data_key"));
	if (hex == NULL || sodium_hex2bin(raw, sizeof(raw), hex, strlen(hex),
	    NULL, &rawlen, NULL) != 0 || vault_datakey_unwrap(disp_vault,
	    j->lane->org, raw, rawlen, (uint32_t)json_integer_value(
	    json_object_get(l, "data_key_version")), &dk) != VAULT_OK) {
		*why = "the organization's data key cannot be unwrapped with "
		    "this master key";
		goto cleanup;
	}
	if ((blob = malloc(SEND_CRED_MAX + VAULT_OVERHEAD)) == NULL ||
	    (plain = malloc(SEND_CRED_MAX)) == NULL)
		goto cleanup;
	json_object_foreach(json_object_get(l, "secrets"), name, v) {
		hex = json_string_value(json_object_get(v, "sealed"));
		if (hex == NULL || sodium_hex2bin(blob, SEND_CRED_MAX +
		    VAULT_OVERHEAD, hex, strlen(hex), NULL, &blen, NULL) != 0 ||
		    vault_unseal(&dk, j->lane->org, j->lane->channel, name, blob,
		    blen, (uint32_t)json_integer_value(json_object_get(v,
		    "key_version")), plain, SEND_CRED_MAX, &plen) != VAULT_OK ||
		    plen >= SEND_CRED_MAX) {
			*why = "a credential field does not decrypt";
			goto cleanup;
		}
		plain[plen] = '\0';
		if (send_cred_set(p, creds, n, name, plain) == -1)
			goto cleanup;
		sodium_memzero(plain, plen);
	}
	rc = 0;
cleanup:
	if (plain != NULL) {
		sodium_memzero(plain, SEND_CRED_MAX);
		free(plain);
	}
	free(blob);
	vault_datakey_wipe(&dk);
	sodium_memzero(raw, sizeof(raw));
	if (rc == -1)
		send_creds_wipe(creds, *n);
	return (rc);
}

/* The header lines curl sent carry the token: wiped before they go. */
static void
send_headers_wipe(struct http_result *res)
{
	struct curl_slist	*s;

	for (s = res->req_headers; s != NULL; s = s->next)
		sodium_memzero(s->data, strlen(s->data));
}

/*
 * Builds j's request with its channel's plugin and hands it to curl.
 * Anything that stops it here is a result at once: retry for what may
 * pass (the plugin is not loaded, the vault cannot open the
 * credentials), failed for a message the plugin refuses.
 */
void
job_start(struct job *j, json_t *results)
{
	const struct host_plugin	*p = j->lane->plugin;
	struct inbox_cred		 creds[PLUGIN_FIELDS_MAX];
	struct inbox_http_request	 req;
	struct inbox_call		 call;
	const char			*why = "out of memory";
	size_t				 n = 0;
	int				 rc;

	if (p == NULL || p->desc.send_build == NULL) {
		disp_log("channel %s: its plugin is not loaded here",
		    j->lane->channel);
		send_fail(results, j, "retry", "ADAPTER_NOT_LOADED",
		    "The channel's plugin is not loaded by the dispatcher");
		return;
	}
	memset(creds, 0, sizeof(creds));
	if (j->payload == NULL || send_creds(j, creds, &n, &why) == -1) {
		disp_log("channel %s: credentials: %s", j->lane->channel, why);
		send_fail(results, j, "retry", "VAULT_ERROR",
		    "The channel's credentials cannot be opened");
		return;
	}
	if (plugin_call_begin(&call, creds, n) == -1) {
		send_creds_wipe(creds, n);
		send_fail(results, j, "retry", "NOMEM", "Out of memory");
		return;
	}
	memset(&req, 0, sizeof(req));
	rc = p->desc.send_build(&call, j->payload, strlen(j->payload), &req);
	if (rc == INBOX_OK) {
		j->curl = http_client_prepare(&req, disp.http_timeout_ms,
		    &j->res);
		/* curl keeps its own copy: the arena goes now. */
		if (j->curl != NULL && req.body != NULL)
			curl_easy_setopt(j->curl, CURLOPT_COPYPOSTFIELDS,
			    req.body);
	}
	plugin_call_end(&call);
	send_creds_wipe(creds, n);
	if (rc != INBOX_OK) {
		send_fail(results, j, "failed", rc == INBOX_EUNSUPPORTED ?
		    "UNSUPPORTED_MESSAGE" : "INVALID_MESSAGE", rc ==
		    INBOX_EUNSUPPORTED ? "The channel cannot send this message" :
		    "The channel's plugin could not build this message");
		return;
	}
	if (j->curl == NULL) {
		send_fail(results, j, "retry", "NOMEM", "curl_easy_init failed");
		return;
	}
	curl_easy_setopt(j->curl, CURLOPT_PRIVATE, j);
	if (curl_multi_add_handle(multi, j->curl) != CURLM_OK) {
		curl_easy_cleanup(j->curl);
		j->curl = NULL;
		send_fail(results, j, "retry", "NOMEM", "curl_multi_add_handle");
		return;
	}
	j->state = JOB_INFLIGHT;
	j->started_ms = disp_now_ms();
	disp_debug("message %s: started %lld ms after its slot", j->message_id,
	    (long long)(j->started_ms - j->due_ms));
}

/*
 * A finished transfer: no answer at all is retry (a timeout or a
 * connection error, which curl names); an answer is what the plugin's
 * classify() says of it.
 */
void
job_done(struct job *j, CURLcode code, json_t *results)
{
	const struct host_plugin	*p = j->lane->plugin;
	struct inbox_http_response	 resp;
	struct inbox_result		 r;
	struct inbox_call		 call;
	const char			*outcome;
	int				 rc;

	send_headers_wipe(&j->res);
	http_client_done(j->curl, code, &j->res);
	curl_multi_remove_handle(multi, j->curl);
	curl_easy_cleanup(j->curl);
	j->curl = NULL;
	if (j->res.status == 0) {
		send_fail(results, j, "retry", j->res.timed_out ? "TIMEOUT" :
		    "CONNECTION", j->res.error);
		return;
	}
	memset(&r, 0, sizeof(r));
	http_result_response(&j->res, &resp);
	if (plugin_call_begin(&call, NULL, 0) == -1) {
		send_fail(results, j, "retry", "NOMEM", "Out of memory");
		return;
	}
	rc = p->desc.classify(&call, INBOX_OP_SEND, &resp, &r);
	if (rc != INBOX_OK) {
		/* An answer nobody can read: never assume it was sent. */
		memset(&r, 0, sizeof(r));
		r.error_code = "UNREADABLE_ANSWER";
		r.error_title = "The provider's answer could not be read";
		r.outcome = j->res.status == 429 || j->res.status == 408 ||
		    j->res.status >= 500 ? INBOX_OUTCOME_RETRY :
		    INBOX_OUTCOME_PERMANENT;
	}
	switch (r.outcome) {
	case INBOX_OUTCOME_OK:
		outcome = "sent";
		break;
	case INBOX_OUTCOME_RETRY:
		outcome = "retry";
		break;
	case INBOX_OUTCOME_AUTH:
		outcome = "auth";
		break;
	default:
		outcome = "failed";
		break;
	}
	send_result(results, j, outcome, &r, j->res.status);
	plugin_call_end(&call);
}
