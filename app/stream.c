/*
 * stream.c: GET /api/v1/stream, the live websocket, and the LISTEN
 * connection that feeds it.
 *
 * Ingestion, sending and the inbox API raise NOTIFY "inbox_events" with
 * an organization and ids (migrations 004, 007, 009). Each worker keeps
 * one libpq connection LISTENing, watched by kore's own event loop, and
 * pushes every event to its own sockets of that organization: several
 * kore nodes on one database all deliver, and no worker relays to
 * another. Clients get ids only and fetch what changed through the API,
 * which checks access as always.
 *
 * A stream is authenticated once, when it opens (api.stream_open). It is
 * closed when its credential stops being good: at its expiry (a sweep),
 * or when the database says so with a "revoke" event (logout, switching
 * organization, removal, token revoked; migration 014). When the LISTEN
 * connection drops, events could be missed, so every local stream is
 * closed and the clients reconnect and catch up; until it is back, new
 * streams are refused with 503.
 */
#include <libpq-fe.h>

#include <sodium.h>

#include "app.h"

#define STREAM_CHANNEL		"inbox_events"
#define STREAM_RETRY_MS		2000
#define STREAM_SWEEP_MS		5000
#define STREAM_CONNECT_MS	10000

static const char SQL_STREAM_OPEN[] =
    "SELECT status, body::text FROM api.stream_open($1, $2::jsonb, $3::jsonb)";
static const char SQL_LISTEN[] = "LISTEN " STREAM_CHANNEL;

/* What a stream is for; kore frees it with the connection. */
struct stream_client {
	char		org[37];
	char		cred[65];
	u_int64_t	expires;	/* ms, kore_time_ms(); 0 = never */
};

enum listener_state {
	LISTENER_IDLE,		/* waiting for the retry timer */
	LISTENER_CONNECTING,
	LISTENER_SUBSCRIBING,	/* LISTEN sent */
	LISTENER_READY
};

struct stream_listener {
	struct kore_event	 evt;	/* first: kore calls evt.handle */
	PGconn			*conn;
	int			 fd;
	enum listener_state	 state;
	u_int64_t		 since;	/* ms, when connecting began */
};

static struct stream_listener	listener = { .fd = -1 };

void		stream_connect(struct connection *);

static void	listener_start(void);
static void	listener_watch(int);
static void	listener_poll(void);
static void	listener_fail(const char *);
static void	listener_handle(void *, int);
static void	listener_retry(void *, u_int64_t);
static void	stream_sweep(void *, u_int64_t);
static void	stream_push(const char *);
static void	stream_close_all(const char *);
static int	stream_client_set(struct call *, json_t *);

/* Per worker, from init(): the LISTEN connection and the expiry sweep. */
void
stream_init(void)
{
	listener.evt.type = 0;
	listener.evt.flags = 0;
	listener.evt.handle = listener_handle;
	listener_start();
	kore_timer_add(stream_sweep, STREAM_SWEEP_MS, NULL, 0);
}

/*
 * Connects without blocking the worker: PQconnectStart, then
 * PQconnectPoll whenever the socket is ready, as libpq documents.
 */
static void
listener_start(void)
{
	listener.conn = PQconnectStart(app_config.database_url);
	if (listener.conn == NULL ||
	    PQstatus(listener.conn) == CONNECTION_BAD) {
		listener_fail("cannot start a connection");
		return;
	}
	listener.state = LISTENER_CONNECTING;
	listener.since = kore_time_ms();
	listener_poll();
}

/* Level-triggered reads on fd; libpq may change sockets while connecting. */
static void
listener_watch(int fd)
{
	if (listener.fd == fd)
		return;
	if (listener.fd != -1)
		kore_platform_disable_read(listener.fd);
	listener.fd = fd;
	if (fd != -1)
		kore_platform_event_level_read(fd, &listener);
}

/*
 * Moves the connection on as far as it can go without waiting. Writes
 * during connection set-up are a few hundred bytes to a fresh socket, so
 * a "wait until writable" is retried on the next sweep rather than
 * watched for.
 */
static void
listener_poll(void)
{
	PGresult	*res;
	int		 ok;

	if (listener.state == LISTENER_CONNECTING) {
		switch (PQconnectPoll(listener.conn)) {
		case PGRES_POLLING_FAILED:
			listener_fail(PQerrorMessage(listener.conn));
			return;
		case PGRES_POLLING_OK:
			if (PQsetnonblocking(listener.conn, 1) == -1 ||
			    !PQsendQuery(listener.conn, SQL_LISTEN)) {
				listener_fail(PQerrorMessage(listener.conn));
				return;
			}
			listener.state = LISTENER_SUBSCRIBING;
			break;
		default:
			break;
		}
		listener_watch(PQsocket(listener.conn));
		if (listener.state == LISTENER_CONNECTING)
			return;
	}

	if (listener.state == LISTENER_SUBSCRIBING) {
		if (PQflush(listener.conn) == -1) {
			listener_fail(PQerrorMessage(listener.conn));
			return;
		}
		if (PQisBusy(listener.conn))
			return;
		ok = 1;
		while ((res = PQgetResult(listener.conn)) != NULL) {
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				ok = 0;
			PQclear(res);
		}
		if (!ok) {
			listener_fail(PQerrorMessage(listener.conn));
			return;
		}
		listener.state = LISTENER_READY;
		kore_log(LOG_INFO, "stream: listening for live events");
	}
}

/* Drops the connection, and with it every local stream; retries later. */
static void
listener_fail(const char *why)
{
	int	was_ready = listener.state == LISTENER_READY;

	kore_log(LOG_WARNING, "stream: LISTEN connection lost: %s",
	    why != NULL && *why != '\0' ? why : "(no message)");
	listener_watch(-1);
	if (listener.conn != NULL) {
		PQfinish(listener.conn);
		listener.conn = NULL;
	}
	listener.state = LISTENER_IDLE;
	if (was_ready)
		stream_close_all(NULL);
	kore_timer_add(listener_retry, STREAM_RETRY_MS, NULL,
	    KORE_TIMER_ONESHOT);
}

static void
listener_retry(void *arg, u_int64_t now)
{
	(void)arg;
	(void)now;
	if (listener.state == LISTENER_IDLE)
		listener_start();
}

static void
listener_handle(void *arg, int error)
{
	PGnotify	*n;

	(void)arg;
	if (error) {
		listener_fail("socket error");
		return;
	}
	if (listener.state != LISTENER_READY) {
		if (listener.state == LISTENER_SUBSCRIBING &&
		    !PQconsumeInput(listener.conn)) {
			listener_fail(PQerrorMessage(listener.conn));
			return;
		}
		listener_poll();
		return;
	}
	if (!PQconsumeInput(listener.conn)) {
		listener_fail(PQerrorMessage(listener.conn));
		return;
	}
	while ((n = PQnotifies(listener.conn)) != NULL) {
		stream_push(n->extra);
		PQfreemem(n);
	}
}

/* One event to the streams it is for: its organization's, or a revoke. */
static void
stream_push(const char *payload)
{
	struct connection	*c;
	struct stream_client	*sc;
	json_t			*doc;
	const char		*org, *kind, *cred;
	size_t			 len = strlen(payload);

	if ((doc = json_loads(payload, 0, NULL)) == NULL)
		return;
	kind = json_string_value(json_object_get(doc, "kind"));
	if (kind != NULL && strcmp(kind, "revoke") == 0) {
		if ((cred = json_string_value(json_object_get(doc,
		    "credential"))) != NULL)
			stream_close_all(cred);
		goto cleanup;
	}
	if ((org = json_string_value(json_object_get(doc, "org_id"))) == NULL)
		goto cleanup;
	TAILQ_FOREACH(c, &connections, list) {
		if (c->proto != CONN_PROTO_WEBSOCKET ||
		    (sc = c->hdlr_extra) == NULL || strcmp(sc->org, org) != 0)
			continue;
		kore_websocket_send(c, WEBSOCKET_OP_TEXT, payload, len);
	}

cleanup:
	json_decref(doc);
}

/*
 * Closes the streams opened with credential cred, or all of them when
 * cred is NULL. kore_connection_disconnect moves a connection to
 * another list, so the next one is taken first.
 */
static void
stream_close_all(const char *cred)
{
	struct connection	*c, *next;
	struct stream_client	*sc;

	for (c = TAILQ_FIRST(&connections); c != NULL; c = next) {
		next = TAILQ_NEXT(c, list);
		if (c->proto != CONN_PROTO_WEBSOCKET ||
		    (sc = c->hdlr_extra) == NULL)
			continue;
		if (cred != NULL && (strlen(cred) != strlen(sc->cred) ||
		    sodium_memcmp(cred, sc->cred, strlen(cred)) != 0))
			continue;
		kore_connection_disconnect(c);
	}
}

/* Expired streams go; a connection attempt that hangs is given up. */
static void
stream_sweep(void *arg, u_int64_t now)
{
	struct connection	*c, *next;
	struct stream_client	*sc;

	(void)arg;
	for (c = TAILQ_FIRST(&connections); c != NULL; c = next) {
		next = TAILQ_NEXT(c, list);
		if (c->proto == CONN_PROTO_WEBSOCKET &&
		    (sc = c->hdlr_extra) != NULL && sc->expires != 0 &&
		    sc->expires <= now)
			kore_connection_disconnect(c);
	}
	if (listener.state == LISTENER_CONNECTING) {
		if (now - listener.since > STREAM_CONNECT_MS)
			listener_fail("connection timed out");
		else
			listener_poll();
	}
}

/* The stream's owner from api.stream_open's body onto the connection. */
static int
stream_client_set(struct call *c, json_t *body)
{
	struct stream_client	*sc;
	const char		*org, *cred;
	json_t			*exp;

	org = json_string_value(json_object_get(body, "org_id"));
	cred = json_string_value(json_object_get(body, "credential"));
	exp = json_object_get(body, "expires_in");
	if (org == NULL || cred == NULL || strlen(org) >= sizeof(sc->org) ||
	    strlen(cred) >= sizeof(sc->cred))
		return (-1);
	sc = kore_calloc(1, sizeof(*sc));
	kore_strlcpy(sc->org, org, sizeof(sc->org));
	kore_strlcpy(sc->cred, cred, sizeof(sc->cred));
	if (json_is_integer(exp))
		sc->expires = kore_time_ms() +
		    (u_int64_t)json_integer_value(exp) * 1000;
	/* A keep-alive connection may have tried before. */
	kore_free(c->req->owner->hdlr_extra);
	c->req->owner->hdlr_extra = sc;
	return (0);
}

int
h_stream(struct call *c)
{
	struct http_request	*req = c->req;
	const char		*origin, *upgrade, *key, *version;
	json_t			*body;
	int			 status;

	if (c->step == 0) {
		/* Cookies ride along cross-site; browsers always say whence. */
		if (http_request_header(req, "origin", &origin) &&
		    strcmp(origin, app_config.public_origin) != 0)
			return (reply_error(req, 403, "CROSS_ORIGIN",
			    "Cross-origin requests are not allowed", NULL));
		if (!http_request_header(req, "upgrade", &upgrade) ||
		    strcasecmp(upgrade, "websocket") != 0 ||
		    !http_request_header(req, "sec-websocket-key", &key) ||
		    !http_request_header(req, "sec-websocket-version",
		    &version) || strcmp(version, "13") != 0)
			return (reply_error(req, 426, "UPGRADE_REQUIRED",
			    "This endpoint is a websocket (version 13); open "
			    "it with Upgrade: websocket", NULL));
		if (listener.state != LISTENER_READY)
			return (reply_error(req, 503, "UNAVAILABLE",
			    "Live updates are unavailable for now; retry "
			    "shortly", NULL));
		return (call_query_api(c, SQL_STREAM_OPEN));
	}

	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	if (status != 200 || stream_client_set(c, body) == -1) {
		json_decref(body);
		kore_log(LOG_ERR, "stream: unexpected api.stream_open answer");
		return (reply_error(req, 500, "INTERNAL_ERROR",
		    "Something went wrong on our side", NULL));
	}
	json_decref(body);
	/* Client frames only keep kore's idle timer going: no callbacks. */
	kore_websocket_handshake(req, "stream_connect", NULL, NULL);
	return (CALL_DONE);
}

/* The first frame: which organization's events follow. */
void
stream_connect(struct connection *c)
{
	struct stream_client	*sc = c->hdlr_extra;
	char			 hello[96];
	int			 len;

	len = snprintf(hello, sizeof(hello),
	    "{\"kind\":\"hello\",\"org_id\":\"%s\"}", sc->org);
	kore_websocket_send(c, WEBSOCKET_OP_TEXT, hello, len);
}
