/*
 * good: a small valid plugin for the host's tests and the conformance
 * runner's self-test (golden cases in golden/). It uses every host service
 * (arena, printf, config, HMAC, log) so the tests see them work through
 * the ABI exactly as a real plugin would. Not a real channel.
 */
#include <stdlib.h>
#include <string.h>

#include "inbox_plugin.h"

static int	good_test_build(const struct inbox_call *,
		    struct inbox_http_request *);
static int	good_classify(const struct inbox_call *, int,
		    const struct inbox_http_response *, struct inbox_result *);
static int	good_register_build(const struct inbox_call *, const char *,
		    const char *, const char *, struct inbox_http_request *);
static int	good_webhook_parse(const struct inbox_call *, const char *,
		    size_t, struct inbox_parsed *);
static int	good_send_build(const struct inbox_call *, const char *,
		    size_t, struct inbox_http_request *);
static int	good_post(const struct inbox_call *,
		    struct inbox_http_request *, const char *, const char *);
static int	good_auth(const struct inbox_call *,
		    struct inbox_http_request *);

static const struct inbox_field fields[] = {
	{ .name = "phone_number_id", .label = "Phone number id",
	    .hint = "digits only", .pattern = "[0-9]{5,20}",
	    .flags = INBOX_FIELD_REQUIRED | INBOX_FIELD_ROUTING,
	    .max_len = 20 },
	{ .name = "access_token", .label = "Access token",
	    .flags = INBOX_FIELD_REQUIRED | INBOX_FIELD_SECRET,
	    .max_len = 512 },
	{ .name = "app_secret", .label = "App secret",
	    .hint = "32 hex digits", .pattern = "[0-9a-f]{32}|none",
	    .flags = INBOX_FIELD_SECRET | INBOX_FIELD_APP_SECRET,
	    .max_len = 32 },
};

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR,
	.abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "good",
	.display_name = "Good (test)",
	.version = "1.0.0",
	.family = "test",
	.capabilities = INBOX_CAP_TEXT | INBOX_CAP_WEBHOOK | INBOX_CAP_REGISTER,
	.fields = fields,
	.nfields = sizeof(fields) / sizeof(fields[0]),
	.webhook_object = "good_object",
	.webhook_auth = INBOX_WEBHOOK_META_SIGNATURE,
	.send_rate = 10,
	.test_build = good_test_build,
	.classify = good_classify,
	.register_build = good_register_build,
	.webhook_parse = good_webhook_parse,
	.send_build = good_send_build,
};

INBOX_PLUGIN_DEFINE(desc)

static int
good_test_build(const struct inbox_call *call, struct inbox_http_request *r)
{
	const char	*base, *id;

	if ((base = call->host->config("GOOD_API_BASE")) == NULL ||
	    (id = inbox_cred_get(call, "phone_number_id")) == NULL)
		return (INBOX_EINVAL);
	r->method = "GET";
	if ((r->url = call->host->printf(call->arena, "%s/%s", base,
	    id)) == NULL)
		return (INBOX_ENOMEM);
	return (good_auth(call, r));
}

static int
good_classify(const struct inbox_call *call, int op,
    const struct inbox_http_response *resp, struct inbox_result *res)
{
	size_t	i;

	switch (resp->status) {
	case 200:
		res->outcome = INBOX_OUTCOME_OK;
		if (op == INBOX_OP_TEST) {
			res->routing_key = inbox_cred_get(call,
			    "phone_number_id");
			res->account_name = "Good";
		} else if (op == INBOX_OP_SEND &&
		    (res->message_id = call->host->strndup(call->arena,
		    resp->body, resp->body_len)) == NULL)
			return (INBOX_ENOMEM);
		break;
	case 429:
		res->outcome = INBOX_OUTCOME_RETRY;
		for (i = 0; i < resp->nheaders; i++)
			if (strcmp(resp->headers[i].name, "retry-after") == 0)
				res->retry_after =
				    (uint32_t)atoi(resp->headers[i].value);
		break;
	case 401:
		res->outcome = INBOX_OUTCOME_AUTH;
		res->error_code = "190";
		if ((res->error_title = call->host->strndup(call->arena,
		    resp->body, resp->body_len)) == NULL)
			return (INBOX_ENOMEM);
		break;
	case 404:
		res->outcome = INBOX_OUTCOME_NOT_FOUND;
		break;
	default:
		res->outcome = INBOX_OUTCOME_PERMANENT;
		call->host->log(INBOX_LOG_WARN, "good", "status %d: %.*s",
		    resp->status, (int)resp->body_len, resp->body);
		break;
	}
	return (INBOX_OK);
}

static int
good_register_build(const struct inbox_call *call, const char *url,
    const char *hname, const char *hvalue, struct inbox_http_request *r)
{
	const char	*base;

	if ((base = call->host->config("GOOD_API_BASE")) == NULL)
		return (INBOX_EINVAL);
	return (good_post(call, r, call->host->printf(call->arena,
	    "%s/webhook", base), call->host->printf(call->arena,
	    "{\"url\":\"%s\",\"headers\":{\"%s\":\"%s\"}}", url, hname,
	    hvalue)));
}

/* One event naming the body's length and the first byte of its HMAC
 * under "k", to show the host's HMAC through the ABI. */
static int
good_webhook_parse(const struct inbox_call *call, const char *body,
    size_t len, struct inbox_parsed *out)
{
	const char	**keys;
	uint8_t		  mac[32];

	if (len == 0 || body[0] != '{')
		return (INBOX_EINVAL);
	call->host->hmac_sha256((const uint8_t *)"k", 1,
	    (const uint8_t *)body, len, mac);
	out->events = call->host->printf(call->arena,
	    "[{\"type\":\"raw\",\"len\":%zu,\"mac0\":\"%02x\"}]", len, mac[0]);
	if ((keys = call->host->alloc(call->arena, sizeof(*keys))) == NULL ||
	    out->events == NULL)
		return (INBOX_ENOMEM);
	keys[0] = "12345";
	out->events_len = strlen(out->events);
	out->routing_keys = keys;
	out->nrouting_keys = 1;
	return (INBOX_OK);
}

static int
good_send_build(const struct inbox_call *call, const char *msg, size_t len,
    struct inbox_http_request *r)
{
	const char	*base, *id;

	if (memmem(msg, len, "\"sticker\"", 9) != NULL)
		return (INBOX_EUNSUPPORTED);
	if ((base = call->host->config("GOOD_API_BASE")) == NULL ||
	    (id = inbox_cred_get(call, "phone_number_id")) == NULL)
		return (INBOX_EINVAL);
	return (good_post(call, r, call->host->printf(call->arena,
	    "%s/%s/messages", base, id), call->host->strndup(call->arena, msg,
	    len)));
}

/* POST url with a JSON body, both from the arena (NULL: exhausted). */
static int
good_post(const struct inbox_call *call, struct inbox_http_request *r,
    const char *url, const char *body)
{
	if (url == NULL || body == NULL)
		return (INBOX_ENOMEM);
	r->method = "POST";
	r->url = url;
	r->body = body;
	r->body_len = strlen(body);
	r->headers[r->nheaders].name = "Content-Type";
	r->headers[r->nheaders++].value = "application/json";
	return (good_auth(call, r));
}

static int
good_auth(const struct inbox_call *call, struct inbox_http_request *r)
{
	const char	*token;

	if ((token = inbox_cred_get(call, "access_token")) == NULL)
		return (INBOX_EINVAL);
	r->headers[r->nheaders].name = "Authorization";
	if ((r->headers[r->nheaders++].value = call->host->printf(call->arena,
	    "Bearer %s", token)) == NULL)
		return (INBOX_ENOMEM);
	return (INBOX_OK);
}
