/*
 * app.h: what the kore module's files share.
 *
 * The module answers everything under /api/v1 through one dispatcher (routes.c) that
 * runs each request as a small state machine (call.c): parse and
 * authenticate, then zero or more asynchronous steps (a query through
 * kore's pgsql pool, or a task thread for slow work such as password
 * hashing), then one reply in the project's JSON shapes (reply.c).
 */
#ifndef APP_H
#define APP_H

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>
#include <kore/tasks.h>

#include <ctype.h>

#include <jansson.h>

#define APP_VERSION		"0.1.0"
#define DB_NAME			"db"

/* Request bodies: the API's own cap, below kore's http_body_max. */
#define API_BODY_MAX		(1024 * 1024)

/* The header carrying a channel's webhook secret (360dialog, example). */
#define WEBHOOK_SECRET_HEADER	"X-Inbox-Secret"
/* Webhook bodies (webhooks.c): providers batch, so more room. */
#define WEBHOOK_BODY_MAX	(4 * 1024 * 1024)

/* ---------------------------------------------------------------- config */

/* STREAM_LINGER_MS unset: LISTEN kept 30 s after a worker's last stream. */
#define STREAM_LINGER_DEFAULT_MS	30000

struct app_config {
	const char	*database_url;
	const char	*public_url;
	char		 public_origin[256];	/* scheme://host[:port] */
	int		 secure_cookies;	/* PUBLIC_URL is https */
	int		 production;		/* APP_ENV=production */
	const char	*master_key_file;
	const char	*meta_app_secret;
	const char	*meta_verify_token;
	const char	*graph_api_base;
	const char	*instagram_api_base;
	const char	*d360_api_base;
	const char	*example_api_base;
	const char	*plugin_dir;
	const char	*plugins;
	const char	*trusted_proxies;
	u_int64_t	 stream_linger_ms;	/* LISTEN kept after the last
						   stream (stream.c) */
};

extern struct app_config	app_config;

void		 config_load(void);
int		 config_trusted_proxy(const char *);
/* By name, for plugins: GRAPH_API_BASE and the like; NULL if unknown. */
const char	*config_get(const char *);

/* ---------------------------------------------------------------- keys */

#define KEY_LEN			32

/* Purpose keys derived from the master key at start-up. */
struct vault;
extern struct vault	*app_vault;
extern u_int8_t	*key_sessions;
extern u_int8_t	*key_tokens;
extern u_int8_t	*key_csrf;
extern u_int8_t	*key_invites;
extern u_int8_t	*key_webhooks;

void		 keys_init(void);
/* A random secret as base64url (43 chars for 32 bytes) into out. */
void		 keys_random_token(char *, size_t);
/* Hex of BLAKE2b-256(key, data), 64 chars plus NUL. */
void		 keys_hash_hex(const u_int8_t *, const char *, char [65]);

/* ---------------------------------------------------------------- calls */

struct call;

/* What a route's handler returns. */
#define CALL_DONE		1	/* a reply was sent */
#define CALL_WAIT		2	/* an async step was started */

typedef int	(*call_fn)(struct call *);

/* Route flags. */
#define ROUTE_AUTH		0x01	/* needs a session or API token */
#define ROUTE_BODY		0x02	/* takes a JSON object body */
#define ROUTE_WEBHOOK		0x04	/* a provider's: no session or CSRF,
					   the handler reads the raw body */

struct route {
	int		 method;
	const char	*path;		/* "/api/v1/members/:id" */
	int		 flags;
	const char	*sql;		/* for call_simple */
	call_fn		 handler;
};

/* One query's result rows, copied out of libpq. */
struct call_result {
	int		 ntuples;
	int		 nfields;
	char		**values;	/* ntuples * nfields, NULL = SQL NULL */
};

struct call {
	struct http_request	*req;
	const struct route	*route;
	int			 step;		/* handler's own progress */

	char			 auth[160];	/* p_auth for api.* */
	char			 session[64];	/* the cookie's session id */
	json_t			*in;		/* client body, an object */
	json_t			*secret;	/* its password/credentials */
	json_t			*srv;		/* server-derived arguments */

	struct kore_pgsql	 sql;
	int			 sql_active;
	void			*query;		/* the query being run */
	struct call_result	 res;
	char			*sqlstate;	/* on error */
	char			*errmsg;
	char			*errcode;
	char			*errhint;

	struct kore_task	 task;
	int			 task_active;
	void			*task_arg;	/* owned by the task's user */
	void			(*task_free)(void *);
};

/* Starts query sql with the three api.* arguments (auth, in, srv). */
int		 call_query_api(struct call *, const char *);
/* The same for functions that take no caller: (in, srv). */
int		 call_query_anon(struct call *, const char *);
/* Starts query sql with n text parameters. */
int		 call_query(struct call *, const char *, int, ...);
/* Runs fn(arg) on a task thread; arg is freed with freefn after. */
int		 call_task(struct call *, int (*)(struct kore_task *), void *,
		    void (*)(void *));
/* Whether the last query failed; call_fail_db() answers for it. */
int		 call_failed(struct call *);
/* Whether an SQLSTATE means the database is unavailable (a 503). */
int		 call_sqlstate_unavailable(const char *);
void		 call_pg_error(const struct kore_pgsql *, const char **,
		    const char **);
int		 call_fail_db(struct call *);
/* Row 0's (status, body) of an api.* function, replied as is. */
int		 call_reply_api(struct call *);
/* The api.* (status, body) as a status and a parsed body (owned). */
int		 call_api_result(struct call *, int *, json_t **);
/* The same from a body's text (NULL: none); 0, or -1 after replying. */
int		 call_answer_parse(struct call *, const char *, json_t **);
/* Replies with (status, body), an error in the error shape; takes body. */
int		 call_reply_body(struct call *, int, json_t *);

/* Whether the step's async operations are over (call.c, routes.c). */
int		 call_ready(struct call *);
void		 call_free(struct http_request *);
/* The argument a task function was started with. */
void		*call_task_arg(struct kore_task *);

/* The generic handler: one api.* function, its answer sent back. */
int		 call_simple(struct call *);

/* ---------------------------------------------------------------- reply */

/* Every failure goes out through reply_error, in the documented shape. */
int		 reply_error(struct http_request *, int, const char *,
		    const char *, json_t *);
/* Sends obj (stolen) with status; NULL sends no body. */
int		 reply_json(struct http_request *, int, json_t *);
int		 reply_json_text(struct http_request *, int, const char *,
		    size_t);
int		 reply_text(struct http_request *, int, const char *, size_t);
void		 reply_security_headers(struct http_request *);

/* ---------------------------------------------------------------- auth */

/* Fills c->auth from the cookie or bearer token; 0 if none given,
 * -1 if malformed (and replied). */
int		 auth_extract(struct call *);
/* Checks CSRF token and origin for cookie-authenticated writes;
 * -1 if rejected (and replied). */
int		 auth_check_csrf(struct call *);
/* The CSRF token for a session id, base64url. */
void		 auth_csrf_token(const char *, char *, size_t);
/* Starts a new session: id in c->session, its hash in srv. */
void		 auth_session_new(struct call *);
void		 auth_set_cookie(struct call *, int);
/* Tokens that name their organization ("ibt_", "inv_" + org hex + "_" +
 * secret): parse one into srv.org and srv.token_hash, or make one. */
int		 auth_scoped_token(struct call *, const char *, const char *,
		    const u_int8_t *);
void		 auth_scoped_new(struct call *, const u_int8_t *, char *,
		    size_t);
char		*auth_scoped_format(const char *, const char *, const char *,
		    char *, size_t);
#define SCOPED_TOKEN_MAX	96
const char	*auth_client_ip(struct http_request *, char *, size_t);

/* ---------------------------------------------------------------- passwords */

/* Rules every new password meets; NULL if ok, else the message. */
const char	*password_check(const char *);
/* Hash (or verify, when hash != NULL) off the event loop. */
int		 password_hash_start(struct call *, const char *);
int		 password_verify_start(struct call *, const char *,
		    const char *);
/* The task's answer: the new hash (owned by the call) or verified. */
const char	*password_hashed(struct call *);
int		 password_verified(struct call *);

/* ---------------------------------------------------------------- handlers */

int		 h_health(struct call *);
int		 h_signup(struct call *);
int		 h_login(struct call *);
int		 h_logout(struct call *);
int		 h_me(struct call *);
int		 h_token_create(struct call *);
int		 h_invitation_create(struct call *);
int		 h_invitation_preview(struct call *);
int		 h_invitation_accept(struct call *);
int		 h_plugins(struct call *);
int		 h_channel_read(struct call *);
int		 h_channel_connect(struct call *);
int		 h_channel_update(struct call *);
int		 h_channel_test(struct call *);
int		 h_channel_reconnect(struct call *);
int		 h_channel_templates(struct call *);
int		 h_webhook(struct call *);
int		 h_message_send(struct call *);
int		 h_stream(struct call *);

/* ---------------------------------------------------------------- stream */

/* Per worker: the LISTEN connection feeding /api/v1/stream. */
void		 stream_init(void);

/* ---------------------------------------------------------------- plugins */

/* Loads the configured plugins (parent, before fork). */
void		 plugins_init(void);
/* A JSON array of the loaded plugins' names (new reference). */
json_t		*plugins_names(void);
/* {adapter: {url, verify_token, ...}} (borrowed). */
json_t		*plugins_webhooks(void);
struct plugin_registry;
extern struct plugin_registry	*plugins;

void		 password_init(void);

/* Seccomp, plugins and the rest of start-up. */
int		 init(int);

#endif /* !APP_H */
