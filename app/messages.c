/*
 * messages.c: sending. Replies (POST /conversations/:id/messages) and
 * new conversations (POST /messages) are queued here; the dispatcher
 * (app/dispatcher) sends them.
 *
 * A send is one statement, api.message_send (migrations/007), so the
 * message and its outbox row are written together or not at all. What
 * needs C runs first, in the worker, and rides along in srv for the
 * database to answer in the right order (401, then 404, then 422):
 * the body's shape, the Idempotency-Key header, and what every loaded
 * plugin makes of the message. The last is a dry run of the plugin's
 * own send_build with placeholder credentials, so "this channel cannot
 * send a document" or "this button title is too long" is a 422 before
 * anything is queued, decided by the same code that will build the real
 * request. Plugins are pure: no I/O happens in a dry run.
 */
#include "app.h"
#include "plugin_host.h"

#define IDEMPOTENCY_KEY_MAX	255
/* Stand-ins for what the dry run cannot know yet. */
#define DRY_RECIPIENT		"10000000000"
#define DRY_CLIENT_REF		"00000000-0000-4000-8000-000000000000"
#define DRY_PROVIDER_ID		"wamid.dryrun"
#define DRY_CREDENTIAL		"1"

static const char SQL_SEND[] =
    "SELECT status, body::text FROM api.message_send($1, $2::jsonb, "
    "$3::jsonb)";

/* The message types of the API, the key holding each one's object and
 * the capability a channel needs for it. */
static const struct send_type {
	const char	*type;
	const char	*key;
	uint32_t	 cap;
} send_types[] = {
	{ "text",	 "text",	INBOX_CAP_TEXT },
	{ "template",	 "template",	INBOX_CAP_TEMPLATE },
	{ "image",	 "media",	INBOX_CAP_MEDIA },
	{ "audio",	 "media",	INBOX_CAP_MEDIA },
	{ "video",	 "media",	INBOX_CAP_MEDIA },
	{ "document",	 "media",	INBOX_CAP_MEDIA },
	{ "interactive", "interactive",	INBOX_CAP_INTERACTIVE },
	{ "reaction",	 "reaction",	INBOX_CAP_REACTION },
};

#define NSEND_TYPES	(sizeof(send_types) / sizeof(send_types[0]))

static const struct send_type *send_type_find(const char *);
static void	send_invalid(struct call *, const char *, const char *,
		    json_t *);
static int	send_check_shape(struct call *, const struct send_type **);
static int	send_check_object(const struct send_type *, json_t *,
		    json_t *);
static int	send_str(json_t *, const char *, const char *, int,
		    json_t *);
static json_t	*send_dry_message(const struct send_type *, json_t *);
static json_t	*send_verdict(const struct host_plugin *,
		    const struct send_type *, const char *, size_t);
static json_t	*send_caps(const struct host_plugin *);
static void	send_idempotency(struct call *);

static const struct send_type *
send_type_find(const char *type)
{
	size_t	i;

	for (i = 0; type != NULL && i < NSEND_TYPES; i++) {
		if (strcmp(send_types[i].type, type) == 0)
			return (&send_types[i]);
	}
	return (NULL);
}

/* Tells the database the body is malformed (details is stolen). */
static void
send_invalid(struct call *c, const char *code, const char *message,
    json_t *details)
{
	json_object_set_new(c->srv, "invalid", json_pack("{s:s, s:s, s:o}",
	    "code", code, "message", message, "details",
	    details != NULL ? details : json_object()));
}

/*
 * A string member: required or not, and not empty unless allow_empty
 * (-1, the empty string is fine; 1, it must have something). Adds
 * "path": "problem" to details; returns 0 when fine.
 */
static int
send_str(json_t *obj, const char *name, const char *path, int need,
    json_t *details)
{
	json_t	*v = json_object_get(obj, name);

	if (v == NULL || json_is_null(v)) {
		if (need == 0)
			return (0);
		json_object_set_new(details, path, json_string("is required"));
		return (-1);
	}
	if (!json_is_string(v)) {
		json_object_set_new(details, path,
		    json_string("must be a string"));
		return (-1);
	}
	if (need > 0 && json_string_length(v) == 0) {
		json_object_set_new(details, path,
		    json_string("must not be empty"));
		return (-1);
	}
	return (0);
}

/*
 * What every channel needs of a type's object; the limits that differ by
 * provider are the plugins' (the dry run). Problems go into details.
 */
static int
send_check_object(const struct send_type *t, json_t *obj, json_t *details)
{
	json_t		*v;
	const char	*link;
	char		 path[64];
	int		 bad = 0;

#define P(name)	(snprintf(path, sizeof(path), "%s.%s", t->key, name), path)
	if (strcmp(t->key, "text") == 0) {
		bad |= send_str(obj, "body", P("body"), 1, details);
		v = json_object_get(obj, "preview_url");
		if (v != NULL && !json_is_boolean(v)) {
			json_object_set_new(details, P("preview_url"),
			    json_string("must be true or false"));
			bad = -1;
		}
	} else if (strcmp(t->key, "template") == 0) {
		bad |= send_str(obj, "name", P("name"), 1, details);
		bad |= send_str(obj, "language", P("language"), 1, details);
		v = json_object_get(obj, "components");
		if (v != NULL && !json_is_array(v)) {
			json_object_set_new(details, P("components"),
			    json_string("must be an array"));
			bad = -1;
		}
	} else if (strcmp(t->key, "media") == 0) {
		link = json_string_value(json_object_get(obj, "link"));
		if (send_str(obj, "link", P("link"), 1, details) == 0 &&
		    strncmp(link, "https://", 8) != 0 &&
		    strncmp(link, "http://", 7) != 0) {
			json_object_set_new(details, P("link"),
			    json_string("must be an http or https URL"));
			bad = -1;
		}
		bad |= send_str(obj, "caption", P("caption"), 0, details);
		bad |= send_str(obj, "filename", P("filename"), 0, details);
	} else if (strcmp(t->key, "interactive") == 0) {
		v = json_object_get(obj, "kind");
		if (!json_is_string(v) ||
		    (strcmp(json_string_value(v), "buttons") != 0 &&
		    strcmp(json_string_value(v), "list") != 0)) {
			json_object_set_new(details, P("kind"),
			    json_string("must be buttons or list"));
			bad = -1;
		}
		bad |= send_str(obj, "body", P("body"), 1, details);
	} else if (strcmp(t->key, "reaction") == 0) {
		bad |= send_str(obj, "message_id", P("message_id"), 1,
		    details);
		bad |= send_str(obj, "emoji", P("emoji"), -1, details);
	}
#undef P
	return (bad);
}

/*
 * The body's shape: a known type, its object, nothing else. Returns 0
 * with *tp set, or -1 with srv.invalid set.
 */
static int
send_check_shape(struct call *c, const struct send_type **tp)
{
	const struct send_type	*t;
	const char		*key;
	json_t			*details, *v, *obj;
	int			 is_new;

	is_new = json_object_get(c->srv, "path") == NULL;
	v = json_object_get(c->in, "type");
	if ((t = send_type_find(json_string_value(v))) == NULL) {
		send_invalid(c, "VALIDATION_FAILED", v == NULL ?
		    "type is required" : "type is not a message type",
		    json_pack("{s:s}", "type", "must be text, template, image, "
		    "audio, video, document, interactive or reaction"));
		return (-1);
	}
	details = json_object();
	json_object_foreach(c->in, key, v) {
		if (strcmp(key, "type") == 0 || strcmp(key, t->key) == 0 ||
		    strcmp(key, "reply_to") == 0 ||
		    (is_new && (strcmp(key, "channel_id") == 0 ||
		    strcmp(key, "to") == 0)))
			continue;
		json_object_set_new(details, key, json_string(
		    "is not a field of this message"));
	}
	obj = json_object_get(c->in, t->key);
	if (!json_is_object(obj))
		json_object_set_new(details, t->key, json_string(obj == NULL ?
		    "is required" : "must be an object"));
	else
		send_check_object(t, obj, details);
	send_str(c->in, "reply_to", "reply_to", 0, details);
	if (strcmp(t->type, "reaction") == 0 &&
	    json_object_get(c->in, "reply_to") != NULL)
		json_object_set_new(details, "reply_to",
		    json_string("is not allowed on a reaction"));
	if (json_object_size(details) != 0) {
		send_invalid(c, "VALIDATION_FAILED", "The message is not valid",
		    details);
		return (-1);
	}
	json_decref(details);
	*tp = t;
	return (0);
}

/* The normalized outbound message (docs/plugins.md) for a dry run:
 * what the database will fill in is a stand-in. New reference. */
static json_t *
send_dry_message(const struct send_type *t, json_t *in)
{
	json_t	*obj, *m;

	obj = json_deep_copy(json_object_get(in, t->key));
	if (strcmp(t->type, "reaction") == 0)
		json_object_set_new(obj, "message_id",
		    json_string(DRY_PROVIDER_ID));
	m = json_pack("{s:s, s:n, s:s, s:s, s:o, s:s?}", "to", DRY_RECIPIENT,
	    "to_user_id", "client_ref", DRY_CLIENT_REF, "type", t->type,
	    t->key, obj, "reply_to", json_object_get(in, "reply_to") != NULL ?
	    DRY_PROVIDER_ID : NULL);
	return (m);
}

/*
 * What plugin p makes of message msg of type t: {"ok": true}, or why
 * not, as the code and message the API answers with. New reference.
 */
static json_t *
send_verdict(const struct host_plugin *p, const struct send_type *t,
    const char *msg, size_t len)
{
	struct inbox_cred		 creds[PLUGIN_FIELDS_MAX];
	struct inbox_http_request	 req;
	struct inbox_call		 call;
	char				 text[256];
	size_t				 n;
	int				 rc;

	if (!(p->desc.capabilities & t->cap) || p->desc.send_build == NULL) {
		snprintf(text, sizeof(text), "%s cannot send %s messages",
		    p->desc.display_name, t->type);
		return (json_pack("{s:b, s:s, s:s}", "ok", 0, "code",
		    "UNSUPPORTED_MESSAGE_TYPE", "message", text));
	}
	memset(creds, 0, sizeof(creds));
	for (n = 0; n < p->desc.nfields && n < PLUGIN_FIELDS_MAX; n++) {
		creds[n].name = p->desc.fields[n].name;
		creds[n].value = DRY_CREDENTIAL;
	}
	if (plugin_call_begin(&call, creds, n) == -1)
		return (NULL);
	memset(&req, 0, sizeof(req));
	rc = p->desc.send_build(&call, msg, len, &req);
	plugin_call_end(&call);
	switch (rc) {
	case INBOX_OK:
		return (json_pack("{s:b}", "ok", 1));
	case INBOX_EUNSUPPORTED:
		snprintf(text, sizeof(text), "%s cannot send this %s message: "
		    "a part of it (a caption, a header or footer, a kind of "
		    "interactive message or this reaction) is not supported",
		    p->desc.display_name, t->type);
		return (json_pack("{s:b, s:s, s:s}", "ok", 0, "code",
		    "UNSUPPORTED_MESSAGE", "message", text));
	default:
		snprintf(text, sizeof(text), "This %s message does not fit "
		    "%s: a text, title or list is too long, a count is out "
		    "of range, or a required part is missing (see docs/api.md, "
		    "Sending)", t->type, p->desc.display_name);
		return (json_pack("{s:b, s:s, s:s}", "ok", 0, "code",
		    "INVALID_MESSAGE", "message", text));
	}
}

/* {"sends": [types], "care_window": bool} of plugin p. New reference. */
static json_t *
send_caps(const struct host_plugin *p)
{
	json_t	*sends = json_array();
	size_t	 i;

	for (i = 0; i < NSEND_TYPES; i++) {
		if (p->desc.capabilities & send_types[i].cap)
			json_array_append_new(sends,
			    json_string(send_types[i].type));
	}
	return (json_pack("{s:o, s:b}", "sends", sends, "care_window",
	    (p->desc.capabilities & INBOX_CAP_CARE_WINDOW) != 0));
}

/* The Idempotency-Key header into srv: 1 to 255 visible ASCII bytes. */
static void
send_idempotency(struct call *c)
{
	const char	*key;
	size_t		 i, len;

	if (!http_request_header(c->req, "idempotency-key", &key))
		return;
	len = strlen(key);
	for (i = 0; i < len; i++) {
		if (key[i] < 0x21 || key[i] > 0x7e)
			break;
	}
	if (len == 0 || len > IDEMPOTENCY_KEY_MAX || i != len) {
		send_invalid(c, "INVALID_IDEMPOTENCY_KEY", "The Idempotency-Key "
		    "header must be 1 to 255 visible ASCII characters",
		    json_pack("{s:s}", "idempotency_key", "is not valid"));
		return;
	}
	json_object_set_new(c->srv, "idempotency_key", json_string(key));
}

/*
 * POST /api/v1/conversations/:id/messages and POST /api/v1/messages:
 * checked here, queued by api.message_send, answered 202.
 */
int
h_message_send(struct call *c)
{
	const struct send_type		*t;
	const struct host_plugin	*p;
	json_t				*dry, *checks, *caps, *v;
	char				*msg;
	size_t				 i;

	if (c->step != 0)
		return (call_reply_api(c));
	send_idempotency(c);
	if (json_object_get(c->srv, "invalid") != NULL ||
	    send_check_shape(c, &t) == -1)
		return (call_query_api(c, SQL_SEND));

	if ((dry = send_dry_message(t, c->in)) == NULL ||
	    (msg = json_dumps(dry, JSON_COMPACT)) == NULL) {
		json_decref(dry);
		return (reply_error(c->req, 500, "INTERNAL_ERROR",
		    "Something went wrong on our side", NULL));
	}
	json_decref(dry);
	checks = json_object();
	caps = json_object();
	for (i = 0; i < plugin_count(plugins); i++) {
		p = plugin_at(plugins, i);
		if ((v = send_verdict(p, t, msg, strlen(msg))) != NULL)
			json_object_set_new(checks, p->desc.name, v);
		json_object_set_new(caps, p->desc.name, send_caps(p));
	}
	free(msg);
	json_object_set_new(c->srv, "send_check", checks);
	json_object_set_new(c->srv, "capabilities", caps);
	return (call_query_api(c, SQL_SEND));
}
