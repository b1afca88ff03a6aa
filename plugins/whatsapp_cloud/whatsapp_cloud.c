/*
 * whatsapp_cloud.c: WhatsApp through Meta's Cloud API (providers.md §1).
 *
 * The tenant's number is routed by its phone_number_id, which is also
 * the path every send goes to; Meta signs webhooks with the app secret
 * (the platform's, or the tenant's own when they bring their own app).
 * Parsing, the send body and the shape of message templates are shared
 * with 360dialog, which hosts the same API, in plugins/common/wa_*.
 * Templates belong to the WhatsApp Business Account, not the number:
 * they are listed from the business_account_id.
 */
#include <string.h>

#include "inbox_plugin.h"
#include "common/graph.h"
#include "common/http.h"
#include "common/outmsg.h"
#include "common/pjson.h"
#include "common/wa_send.h"
#include "common/wa_templates.h"
#include "common/wa_webhook.h"

/* Longest page cursor accepted back from Graph's paging. */
#define CLOUD_CURSOR_MAX	2048

static int	cloud_test_build(const struct inbox_call *,
		    struct inbox_http_request *);
static int	cloud_classify(const struct inbox_call *, int,
		    const struct inbox_http_response *, struct inbox_result *);
static int	cloud_send_build(const struct inbox_call *, const char *,
		    size_t, struct inbox_http_request *);
static int	cloud_send_request(const struct inbox_call *,
		    struct inbox_http_request *);
static int	cloud_cursor_ok(const char *);
static int	cloud_templates_build(const struct inbox_call *,
		    const char *, struct inbox_http_request *);
static int	cloud_templates_parse(const struct inbox_call *,
		    const struct inbox_http_response *,
		    struct inbox_templates *);

static const struct inbox_field cloud_fields[] = {
	{ "phone_number_id", "Phone number ID",
	    "The number's ID in WhatsApp Manager > Phone numbers "
	    "(not the phone number itself)",
	    "[0-9]{1,32}",
	    INBOX_FIELD_ROUTING | INBOX_FIELD_REQUIRED, 32 },
	{ "business_account_id", "WhatsApp Business Account ID",
	    "The WABA ID the number belongs to",
	    "[0-9]{1,32}", INBOX_FIELD_REQUIRED, 32 },
	{ "access_token", "Access token",
	    "A system-user or business token with "
	    "whatsapp_business_messaging",
	    "[^[:space:]]+",
	    INBOX_FIELD_SECRET | INBOX_FIELD_REQUIRED, 2048 },
	{ "app_secret", "App secret (own Meta app only)",
	    "Leave empty unless the number is on your own Meta app: "
	    "App Dashboard > Settings > Basic",
	    "[0-9a-f]{32}",
	    INBOX_FIELD_SECRET | INBOX_FIELD_APP_SECRET, 32 },
};

static const struct inbox_plugin cloud_plugin = {
	.abi_major = INBOX_ABI_MAJOR,
	.abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "whatsapp_cloud",
	.display_name = "WhatsApp (Meta Cloud API)",
	.version = "1.1.0",
	.family = "whatsapp",
	.capabilities = INBOX_CAP_TEXT | INBOX_CAP_MEDIA |
	    INBOX_CAP_TEMPLATE | INBOX_CAP_INTERACTIVE | INBOX_CAP_REACTION |
	    INBOX_CAP_WEBHOOK | INBOX_CAP_CARE_WINDOW,
	.fields = cloud_fields,
	.nfields = sizeof(cloud_fields) / sizeof(cloud_fields[0]),
	.webhook_object = "whatsapp_business_account",
	.webhook_auth = INBOX_WEBHOOK_META_SIGNATURE,
	/* Meta's default throughput per registered number (§1.13). */
	.send_rate = 80,
	.test_build = cloud_test_build,
	.classify = cloud_classify,
	.webhook_parse = wa_webhook_parse,
	.send_build = cloud_send_build,
	.templates_build = cloud_templates_build,
	.templates_parse = cloud_templates_parse,
};

INBOX_PLUGIN_DEFINE(cloud_plugin)

/* GET /{phone_number_id}: proves the token reaches the number and gives
 * a name to show for it. */
static int
cloud_test_build(const struct inbox_call *call, struct inbox_http_request *req)
{
	return (graph_request(call, req, "GET", "GRAPH_API_BASE",
	    "phone_number_id", "?fields=id,display_phone_number,verified_name",
	    "access_token"));
}

/* A send's answer names the message; a test's names the number. */
static const struct graph_answer cloud_answer = {
	.sent = wa_sent_result,
	.id_key = "id",
	.cred_field = "phone_number_id",
	.name_key = "verified_name",
	.alt_name_key = "display_phone_number",
};

static int
cloud_classify(const struct inbox_call *call, int op,
    const struct inbox_http_response *resp, struct inbox_result *res)
{
	return (graph_classify_answer(call, op, resp, res, &cloud_answer));
}

/* POST /{phone_number_id}/messages with the body 360dialog shares. */
static int
cloud_send_build(const struct inbox_call *call, const char *msg, size_t len,
    struct inbox_http_request *req)
{
	return (out_send_build(call, msg, len, wa_send_body, NULL,
	    cloud_send_request, req));
}

static int
cloud_send_request(const struct inbox_call *call,
    struct inbox_http_request *req)
{
	return (graph_request(call, req, "POST", "GRAPH_API_BASE",
	    "phone_number_id", "/messages", "access_token"));
}

/* A page cursor that can be asked for: printable, CLOUD_CURSOR_MAX. */
static int
cloud_cursor_ok(const char *cursor)
{
	return (http_printable(cursor) && strlen(cursor) <= CLOUD_CURSOR_MAX);
}

/*
 * GET /{business_account_id}/message_templates with the fields the
 * composer needs, a page at a time; later pages by Graph's "after"
 * cursor, escaped: it comes from the provider's previous answer.
 */
static int
cloud_templates_build(const struct inbox_call *call, const char *cursor,
    struct inbox_http_request *req)
{
	const char	*suffix, *after = NULL;

	if (cursor != NULL && !cloud_cursor_ok(cursor))
		return (INBOX_EINVAL);
	if (cursor != NULL && (after = http_escape(call, cursor)) == NULL)
		return (INBOX_ENOMEM);
	suffix = call->host->printf(call->arena, "/message_templates?fields="
	    "name,language,status,category,components&limit=%d%s%s",
	    WA_TEMPLATES_PAGE, after != NULL ? "&after=" : "",
	    after != NULL ? after : "");
	if (suffix == NULL)
		return (INBOX_ENOMEM);
	return (graph_request(call, req, "GET", "GRAPH_API_BASE",
	    "business_account_id", suffix, "access_token"));
}

/*
 * {"data": [...], "paging": {"cursors": {"after"}, "next"}}: Graph gives
 * "next" only when a page follows, and the "after" cursor leads to it
 * (the answer's string, in the arena). One that cloud_templates_build()
 * would refuse makes the answer unusable (INBOX_EINVAL), rather than a
 * cursor refused on the next page.
 */
static int
cloud_templates_parse(const struct inbox_call *call,
    const struct inbox_http_response *resp, struct inbox_templates *out)
{
	const struct pj_value	*root, *paging;
	const char		*after;
	int			 rc;

	memset(out, 0, sizeof(*out));
	if ((rc = pj_load(call, resp->body, resp->body_len, &root)) !=
	    INBOX_OK)
		return (rc);
	paging = pj_obj(root, "paging");
	after = pj_str(pj_obj(paging, "cursors"), "after");
	if (pj_arr(root, "data") == NULL || (pj_str(paging, "next") != NULL &&
	    (after == NULL || !cloud_cursor_ok(after))))
		return (INBOX_EINVAL);
	if ((rc = wa_templates_list(call, pj_arr(root, "data"), out)) ==
	    INBOX_OK && pj_str(paging, "next") != NULL)
		out->next = after;
	return (rc);
}
