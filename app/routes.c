/*
 * routes.c: every /api/v1 route, and the one kore handler that serves
 * them.
 *
 * Kore 4.1 has no route parameters and answers unknown paths and methods
 * with bodiless errors, so the whole /api/v1 tree is one kore route and
 * the table below does the matching: a 404 or 405 here comes in the
 * API's error shape like everything else. Before a route's handler runs,
 * the request is authenticated (when the route needs it), checked for
 * CSRF, and its JSON body and query string are parsed and validated.
 */
#include <arpa/inet.h>

#include "app.h"
#include "qs.h"

/* Named constants for the generic routes: one api.* function each. */
#define API_SQL(fn) "SELECT status, body::text FROM api." fn "($1, $2::jsonb, $3::jsonb)"

static const char SQL_SWITCH[] = API_SQL("switch_org");
static const char SQL_ORG_CREATE[] = API_SQL("org_create");
static const char SQL_TOKENS_LIST[] = API_SQL("tokens_list");
static const char SQL_TOKEN_REVOKE[] = API_SQL("token_revoke");
static const char SQL_MEMBERS_LIST[] = API_SQL("members_list");
static const char SQL_MEMBER_UPDATE[] = API_SQL("member_update");
static const char SQL_MEMBER_REMOVE[] = API_SQL("member_remove");
static const char SQL_INVITES_LIST[] = API_SQL("invitations_list");
static const char SQL_INVITE_REVOKE[] = API_SQL("invitation_revoke");
static const char SQL_AUDIT_LIST[] = API_SQL("audit_list");
static const char SQL_CHANNELS_LIST[] = API_SQL("channels_list");
static const char SQL_CHANNEL_GET[] = API_SQL("channel_get");
static const char SQL_CHANNEL_DISCONNECT[] = API_SQL("channel_disconnect");
static const char SQL_CHANNEL_DELETE[] = API_SQL("channel_delete");
static const char SQL_CHANNEL_ERRORS[] = API_SQL("channel_errors_list");
static const char SQL_CONVERSATIONS[] = API_SQL("conversations_list");
static const char SQL_CONVERSATION[] = API_SQL("conversation_get");
static const char SQL_MESSAGES[] = API_SQL("conversation_messages");
static const char SQL_CONTACTS[] = API_SQL("contacts_list");
static const char SQL_MESSAGE[] = API_SQL("message_get");
static const char SQL_DEAD_LETTERS[] = API_SQL("dead_letters_list");
static const char SQL_DEAD_REQUEUE[] = API_SQL("dead_letter_requeue");
static const char SQL_CONVERSATION_UPDATE[] = API_SQL("conversation_update");
static const char SQL_CONVERSATION_READ[] = API_SQL("conversation_read");
static const char SQL_UNREAD[] = API_SQL("unread_counts");
static const char SQL_CONTACT[] = API_SQL("contact_get");
static const char SQL_CONTACT_UPDATE[] = API_SQL("contact_update");
static const char SQL_STATS[] = API_SQL("stats");

#define GET	HTTP_METHOD_GET
#define POST	HTTP_METHOD_POST
#define PATCH	HTTP_METHOD_PATCH
#define DELETE	HTTP_METHOD_DELETE
#define A	ROUTE_AUTH
#define B	ROUTE_BODY
#define W	ROUTE_WEBHOOK

static const struct route routes[] = {
	{ GET,	  "/api/v1/health", 0, NULL, h_health },
	{ POST,	  "/api/v1/auth/signup", B, NULL, h_signup },
	{ POST,	  "/api/v1/auth/login", B, NULL, h_login },
	{ POST,	  "/api/v1/auth/logout", A, NULL, h_logout },
	{ POST,	  "/api/v1/auth/switch", A | B, SQL_SWITCH, call_simple },
	{ GET,	  "/api/v1/me", A, NULL, h_me },
	{ GET,	  "/api/v1/stream", A, NULL, h_stream },
	{ POST,	  "/api/v1/organizations", A | B, SQL_ORG_CREATE, call_simple },
	{ GET,	  "/api/v1/api-tokens", A, SQL_TOKENS_LIST, call_simple },
	{ POST,	  "/api/v1/api-tokens", A | B, NULL, h_token_create },
	{ DELETE, "/api/v1/api-tokens/:id", A, SQL_TOKEN_REVOKE, call_simple },
	{ GET,	  "/api/v1/members", A, SQL_MEMBERS_LIST, call_simple },
	{ PATCH,  "/api/v1/members/:id", A | B, SQL_MEMBER_UPDATE, call_simple },
	{ DELETE, "/api/v1/members/:id", A, SQL_MEMBER_REMOVE, call_simple },
	{ GET,	  "/api/v1/invitations", A, SQL_INVITES_LIST, call_simple },
	{ POST,	  "/api/v1/invitations", A | B, NULL, h_invitation_create },
	{ POST,	  "/api/v1/invitations/preview", B, NULL, h_invitation_preview },
	{ POST,	  "/api/v1/invitations/accept", B, NULL, h_invitation_accept },
	{ DELETE, "/api/v1/invitations/:id", A, SQL_INVITE_REVOKE, call_simple },
	{ GET,	  "/api/v1/audit-log", A, SQL_AUDIT_LIST, call_simple },
	{ GET,	  "/api/v1/plugins", 0, NULL, h_plugins },
	{ GET,	  "/api/v1/channels", A, SQL_CHANNELS_LIST, h_channel_read },
	{ POST,	  "/api/v1/channels", A | B, NULL, h_channel_connect },
	{ GET,	  "/api/v1/channels/:id", A, SQL_CHANNEL_GET, h_channel_read },
	{ PATCH,  "/api/v1/channels/:id", A | B, NULL, h_channel_update },
	{ DELETE, "/api/v1/channels/:id", A, SQL_CHANNEL_DELETE, call_simple },
	{ POST,	  "/api/v1/channels/:id/test", A, NULL, h_channel_test },
	{ POST,	  "/api/v1/channels/:id/reconnect", A, NULL,
	    h_channel_reconnect },
	{ POST,	  "/api/v1/channels/:id/disconnect", A, SQL_CHANNEL_DISCONNECT,
	    h_channel_read },
	{ GET,	  "/api/v1/channels/:id/errors", A, SQL_CHANNEL_ERRORS,
	    call_simple },
	{ GET,	  "/api/v1/channels/:id/templates", A, NULL,
	    h_channel_templates },
	{ GET,	  "/api/v1/conversations", A, SQL_CONVERSATIONS, call_simple },
	{ GET,	  "/api/v1/conversations/:id", A, SQL_CONVERSATION, call_simple },
	{ GET,	  "/api/v1/conversations/:id/messages", A, SQL_MESSAGES,
	    call_simple },
	{ GET,	  "/api/v1/contacts", A, SQL_CONTACTS, call_simple },
	{ POST,	  "/api/v1/conversations/:id/messages", A | B, NULL,
	    h_message_send },
	{ POST,	  "/api/v1/messages", A | B, NULL, h_message_send },
	{ GET,	  "/api/v1/messages/:id", A, SQL_MESSAGE, call_simple },
	{ GET,	  "/api/v1/dead-letters", A, SQL_DEAD_LETTERS, call_simple },
	{ GET,	  "/api/v1/conversations/unread", A, SQL_UNREAD, call_simple },
	{ PATCH,  "/api/v1/conversations/:id", A | B, SQL_CONVERSATION_UPDATE,
	    call_simple },
	{ POST,	  "/api/v1/conversations/:id/read", A, SQL_CONVERSATION_READ,
	    call_simple },
	{ GET,	  "/api/v1/contacts/:id", A, SQL_CONTACT, call_simple },
	{ PATCH,  "/api/v1/contacts/:id", A | B, SQL_CONTACT_UPDATE,
	    call_simple },
	{ GET,	  "/api/v1/stats", A, SQL_STATS, call_simple },
	{ POST,	  "/api/v1/dead-letters/:id/requeue", A, SQL_DEAD_REQUEUE,
	    call_simple },
	{ GET,	  "/api/v1/webhooks/:adapter", W, NULL, h_webhook },
	{ POST,	  "/api/v1/webhooks/:adapter", W, NULL, h_webhook },
};

int		api_dispatch(struct http_request *);

static int	route_match(const char *, const char *, char *, size_t);
static int	route_find(struct http_request *, const struct route **,
		    char *, size_t);
static int	call_start(struct call *);
static int	call_parse_body(struct call *);
static void	call_keep_secrets(struct call *);
static int	call_run(struct call *);
static int	is_uuid(const char *);
static const char *route_param(const char *, const char *);

static int
is_uuid(const char *s)
{
	static const char	*shape = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t			 i;

	if (strlen(s) != 36)
		return (0);
	for (i = 0; i < 36; i++) {
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((u_char)s[i]))
			return (0);
	}
	return (1);
}

/*
 * The name of pattern's parameter if value fits it, else NULL: ":id" is
 * a uuid, ":adapter" a plugin name ([a-z0-9_]{1,32}).
 */
static const char *
route_param(const char *pattern, const char *value)
{
	size_t	len = strlen(value);

	if (strstr(pattern, "/:adapter") != NULL)
		return (len >= 1 && len <= 32 && strspn(value,
		    "abcdefghijklmnopqrstuvwxyz0123456789_") == len ?
		    "adapter" : NULL);
	return (is_uuid(value) ? "id" : NULL);
}

/*
 * Whether path fits pattern, where ":id" (or ":adapter") stands for one
 * segment of its shape (route_param), which is copied into id. The shape
 * matters: a fixed segment such as "preview" is never taken for an id.
 */
static int
route_match(const char *pattern, const char *path, char *id, size_t idlen)
{
	const char	*seg, *full = pattern;
	size_t		 len;

	while (*pattern != '\0') {
		if (*pattern == ':') {
			seg = path;
			while (*path != '\0' && *path != '/')
				path++;
			len = path - seg;
			if (len == 0 || len >= idlen)
				return (0);
			memcpy(id, seg, len);
			id[len] = '\0';
			if (route_param(full, id) == NULL)
				return (0);
			while (*pattern != '\0' && *pattern != '/')
				pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return (0);
	}
	return (*path == '\0');
}

/* 0 with *rp set, or the status to answer: 404 or 405. */
static int
route_find(struct http_request *req, const struct route **rp, char *id,
    size_t idlen)
{
	char	allow[128];
	size_t	i, len;
	int	path_ok = 0;

	allow[0] = '\0';
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (!route_match(routes[i].path, req->path, id, idlen))
			continue;
		path_ok = 1;
		len = strlen(allow);
		snprintf(allow + len, sizeof(allow) - len, "%s%s",
		    len ? ", " : "", http_method_text(routes[i].method));
		if (routes[i].method == req->method ||
		    (req->method == HTTP_METHOD_HEAD &&
		    routes[i].method == HTTP_METHOD_GET)) {
			*rp = &routes[i];
			return (0);
		}
	}
	if (!path_ok)
		return (404);
	http_response_header(req, "allow", allow);
	return (405);
}

/* The kore handler for everything under /api/v1/. */
int
api_dispatch(struct http_request *req)
{
	struct call	*c;
	int		 rc;

	if (!http_state_exists(req)) {
		c = http_state_create(req, sizeof(*c), call_free);
		c->req = req;
		rc = call_start(c);
	} else {
		c = http_state_get(req);
		if (!call_ready(c))
			return (KORE_RESULT_RETRY);
		c->step++;
		rc = call_run(c);
	}
	return (rc == CALL_WAIT ? KORE_RESULT_RETRY : KORE_RESULT_OK);
}

static int
call_run(struct call *c)
{
	int	rc;

	rc = c->route->handler(c);
	/* A step that failed to start its query is answered at once. */
	if (rc == CALL_WAIT && c->sql_active && call_failed(c))
		return (call_fail_db(c));
	return (rc);
}

static int
call_start(struct call *c)
{
	struct http_request	*req = c->req;
	char			 id[64], ip[INET6_ADDRSTRLEN], err[128];
	const char		*ua, *param = NULL;
	json_t			*query;
	int			 status;

	if ((status = route_find(req, &c->route, id, sizeof(id))) != 0) {
		return (reply_error(req, status, status == 404 ? "NOT_FOUND" :
		    "METHOD_NOT_ALLOWED", status == 404 ?
		    "No such endpoint" : "Method not allowed for this endpoint",
		    NULL));
	}
	if (strchr(c->route->path, ':') != NULL &&
	    (param = route_param(c->route->path, id)) == NULL)
		return (reply_error(req, 404, "NOT_FOUND", "Not found", NULL));

	c->in = json_object();
	c->srv = json_object();
	json_object_set_new(c->srv, "ip",
	    json_string(auth_client_ip(req, ip, sizeof(ip))));
	if (http_request_header(req, "user-agent", &ua))
		json_object_set_new(c->srv, "user_agent", json_string(ua));
	if (param != NULL)
		json_object_set_new(c->srv, "path", json_pack("{s:s}",
		    param, id));

	query = json_object();
	if (qs_parse(req->query_string, query, err, sizeof(err)) == -1) {
		json_decref(query);
		return (reply_error(req, 400, "INVALID_QUERY", err, NULL));
	}
	json_object_set_new(c->srv, "query", query);

	if (auth_extract(c) == -1)
		return (CALL_DONE);
	if ((c->route->flags & ROUTE_AUTH) && c->auth[0] == '\0')
		return (reply_error(req, 401, "UNAUTHENTICATED",
		    "Sign in or send a valid API token", NULL));
	/* Webhooks carry no session; their signature is their proof. */
	if (!(c->route->flags & ROUTE_WEBHOOK) && auth_check_csrf(c) == -1)
		return (CALL_DONE);
	if ((c->route->flags & ROUTE_BODY) && call_parse_body(c) == -1)
		return (CALL_DONE);
	return (call_run(c));
}

/* The request body as a JSON object in c->in; -1 after replying. */
static int
call_parse_body(struct call *c)
{
	struct http_request	*req = c->req;
	struct kore_buf		 buf;
	json_error_t		 jerr;
	const char		*ct;
	u_int8_t		 data[8192];
	ssize_t			 n;
	json_t			*doc;

	if (!http_request_header(req, "content-type", &ct) ||
	    (strncasecmp(ct, "application/json", 16) != 0) ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		reply_error(req, 415, "UNSUPPORTED_MEDIA_TYPE",
		    "Send the body as application/json", NULL);
		return (-1);
	}
	if (req->http_body_length > API_BODY_MAX) {
		reply_error(req, 413, "PAYLOAD_TOO_LARGE",
		    "The request body is too large",
		    json_pack("{s:i}", "max_bytes", API_BODY_MAX));
		return (-1);
	}
	kore_buf_init(&buf, 1024);
	if (!http_body_rewind(req)) {
		kore_buf_cleanup(&buf);
		reply_error(req, 500, "INTERNAL_ERROR", "Cannot read body",
		    NULL);
		return (-1);
	}
	while ((n = http_body_read(req, data, sizeof(data))) > 0)
		kore_buf_append(&buf, data, n);
	if (n == -1) {
		kore_buf_cleanup(&buf);
		reply_error(req, 400, "INVALID_BODY", "Cannot read the body",
		    NULL);
		return (-1);
	}
	doc = json_loadb((const char *)buf.data, buf.offset,
	    JSON_REJECT_DUPLICATES, &jerr);
	kore_buf_cleanup(&buf);
	if (doc == NULL) {
		reply_error(req, 400, "INVALID_JSON",
		    "The body is not valid JSON",
		    json_pack("{s:s, s:i, s:i}", "reason", jerr.text,
		    "line", jerr.line, "column", jerr.column));
		return (-1);
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		reply_error(req, 400, "INVALID_JSON",
		    "The body must be a JSON object", NULL);
		return (-1);
	}
	json_decref(c->in);
	c->in = doc;
	call_keep_secrets(c);
	return (0);
}

/*
 * Passwords and channel credentials stay in the worker: they move out of
 * the body the SQL functions get, so the database never sees them in the
 * clear, not even as a query parameter a log could keep.
 */
static void
call_keep_secrets(struct call *c)
{
	static const char	*names[] = { "password", "credentials" };
	json_t			*v;
	size_t			 i;

	c->secret = json_object();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((v = json_object_get(c->in, names[i])) == NULL)
			continue;
		json_object_set(c->secret, names[i], v);
		json_object_del(c->in, names[i]);
	}
}
