/*
 * db.c: the dispatcher's one database connection.
 *
 * Plain blocking libpq: the dispatcher is not kore, and each of its
 * statements is short (a claim or a report of a batch). The same
 * connection LISTENs on "outbox", so the event loop polls its socket
 * beside curl's and wakes when the API queues something. When the
 * connection breaks (PostgreSQL restarted, a network cut) it is closed
 * and the loop reconnects with backoff; results waiting to be reported
 * are kept meanwhile, and claiming resumes once they are in.
 *
 * Every statement is a function of migrations/007, in a named constant,
 * and the role is the server's (inbox_app): no BYPASSRLS, the functions
 * set the tenant per channel themselves.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dispatcher.h"

static const char SQL_LISTEN[] = "LISTEN outbox";
static const char SQL_CLAIM[] = "SELECT api.outbox_claim($1, $2::jsonb)";
static const char SQL_REPORT[] =
    "SELECT api.outbox_report($1, $2::jsonb, $3::jsonb)";

static PGconn	*conn;

static int	 db_failed(PGresult *, const char *);
static json_t	*db_json(const char *, int, const char **);
static int	 db_claim_lane(json_t *, struct jobq *, int64_t);

int
db_connected(void)
{
	return (conn != NULL);
}

int
db_socket(void)
{
	return (conn != NULL ? PQsocket(conn) : -1);
}

void
db_close(void)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
}

/* Connects and LISTENs; 0, or -1 with the reason logged. */
int
db_connect(void)
{
	PGresult	*res;

	db_close();
	conn = PQconnectdb(disp.database_url);
	if (PQstatus(conn) != CONNECTION_OK) {
		disp_log("database: %s", PQerrorMessage(conn));
		db_close();
		return (-1);
	}
	res = PQexec(conn, SQL_LISTEN);
	if (db_failed(res, "listen"))
		return (-1);
	PQclear(res);
	disp_log("database: connected, listening");
	return (0);
}

/*
 * Whether res is a failure (then logged and cleared). A broken
 * connection is closed, so the loop reconnects.
 */
static int
db_failed(PGresult *res, const char *what)
{
	ExecStatusType	st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return (0);
	disp_log("database: %s: %s", what, conn != NULL ?
	    PQerrorMessage(conn) : "no connection");
	PQclear(res);
	if (conn != NULL && PQstatus(conn) != CONNECTION_OK)
		db_close();
	return (1);
}

/* Runs sql with text params; row 0 column 0 parsed as JSON (owned). */
static json_t *
db_json(const char *sql, int n, const char **params)
{
	json_error_t	 jerr;
	PGresult	*res;
	json_t		*doc;

	if (conn == NULL)
		return (NULL);
	res = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
	if (db_failed(res, sql == SQL_CLAIM ? "claim" : "report"))
		return (NULL);
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		disp_log("database: unexpected result");
		return (NULL);
	}
	doc = json_loads(PQgetvalue(res, 0, 0), 0, &jerr);
	PQclear(res);
	if (doc == NULL)
		disp_log("database: bad JSON: %s", jerr.text);
	return (doc);
}

/* Reads the socket; 1 when a NOTIFY arrived, 0 if not, -1 if broken. */
int
db_consume(void)
{
	PGnotify	*n;
	int		 got = 0;

	if (conn == NULL)
		return (-1);
	if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
		disp_log("database: connection lost: %s", PQerrorMessage(conn));
		db_close();
		return (-1);
	}
	while ((n = PQnotifies(conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return (got);
}

/* One claimed lane's messages into held jobs; how many. */
static int
db_claim_lane(json_t *l, struct jobq *held, int64_t now)
{
	struct lane	*lane;
	struct job	*j;
	json_t		*m;
	size_t		 i;
	int		 n = 0;

	lane = calloc(1, sizeof(*lane));
	if (lane == NULL)
		return (0);
	lane->claim = json_incref(l);
	snprintf(lane->org, sizeof(lane->org), "%s",
	    json_string_value(json_object_get(l, "org_id")));
	snprintf(lane->channel, sizeof(lane->channel), "%s",
	    json_string_value(json_object_get(l, "channel_id")));
	lane->plugin = plugin_find(disp_plugins,
	    json_string_value(json_object_get(l, "adapter")) ?
	    json_string_value(json_object_get(l, "adapter")) : "");
	lane->refs = 1;
	json_array_foreach(json_object_get(l, "messages"), i, m) {
		if ((j = calloc(1, sizeof(*j))) == NULL)
			break;
		j->state = JOB_HELD;
		j->lane = lane;
		lane->refs++;
		snprintf(j->message_id, sizeof(j->message_id), "%s",
		    json_string_value(json_object_get(m, "message_id")));
		j->attempt = json_integer_value(json_object_get(m, "attempt"));
		j->due_ms = now + json_integer_value(json_object_get(m,
		    "delay_ms"));
		j->payload = json_dumps(json_object_get(m, "payload"),
		    JSON_COMPACT);
		TAILQ_INSERT_TAIL(held, j, entry);
		n++;
	}
	lane_release(lane);
	return (n);
}

/*
 * Claims up to max messages. Each becomes a held job with its due time;
 * *next_ms is when a lane next has work (-1: none known). Returns how
 * many were claimed, or -1 if the claim failed.
 */
int
db_claim(long max, struct jobq *held, long *next_ms)
{
	const char	*params[2];
	json_t		*doc, *opts, *l, *nx;
	char		*o;
	size_t		 i;
	int		 n = 0;
	int64_t		 now;

	opts = json_pack("{s:i, s:i, s:i, s:i, s:i, s:f}",
	    "max", (int)max, "horizon_ms", (int)disp.horizon_ms,
	    "lease_ms", (int)(disp.http_timeout_ms + disp.lease_ms),
	    "max_attempts", (int)disp.max_attempts,
	    "max_age_s", (int)disp.max_age_s,
	    "rate_factor", disp.rate_factor);
	o = json_dumps(opts, JSON_COMPACT);
	json_decref(opts);
	if (o == NULL)
		return (-1);
	params[0] = disp.worker;
	params[1] = o;
	doc = db_json(SQL_CLAIM, 2, params);
	free(o);
	if (doc == NULL)
		return (-1);
	now = disp_now_ms();
	json_array_foreach(json_object_get(doc, "lanes"), i, l)
		n += db_claim_lane(l, held, now);
	nx = json_object_get(doc, "next_ms");
	*next_ms = json_is_integer(nx) ? (long)json_integer_value(nx) : -1;
	json_decref(doc);
	return (n);
}

/* Reports the results in the array; emptied when they are recorded. */
int
db_report(json_t *results)
{
	const char	*params[3];
	json_t		*doc, *opts;
	char		*r, *o;

	if (json_array_size(results) == 0)
		return (0);
	opts = json_pack("{s:i, s:i, s:i, s:i}",
	    "backoff_ms", (int)disp.backoff_ms,
	    "backoff_max_ms", (int)disp.backoff_max_ms,
	    "max_attempts", (int)disp.max_attempts,
	    "max_age_s", (int)disp.max_age_s);
	r = json_dumps(results, JSON_COMPACT);
	o = json_dumps(opts, JSON_COMPACT);
	json_decref(opts);
	if (r == NULL || o == NULL) {
		free(r);
		free(o);
		return (-1);
	}
	params[0] = disp.worker;
	params[1] = r;
	params[2] = o;
	doc = db_json(SQL_REPORT, 3, params);
	free(r);
	free(o);
	if (doc == NULL)
		return (-1);
	if (disp.verbose) {
		r = json_dumps(doc, JSON_COMPACT);
		disp_debug("reported %zu: %s", json_array_size(results),
		    r ? r : "?");
		free(r);
	}
	json_decref(doc);
	json_array_clear(results);
	return (0);
}
