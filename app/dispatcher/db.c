/*
 * db.c: the dispatcher's one database connection.
 *
 * Statements are sent asynchronously (PQsendQueryParams) and their
 * results read when the event loop sees the socket readable, so a claim
 * or a report never holds up a send that is due: the loop keeps
 * starting transfers and collecting answers meanwhile. One statement
 * runs at a time. The same connection LISTENs on "outbox", so the loop
 * also wakes when the API queues something. Connecting is blocking
 * (connect_timeout in the URL bounds it) and happens only at start and
 * after the connection broke (PostgreSQL restarted, a network cut): the
 * loop then reconnects with backoff, and results waiting to be reported
 * are kept, including those of a report the break cut short.
 *
 * Every statement is a function of migrations/007, in a named constant,
 * and the role is the server's (inbox_app): no BYPASSRLS, the functions
 * set the tenant per channel themselves.
 */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "dispatcher.h"

/*
 * Claims and reports need not wait for the WAL to reach the disk: a
 * clean shutdown flushes it, and a crash of PostgreSQL loses at most the
 * last few hundred milliseconds of them, which then is like a dispatcher
 * killed mid-send (docs/dispatcher.md).
 */
static const char SQL_SESSION[] = "SET synchronous_commit = off";
static const char SQL_LISTEN[] = "LISTEN outbox";
static const char SQL_CLAIM[] = "SELECT api.outbox_claim($1, $2::jsonb)";
static const char SQL_REPORT[] =
    "SELECT api.outbox_report($1, $2::jsonb, $3::jsonb)";

/* A claim's lead: its round trip plus this, shrinking after a slow one
 * by at most this share of the time since (db_finish). */
#define LEAD_MARGIN_MS		5
#define LEAD_DECAY_PERCENT	2

/* The statement in flight, if any. */
static struct {
	int		 kind;		/* 0, DB_CLAIM or DB_REPORT */
	int64_t		 sent_ms;
	json_t		*batch;		/* a report's results (owned) */
	json_t		*doc;		/* its answer, parsed */
	int		 failed;
} stmt;

static PGconn	*conn;

static int	 db_exec(const char *);
static int	 db_send(int, const char *, int, const char **);
static void	 db_finish(struct jobq *, json_t *, struct db_done *);
static void	 db_result(PGresult *);
static void	 db_give_back(json_t *);
static int	 db_claim_lane(json_t *, struct jobq *, int64_t);

int
db_connected(void)
{
	return (conn != NULL);
}

int
db_idle(void)
{
	return (conn != NULL && stmt.kind == 0);
}

int
db_socket(void)
{
	return (conn != NULL ? PQsocket(conn) : -1);
}

/* Puts a cut-short report's results back in front of results. */
static void
db_give_back(json_t *results)
{
	if (stmt.batch != NULL) {
		json_array_extend(stmt.batch, results);
		json_array_clear(results);
		json_array_extend(results, stmt.batch);
		json_decref(stmt.batch);
	}
	json_decref(stmt.doc);
	memset(&stmt, 0, sizeof(stmt));
}

/* Closes the connection; a report in flight goes back into results. */
void
db_close(json_t *results)
{
	if (results != NULL)
		db_give_back(results);
	if (conn != NULL)
		PQfinish(conn);
	conn = NULL;
}

/* A statement of the session set-up; 0, or -1 (logged). */
static int
db_exec(const char *sql)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(conn, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		disp_log("database: %s: %s", sql, PQerrorMessage(conn));
	PQclear(res);
	return (ok ? 0 : -1);
}

/* Connects, sets the session up and LISTENs; 0, or -1 (logged). */
int
db_connect(void)
{
	if (conn != NULL)
		PQfinish(conn);
	conn = PQconnectdb(disp.database_url);
	if (PQstatus(conn) != CONNECTION_OK) {
		disp_log("database: %s", PQerrorMessage(conn));
		PQfinish(conn);
		conn = NULL;
		return (-1);
	}
	if (db_exec(SQL_SESSION) == -1 || db_exec(SQL_LISTEN) == -1) {
		PQfinish(conn);
		conn = NULL;
		return (-1);
	}
	disp_log("database: connected, listening");
	return (0);
}

/* Sends a statement; 0, or -1 (logged; a broken connection closed). */
static int
db_send(int kind, const char *sql, int n, const char **params)
{
	if (!db_idle())
		return (-1);
	if (!PQsendQueryParams(conn, sql, n, NULL, params, NULL, NULL, 0)) {
		disp_log("database: %s", PQerrorMessage(conn));
		if (PQstatus(conn) != CONNECTION_OK) {
			PQfinish(conn);
			conn = NULL;
		}
		return (-1);
	}
	stmt.kind = kind;
	stmt.sent_ms = disp_now_ms();
	return (0);
}

/* Claims up to max messages: the answer comes through db_read(). */
int
db_claim_start(long max)
{
	const char	*params[2];
	json_t		*opts;
	char		*o;
	int		 rc;

	opts = json_pack("{s:i, s:i, s:i, s:i, s:i, s:f}",
	    "max", (int)max, "horizon_ms", (int)disp.horizon_ms,
	    "lease_ms", (int)(disp.lead_ms + disp.http_timeout_ms +
	    disp.lease_ms), "max_attempts", (int)disp.max_attempts,
	    "max_age_s", (int)disp.max_age_s,
	    "rate_factor", disp.rate_factor);
	o = json_dumps(opts, JSON_COMPACT);
	json_decref(opts);
	if (o == NULL)
		return (-1);
	params[0] = disp.worker;
	params[1] = o;
	rc = db_send(DB_CLAIM, SQL_CLAIM, 2, params);
	free(o);
	return (rc);
}

/*
 * Reports every result in results, which is emptied: they are the
 * statement's until it is over, and come back if it fails.
 */
int
db_report_start(json_t *results)
{
	const char	*params[3];
	json_t		*opts;
	char		*r, *o;
	int		 rc;

	opts = json_pack("{s:i, s:i, s:i, s:i}",
	    "backoff_ms", (int)disp.backoff_ms,
	    "backoff_max_ms", (int)disp.backoff_max_ms,
	    "max_attempts", (int)disp.max_attempts,
	    "max_age_s", (int)disp.max_age_s);
	r = json_dumps(results, JSON_COMPACT);
	o = json_dumps(opts, JSON_COMPACT);
	json_decref(opts);
	rc = -1;
	if (r != NULL && o != NULL) {
		params[0] = disp.worker;
		params[1] = r;
		params[2] = o;
		rc = db_send(DB_REPORT, SQL_REPORT, 3, params);
	}
	free(r);
	free(o);
	if (rc == 0) {
		stmt.batch = json_array();
		json_array_extend(stmt.batch, results);
		json_array_clear(results);
	}
	return (rc);
}

/* One result of the statement in flight: its one value, as JSON. */
static void
db_result(PGresult *res)
{
	json_error_t	jerr;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		disp_log("database: %s: %s", stmt.kind == DB_CLAIM ? "claim" :
		    "report", PQresultErrorMessage(res));
		stmt.failed = 1;
		return;
	}
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		disp_log("database: unexpected result");
		stmt.failed = 1;
		return;
	}
	json_decref(stmt.doc);
	if ((stmt.doc = json_loads(PQgetvalue(res, 0, 0), 0, &jerr)) == NULL) {
		disp_log("database: bad JSON: %s", jerr.text);
		stmt.failed = 1;
	}
}

/* One claimed lane's messages into held jobs; how many. */
static int
db_claim_lane(json_t *l, struct jobq *held, int64_t base)
{
	struct lane	*lane;
	struct job	*j;
	const char	*adapter;
	json_t		*m;
	size_t		 i;
	int		 n = 0;

	if ((lane = calloc(1, sizeof(*lane))) == NULL)
		return (0);
	lane->claim = json_incref(l);
	snprintf(lane->org, sizeof(lane->org), "%s",
	    json_string_value(json_object_get(l, "org_id")));
	snprintf(lane->channel, sizeof(lane->channel), "%s",
	    json_string_value(json_object_get(l, "channel_id")));
	adapter = json_string_value(json_object_get(l, "adapter"));
	lane->plugin = plugin_find(disp_plugins, adapter ? adapter : "");
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
		j->due_ms = base + json_integer_value(json_object_get(m,
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
 * The statement is over: a claim's messages become held jobs, a
 * report's results are dropped (or given back when it failed).
 */
static void
db_finish(struct jobq *held, json_t *results, struct db_done *done)
{
	static int64_t	 last_lead, last_at;
	json_t		*l, *nx;
	size_t		 i;
	int64_t		 base, lead, now;

	done->kind = stmt.kind;
	done->ok = !stmt.failed && stmt.doc != NULL;
	done->claimed = 0;
	done->next_ms = -1;
	if (done->ok && stmt.kind == DB_CLAIM) {
		/*
		 * Slots count from when the claim was sent, as the
		 * database's count from when it started, plus a lead that
		 * covers the claim's round trip: a slot already past on
		 * arrival would start late while the next one starts on
		 * time, closer to it than the channel's pacing allows. After
		 * a slow claim (a cold start, a busy database) the lead
		 * shrinks back slowly, by LEAD_DECAY_PERCENT of the time
		 * that passed, for the same reason: sends then come that
		 * much closer together, well inside the pacing's headroom
		 * (DISPATCH_RATE_PERCENT).
		 */
		now = disp_now_ms();
		lead = now - stmt.sent_ms + LEAD_MARGIN_MS;
		if (lead < disp.lead_ms)
			lead = disp.lead_ms;
		if (lead < last_lead - (now - last_at) * LEAD_DECAY_PERCENT /
		    100)
			lead = last_lead - (now - last_at) *
			    LEAD_DECAY_PERCENT / 100;
		last_lead = lead;
		last_at = now;
		base = stmt.sent_ms + lead;
		disp_debug("claim answered in %lld ms, lead %lld ms",
		    (long long)(now - stmt.sent_ms), (long long)lead);
		json_array_foreach(json_object_get(stmt.doc, "lanes"), i, l)
			done->claimed += db_claim_lane(l, held, base);
		nx = json_object_get(stmt.doc, "next_ms");
		done->next_ms = json_is_integer(nx) ?
		    (long)json_integer_value(nx) : -1;
	}
	if (done->ok && stmt.kind == DB_REPORT) {
		disp_debug("reported %zu in %lld ms", json_array_size(
		    stmt.batch), (long long)(disp_now_ms() - stmt.sent_ms));
		json_decref(stmt.batch);
		stmt.batch = NULL;
	}
	db_give_back(results);
}

/*
 * Reads what the socket has. Returns 1 when a NOTIFY came, 0 if not,
 * -1 when the connection broke (closed; a report in flight given back).
 * done->kind is set when a statement finished.
 */
int
db_read(struct jobq *held, json_t *results, struct db_done *done)
{
	PGnotify	*n;
	PGresult	*res;
	int		 got = 0;

	done->kind = 0;
	if (conn == NULL)
		return (-1);
	if (!PQconsumeInput(conn) || PQstatus(conn) != CONNECTION_OK) {
		disp_log("database: connection lost: %s", PQerrorMessage(conn));
		db_close(results);
		return (-1);
	}
	while (stmt.kind != 0 && !PQisBusy(conn)) {
		if ((res = PQgetResult(conn)) == NULL) {
			db_finish(held, results, done);
			break;
		}
		db_result(res);
		PQclear(res);
	}
	while ((n = PQnotifies(conn)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	return (got);
}
