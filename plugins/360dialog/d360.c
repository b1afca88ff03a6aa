/*
 * d360.c: WhatsApp through 360dialog, which hosts Meta's Cloud API
 * (providers.md §2).
 *
 * What differs from the Cloud API: one API key per number in a
 * D360-API-KEY header and no phone_number_id or version in the paths;
 * webhooks are not signed by Meta for us, so connecting registers our
 * URL with a per-channel secret header (register_build), and they arrive
 * on our own path rather than being claimed by "object". The tenant
 * types only the key: the phone_number_id that routes their webhooks is
 * learned from the connection test. Webhook bodies, send bodies and
 * template objects are the Cloud API's (plugins/common/wa_*); the list
 * of templates is 360dialog's own, paged by offset.
 */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>

#include "inbox_plugin.h"
#include "common/graph.h"
#include "common/http.h"
#include "common/outmsg.h"
#include "common/pjson.h"
#include "common/wa_send.h"
#include "common/wa_templates.h"
#include "common/wa_webhook.h"

/* 360dialog blocks a key for 30 minutes after too many errors (§2.1). */
#define D360_BLOCKED_WAIT	1800
/*
 * The largest template list offset (a page cursor) taken from 360dialog
 * or sent back to it: nine digits, far beyond any WABA's templates, and
 * small enough that adding a page's length cannot overflow.
 */
#define D360_OFFSET_DIGITS	9
#define D360_OFFSET_MAX		999999999

static int	d360_request(const struct inbox_call *,
		    struct inbox_http_request *, const char *, const char *);
static int	d360_test_build(const struct inbox_call *,
		    struct inbox_http_request *);
static int	d360_register_build(const struct inbox_call *, const char *,
		    const char *, const char *, struct inbox_http_request *);
static int	d360_send_build(const struct inbox_call *, const char *,
		    size_t, struct inbox_http_request *);
static int	d360_send_request(const struct inbox_call *,
		    struct inbox_http_request *);
static int	d360_classify(const struct inbox_call *, int,
		    const struct inbox_http_response *, struct inbox_result *);
static void	d360_phone(const struct pj_value *, struct inbox_result *);
static void	d360_own_error(const struct inbox_http_response *,
		    const struct pj_value *, struct inbox_result *);
static int	d360_templates_build(const struct inbox_call *,
		    const char *, struct inbox_http_request *);
static int	d360_templates_parse(const struct inbox_call *,
		    const struct inbox_http_response *,
		    struct inbox_templates *);

static const struct inbox_field d360_fields[] = {
	{ "api_key", "API key",
	    "The D360-API-KEY of this number, from the 360dialog Hub",
	    "[^[:space:]]+",
	    INBOX_FIELD_SECRET | INBOX_FIELD_REQUIRED, 256 },
};

static const struct inbox_plugin d360_plugin = {
	.abi_major = INBOX_ABI_MAJOR,
	.abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "360dialog",
	.display_name = "WhatsApp (360dialog)",
	.version = "1.1.0",
	.family = "whatsapp",
	.capabilities = INBOX_CAP_TEXT | INBOX_CAP_MEDIA |
	    INBOX_CAP_TEMPLATE | INBOX_CAP_INTERACTIVE | INBOX_CAP_REACTION |
	    INBOX_CAP_WEBHOOK | INBOX_CAP_CARE_WINDOW | INBOX_CAP_REGISTER,
	.fields = d360_fields,
	.nfields = sizeof(d360_fields) / sizeof(d360_fields[0]),
	/* Posted to /api/v1/webhooks/360dialog, never claimed by object. */
	.webhook_object = NULL,
	.webhook_auth = INBOX_WEBHOOK_CHANNEL_SECRET,
	/* The Cloud API's default per number. */
	.send_rate = 80,
	.test_build = d360_test_build,
	.classify = d360_classify,
	.register_build = d360_register_build,
	.webhook_parse = wa_webhook_parse,
	.send_build = d360_send_build,
	.templates_build = d360_templates_build,
	.templates_parse = d360_templates_parse,
};

INBOX_PLUGIN_DEFINE(d360_plugin)

/* method {D360_API_BASE}{path} with the channel's key. */
static int
d360_request(const struct inbox_call *call, struct inbox_http_request *req,
    const char *method, const char *path)
{
	const char	*base, *key;
	int		 rc;

	key = inbox_cred_get(call, "api_key");
	if (key == NULL || *key == '\0')
		return (INBOX_EINVAL);
	if ((rc = http_base(call, "D360_API_BASE", &base)) != INBOX_OK)
		return (rc);
	if ((rc = http_init(call, req, method, call->host->printf(call->arena,
	    "%s%s", base, path))) != INBOX_OK)
		return (rc);
	return (http_header(call, req, "D360-API-KEY", key));
}

/* GET /health_status: the key works, and it names the number's id. */
static int
d360_test_build(const struct inbox_call *call, struct inbox_http_request *req)
{
	return (d360_request(call, req, "GET", "/health_status"));
}

/*
 * POST /v1/configs/webhook {"url", "headers": {name: value}}: 360dialog
 * sends the header with every webhook, which is how the host knows the
 * channel a delivery is for and that it came from 360dialog. The name
 * is letters, digits and '-' (360dialog refuses '_' in headers), and
 * neither it nor the value may hold a control character; the URL and
 * the value go into JSON, so they must be UTF-8.
 */
static int
d360_register_build(const struct inbox_call *call, const char *url,
    const char *header_name, const char *header_value,
    struct inbox_http_request *req)
{
	struct pj_build	 b = { call, INBOX_OK };
	struct pj_value	*body, *headers;
	const char	*p;
	int		 rc;

	if (!http_printable(url) || !http_printable(header_name) ||
	    !http_printable(header_value) || !pj_utf8_ok(url) ||
	    !pj_utf8_ok(header_value))
		return (INBOX_EINVAL);
	for (p = header_name; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && *p != '-')
			return (INBOX_EINVAL);
	body = pj_object(&b);
	pj_set_str(&b, body, "url", url);
	headers = pj_object(&b);
	pj_set_str(&b, headers, header_name, header_value);
	pj_set(&b, body, "headers", headers);
	if (b.rc != INBOX_OK)
		return (b.rc);
	if ((rc = d360_request(call, req, "POST", "/v1/configs/webhook")) !=
	    INBOX_OK)
		return (rc);
	return (http_json(call, req, body));
}

/* POST /messages with the Cloud API body. */
static int
d360_send_build(const struct inbox_call *call, const char *msg, size_t len,
    struct inbox_http_request *req)
{
	return (out_send_build(call, msg, len, wa_send_body, NULL,
	    d360_send_request, req));
}

static int
d360_send_request(const struct inbox_call *call,
    struct inbox_http_request *req)
{
	return (d360_request(call, req, "POST", "/messages"));
}

/*
 * Meta's errors come through in the Graph envelope and are classified
 * as on the Cloud API; 360dialog's own have no documented body and are
 * told apart by status and message (§2.1).
 */
static int
d360_classify(const struct inbox_call *call, int op,
    const struct inbox_http_response *resp, struct inbox_result *res)
{
	const struct pj_value	*root;
	int			 rc;

	if ((rc = graph_classify(call, op, resp, res, &root)) != INBOX_OK)
		return (rc);
	if (res->outcome == INBOX_OUTCOME_OK && op == INBOX_OP_SEND)
		wa_sent_result(root, res);
	else if (res->outcome == INBOX_OUTCOME_OK && op == INBOX_OP_TEST)
		d360_phone(root, res);
	else if (res->outcome != INBOX_OUTCOME_OK && res->error_code == NULL)
		d360_own_error(resp, root, res);
	return (INBOX_OK);
}

/*
 * The routing key is the id of the PHONE_NUMBER entity of the health
 * status (Meta's shape, under "health_status" or at the root), the
 * answer's string in the arena. A key that answers without one reaches
 * no number.
 */
static void
d360_phone(const struct pj_value *root, struct inbox_result *res)
{
	const struct pj_value	*hs, *ents, *e;
	size_t			 i;

	hs = pj_obj(root, "health_status") ? pj_obj(root, "health_status") :
	    root;
	ents = pj_arr(hs, "entities");
	for (i = 0; (e = pj_at(ents, i)) != NULL; i++) {
		if (pj_streq(pj_str(e, "entity_type"), "PHONE_NUMBER") &&
		    http_digits(pj_str(e, "id"))) {
			res->routing_key = pj_str(e, "id");
			return;
		}
	}
	res->outcome = INBOX_OUTCOME_NOT_FOUND;
}

/*
 * 360dialog's own errors: 400 "exceeded the endpoint rate limit" is a
 * throttle, 403 a key blocked for half an hour after too many errors;
 * 401 (bad key), 5xx and the rest keep what the status said. The
 * message is the answer's, in the arena.
 */
static void
d360_own_error(const struct inbox_http_response *resp,
    const struct pj_value *root, struct inbox_result *res)
{
	const char	*msg;

	msg = pj_string(root);
	if (msg == NULL)
		msg = pj_str(root, "message");
	if (msg == NULL)
		msg = pj_str(root, "detail");
	if (msg == NULL)
		msg = pj_str(pj_obj(root, "meta"), "developer_message");
	if (msg == NULL)
		msg = pj_str(root, "error");
	if (resp->status == 400 && msg != NULL &&
	    strcasestr(msg, "rate limit") != NULL) {
		res->outcome = INBOX_OUTCOME_RETRY;
		res->retry_after = http_retry_after(resp);
	} else if (resp->status == 403) {
		res->outcome = INBOX_OUTCOME_RETRY;
		if ((res->retry_after = http_retry_after(resp)) == 0)
			res->retry_after = D360_BLOCKED_WAIT;
	}
	res->error_title = msg;
}

/*
 * GET /v1/configs/templates?limit=&offset=: the templates of the key's
 * WABA. The cursor is the offset of the page, digits only.
 */
static int
d360_templates_build(const struct inbox_call *call, const char *cursor,
    struct inbox_http_request *req)
{
	const char	*path;

	if (cursor != NULL && (!http_digits(cursor) ||
	    strlen(cursor) > D360_OFFSET_DIGITS))
		return (INBOX_EINVAL);
	path = call->host->printf(call->arena, "/v1/configs/templates?"
	    "limit=%d&offset=%s", WA_TEMPLATES_PAGE,
	    cursor != NULL ? cursor : "0");
	if (path == NULL)
		return (INBOX_ENOMEM);
	return (d360_request(call, req, "GET", path));
}

/*
 * {"waba_templates": [...], "offset", "count", "total", ...}: another
 * page follows while offset plus the templates in this one is short of
 * total. Without offset or total there is no telling: this is the last.
 * The offset is 360dialog's, so it is checked before any arithmetic: one
 * below 0 or past D360_OFFSET_MAX, or a next page that would be, makes
 * the answer unusable (INBOX_EINVAL), rather than a cursor that
 * templates_build refuses or one that does not move on.
 */
static int
d360_templates_parse(const struct inbox_call *call,
    const struct inbox_http_response *resp, struct inbox_templates *out)
{
	const struct pj_value	*root, *list, *joff, *total;
	int64_t			 offset, n;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if ((rc = pj_load(call, resp->body, resp->body_len, &root)) !=
	    INBOX_OK)
		return (rc);
	if ((list = pj_arr(root, "waba_templates")) == NULL)
		return (INBOX_EINVAL);
	rc = wa_templates_list(call, list, out);
	joff = pj_get(root, "offset");
	total = pj_get(root, "total");
	if (rc != INBOX_OK || pj_type(joff) != PJ_INTEGER)
		return (rc);
	if ((offset = pj_int(joff)) < 0 || offset > D360_OFFSET_MAX)
		return (INBOX_EINVAL);
	/*
	 * n > 0, so the next offset is past this one, never the same; n is
	 * at most the body's length, so offset + n cannot overflow.
	 */
	n = (int64_t)pj_size(list);
	if (n == 0 || pj_type(total) != PJ_INTEGER ||
	    offset + n >= pj_int(total))
		return (INBOX_OK);
	if (offset + n > D360_OFFSET_MAX)
		return (INBOX_EINVAL);
	if ((out->next = call->host->printf(call->arena, "%" PRId64,
	    offset + n)) == NULL)
		return (INBOX_ENOMEM);
	return (INBOX_OK);
}
