/*
 * stream.c: GET /api/v1/stream, the live websocket, and the LISTEN
 * connection that feeds it.
 *
 * Ingestion, sending and the inbox API raise NOTIFY "inbox_events" with
 * an organization and ids (migrations 004, 007, 009). A worker with
 * streams keeps one libpq connection LISTENing, watched by kore's own
 * event loop, and pushes every event to its own sockets of that
 * organization: several kore nodes on one database all deliver, and no
 * worker relays to another. Clients get ids only and fetch what changed
 * through the API, which checks access as always.
 *
 * The LISTEN connection exists only while it is needed: every event
 * wakes every worker that LISTENs, microseconds of CPU each time
 * (docs/performance.md), for nothing when it has no stream. The first
 * stream opening on a worker starts it, and waits (its request asleep)
 * until LISTEN is in place before it is even authenticated, so that
 * nothing committed after its hello, from which the client catches up
 * through the API, can be missed. When the last stream is gone the
 * connection is kept for STREAM_LINGER_MS (app/config.c; a page
 * reloading, a client reconnecting), then closed.
 *
 * A stream is authenticated once, when it opens (api.stream_open). It is
 * closed when its credential stops being good: at its expiry (a sweep),
 * or when the database says so with a "revoke" event (logout, switching
 * organization, removal, token revoked; migrations 014, 018). When the
 * LISTEN connection drops, events could be missed, so every local stream
 * is closed and the clients reconnect and catch up; streams waiting for
 * it are refused with 503, and so are new ones for STREAM_RETRY_MS.
 */
#include <libpq-fe.h>

#include <sodium.h>

#include "app.h"

#define STREAM_CHANNEL		"inbox_events"
/* After a loss, how long new streams are refused before a new try. */
#define STREAM_RETRY_MS		2000
#define STREAM_SWEEP_MS		5000
#define STREAM_CONNECT_MS	10000
/* Revokes remembered for streams still opening (see stream_revoked). */
#define STREAM_REVOKES		128
/* Unsent bytes a client may let pile up before it is dropped. */
#define STREAM_BACKLOG_MAX	(256 * 1024)

static const char SQL_STREAM_OPEN[] =
    "SELECT status, body::text FROM api.stream_open($1, $2::jsonb, $3::jsonb)";
static const char SQL_LISTEN[] = "LISTEN " STREAM_CHANNEL;

/*
 * What a stream is for, on its connection from the moment it asks to
 * open (kore frees it with the connection).
 */
struct stream_client {
	char		org[37];
	char		cred[65];
	u_int64_t	expires;	/* ms, kore_time_ms(); 0 = never */
	u_int64_t	revokes_seen;	/* revokes_heard when api.stream_open
					   was sent */
	u_int32_t	generation;	/* of the LISTEN connection then */
};

/*
 * A stream's request while it opens, in c->task_arg (stream_req_free,
 * with the request). When the client goes, kore frees its connection
 * first and the request on a later pass, so what the list of requests
 * waiting for LISTEN points at lives with the request.
 */
struct stream_req {
	struct http_request		*req;
	int				 waiting;	/* in stream_waiters */
	int				 asked;		/* api.stream_open sent */
	TAILQ_ENTRY(stream_req)		 list;
};

enum listener_state {
	LISTENER_IDLE,		/* no connection */
	LISTENER_CONNECTING,
	LISTENER_SUBSCRIBING,	/* LISTEN sent */
	LISTENER_READY
};

struct stream_listener {
	struct kore_event	 evt;	/* first: kore calls evt.handle */
	PGconn			*conn;
	int			 fd;	/* the socket kore watches, or -1 */
	enum listener_state	 state;
	u_int64_t		 since;	/* ms, when connecting began */
	u_int64_t		 retry_at;	/* ms, no new try before */
	u_int64_t		 unused_since;	/* ms, when the last stream went */
	int			 linger_armed;	/* listener_linger pending */
	u_int32_t		 generation;	/* bumped by every close */
};

/* A credential the database revoked. */
struct stream_revoke {
	char		cred[65];
};

static struct stream_listener	listener = { .fd = -1 };
/* The last revokes heard, the n-th in revokes[n % STREAM_REVOKES]. */
static struct stream_revoke	revokes[STREAM_REVOKES];
static u_int64_t		revokes_heard;
/* Streams open in this worker, and those between request and answer. */
static u_int32_t		stream_clients;
static u_int32_t		stream_opening;
/* Opening streams asleep until the LISTEN connection is ready or lost. */
static TAILQ_HEAD(, stream_req)	stream_waiters =
    TAILQ_HEAD_INITIALIZER(stream_waiters);

void		stream_connect(struct connection *);
void		stream_disconnect(struct connection *);

static void	listener_start(void);
static void	listener_watch(int);
static void	listener_unwatch(void);
static void	listener_poll(void);
static void	listener_close(void);
static void	listener_fail(const char *);
static void	listener_handle(void *, int);
static void	listener_release(void);
static void	listener_linger(void *, u_int64_t);
static void	stream_wake_waiters(void);
static void	stream_sweep(void *, u_int64_t);
static void	stream_push(const char *);
static void	stream_send(struct connection *, const char *, size_t);
static void	stream_close_all(const char *);
static void	stream_revoke_note(const char *);
static int	stream_revoked(const char *, u_int64_t);
static int	stream_cred_eq(const char *, const char *);
static int	stream_client_set(struct stream_client *, json_t *);
static int	stream_unavailable(struct http_request *);
static int	stream_start(struct call *);
static int	stream_ask(struct call *, struct stream_req *);
static int	stream_answer(struct call *);
static void	stream_req_free(void *);

/*
 * Per worker, from init(): the expiry sweep. The LISTEN connection
 * waits for the first stream.
 */
void
stream_init(void)
{
	listener.evt.type = 0;
	listener.evt.flags = 0;
	listener.evt.handle = listener_handle;
	kore_timer_add(stream_sweep, STREAM_SWEEP_MS, NULL, 0);
}

/*
 * Connects without blocking the worker: PQconnectStart, then
 * PQconnectPoll whenever the socket is ready the way libpq asked, as
 * libpq documents (TLS and several hosts take several rounds).
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

/*
 * Has kore watch libpq's current socket, for writing too while libpq
 * waits to write. Called after every step libpq takes: while connecting
 * it may close its socket and open another, often under the same number,
 * which epoll forgot with the close; kore's ADD-or-MOD covers both.
 */
static void
listener_watch(int writing)
{
	listener.fd = PQsocket(listener.conn);
	if (listener.fd == -1)
		return;
	if (writing)
		kore_platform_event_level_all(listener.fd, &listener);
	else
		kore_platform_event_level_read(listener.fd, &listener);
}

/*
 * Takes the socket out of kore's set, unless libpq already closed it
 * (the kernel dropped it then, and kore would fail to delete it).
 */
static void
listener_unwatch(void)
{
	if (listener.fd != -1 && listener.conn != NULL &&
	    PQsocket(listener.conn) == listener.fd)
		kore_platform_disable_read(listener.fd);
	listener.fd = -1;
}

/* Moves the connection on as far as it can go without waiting. */
static void
listener_poll(void)
{
	PostgresPollingStatusType	 ps;
	PGresult			*res;
	int				 rc, ok;

	if (listener.state == LISTENER_CONNECTING) {
		ps = PQconnectPoll(listener.conn);
		listener_watch(ps == PGRES_POLLING_WRITING);
		if (ps == PGRES_POLLING_FAILED) {
			listener_fail(PQerrorMessage(listener.conn));
			return;
		}
		if (ps != PGRES_POLLING_OK)
			return;
		if (PQsetnonblocking(listener.conn, 1) == -1 ||
		    !PQsendQuery(listener.conn, SQL_LISTEN)) {
			listener_fail(PQerrorMessage(listener.conn));
			return;
		}
		listener.state = LISTENER_SUBSCRIBING;
	}

	if (listener.state == LISTENER_SUBSCRIBING) {
		if ((rc = PQflush(listener.conn)) == -1 ||
		    !PQconsumeInput(listener.conn)) {
			listener_fail(PQerrorMessage(listener.conn));
			return;
		}
		listener_watch(rc == 1);
		if (rc == 1 || PQisBusy(listener.conn))
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
		/*
		 * LISTEN has committed: anything committed from now on is
		 * heard, so the streams waiting for it may be authenticated.
		 */
		listener.state = LISTENER_READY;
		kore_log(LOG_INFO, "stream: listening for live events");
		stream_wake_waiters();
	}
}

/*
 * Drops the connection, and with it every local stream (events may be
 * missed from now on; the clients reconnect and catch up), and every
 * stream still opening or waiting for it (the generation moves on).
 */
static void
listener_close(void)
{
	listener_unwatch();
	if (listener.conn != NULL) {
		PQfinish(listener.conn);
		listener.conn = NULL;
	}
	if (listener.state == LISTENER_READY)
		stream_close_all(NULL);
	listener.state = LISTENER_IDLE;
	listener.generation++;
	stream_wake_waiters();
}

/*
 * A lost connection: new streams are refused for a while rather than
 * retrying at once against a database that may be down. Nothing retries
 * by itself: the next stream to open after that starts a connection.
 */
static void
listener_fail(const char *why)
{
	kore_log(LOG_WARNING, "stream: LISTEN connection lost: %s",
	    why != NULL && *why != '\0' ? why : "(no message)");
	listener_close();
	listener.retry_at = kore_time_ms() + STREAM_RETRY_MS;
}

/*
 * Called whenever a stream, open or opening, goes: once none is left,
 * the connection lingers for app_config.stream_linger_ms, then closes.
 */
static void
listener_release(void)
{
	if (stream_clients != 0 || stream_opening != 0 ||
	    listener.state == LISTENER_IDLE)
		return;
	listener.unused_since = kore_time_ms();
	if (!listener.linger_armed) {
		listener.linger_armed = 1;
		kore_timer_add(listener_linger, app_config.stream_linger_ms,
		    NULL, KORE_TIMER_ONESHOT);
	}
}

/*
 * The linger timer: a stream that came and went meanwhile moved
 * unused_since on, so the timer is set again for what is left.
 */
static void
listener_linger(void *arg, u_int64_t unused)
{
	u_int64_t	now = kore_time_ms(), idle;

	(void)arg;
	(void)unused;
	listener.linger_armed = 0;
	if (stream_clients != 0 || stream_opening != 0 ||
	    listener.state == LISTENER_IDLE)
		return;
	idle = now - listener.unused_since;
	if (idle < app_config.stream_linger_ms) {
		listener.linger_armed = 1;
		kore_timer_add(listener_linger,
		    app_config.stream_linger_ms - idle, NULL,
		    KORE_TIMER_ONESHOT);
		return;
	}
	kore_log(LOG_INFO, "stream: no streams for %llu ms, LISTEN closed",
	    (unsigned long long)idle);
	listener_close();
}

/*
 * Wakes every stream waiting for the connection: it has become ready,
 * or it is gone (and the generation they saw with it).
 */
static void
stream_wake_waiters(void)
{
	struct stream_req	*sr;

	while ((sr = TAILQ_FIRST(&stream_waiters)) != NULL) {
		TAILQ_REMOVE(&stream_waiters, sr, list);
		sr->waiting = 0;
		http_request_wakeup(sr->req);
	}
}

/*
 * While connecting, an error on the socket is libpq's to handle (it may
 * try the next host), so it is only told to poll.
 */
static void
listener_handle(void *arg, int error)
{
	PGnotify	*n;

	(void)arg;
	if (listener.state == LISTENER_IDLE)
		return;
	if (listener.state != LISTENER_READY) {
		listener_poll();
		return;
	}
	if (error || !PQconsumeInput(listener.conn)) {
		listener_fail(error ? "socket error" :
		    PQerrorMessage(listener.conn));
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
	struct connection	*c, *next;
	struct stream_client	*sc;
	json_t			*doc;
	const char		*org, *kind, *cred;
	size_t			 len = strlen(payload);

	/*
	 * While the connection lingers there is nobody to tell, nor any
	 * stream opening that a revoke could concern.
	 */
	if (stream_clients == 0 && stream_opening == 0)
		return;
	if ((doc = json_loads(payload, 0, NULL)) == NULL)
		return;
	kind = json_string_value(json_object_get(doc, "kind"));
	if (kind != NULL && strcmp(kind, "revoke") == 0) {
		if ((cred = json_string_value(json_object_get(doc,
		    "credential"))) != NULL) {
			stream_revoke_note(cred);
			stream_close_all(cred);
		}
		goto cleanup;
	}
	if ((org = json_string_value(json_object_get(doc, "org_id"))) == NULL)
		goto cleanup;
	for (c = TAILQ_FIRST(&connections); c != NULL; c = next) {
		next = TAILQ_NEXT(c, list);
		if (c->proto != CONN_PROTO_WEBSOCKET ||
		    (sc = c->hdlr_extra) == NULL || strcmp(sc->org, org) != 0)
			continue;
		stream_send(c, payload, len);
	}

cleanup:
	json_decref(doc);
}

/*
 * Queues a frame, unless the client has stopped reading: kore would
 * keep every unsent frame in memory, so a client this far behind is
 * dropped instead, and catches up when it reconnects.
 */
static void
stream_send(struct connection *c, const char *payload, size_t len)
{
	struct netbuf	*nb;
	size_t		 unsent = 0;

	TAILQ_FOREACH(nb, &c->send_queue, list)
		unsent += nb->b_len - nb->s_off;
	if (unsent + len > STREAM_BACKLOG_MAX) {
		kore_connection_disconnect(c);
		return;
	}
	kore_websocket_send(c, WEBSOCKET_OP_TEXT, payload, len);
}

static int
stream_cred_eq(const char *a, const char *b)
{
	size_t	len = strlen(a);

	return (len == strlen(b) && sodium_memcmp(a, b, len) == 0);
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
		if (cred != NULL && !stream_cred_eq(cred, sc->cred))
			continue;
		kore_connection_disconnect(c);
	}
}

/*
 * A revoke can reach this worker while api.stream_open, which still saw
 * the credential as good, is on its way back: kept for a while so that
 * stream is refused at its handshake. Counted rather than timed: the
 * event loop hears revokes and sends queries in one order, and a revoke
 * heard before the query was sent was committed before its snapshot (the
 * query refuses the credential itself).
 */
static void
stream_revoke_note(const char *cred)
{
	struct stream_revoke	*r = &revokes[revokes_heard % STREAM_REVOKES];

	kore_strlcpy(r->cred, cred, sizeof(r->cred));
	revokes_heard++;
}

/*
 * Whether cred was revoked since revokes_heard was seen; so many
 * revokes since then that the ring forgot some count as cred's.
 */
static int
stream_revoked(const char *cred, u_int64_t seen)
{
	u_int64_t	n;

	if (revokes_heard - seen > STREAM_REVOKES)
		return (1);
	for (n = seen; n < revokes_heard; n++) {
		if (stream_cred_eq(cred, revokes[n % STREAM_REVOKES].cred))
			return (1);
	}
	return (0);
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
	if ((listener.state == LISTENER_CONNECTING ||
	    listener.state == LISTENER_SUBSCRIBING) &&
	    now - listener.since > STREAM_CONNECT_MS)
		listener_fail("connection timed out");
}

/* The stream's owner from api.stream_open's body; -1 if malformed. */
static int
stream_client_set(struct stream_client *sc, json_t *body)
{
	const char	*org, *cred;
	json_t		*exp;

	org = json_string_value(json_object_get(body, "org_id"));
	cred = json_string_value(json_object_get(body, "credential"));
	exp = json_object_get(body, "expires_in");
	if (org == NULL || cred == NULL || strlen(org) >= sizeof(sc->org) ||
	    strlen(cred) >= sizeof(sc->cred))
		return (-1);
	kore_strlcpy(sc->org, org, sizeof(sc->org));
	kore_strlcpy(sc->cred, cred, sizeof(sc->cred));
	if (json_is_integer(exp))
		sc->expires = kore_time_ms() +
		    (u_int64_t)json_integer_value(exp) * 1000;
	return (0);
}

static int
stream_unavailable(struct http_request *req)
{
	return (reply_error(req, 503, "UNAVAILABLE",
	    "Live updates are unavailable for now; retry shortly", NULL));
}

int
h_stream(struct call *c)
{
	struct stream_req	*sr = c->task_arg;

	if (c->step == 0)
		return (stream_start(c));
	if (sr->waiting) {
		http_request_sleep(c->req);
		return (CALL_WAIT);
	}
	if (!sr->asked)
		return (stream_ask(c, sr));
	return (stream_answer(c));
}

/*
 * A stream asks to open: authenticated at once if this worker LISTENs,
 * otherwise once it does (the connection started if it is not already
 * on its way), asleep until then.
 */
static int
stream_start(struct call *c)
{
	struct http_request	*req = c->req;
	struct stream_client	*sc;
	struct stream_req	*sr;
	const char		*origin, *upgrade, *key, *version;

	/* Cookies ride along cross-site; browsers always say whence. */
	if (http_request_header(req, "origin", &origin) &&
	    strcmp(origin, app_config.public_origin) != 0)
		return (reply_error(req, 403, "CROSS_ORIGIN",
		    "Cross-origin requests are not allowed", NULL));
	if (!http_request_header(req, "upgrade", &upgrade) ||
	    strcasecmp(upgrade, "websocket") != 0 ||
	    !http_request_header(req, "sec-websocket-key", &key) ||
	    !http_request_header(req, "sec-websocket-version", &version) ||
	    strcmp(version, "13") != 0)
		return (reply_error(req, 426, "UPGRADE_REQUIRED",
		    "This endpoint is a websocket (version 13); open "
		    "it with Upgrade: websocket", NULL));
	if (listener.state == LISTENER_IDLE &&
	    kore_time_ms() < listener.retry_at)
		return (stream_unavailable(req));

	/* Counted from here, so that the connection is kept for it. */
	sr = kore_calloc(1, sizeof(*sr));
	sr->req = req;
	c->task_arg = sr;
	c->task_free = stream_req_free;
	stream_opening++;
	/* On the connection already: the request is freed first. */
	sc = kore_calloc(1, sizeof(*sc));
	sc->generation = listener.generation;
	kore_free(req->owner->hdlr_extra);
	req->owner->hdlr_extra = sc;

	/* A failure to start moves the generation on: refused below. */
	if (listener.state == LISTENER_IDLE)
		listener_start();
	if (listener.state == LISTENER_READY ||
	    listener.state == LISTENER_IDLE)
		return (stream_ask(c, sr));
	sr->waiting = 1;
	TAILQ_INSERT_TAIL(&stream_waiters, sr, list);
	http_request_sleep(req);
	return (CALL_WAIT);
}

/*
 * Sends api.stream_open, only once LISTEN is in place and has been
 * since the stream asked: whatever is committed after the query's
 * snapshot, a revoke included, is then heard by this worker.
 */
static int
stream_ask(struct call *c, struct stream_req *sr)
{
	struct stream_client	*sc = c->req->owner->hdlr_extra;

	if (listener.state != LISTENER_READY ||
	    sc->generation != listener.generation)
		return (stream_unavailable(c->req));
	sc->revokes_seen = revokes_heard;
	sr->asked = 1;
	return (call_query_api(c, SQL_STREAM_OPEN));
}

static int
stream_answer(struct call *c)
{
	struct http_request	*req = c->req;
	struct stream_client	*sc;
	json_t			*body;
	int			 status, bad;

	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	sc = req->owner->hdlr_extra;
	bad = status != 200 || stream_client_set(sc, body) == -1;
	json_decref(body);
	if (bad) {
		kore_log(LOG_ERR, "stream: unexpected api.stream_open answer");
		return (reply_error(req, 500, "INTERNAL_ERROR",
		    "Something went wrong on our side", NULL));
	}
	/*
	 * Events raised while the answer was on its way would be missed if
	 * the LISTEN connection dropped meanwhile, and a revoke that came
	 * first would have found no stream to close.
	 */
	if (listener.state != LISTENER_READY ||
	    sc->generation != listener.generation ||
	    stream_revoked(sc->cred, sc->revokes_seen))
		return (stream_unavailable(req));
	/* Client frames only keep kore's idle timer going: no callbacks. */
	kore_websocket_handshake(req, "stream_connect", NULL,
	    "stream_disconnect");
	return (CALL_DONE);
}

/*
 * The opening request is over (answered, upgraded, or its client gone):
 * an upgraded one is counted in stream_clients already.
 */
static void
stream_req_free(void *arg)
{
	struct stream_req	*sr = arg;

	if (sr->waiting)
		TAILQ_REMOVE(&stream_waiters, sr, list);
	kore_free(sr);
	stream_opening--;
	listener_release();
}

/* The first frame: which organization's events follow. */
void
stream_connect(struct connection *c)
{
	struct stream_client	*sc = c->hdlr_extra;
	char			 hello[96];
	int			 len;

	stream_clients++;
	len = snprintf(hello, sizeof(hello),
	    "{\"kind\":\"hello\",\"org_id\":\"%s\"}", sc->org);
	kore_websocket_send(c, WEBSOCKET_OP_TEXT, hello, len);
}

void
stream_disconnect(struct connection *c)
{
	(void)c;
	stream_clients--;
	listener_release();
}
