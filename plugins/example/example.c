/*
 * example.c: a complete channel plugin for a made-up provider, to copy
 * when writing a new one. It needs no account anywhere: the "provider"
 * is whatever server config("EXAMPLE_API_BASE") names, and the tests
 * serve one locally.
 *
 * The made-up provider's API:
 *   GET  {base}/accounts/{account_id}           -> {"id", "name"}
 *   POST {base}/accounts/{account_id}/messages  {"to", "text", "client_ref"}
 *                                               -> {"id"}
 *   errors: an HTTP status, and {"error": "what went wrong"} or
 *           {"error": {"code": "...", "message": "what went wrong"}}
 *   both with "Authorization: Bearer {token}".
 * Its webhooks, authenticated by a per-channel secret header that the
 * host checks before calling us:
 *   {"account": "...", "messages": [{"id", "from", "name", "text",
 *    "timestamp"}]}
 *
 * The rules every plugin follows (plugins/inbox_plugin.h): no I/O, no
 * mutable globals, every returned byte from the call's arena. JSON is
 * read and written with plugins/common/pjson.h, whose values live in the
 * arena too: nothing to release.
 */
#include <string.h>

#include "inbox_plugin.h"
#include "common/events.h"
#include "common/http.h"
#include "common/outmsg.h"
#include "common/pjson.h"

/* The provider's own limit on a message, in characters. */
#define EXAMPLE_TEXT_MAX	4096

static int	example_request(const struct inbox_call *,
		    struct inbox_http_request *, const char *, const char *);
static int	example_test_build(const struct inbox_call *,
		    struct inbox_http_request *);
static int	example_classify(const struct inbox_call *, int,
		    const struct inbox_http_response *, struct inbox_result *);
static void	example_test_result(const struct inbox_call *,
		    const struct pj_value *, struct inbox_result *);
static int	example_webhook_parse(const struct inbox_call *,
		    const char *, size_t, struct inbox_parsed *);
static void	example_walk(struct evlist *, const struct pj_value *);
static int	example_send_build(const struct inbox_call *, const char *,
		    size_t, struct inbox_http_request *);
static int	example_send_body(struct pj_build *, const struct outmsg *,
		    const void *, struct pj_value **);
static int	example_send_request(const struct inbox_call *,
		    struct inbox_http_request *);

/*
 * What a tenant types in to connect. The host validates values against
 * pattern and max_len, encrypts SECRET fields, and routes webhooks by the
 * ROUTING field's value, which must therefore be unique per account.
 */
static const struct inbox_field example_fields[] = {
	{ "account_id", "Account ID", "Digits, as shown by the provider",
	    "[0-9]{1,20}",
	    INBOX_FIELD_ROUTING | INBOX_FIELD_REQUIRED, 20 },
	{ "token", "API token", "Any token the test server accepts",
	    "[^[:space:]]+",
	    INBOX_FIELD_SECRET | INBOX_FIELD_REQUIRED, 256 },
};

/* The descriptor: const, so the plugin holds no mutable state. */
static const struct inbox_plugin example_plugin = {
	.abi_major = INBOX_ABI_MAJOR,
	.abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "example",
	.display_name = "Example (no account needed)",
	.version = "1.0.0",
	.family = "example",
	.capabilities = INBOX_CAP_TEXT | INBOX_CAP_WEBHOOK,
	.fields = example_fields,
	.nfields = sizeof(example_fields) / sizeof(example_fields[0]),
	/* Not a Meta webhook: it posts to /api/v1/webhooks/example. */
	.webhook_object = NULL,
	.webhook_auth = INBOX_WEBHOOK_CHANNEL_SECRET,
	.send_rate = 10,
	.test_build = example_test_build,
	.classify = example_classify,
	.webhook_parse = example_webhook_parse,
	.send_build = example_send_build,
};

INBOX_PLUGIN_DEFINE(example_plugin)

/*
 * method {base}/accounts/{account_id}{suffix} with the token. The
 * account id goes into the URL, so it is checked here too, not only by
 * the field's pattern.
 */
static int
example_request(const struct inbox_call *call, struct inbox_http_request *req,
    const char *method, const char *suffix)
{
	const char	*base, *account;
	int		 rc;

	account = inbox_cred_get(call, "account_id");
	if (!http_digits(account))
		return (INBOX_EINVAL);
	if ((rc = http_base(call, "EXAMPLE_API_BASE", &base)) != INBOX_OK)
		return (rc);
	if ((rc = http_init(call, req, method, call->host->printf(call->arena,
	    "%s/accounts/%s%s", base, account, suffix))) != INBOX_OK)
		return (rc);
	return (http_bearer(call, req, inbox_cred_get(call, "token")));
}

/* The cheapest request that proves the credentials: read the account. */
static int
example_test_build(const struct inbox_call *call,
    struct inbox_http_request *req)
{
	return (example_request(call, req, "GET", ""));
}

/*
 * What an answer means. The status says most of it; on success a send
 * names the message and a test the account. The answer is parsed into
 * the arena, so its strings can go into res as they are.
 */
static int
example_classify(const struct inbox_call *call, int op,
    const struct inbox_http_response *resp, struct inbox_result *res)
{
	const struct pj_value	*root;
	int			 rc;

	memset(res, 0, sizeof(*res));
	http_classify_status(resp, res);
	if ((rc = pj_load_any(call, resp->body, resp->body_len, &root)) !=
	    INBOX_OK)
		return (rc);
	if (res->outcome != INBOX_OUTCOME_OK)
		res->error_title = pj_obj(root, "error") != NULL ?
		    pj_str(pj_obj(root, "error"), "message") :
		    pj_str(root, "error");
	else if (op == INBOX_OP_SEND)
		res->message_id = pj_str(root, "id");
	else if (op == INBOX_OP_TEST)
		example_test_result(call, root, res);
	return (INBOX_OK);
}

/* A test's answer must name the account the tenant typed in: a token
 * that works for another account is NOT_FOUND. */
static void
example_test_result(const struct inbox_call *call,
    const struct pj_value *root, struct inbox_result *res)
{
	const char	*id;

	id = pj_str(root, "id");
	if (!pj_streq(id, inbox_cred_get(call, "account_id"))) {
		res->outcome = INBOX_OUTCOME_NOT_FOUND;
		return;
	}
	res->routing_key = id;
	res->account_name = pj_str(root, "name");
}

/*
 * ev_parse loads the body (INBOX_EINVAL if it is not a JSON object),
 * calls example_walk to add events, and serialises them into the arena.
 */
static int
example_webhook_parse(const struct inbox_call *call, const char *body,
    size_t len, struct inbox_parsed *out)
{
	return (ev_parse(call, body, len, example_walk, out));
}

/*
 * One event per usable message. Anything unusable is skipped, never an
 * error: providers retry failed deliveries, and one bad message must not
 * hold back the others.
 */
static void
example_walk(struct evlist *ev, const struct pj_value *root)
{
	struct ev_message	 em;
	const struct pj_value	*msgs, *m;
	size_t			 i;

	msgs = pj_arr(root, "messages");
	for (i = 0; (m = pj_at(msgs, i)) != NULL; i++) {
		memset(&em, 0, sizeof(em));
		em.routing_key = pj_str(root, "account");
		em.id = pj_str(m, "id");
		em.contact.external_id = pj_str(m, "from");
		if (em.routing_key == NULL || em.id == NULL ||
		    em.contact.external_id == NULL)
			continue;
		em.contact.name = pj_str(m, "name");
		em.timestamp = pj_int(pj_get(m, "timestamp"));
		em.type = "text";
		em.text = pj_str(m, "text");
		em.content = pj_object(&ev->b);
		ev_message(ev, &em);
	}
}

static int
example_send_build(const struct inbox_call *call, const char *msg,
    size_t len, struct inbox_http_request *req)
{
	return (out_send_build(call, msg, len, example_send_body, NULL,
	    example_send_request, req));
}

/*
 * The provider's body for a normalized message: text only. Any other
 * type is INBOX_EUNSUPPORTED, so the host can tell the user. The body is
 * built with b, which keeps the first allocation failure: the caller
 * checks it once.
 */
static int
example_send_body(struct pj_build *b, const struct outmsg *m,
    const void *opts, struct pj_value **bodyp)
{
	const char	*text;

	(void)opts;
	*bodyp = NULL;
	if (strcmp(m->type, "text") != 0)
		return (INBOX_EUNSUPPORTED);
	text = pj_str(m->text, "body");
	if (m->to == NULL || !pj_chars_ok(text, EXAMPLE_TEXT_MAX))
		return (INBOX_EINVAL);
	*bodyp = pj_object(b);
	pj_set_str(b, *bodyp, "to", m->to);
	pj_set_str(b, *bodyp, "text", text);
	pj_set_str(b, *bodyp, "client_ref", m->client_ref);
	return (INBOX_OK);
}

static int
example_send_request(const struct inbox_call *call,
    struct inbox_http_request *req)
{
	return (example_request(call, req, "POST", "/messages"));
}
