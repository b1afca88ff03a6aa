/*
 * call.c: one API request as a resumable state machine.
 *
 * Kore calls the page handler again each time something the request
 * sleeps on changes (a pgsql result, a task finishing). A route's handler
 * is written as steps: it starts at most one asynchronous operation per
 * step and returns CALL_WAIT, and is called back, with c->step advanced,
 * once that operation is over. Database work goes through kore's async
 * pool, one statement per step (see ARCHITECTURE.md on why no BEGIN);
 * slow CPU work (password hashing) goes to a task thread.
 */
#include <stdarg.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "app.h"

#define CALL_MAX_PARAMS		4

/* Per-call query in flight: kept until the pool gives us a connection. */
struct call_query {
	const char	*sql;
	int		 nparams;
	char		*params[CALL_MAX_PARAMS];
	int		 sent;
};

static struct call_query *call_pending(struct call *);
static void	call_result_clear(struct call_result *);
static void	call_error_clear(struct call *);
static int	call_sql_poll(struct call *);
static int	call_sql_send(struct call *);
static void	call_sql_error(struct call *);
static char	*call_strdup_or_null(const char *);

static void	call_sql_release(struct call *);

static struct call_query *
call_pending(struct call *c)
{
	return (c->query);
}

/* Gives the connection back and forgets the query. */
static void
call_sql_release(struct call *c)
{
	struct call_query	*q = c->query;
	int			 i;

	if (!c->sql_active)
		return;
	kore_pgsql_cleanup(&c->sql);
	if (q != NULL) {
		for (i = 0; i < q->nparams; i++)
			kore_free(q->params[i]);
		kore_free(q);
	}
	c->query = NULL;
	c->sql_active = 0;
}

static char *
call_strdup_or_null(const char *s)
{
	return (s == NULL ? NULL : kore_strdup(s));
}

static void
call_result_clear(struct call_result *r)
{
	int	i;

	for (i = 0; i < r->ntuples * r->nfields; i++)
		kore_free(r->values[i]);
	kore_free(r->values);
	memset(r, 0, sizeof(*r));
}

static void
call_error_clear(struct call *c)
{
	kore_free(c->sqlstate);
	kore_free(c->errmsg);
	kore_free(c->errcode);
	kore_free(c->errhint);
	c->sqlstate = c->errmsg = c->errcode = c->errhint = NULL;
}

/*
 * Queues sql with n text parameters (copied). The query is sent once the
 * pool has a connection for us, which may be on a later wake-up.
 */
int
call_query(struct call *c, const char *sql, int n, ...)
{
	struct call_query	*q;
	va_list			 ap;
	int			 i;

	if (n > CALL_MAX_PARAMS)
		fatal("call_query: %d parameters", n);
	call_sql_release(c);
	call_result_clear(&c->res);
	call_error_clear(c);

	q = kore_calloc(1, sizeof(*q));
	q->sql = sql;
	q->nparams = n;
	va_start(ap, n);
	for (i = 0; i < n; i++)
		q->params[i] = call_strdup_or_null(va_arg(ap, const char *));
	va_end(ap);

	kore_pgsql_init(&c->sql);
	kore_pgsql_bind_request(&c->sql, c->req);
	c->query = q;
	c->sql_active = 1;
	return (call_sql_send(c));
}

static int	call_query_json(struct call *, const char *, int);

/* (auth, in, srv), or (in, srv) for functions open to anyone. */
static int
call_query_json(struct call *c, const char *sql, int with_auth)
{
	char	*in, *srv;
	int	 rc;

	in = json_dumps(c->in, JSON_COMPACT);
	srv = json_dumps(c->srv, JSON_COMPACT);
	if (in == NULL || srv == NULL)
		fatal("call_query_json: json_dumps");
	if (with_auth)
		rc = call_query(c, sql, 3, c->auth, in, srv);
	else
		rc = call_query(c, sql, 2, in, srv);
	free(in);
	free(srv);
	return (rc);
}

int
call_query_api(struct call *c, const char *sql)
{
	return (call_query_json(c, sql, 1));
}

int
call_query_anon(struct call *c, const char *sql)
{
	return (call_query_json(c, sql, 0));
}

static int
call_sql_send(struct call *c)
{
	struct call_query	*q = call_pending(c);
	const char		*values[CALL_MAX_PARAMS];
	int			 i;

	if (!kore_pgsql_setup(&c->sql, DB_NAME, KORE_PGSQL_ASYNC)) {
		/* Pool busy: we are queued and asleep until a release. */
		if (c->sql.state == KORE_PGSQL_STATE_INIT)
			return (CALL_WAIT);
		call_sql_error(c);
		return (CALL_WAIT);
	}
	for (i = 0; i < q->nparams; i++)
		values[i] = q->params[i];
	q->sent = 1;
	/* Params as text; kore's varargs form wants (value, len, format). */
	switch (q->nparams) {
	case 0:
		i = kore_pgsql_query(&c->sql, q->sql);
		break;
	case 1:
		i = kore_pgsql_query_params(&c->sql, q->sql, 0, 1,
		    KORE_PGSQL_PARAM_TEXT(values[0]));
		break;
	case 2:
		i = kore_pgsql_query_params(&c->sql, q->sql, 0, 2,
		    KORE_PGSQL_PARAM_TEXT(values[0]),
		    KORE_PGSQL_PARAM_TEXT(values[1]));
		break;
	case 3:
		i = kore_pgsql_query_params(&c->sql, q->sql, 0, 3,
		    KORE_PGSQL_PARAM_TEXT(values[0]),
		    KORE_PGSQL_PARAM_TEXT(values[1]),
		    KORE_PGSQL_PARAM_TEXT(values[2]));
		break;
	default:
		i = kore_pgsql_query_params(&c->sql, q->sql, 0, 4,
		    KORE_PGSQL_PARAM_TEXT(values[0]),
		    KORE_PGSQL_PARAM_TEXT(values[1]),
		    KORE_PGSQL_PARAM_TEXT(values[2]),
		    KORE_PGSQL_PARAM_TEXT(values[3]));
		break;
	}
	if (!i)
		call_sql_error(c);
	return (CALL_WAIT);
}

/*
 * What a failed statement says: its SQLSTATE and primary message, or
 * 08000 and kore's own error when the server said nothing (no
 * connection). Both point into sql (or are constants) until it is
 * continued or cleaned up: copy them first.
 */
void
call_pg_error(const struct kore_pgsql *sql, const char **state,
    const char **msg)
{
	*state = *msg = NULL;
	if (sql->result != NULL) {
		*state = PQresultErrorField(sql->result, PG_DIAG_SQLSTATE);
		*msg = PQresultErrorField(sql->result,
		    PG_DIAG_MESSAGE_PRIMARY);
	}
	if (*state == NULL)
		*state = "08000";
	if (*msg == NULL)
		*msg = sql->error != NULL ? sql->error : "database error";
}

/* Keeps what the error says before kore clears the result. */
static void
call_sql_error(struct call *c)
{
	PGresult	*r = c->sql.result;
	const char	*state, *msg;

	call_error_clear(c);
	call_pg_error(&c->sql, &state, &msg);
	c->sqlstate = kore_strdup(state);
	c->errmsg = kore_strdup(msg);
	if (r != NULL) {
		c->errcode = call_strdup_or_null(
		    PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL));
		c->errhint = call_strdup_or_null(
		    PQresultErrorField(r, PG_DIAG_MESSAGE_HINT));
	}
	c->sql.state = KORE_PGSQL_STATE_ERROR;
}

/*
 * Drives the query on; returns 1 when it is over (rows copied into c->res
 * or the error kept), 0 while it is still running.
 */
static int
call_sql_poll(struct call *c)
{
	struct call_result	*r = &c->res;
	int			 i, j, n;
	const char		*v;

	if (!call_pending(c)->sent) {
		call_sql_send(c);
		if (!call_pending(c)->sent &&
		    c->sql.state != KORE_PGSQL_STATE_ERROR)
			return (0);
	}
	for (;;) {
		switch (c->sql.state) {
		case KORE_PGSQL_STATE_WAIT:
			return (0);
		case KORE_PGSQL_STATE_COMPLETE:
			return (1);
		case KORE_PGSQL_STATE_ERROR:
			if (c->sqlstate == NULL)
				call_sql_error(c);
			/*
			 * The server answered with an error: read on to the
			 * end of the statement, so that giving the connection
			 * back needs no cancel request (kore cancels an
			 * unfinished one: a blocking connect to the server,
			 * which forks for it). A lost connection has nothing
			 * more to read.
			 */
			if (c->sql.result == NULL)
				return (1);
			kore_pgsql_continue(&c->sql);
			break;
		case KORE_PGSQL_STATE_RESULT:
			call_result_clear(r);
			r->ntuples = kore_pgsql_ntuples(&c->sql);
			r->nfields = kore_pgsql_nfields(&c->sql);
			n = r->ntuples * r->nfields;
			r->values = kore_calloc(n ? n : 1, sizeof(char *));
			for (i = 0; i < r->ntuples; i++) {
				for (j = 0; j < r->nfields; j++) {
					if (PQgetisnull(c->sql.result, i, j))
						continue;
					v = kore_pgsql_getvalue(&c->sql, i, j);
					r->values[i * r->nfields + j] =
					    kore_strdup(v);
				}
			}
			kore_pgsql_continue(&c->sql);
			break;
		default:
			kore_pgsql_continue(&c->sql);
			break;
		}
	}
}

/*
 * Whether an SQLSTATE says the database could not be reached or would
 * not take us (connection lost, shutting down, too many connections),
 * rather than that the statement itself failed.
 */
int
call_sqlstate_unavailable(const char *state)
{
	return (strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P0", 4) == 0 ||
	    strcmp(state, "53300") == 0);
}

int
call_failed(struct call *c)
{
	return (c->sqlstate != NULL);
}

/*
 * Answers for a failed query: our own app.fail() errors (SQLSTATE IBnnn)
 * become that status with its message, code and details; anything else
 * is logged here and answered without internals.
 */
int
call_fail_db(struct call *c)
{
	json_t		*details = NULL;
	json_error_t	 jerr;
	int		 status;

	if (strncmp(c->sqlstate, "IB", 2) == 0 &&
	    (status = atoi(c->sqlstate + 2)) >= 400 && status <= 599) {
		if (c->errhint != NULL)
			details = json_loads(c->errhint, 0, &jerr);
		if (status == 429 && details != NULL) {
			char	buf[16];
			json_t	*ra = json_object_get(details, "retry_after");

			if (json_is_integer(ra)) {
				snprintf(buf, sizeof(buf), "%lld",
				    (long long)json_integer_value(ra));
				http_response_header(c->req, "retry-after", buf);
			}
		}
		return (reply_error(c->req, status,
		    c->errcode ? c->errcode : "ERROR", c->errmsg, details));
	}
	if (call_sqlstate_unavailable(c->sqlstate)) {
		kore_log(LOG_ERR, "database unavailable: %s", c->errmsg);
		http_response_header(c->req, "retry-after", "5");
		return (reply_error(c->req, 503, "DATABASE_UNAVAILABLE",
		    "The database is unavailable; try again shortly", NULL));
	}
	kore_log(LOG_ERR, "query failed (%s): %s", c->sqlstate, c->errmsg);
	return (reply_error(c->req, 500, "INTERNAL_ERROR",
	    "Something went wrong on our side", NULL));
}

/*
 * An api.* function's (status, body): status and the parsed body (owned
 * by the caller; NULL for no body). Returns 0, or -1 after replying.
 */
int
call_api_result(struct call *c, int *status, json_t **body)
{
	const char	*s;

	*body = NULL;
	if (call_failed(c)) {
		call_fail_db(c);
		return (-1);
	}
	if (c->res.ntuples != 1 || c->res.nfields != 2 ||
	    (s = c->res.values[0]) == NULL) {
		kore_log(LOG_ERR, "%s: unexpected result shape",
		    c->route->path);
		reply_error(c->req, 500, "INTERNAL_ERROR",
		    "Something went wrong on our side", NULL);
		return (-1);
	}
	*status = atoi(s);
	return (call_answer_parse(c, c->res.values[1], body));
}

/*
 * An api.* function's body, as text (NULL: none), parsed into *body
 * (owned by the caller). Returns 0, or -1 after replying.
 */
int
call_answer_parse(struct call *c, const char *text, json_t **body)
{
	json_error_t	jerr;

	*body = NULL;
	if (text != NULL && (*body = json_loads(text, 0, &jerr)) == NULL) {
		kore_log(LOG_ERR, "%s: bad body: %s", c->route->path,
		    jerr.text);
		reply_error(c->req, 500, "INTERNAL_ERROR",
		    "Something went wrong on our side", NULL);
		return (-1);
	}
	return (0);
}

/* Replies with an api.* function's answer as it is. */
int
call_reply_api(struct call *c)
{
	json_t	*body;
	int	 status;

	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	return (call_reply_body(c, status, body));
}

/*
 * Replies with an api.* function's (status, body): its error in the
 * error shape, or the body as it is. Takes body's reference.
 */
int
call_reply_body(struct call *c, int status, json_t *body)
{
	if (status >= 400) {
		json_t	*e = json_object_get(body, "error");
		json_t	*code = json_object_get(body, "error_code");

		reply_error(c->req, status, json_string_value(code),
		    json_string_value(e),
		    json_incref(json_object_get(body, "details")));
		json_decref(body);
		return (CALL_DONE);
	}
	reply_json(c->req, status, body);
	return (CALL_DONE);
}

int
call_simple(struct call *c)
{
	if (c->step == 0)
		return (call_query_api(c, c->route->sql));
	return (call_reply_api(c));
}

/*
 * Runs fn on a task thread. fn sees only arg (through the task it is
 * given: call_task_arg()); arg is freed with freefn when the request is.
 */
int
call_task(struct call *c, int (*fn)(struct kore_task *), void *arg,
    void (*freefn)(void *))
{
	/* A call may run several tasks in turn; the last one is over. */
	if (c->task_active && c->task.req != NULL)
		kore_task_destroy(&c->task);
	if (c->task_arg != NULL && c->task_arg != arg && c->task_free != NULL)
		c->task_free(c->task_arg);
	c->task_arg = arg;
	c->task_free = freefn;
	c->task_active = 1;
	kore_task_create(&c->task, fn);
	kore_task_bind_request(&c->task, c->req);
	kore_task_run(&c->task);
	return (CALL_WAIT);
}

/*
 * Whether every operation the current step started is over; when it is,
 * the handler runs its next step.
 */
int
call_ready(struct call *c)
{
	if (c->task_active && c->task.req != NULL &&
	    kore_task_state(&c->task) != KORE_TASK_STATE_FINISHED) {
		http_request_sleep(c->req);
		return (0);
	}
	if (c->sql_active && call_pending(c) != NULL && !call_sql_poll(c))
		return (0);
	return (1);
}

/*
 * Frees what the call owns. Kore may call this more than once while a
 * task is still running (it defers freeing the request until then), so
 * it leaves everything the task thread can touch alone until it is over.
 */
void
call_free(struct http_request *req)
{
	struct call		*c = http_state_get(req);

	if (c == NULL)
		return;
	if (c->task_active && c->task.req != NULL &&
	    kore_task_state(&c->task) != KORE_TASK_STATE_FINISHED)
		return;
	if (c->task_arg != NULL && c->task_free != NULL)
		c->task_free(c->task_arg);
	c->task_arg = NULL;
	call_sql_release(c);
	call_result_clear(&c->res);
	call_error_clear(c);
	json_decref(c->in);
	json_decref(c->srv);
	json_decref(c->secret);
	c->in = c->srv = c->secret = NULL;
}

void *
call_task_arg(struct kore_task *t)
{
	struct call	*c;

	c = (struct call *)((char *)t - offsetof(struct call, task));
	return (c->task_arg);
}
