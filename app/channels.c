/*
 * channels.c: connecting social accounts, testing and changing them.
 *
 * Every change that involves the provider runs in three steps: the
 * database says who is asking and hands over the organization's wrapped
 * data key (and, for an existing channel, its sealed credentials); a
 * task thread asks the provider, through the channel's plugin, whether
 * the credentials work (and, for providers that need it, registers our
 * webhook); the database saves the outcome in one statement. Secrets
 * are sealed and unsealed here, in the worker, and never leave it: the
 * database holds only blobs and the API only hints ("••••1234"). A
 * change that involves no provider (a name, a send rate) is one
 * statement. templates.c asks the provider the same way (channels.h).
 */
#include <sodium.h>

#include "app.h"
#include "utf8.h"
#include "channels.h"

static const char SQL_BEGIN[] =
    "SELECT status, body::text FROM api.channel_begin($1, $2::jsonb, "
    "$3::jsonb)";
static const char SQL_ROUTE_CHECK[] =
    "SELECT status, body::text FROM api.channel_route_check($1, $2::jsonb, "
    "$3::jsonb)";
static const char SQL_SAVE[] =
    "SELECT status, body::text FROM api.channel_save($1, $2::jsonb, "
    "$3::jsonb)";
/* PATCH: new credentials (and a send_rate with them), or settings only. */
static const char SQL_UPDATE_BEGIN[] =
    "SELECT status, body::text FROM api.channel_update_begin($1, "
    "$2::jsonb, $3::jsonb)";
static const char SQL_UPDATE_SAVE[] =
    "SELECT status, body::text FROM api.channel_update_save($1, "
    "$2::jsonb, $3::jsonb)";
static const char SQL_SETTINGS[] =
    "SELECT status, body::text FROM api.channel_settings($1, $2::jsonb, "
    "$3::jsonb)";

static int	chan_task(struct kore_task *);
static int	chan_ask(struct chan_job *, struct inbox_call *, int);
static void	chan_mask(const struct chan_job *, char *, size_t);
static void	chan_judge(struct chan_job *, int,
		    const struct inbox_result *);
static int	chan_prepare(struct call *, const char *);
static int	chan_shows_secret(const struct chan_job *, const char *);
static void	chan_secret_new(struct call *);
static int	chan_reply(struct call *, const char *);
static int	chan_flow(struct call *, const char *);
static int	chan_shown(struct call *, const char *);
static int	chan_creds_from_body(struct call *, json_t *);
static int	chan_creds_from_store(struct call *, json_t *);
static int	chan_creds_set(struct chan_job *, const char *, const char *);
static int	chan_seal(struct call *);
static int	chan_start_task(struct call *, int);
static void	chan_outcome(struct call *, const char *);
static const struct host_plugin *chan_plugin(struct call *, const char *);

/* Wipes and frees a chan_call and its job: the task's free function. */
void
chan_free(void *arg)
{
	struct chan_call	*cc = arg;
	size_t			 i;

	if (cc->job != NULL) {
		for (i = 0; i < cc->job->ncreds; i++) {
			sodium_memzero((char *)cc->job->creds[i].value,
			    strlen(cc->job->creds[i].value));
			kore_free((char *)cc->job->creds[i].value);
		}
		json_decref(cc->job->templates);
		sodium_memzero(cc->job, sizeof(*cc->job));
		kore_free(cc->job);
	}
	if (cc->have_dk)
		vault_datakey_wipe(&cc->dk);
	kore_free(cc);
}

static const struct host_plugin *
chan_plugin(struct call *c, const char *name)
{
	const struct host_plugin	*p;

	if (name == NULL || (p = plugin_find(plugins, name)) == NULL) {
		reply_error(c->req, 422, "UNKNOWN_ADAPTER",
		    "adapter must be one of the installed plugins (see GET "
		    "/api/v1/plugins)", json_pack("{s:s}", "adapter",
		    "is not an installed plugin"));
		return (NULL);
	}
	return (p);
}

/* Sets (or replaces) one credential, copying the value. */
static int
chan_creds_set(struct chan_job *j, const char *name, const char *value)
{
	const struct inbox_plugin	*d = &j->plugin->desc;
	size_t				 i;

	for (i = 0; i < j->ncreds; i++) {
		if (strcmp(j->creds[i].name, name) == 0) {
			sodium_memzero((char *)j->creds[i].value,
			    strlen(j->creds[i].value));
			kore_free((char *)j->creds[i].value);
			j->creds[i].value = kore_strdup(value);
			return (0);
		}
	}
	/* Names point into the plugin's own field table. */
	for (i = 0; i < d->nfields; i++) {
		if (strcmp(d->fields[i].name, name) == 0 &&
		    j->ncreds < PLUGIN_FIELDS_MAX) {
			j->creds[j->ncreds].name = d->fields[i].name;
			j->creds[j->ncreds].value = kore_strdup(value);
			j->ncreds++;
			return (0);
		}
	}
	return (-1);
}

/*
 * The credentials the client sent, on top of what the job has: every
 * value a string, the whole set valid for the plugin. -1 after replying.
 */
static int
chan_creds_from_body(struct call *c, json_t *creds)
{
	struct chan_call	*cc = c->task_arg;
	const char		*name;
	json_t			*v, *details;

	if (!json_is_object(creds))
		return (reply_error(c->req, 422, "VALIDATION_FAILED",
		    "credentials must be an object", json_pack("{s:s}",
		    "credentials", "must be an object")), -1);
	details = json_object();
	json_object_foreach(creds, name, v) {
		if (!json_is_string(v))
			json_object_set_new(details, name, json_string(
			    "must be a string"));
		else if (chan_creds_set(cc->job, name,
		    json_string_value(v)) == -1)
			json_object_set_new(details, name, json_string(
			    "is not a field of this adapter"));
	}
	if (json_object_size(details) == 0 &&
	    plugin_creds_validate(cc->job->plugin, cc->job->creds,
	    cc->job->ncreds, details) != 0 && json_object_size(details) == 0)
		json_object_set_new(details, "credentials",
		    json_string("could not be checked"));
	if (json_object_size(details) != 0) {
		reply_error(c->req, 422, "VALIDATION_FAILED",
		    "Some credentials are missing or invalid", details);
		return (-1);
	}
	json_decref(details);
	return (0);
}

/* An existing channel's credentials: config as is, secrets unsealed. */
static int
chan_creds_from_store(struct call *c, json_t *b)
{
	struct chan_call	*cc = c->task_arg;
	const char		*name, *hex;
	json_t			*v;
	u_int8_t		*blob;
	char			*plain;
	size_t			 blen, plen;
	int			 rc;

	json_object_foreach(json_object_get(b, "config"), name, v)
		chan_creds_set(cc->job, name, json_string_value(v));
	json_object_foreach(json_object_get(b, "secrets"), name, v) {
		hex = json_string_value(json_object_get(v, "sealed"));
		if (hex == NULL || !cc->have_dk)
			return (-1);
		blob = kore_malloc(strlen(hex) / 2 + 1);
		plain = kore_malloc(strlen(hex) / 2 + 1);
		rc = sodium_hex2bin(blob, strlen(hex) / 2 + 1, hex,
		    strlen(hex), NULL, &blen, NULL) == 0 ? vault_unseal(&cc->dk,
		    cc->org, cc->channel, name, blob, blen,
		    (uint32_t)json_integer_value(json_object_get(v,
		    "key_version")), plain, strlen(hex) / 2 + 1, &plen) : -1;
		if (rc == VAULT_OK)
			chan_creds_set(cc->job, name, plain);
		sodium_memzero(plain, strlen(hex) / 2 + 1);
		kore_free(plain);
		kore_free(blob);
		if (rc != VAULT_OK) {
			kore_log(LOG_ERR, "channel %s: field %s does not "
			    "decrypt: %s", cc->channel, name,
			    vault_strerror(rc));
			return (-1);
		}
	}
	return (0);
}

/*
 * Step one's answer: the org's data key (made now if it has none) and
 * the channel's ids; for an existing channel its credentials, opened.
 * adapter NULL: the channel's own. -1 after replying.
 */
int
chan_begin_result(struct call *c, const char *adapter)
{
	json_t	*b;
	int	 status, rc;

	if (call_api_result(c, &status, &b) == -1)
		return (-1);
	rc = chan_begin_body(c, b, adapter);
	json_decref(b);
	return (rc);
}

/* The same, from step one's answer b (borrowed), already parsed. */
int
chan_begin_body(struct call *c, json_t *b, const char *adapter)
{
	struct chan_call	*cc = c->task_arg;
	u_int8_t		 wrapped[VAULT_WRAPPED_LEN], raw[256];
	char			 hex[VAULT_WRAPPED_LEN * 2 + 1];
	const char		*dkhex;
	size_t			 rawlen;
	int			 rc;

	kore_strlcpy(cc->org, json_string_value(json_object_get(b, "org_id")),
	    sizeof(cc->org));
	kore_strlcpy(cc->channel, json_string_value(json_object_get(b,
	    "channel_id")), sizeof(cc->channel));
	if (adapter == NULL)
		adapter = json_string_value(json_object_get(b, "adapter"));
	if (cc->job == NULL) {
		cc->job = kore_calloc(1, sizeof(*cc->job));
		if ((cc->job->plugin = plugin_find(plugins, adapter ?
		    adapter : "")) == NULL) {
			reply_error(c->req, 409, "ADAPTER_NOT_LOADED",
			    "This channel's plugin is not installed on the "
			    "server", NULL);
			return (-1);
		}
	}

	if ((dkhex = json_string_value(json_object_get(b, "data_key")))
	    == NULL) {
		rc = vault_datakey_new(app_vault, cc->org, &cc->dk, wrapped);
		sodium_bin2hex(hex, sizeof(hex), wrapped, sizeof(wrapped));
		json_object_set_new(c->srv, "data_key", json_string(hex));
		json_object_set_new(c->srv, "data_key_version",
		    json_integer(VAULT_DATAKEY_V1));
	} else {
		rc = sodium_hex2bin(raw, sizeof(raw), dkhex, strlen(dkhex),
		    NULL, &rawlen, NULL) == 0 ? vault_datakey_unwrap(app_vault,
		    cc->org, raw, rawlen, (uint32_t)json_integer_value(
		    json_object_get(b, "data_key_version")), &cc->dk) : -1;
	}
	if (rc != VAULT_OK) {
		kore_log(LOG_ERR, "org %s: data key: %s", cc->org,
		    vault_strerror(rc));
		reply_error(c->req, 500, "VAULT_ERROR",
		    "This organization's credentials cannot be decrypted "
		    "with the server's master key", NULL);
		return (-1);
	}
	cc->have_dk = 1;
	cc->disconnected = json_string_value(json_object_get(b, "status"))
	    != NULL && strcmp(json_string_value(json_object_get(b, "status")),
	    "disconnected") == 0;
	if (json_object_get(b, "secrets") != NULL &&
	    chan_creds_from_store(c, b) == -1) {
		reply_error(c->req, 500, "VAULT_ERROR",
		    "This channel's credentials cannot be decrypted", NULL);
		return (-1);
	}
	return (0);
}

/*
 * Providers quote what they were sent ("Malformed access token EAAG..."):
 * every secret credential value found in msg becomes "••••", since the
 * message is shown to every member and stored with the channel.
 */
static void
chan_mask(const struct chan_job *j, char *msg, size_t size)
{
	static const char		 mask[] = "••••";
	const struct inbox_field	*f;
	const char			*v;
	char				*hit, *from;
	size_t				 i, k, vlen, tail;

	for (i = 0; i < j->ncreds; i++) {
		v = j->creds[i].value;
		if ((vlen = strlen(v)) < 4)
			continue;
		for (k = 0, f = NULL; k < j->plugin->desc.nfields; k++) {
			if (strcmp(j->plugin->desc.fields[k].name,
			    j->creds[i].name) == 0)
				f = &j->plugin->desc.fields[k];
		}
		if (f == NULL || !(f->flags & INBOX_FIELD_SECRET))
			continue;
		for (from = msg; (hit = strstr(from, v)) != NULL;
		    from = hit + sizeof(mask) - 1) {
			/* No room for the mask: cut the message there. */
			if ((size_t)(hit - msg) + sizeof(mask) >= size) {
				*hit = '\0';
				break;
			}
			tail = strlen(hit + vlen) + 1;
			if ((size_t)(hit - msg) + sizeof(mask) - 1 + tail > size)
				tail = size - (hit - msg) - (sizeof(mask) - 1);
			memmove(hit + sizeof(mask) - 1, hit + vlen, tail);
			memcpy(hit, mask, sizeof(mask) - 1);
			msg[size - 1] = '\0';
		}
	}
}

/*
 * What the plugin's classification (rc, out) of an answer means for the
 * user: j's outcome, kind and message, with the provider's own words
 * and any secret in them masked.
 */
static void
chan_judge(struct chan_job *j, int status, const struct inbox_result *out)
{
	j->outcome = out->outcome;
	j->retry_after = out->retry_after;
	switch (j->outcome) {
	case INBOX_OUTCOME_OK:
		snprintf(j->kind, sizeof(j->kind), "ok");
		j->message[0] = '\0';
		return;
	case INBOX_OUTCOME_AUTH:
		snprintf(j->kind, sizeof(j->kind), "auth");
		snprintf(j->message, sizeof(j->message), "Credentials "
		    "rejected: %s", out->error_title ? out->error_title :
		    "the provider refused the token");
		break;
	case INBOX_OUTCOME_NOT_FOUND:
		snprintf(j->kind, sizeof(j->kind), "not_found");
		snprintf(j->message, sizeof(j->message), "Account not found: "
		    "%s", out->error_title ? out->error_title :
		    "check the account id");
		break;
	case INBOX_OUTCOME_RETRY:
		snprintf(j->kind, sizeof(j->kind), "unavailable");
		snprintf(j->message, sizeof(j->message), "The provider is "
		    "unavailable (HTTP %d)%s%s", status,
		    out->error_title ? ": " : "",
		    out->error_title ? out->error_title : "");
		break;
	default:
		j->outcome = INBOX_OUTCOME_PERMANENT;
		snprintf(j->kind, sizeof(j->kind), "rejected");
		snprintf(j->message, sizeof(j->message), "The provider "
		    "refused: %s", out->error_title ? out->error_title :
		    "no reason given");
		break;
	}
	chan_mask(j, j->message, sizeof(j->message));
}

/*
 * On a task thread: sends req, which building returned rc for, within
 * timeout_ms, and classifies the answer with the plugin as op. 0 when
 * the provider said ok: the answer is in *res (the caller frees it) and
 * its classification in *out, which points into call's arena. -1
 * otherwise, with *res freed and j saying what went wrong.
 */
int
chan_exchange(struct chan_job *j, struct inbox_call *call, int op, int rc,
    const struct inbox_http_request *req, long timeout_ms,
    struct http_result *res, struct inbox_result *out)
{
	struct inbox_http_response	resp;

	memset(res, 0, sizeof(*res));
	memset(out, 0, sizeof(*out));
	j->retry_after = 0;
	if (rc != INBOX_OK) {
		j->outcome = INBOX_OUTCOME_PERMANENT;
		snprintf(j->kind, sizeof(j->kind), "rejected");
		snprintf(j->message, sizeof(j->message),
		    "These credentials cannot be used with this provider");
		return (-1);
	}
	if (http_client_perform(req, timeout_ms, res) == -1) {
		j->outcome = INBOX_OUTCOME_RETRY;
		snprintf(j->kind, sizeof(j->kind), "%s", res->timed_out ?
		    "timeout" : "unreachable");
		snprintf(j->message, sizeof(j->message), "%s", res->timed_out ?
		    "The provider did not answer in time" :
		    "The provider could not be reached");
		http_result_free(res);
		return (-1);
	}
	http_result_response(res, &resp);
	if (j->plugin->desc.classify(call, op, &resp, out) != INBOX_OK) {
		memset(out, 0, sizeof(*out));
		out->outcome = INBOX_OUTCOME_PERMANENT;
	}
	chan_judge(j, res->status, out);
	if (j->outcome == INBOX_OUTCOME_OK)
		return (0);
	http_result_free(res);
	return (-1);
}

/* A connection test or a webhook registration, as j says. */
static int
chan_ask(struct chan_job *j, struct inbox_call *call, int op)
{
	const struct inbox_plugin	*p = &j->plugin->desc;
	struct inbox_http_request	 req;
	struct inbox_result		 out;
	struct http_result		 res;
	int				 rc;

	memset(&req, 0, sizeof(req));
	rc = op == INBOX_OP_TEST ? p->test_build(call, &req) :
	    p->register_build(call, j->webhook_url, WEBHOOK_SECRET_HEADER,
	    j->webhook_secret, &req);
	if (chan_exchange(j, call, op, rc, &req, CHANNEL_HTTP_TIMEOUT_MS,
	    &res, &out) == -1)
		return (-1);
	if (out.routing_key != NULL)
		snprintf(j->routing_key, sizeof(j->routing_key), "%s",
		    out.routing_key);
	if (out.account_name != NULL)
		snprintf(j->account_name, sizeof(j->account_name), "%s",
		    out.account_name);
	http_result_free(&res);
	return (0);
}

/* On a task thread: touches only its job. */
static int
chan_task(struct kore_task *t)
{
	struct chan_call	*cc = call_task_arg(t);
	struct chan_job		*j = cc->job;
	struct inbox_call	 call;

	if (plugin_call_begin(&call, j->creds, j->ncreds) == -1)
		return (KORE_RESULT_ERROR);
	(void)chan_ask(j, &call, j->do_register ? INBOX_OP_REGISTER :
	    INBOX_OP_TEST);
	plugin_call_end(&call);
	return (KORE_RESULT_OK);
}

/*
 * Asks the provider on a task thread whether the credentials work, or
 * (do_register) registers our webhook with a fresh per-channel secret,
 * whose keyed hash goes to channel_save.
 */
static int
chan_start_task(struct call *c, int do_register)
{
	struct chan_call	*cc = c->task_arg;
	struct chan_job		*j = cc->job;
	char			 hash[65];

	j->do_register = do_register;
	if (do_register) {
		snprintf(j->webhook_url, sizeof(j->webhook_url),
		    "%s/api/v1/webhooks/%s", app_config.public_url,
		    j->plugin->desc.name);
		keys_random_token(j->webhook_secret,
		    sizeof(j->webhook_secret));
		keys_hash_hex(key_webhooks, j->webhook_secret, hash);
		json_object_set_new(c->srv, "webhook_secret_hash",
		    json_string(hash));
	}
	return (call_task(c, chan_task, cc, chan_free));
}

/* What the provider said, for channel_save; mode is the change. */
static void
chan_outcome(struct call *c, const char *mode)
{
	struct chan_call	*cc = c->task_arg;
	struct chan_job		*j = cc->job;
	const char		*rk = j->routing_key[0] ? j->routing_key : NULL;
	const char		*v;
	size_t			 i;
	int			 own_secret = 0;

	/* The routing key (unless the provider named it) and whether the
	 * tenant's own app secret signs its webhooks, from the credentials,
	 * whatever the change: a reconnect must not forget either. */
	for (i = 0; i < j->plugin->desc.nfields; i++) {
		v = inbox_cred_get(&(struct inbox_call){ .creds = j->creds,
		    .ncreds = j->ncreds }, j->plugin->desc.fields[i].name);
		if (rk == NULL &&
		    (j->plugin->desc.fields[i].flags & INBOX_FIELD_ROUTING))
			rk = v;
		if ((j->plugin->desc.fields[i].flags & INBOX_FIELD_APP_SECRET) &&
		    v != NULL && *v != '\0')
			own_secret = 1;
	}
	json_object_set_new(c->srv, "own_app_secret", json_boolean(own_secret));
	json_object_set_new(c->srv, "mode", json_string(mode));
	json_object_set_new(c->srv, "channel_id", json_string(cc->channel));
	json_object_set_new(c->srv, "adapter",
	    json_string(j->plugin->desc.name));
	json_object_set_new(c->srv, "family", json_string(
	    j->plugin->desc.family ? j->plugin->desc.family :
	    j->plugin->desc.name));
	if (j->plugin->desc.send_rate > 0)
		json_object_set_new(c->srv, "send_rate",
		    json_integer(j->plugin->desc.send_rate));
	json_object_set_new(c->srv, "outcome", json_pack(
	    "{s:b, s:s, s:s?, s:s?, s:s?}",
	    "ok", j->outcome == INBOX_OUTCOME_OK, "kind", j->kind,
	    "status_message", j->message[0] ? j->message : NULL,
	    "routing_key", rk,
	    "account_name", j->account_name[0] ? j->account_name : NULL));
	json_object_set_new(c->srv, "webhooks",
	    json_incref(plugins_webhooks()));
}

/*
 * The config (non-secret fields as they are) and sealed secrets, with
 * their hints, for channel_save. -1 after replying.
 */
static int
chan_seal(struct call *c)
{
	struct chan_call		*cc = c->task_arg;
	struct chan_job			*j = cc->job;
	const struct inbox_field	*f;
	u_int8_t			*blob;
	char				*hex, hint[32];
	json_t				*config, *secrets;
	size_t				 i, k, len, blen;
	uint32_t			 kv;

	config = json_object();
	secrets = json_object();
	for (i = 0; i < j->ncreds; i++) {
		len = strlen(j->creds[i].value);
		if (len == 0)
			continue;
		for (k = 0, f = NULL; k < j->plugin->desc.nfields; k++) {
			if (strcmp(j->plugin->desc.fields[k].name,
			    j->creds[i].name) == 0)
				f = &j->plugin->desc.fields[k];
		}
		if (f == NULL || !(f->flags & INBOX_FIELD_SECRET)) {
			json_object_set_new(config, j->creds[i].name,
			    json_string(j->creds[i].value));
			continue;
		}
		blob = kore_malloc(VAULT_SEALED_LEN(len));
		if (vault_seal(&cc->dk, cc->org, cc->channel, f->name,
		    j->creds[i].value, len, blob, VAULT_SEALED_LEN(len), &blen,
		    &kv) != VAULT_OK) {
			kore_free(blob);
			json_decref(config);
			json_decref(secrets);
			reply_error(c->req, 500, "VAULT_ERROR",
			    "Could not encrypt the credentials", NULL);
			return (-1);
		}
		hex = kore_malloc(blen * 2 + 1);
		sodium_bin2hex(hex, blen * 2 + 1, blob, blen);
		snprintf(hint, sizeof(hint), "••••%s", len >= 8 ?
		    j->creds[i].value + len - 4 : "");
		json_object_set_new(secrets, f->name, json_pack(
		    "{s:s, s:i, s:s}", "sealed", hex, "key_version", (int)kv,
		    "hint", hint));
		kore_free(hex);
		kore_free(blob);
	}
	json_object_set_new(c->srv, "config", config);
	json_object_set_new(c->srv, "secrets", secrets);
	return (0);
}

/*
 * Providers that sign webhooks with a per-channel secret but cannot be
 * told it by API (the example adapter) get one made on connect and
 * reconnect, shown once for the tenant to paste into the provider.
 */
static int
chan_shows_secret(const struct chan_job *j, const char *mode)
{
	return (j->outcome == INBOX_OUTCOME_OK &&
	    j->plugin->desc.webhook_auth == INBOX_WEBHOOK_CHANNEL_SECRET &&
	    !(j->plugin->desc.capabilities & INBOX_CAP_REGISTER) &&
	    (strcmp(mode, "connect") == 0 || strcmp(mode, "reconnect") == 0));
}

static void
chan_secret_new(struct call *c)
{
	struct chan_call	*cc = c->task_arg;
	char			 hash[65];

	keys_random_token(cc->job->webhook_secret,
	    sizeof(cc->job->webhook_secret));
	keys_hash_hex(key_webhooks, cc->job->webhook_secret, hash);
	json_object_set_new(c->srv, "webhook_secret_hash", json_string(hash));
}

/* channel_save's answer, with the webhook secret when one was made. */
static int
chan_reply(struct call *c, const char *mode)
{
	struct chan_call	*cc = c->task_arg;
	json_t			*body;
	int			 status;

	if (!chan_shows_secret(cc->job, mode))
		return (call_reply_api(c));
	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	if (status < 300)
		json_object_set_new(json_object_get(body, "webhook") != NULL &&
		    json_is_object(json_object_get(body, "webhook")) ?
		    json_object_get(body, "webhook") : body, "secret",
		    json_string(cc->job->webhook_secret));
	return (reply_json(c->req, status, body));
}

/* One api.* call (sql) whose answer shows channels, with webhooks. */
static int
chan_shown(struct call *c, const char *sql)
{
	if (c->step != 0)
		return (call_reply_api(c));
	json_object_set_new(c->srv, "webhooks",
	    json_incref(plugins_webhooks()));
	return (call_query_api(c, sql));
}

/* GET list, GET one, disconnect. */
int
h_channel_read(struct call *c)
{
	return (chan_shown(c, c->route->sql));
}

/*
 * Step one's answer plus what the client sent, for the mode: connect
 * takes adapter, name and the whole credential set; update a name and
 * changed credentials; test and reconnect nothing. -1 after replying.
 */
static int
chan_prepare(struct call *c, const char *mode)
{
	struct chan_call		*cc = c->task_arg;
	const struct host_plugin	*p = NULL;
	const char			*name;
	json_t				*creds, *v;
	size_t				 n;

	/* Who is asking comes first: a 401 or 403 before any 422. */
	if (call_failed(c)) {
		call_fail_db(c);
		return (-1);
	}
	if (strcmp(mode, "connect") == 0) {
		if ((p = chan_plugin(c, json_string_value(json_object_get(
		    c->in, "adapter")))) == NULL)
			return (-1);
		cc->job = kore_calloc(1, sizeof(*cc->job));
		cc->job->plugin = p;
	}
	if (chan_begin_result(c, NULL) == -1)
		return (-1);
	if (strcmp(mode, "connect") != 0 && strcmp(mode, "update") != 0)
		return (0);

	/* As the database will store it: trimmed; null means "not given". */
	v = json_object_get(c->in, "name");
	if (json_is_null(v))
		v = NULL;
	name = json_string_value(v);
	while (name != NULL && *name == ' ')
		name++;
	if ((v != NULL || strcmp(mode, "connect") == 0) && (name == NULL ||
	    (n = utf8_chars(name)) == 0 || n > 100)) {
		reply_error(c->req, 422, "VALIDATION_FAILED",
		    "name must be 1 to 100 characters", json_pack("{s:s}",
		    "name", "must be 1 to 100 characters"));
		return (-1);
	}
	creds = json_object_get(c->secret, "credentials");
	if (creds == NULL && strcmp(mode, "update") == 0)
		return (0);
	return (chan_creds_from_body(c, creds));
}

/*
 * Every change that asks the provider, as steps:
 *   0  who is asking, the org's data key, the channel (channel_begin;
 *      for an update, channel_update_begin also checks the send_rate)
 *   1  what the client sent, checked; the provider asked (task)
 *   2  for providers we register our webhook with: is the account free?
 *   3  register the webhook with a fresh secret (task)
 *   4  save the outcome (channel_save, or channel_update_save)
 * Registering comes last, so that a refused connect never re-points a
 * provider at a secret nobody stored.
 */
static int
chan_flow(struct call *c, const char *mode)
{
	struct chan_call	*cc = c->task_arg;
	int			 sealed;

	switch (c->step) {
	case 0:
		cc = kore_calloc(1, sizeof(*cc));
		c->task_arg = cc;
		c->task_free = chan_free;
		return (call_query_api(c, strcmp(mode, "update") == 0 ?
		    SQL_UPDATE_BEGIN : SQL_BEGIN));
	case 1:
		if (chan_prepare(c, mode) == -1)
			return (CALL_DONE);
		return (chan_start_task(c, 0));
	case 2:
		/* A disconnected channel receives nothing: no webhook. */
		if (strcmp(mode, "test") == 0 || (strcmp(mode, "update") == 0 &&
		    cc->disconnected) || cc->job->outcome != INBOX_OUTCOME_OK ||
		    !(cc->job->plugin->desc.capabilities & INBOX_CAP_REGISTER)) {
			c->step = 4;
			return (chan_flow(c, mode));
		}
		chan_outcome(c, mode);
		return (call_query_api(c, SQL_ROUTE_CHECK));
	case 3:
		if (call_failed(c))
			return (call_fail_db(c));
		return (chan_start_task(c, 1));
	case 4:
		chan_outcome(c, mode);
		sealed = strcmp(mode, "connect") == 0 ||
		    strcmp(mode, "update") == 0;
		if (sealed && chan_seal(c) == -1)
			return (CALL_DONE);
		if (chan_shows_secret(cc->job, mode))
			chan_secret_new(c);
		return (call_query_api(c, strcmp(mode, "update") == 0 ?
		    SQL_UPDATE_SAVE : SQL_SAVE));
	default:
		return (chan_reply(c, mode));
	}
}

/* POST /api/v1/channels {adapter, name, credentials}. */
int
h_channel_connect(struct call *c)
{
	return (chan_flow(c, "connect"));
}

/*
 * PATCH /api/v1/channels/:id {name, send_rate, credentials}: changed
 * fields only. Only new credentials need the provider's word; a name or
 * a send rate is the database's alone (one statement), so a channel
 * whose token was revoked can still be renamed or slowed down.
 */
int
h_channel_update(struct call *c)
{
	if (json_object_get(c->secret, "credentials") == NULL)
		return (chan_shown(c, SQL_SETTINGS));
	return (chan_flow(c, "update"));
}

int
h_channel_test(struct call *c)
{
	return (chan_flow(c, "test"));
}

int
h_channel_reconnect(struct call *c)
{
	return (chan_flow(c, "reconnect"));
}
