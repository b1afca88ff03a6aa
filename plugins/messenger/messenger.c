/*
 * messenger.c: Facebook Messenger through a Page (providers.md §3).
 *
 * The Page id routes webhooks (entry[].id) and is the path sends go to;
 * the Page access token authenticates both. Webhook parsing and send
 * bodies are shared with Instagram in plugins/common/meta_*.
 */
#include "inbox_plugin.h"
#include "common/graph.h"
#include "common/meta_send.h"
#include "common/meta_webhook.h"
#include "common/outmsg.h"

/* Messenger's text limit, in characters. */
#define MESSENGER_TEXT_MAX	2000

static int	messenger_test_build(const struct inbox_call *,
		    struct inbox_http_request *);
static int	messenger_classify(const struct inbox_call *, int,
		    const struct inbox_http_response *, struct inbox_result *);
static int	messenger_send_build(const struct inbox_call *, const char *,
		    size_t, struct inbox_http_request *);
static int	messenger_send_request(const struct inbox_call *,
		    struct inbox_http_request *);

static const struct inbox_field messenger_fields[] = {
	{ "page_id", "Page ID",
	    "Your Page > About > Page transparency, or Meta Business Suite",
	    "[0-9]{1,32}",
	    INBOX_FIELD_ROUTING | INBOX_FIELD_REQUIRED, 32 },
	{ "page_access_token", "Page access token",
	    "A Page token with pages_messaging, for this Page",
	    "[^[:space:]]+",
	    INBOX_FIELD_SECRET | INBOX_FIELD_REQUIRED, 2048 },
	{ "app_secret", "App secret (own Meta app only)",
	    "Leave empty unless the Page is subscribed through your own Meta "
	    "app: App Dashboard > Settings > Basic",
	    "[0-9a-f]{32}",
	    INBOX_FIELD_SECRET | INBOX_FIELD_APP_SECRET, 32 },
};

/*
 * Text, attachments, reply buttons (as a button template) and reactions
 * (the "react" sender action). No lists, no captions, no templates in
 * WhatsApp's sense; outside the 24-hour window only message tags work,
 * which this plugin does not send.
 */
static const struct meta_send_opts messenger_send_opts = {
	.text_max = MESSENGER_TEXT_MAX,
	.files = 1,
	.buttons = 1,
	.metadata = 1,
	.messaging_type = 1,
	.love_only = 0,
};

static const struct inbox_plugin messenger_plugin = {
	.abi_major = INBOX_ABI_MAJOR,
	.abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "messenger",
	.display_name = "Facebook Messenger",
	.version = "1.0.0",
	.family = "messenger",
	.capabilities = INBOX_CAP_TEXT | INBOX_CAP_MEDIA |
	    INBOX_CAP_INTERACTIVE | INBOX_CAP_REACTION | INBOX_CAP_WEBHOOK |
	    INBOX_CAP_CARE_WINDOW,
	.fields = messenger_fields,
	.nfields = sizeof(messenger_fields) / sizeof(messenger_fields[0]),
	.webhook_object = "page",
	.webhook_auth = INBOX_WEBHOOK_META_SIGNATURE,
	/* Send API calls per second per Page for text (§3.4). */
	.send_rate = 300,
	.test_build = messenger_test_build,
	.classify = messenger_classify,
	.webhook_parse = meta_webhook_parse_page,
	.send_build = messenger_send_build,
};

INBOX_PLUGIN_DEFINE(messenger_plugin)

/* GET /me with the Page token: the Page it belongs to. */
static int
messenger_test_build(const struct inbox_call *call,
    struct inbox_http_request *req)
{
	return (graph_request(call, req, "GET", "GRAPH_API_BASE", NULL,
	    "me?fields=id,name", "page_access_token"));
}

/* A send's answer names the message; a test's names the Page, and a
 * user token answers /me with the user instead: not our Page. */
static const struct graph_answer messenger_answer = {
	.sent = meta_sent_result,
	.id_key = "id",
	.cred_field = "page_id",
	.name_key = "name",
};

static int
messenger_classify(const struct inbox_call *call, int op,
    const struct inbox_http_response *resp, struct inbox_result *res)
{
	return (graph_classify_answer(call, op, resp, res,
	    &messenger_answer));
}

static int
messenger_send_build(const struct inbox_call *call, const char *msg,
    size_t len, struct inbox_http_request *req)
{
	return (out_send_build(call, msg, len, meta_send_body,
	    &messenger_send_opts, messenger_send_request, req));
}

/* POST /{page_id}/messages. */
static int
messenger_send_request(const struct inbox_call *call,
    struct inbox_http_request *req)
{
	return (graph_request(call, req, "POST", "GRAPH_API_BASE",
	    "page_id", "/messages", "page_access_token"));
}
