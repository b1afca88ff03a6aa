/*
 * instagram.c: Instagram direct messages through the Instagram API with
 * Instagram Login (providers.md §4), which needs no Facebook Page: an
 * Instagram user token on graph.instagram.com, and the professional
 * account's id as routing key and send path.
 *
 * Webhook parsing and send bodies are shared with Messenger in
 * plugins/common/meta_*.
 */
#include "inbox_plugin.h"
#include "common/graph.h"
#include "common/meta_send.h"
#include "common/meta_webhook.h"
#include "common/outmsg.h"

/* Meta: text "must be less than 1000 characters" (§4.2). */
#define INSTAGRAM_TEXT_MAX	999

static int	instagram_test_build(const struct inbox_call *,
		    struct inbox_http_request *);
static int	instagram_classify(const struct inbox_call *, int,
		    const struct inbox_http_response *, struct inbox_result *);
static int	instagram_send_build(const struct inbox_call *, const char *,
		    size_t, struct inbox_http_request *);
static int	instagram_send_request(const struct inbox_call *,
		    struct inbox_http_request *);

static const struct inbox_field instagram_fields[] = {
	{ "account_id", "Instagram account ID",
	    "The professional account's Instagram user ID (user_id of "
	    "graph.instagram.com/me), not the @username",
	    "[0-9]{1,32}",
	    INBOX_FIELD_ROUTING | INBOX_FIELD_REQUIRED, 32 },
	{ "access_token", "Access token",
	    "An Instagram user token with instagram_business_manage_messages",
	    "[^[:space:]]+",
	    INBOX_FIELD_SECRET | INBOX_FIELD_REQUIRED, 2048 },
	{ "app_secret", "Instagram app secret (own app only)",
	    "Leave empty unless you use your own app: App Dashboard > "
	    "Instagram > API setup with Instagram login",
	    "[0-9a-f]{32}",
	    INBOX_FIELD_SECRET | INBOX_FIELD_APP_SECRET, 32 },
};

/*
 * Text, images, video, audio and reactions. Instagram takes no files,
 * no captions, and one reaction, the heart. Its quick replies and
 * button templates are not offered: the capability is not claimed.
 */
static const struct meta_send_opts instagram_send_opts = {
	.text_max = INSTAGRAM_TEXT_MAX,
	.files = 0,
	.buttons = 0,
	.metadata = 0,
	.messaging_type = 0,
	.love_only = 1,
};

static const struct inbox_plugin instagram_plugin = {
	.abi_major = INBOX_ABI_MAJOR,
	.abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "instagram",
	.display_name = "Instagram",
	.version = "1.0.0",
	.family = "instagram",
	.capabilities = INBOX_CAP_TEXT | INBOX_CAP_MEDIA |
	    INBOX_CAP_REACTION | INBOX_CAP_WEBHOOK | INBOX_CAP_CARE_WINDOW,
	.fields = instagram_fields,
	.nfields = sizeof(instagram_fields) / sizeof(instagram_fields[0]),
	.webhook_object = "instagram",
	.webhook_auth = INBOX_WEBHOOK_META_SIGNATURE,
	/* Send API calls per second per account for text (§4.2). */
	.send_rate = 300,
	.test_build = instagram_test_build,
	.classify = instagram_classify,
	.webhook_parse = meta_webhook_parse_instagram,
	.send_build = instagram_send_build,
};

INBOX_PLUGIN_DEFINE(instagram_plugin)

/* GET /me: the account the token belongs to. */
static int
instagram_test_build(const struct inbox_call *call,
    struct inbox_http_request *req)
{
	return (graph_request(call, req, "GET", "INSTAGRAM_API_BASE", NULL,
	    "me?fields=user_id,username", "access_token"));
}

/*
 * On graph.instagram.com, /me's "user_id" is the id webhooks carry in
 * entry[].id, and "id" is an app-scoped one; "id" is only a fallback.
 */
static const struct graph_answer instagram_answer = {
	.sent = meta_sent_result,
	.id_key = "user_id",
	.alt_id_key = "id",
	.cred_field = "account_id",
	.name_key = "username",
};

static int
instagram_classify(const struct inbox_call *call, int op,
    const struct inbox_http_response *resp, struct inbox_result *res)
{
	return (graph_classify_answer(call, op, resp, res,
	    &instagram_answer));
}

static int
instagram_send_build(const struct inbox_call *call, const char *msg,
    size_t len, struct inbox_http_request *req)
{
	return (out_send_build(call, msg, len, meta_send_body,
	    &instagram_send_opts, instagram_send_request, req));
}

/* POST /{account_id}/messages. */
static int
instagram_send_request(const struct inbox_call *call,
    struct inbox_http_request *req)
{
	return (graph_request(call, req, "POST", "INSTAGRAM_API_BASE",
	    "account_id", "/messages", "access_token"));
}
