/*
 * ingest.c: webhook deliveries stored in groups, each answered after the
 * commit that stored it.
 *
 * A delivery may be acknowledged only once it is committed, and every
 * commit costs a WAL flush, a round trip and a transaction's fixed work;
 * paid one delivery at a time, that is what capped the endpoint
 * (docs/performance.md). So each worker keeps one first-come queue of
 * deliveries ready to be stored and at most INGEST_SLOTS statements in
 * flight. Whenever a slot is free it takes everything waiting, up to
 * INGEST_BATCH_MAX deliveries or INGEST_BATCH_BYTES of bodies, and stores
 * it with one statement, api.webhook_ingest_batch() (migration 020): one
 * transaction, one commit. An idle endpoint sends a delivery at once, on
 * its own; under load the batches grow by themselves while the slots are
 * busy. Each delivery's request sleeps until the statement is over and
 * is answered from its own row.
 *
 * The statement belongs to no request, so that a provider hanging up
 * does not cancel the others' work: it runs on a connection of a pool of
 * its own (INGEST_DB: API queries and deliveries never wait for each
 * other's connections), bound to a callback. Kore calls that callback
 * from inside its own pgsql functions, re-entrantly, so it only records
 * what happened and wakes requests; a statement is only ever started from
 * a request's handler or from the timer. The timer also catches the one
 * end kore reports to nobody bound by callback: a connection that kore
 * tears down under a running statement.
 *
 * The four parameters are text[] in PostgreSQL's binary array format, so
 * raw bodies travel as they are, with no escaping on either side. When a
 * statement fails, nothing of it was committed: if the database cannot be
 * reached, every delivery in it fails (the endpoint answers 503 and the
 * provider delivers again); otherwise any one of them may be at fault,
 * so each goes again on its own and only the guilty one fails.
 */
#include <sys/queue.h>

#include <arpa/inet.h>

#include <libpq-fe.h>

#include "app.h"
#include "ingest.h"

#define INGEST_DB		"ingest"
#define INGEST_SLOTS		2
#define INGEST_BATCH_MAX	64
#define INGEST_BATCH_BYTES	(1024 * 1024)
#define INGEST_WATCH_MS		200
#define INGEST_NPARAMS		4
#define INGEST_ARRAY_HEADER	20
#define INGEST_TEXT_OID		25

static const char SQL_INGEST_BATCH[] =
    "SELECT i, status, body::text FROM api.webhook_ingest_batch("
    "$1::text[], $2::text[], $3::text[], $4::text[])";

/* One statement in flight and the deliveries it carries. */
struct ingest_slot {
	struct kore_pgsql	 sql;
	int			 busy;
	int			 over;		/* results taken */
	int			 n;
	struct ingest_job	*jobs[INGEST_BATCH_MAX];
	struct kore_buf		 param[INGEST_NPARAMS];
	char			 sqlstate[6];	/* the first error */
	char			*errmsg;
};

static struct ingest_slot	 ingest_slots[INGEST_SLOTS];
static TAILQ_HEAD(, ingest_job)	 ingest_queue =
    TAILQ_HEAD_INITIALIZER(ingest_queue);

static void	ingest_pump(void);
static void	ingest_start(struct ingest_slot *);
static void	ingest_send(struct ingest_slot *);
static void	ingest_array_begin(struct kore_buf *);
static void	ingest_array_add(struct kore_buf *, const void *, size_t);
static void	ingest_array_end(struct kore_buf *, int);
static void	ingest_callback(struct kore_pgsql *, void *);
static void	ingest_rows(struct ingest_slot *);
static void	ingest_error(struct ingest_slot *);
static void	ingest_finish(struct ingest_slot *);
static void	ingest_watch(void *, u_int64_t);

/* Per worker: the pool, the parameter buffers, the timer. */
void
ingest_init(void)
{
	int	i, k;

	/* Kore's pool would queue a slot it has no connection for. */
	if (pgsql_conn_max != 0 && pgsql_conn_max < INGEST_SLOTS)
		fatalx("pgsql_conn_max must be at least %d", INGEST_SLOTS);
	kore_pgsql_register(INGEST_DB, app_config.database_url);
	for (i = 0; i < INGEST_SLOTS; i++) {
		for (k = 0; k < INGEST_NPARAMS; k++)
			kore_buf_init(&ingest_slots[i].param[k], 4096);
	}
	kore_timer_add(ingest_watch, INGEST_WATCH_MS, NULL, 0);
}

void
ingest_submit(struct ingest_job *j, struct http_request *req)
{
	j->req = req;
	j->state = INGEST_WAITING;
	TAILQ_INSERT_TAIL(&ingest_queue, j, list);
	http_request_sleep(req);
	ingest_pump();
}

/*
 * Called by j's request whenever it wakes: it may have been woken to
 * start the next statement (the callback never does), or because its
 * own is over.
 */
int
ingest_over(struct ingest_job *j)
{
	ingest_pump();
	if (j->state == INGEST_DONE || j->state == INGEST_FAILED)
		return (1);
	http_request_sleep(j->req);
	return (0);
}

/* Frees everything j owns; a statement carrying it forgets it. */
void
ingest_forget(struct ingest_job *j)
{
	if (j->state == INGEST_WAITING)
		TAILQ_REMOVE(&ingest_queue, j, list);
	else if (j->state == INGEST_RUNNING)
		j->slot->jobs[j->index] = NULL;
	j->state = INGEST_IDLE;
	kore_free(j->meta);
	kore_free(j->events);
	kore_free(j->body);
	kore_free(j->answer);
	kore_free(j->errmsg);
	j->meta = j->events = j->body = j->answer = j->errmsg = NULL;
}

/* Starts a statement in every free slot while deliveries wait. */
static void
ingest_pump(void)
{
	int	i;

	for (i = 0; i < INGEST_SLOTS && !TAILQ_EMPTY(&ingest_queue); i++) {
		if (!ingest_slots[i].busy)
			ingest_start(&ingest_slots[i]);
	}
}

/* Takes the head of the queue into s and sends it. */
static void
ingest_start(struct ingest_slot *s)
{
	struct ingest_job	*j;
	int			 k;

	s->busy = 1;
	s->over = 0;
	s->n = 0;
	s->sqlstate[0] = '\0';
	for (k = 0; k < INGEST_NPARAMS; k++)
		ingest_array_begin(&s->param[k]);

	while ((j = TAILQ_FIRST(&ingest_queue)) != NULL &&
	    s->n < INGEST_BATCH_MAX &&
	    (s->n == 0 || (!j->alone &&
	    s->param[3].offset + j->body_len <= INGEST_BATCH_BYTES))) {
		TAILQ_REMOVE(&ingest_queue, j, list);
		j->state = INGEST_RUNNING;
		j->slot = s;
		j->index = s->n;
		j->status = 0;
		s->jobs[s->n++] = j;
		ingest_array_add(&s->param[0], j->endpoint,
		    strlen(j->endpoint));
		ingest_array_add(&s->param[1], j->meta, strlen(j->meta));
		ingest_array_add(&s->param[2], j->events, strlen(j->events));
		ingest_array_add(&s->param[3], j->body, j->body_len);
		if (j->alone)
			break;
	}
	for (k = 0; k < INGEST_NPARAMS; k++)
		ingest_array_end(&s->param[k], s->n);

	kore_pgsql_init(&s->sql);
	kore_pgsql_bind_callback(&s->sql, ingest_callback, s);
	if (!kore_pgsql_setup(&s->sql, INGEST_DB, KORE_PGSQL_ASYNC)) {
		/* The pool holds more connections than there are slots, so
		 * kore never queues us; it failed to connect. */
		ingest_error(s);
		kore_pgsql_cleanup(&s->sql);
		ingest_finish(s);
		return;
	}
	ingest_send(s);
}

static void
ingest_send(struct ingest_slot *s)
{
	const char	*values[INGEST_NPARAMS];
	int		 lengths[INGEST_NPARAMS], formats[INGEST_NPARAMS];
	int		 k;

	for (k = 0; k < INGEST_NPARAMS; k++) {
		values[k] = (const char *)s->param[k].data;
		lengths[k] = (int)s->param[k].offset;
		formats[k] = KORE_PGSQL_FORMAT_BINARY;
	}
	if (!kore_pgsql_query_param_fields(&s->sql, SQL_INGEST_BATCH,
	    KORE_PGSQL_FORMAT_TEXT, INGEST_NPARAMS, values, lengths,
	    formats)) {
		ingest_error(s);
		/* Gives the connection back; the callback then finishes. */
		kore_pgsql_cleanup(&s->sql);
		ingest_finish(s);
	}
}

/*
 * A one-dimensional text[] without NULLs in the binary format: a header
 * (dimensions, flags, element type, length, lower bound), then each
 * element as a length and its bytes, all integers in network order.
 */
static void
ingest_array_begin(struct kore_buf *b)
{
	u_int8_t	header[INGEST_ARRAY_HEADER];

	memset(header, 0, sizeof(header));
	kore_buf_reset(b);
	kore_buf_append(b, header, sizeof(header));
}

static void
ingest_array_add(struct kore_buf *b, const void *v, size_t len)
{
	u_int32_t	n = htonl((u_int32_t)len);

	kore_buf_append(b, &n, sizeof(n));
	kore_buf_append(b, v, len);
}

static void
ingest_array_end(struct kore_buf *b, int count)
{
	u_int32_t	h[5];

	h[0] = htonl(1);
	h[1] = htonl(0);
	h[2] = htonl(INGEST_TEXT_OID);
	h[3] = htonl((u_int32_t)count);
	h[4] = htonl(1);
	memcpy(b->data, h, sizeof(h));
}

/*
 * Kore's news about s's statement. Re-entrant: kore_pgsql_continue()
 * and kore_pgsql_cleanup() call back from inside, so nothing here may
 * touch s->sql after handing it to them.
 */
static void
ingest_callback(struct kore_pgsql *sql, void *arg)
{
	struct ingest_slot	*s = arg;

	switch (sql->state) {
	case KORE_PGSQL_STATE_RESULT:
		ingest_rows(s);
		kore_pgsql_continue(sql);
		break;
	case KORE_PGSQL_STATE_DONE:
		kore_pgsql_continue(sql);
		break;
	case KORE_PGSQL_STATE_ERROR:
		ingest_error(s);
		/* As call_sql_poll(): read on rather than cancel. */
		if (sql->result != NULL)
			kore_pgsql_continue(sql);
		else
			kore_pgsql_cleanup(sql);
		break;
	case KORE_PGSQL_STATE_COMPLETE:
		ingest_finish(s);
		break;
	default:
		/* WAIT: sent, or still coming. */
		break;
	}
}

/* Each delivery's (i, status, body) row, kept until the commit. */
static void
ingest_rows(struct ingest_slot *s)
{
	struct ingest_job	*j;
	int			 r, i, rows;

	rows = kore_pgsql_ntuples(&s->sql);
	for (r = 0; r < rows; r++) {
		i = atoi(kore_pgsql_getvalue(&s->sql, r, 0));
		if (i < 1 || i > s->n || (j = s->jobs[i - 1]) == NULL)
			continue;
		j->status = atoi(kore_pgsql_getvalue(&s->sql, r, 1));
		kore_free(j->answer);
		j->answer = PQgetisnull(s->sql.result, r, 2) ? NULL :
		    kore_strdup(kore_pgsql_getvalue(&s->sql, r, 2));
	}
}

/* Keeps the statement's first error: what the server said, or kore. */
static void
ingest_error(struct ingest_slot *s)
{
	const char	*state, *msg;

	if (s->sqlstate[0] != '\0')
		return;
	call_pg_error(&s->sql, &state, &msg);
	(void)snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state);
	s->errmsg = kore_strdup(msg);
}

/*
 * The statement is over (committed, or nothing of it was): every
 * delivery still waiting for it gets its answer or goes again alone.
 * Someone must then start the next statement: the requests woken here,
 * or else the head of the queue.
 */
static void
ingest_finish(struct ingest_slot *s)
{
	struct ingest_job	*j;
	int			 i, failed, again;

	if (s->over)
		return;
	s->over = 1;
	failed = s->sqlstate[0] != '\0';
	again = failed && s->n > 1 && !call_sqlstate_unavailable(s->sqlstate);
	if (again)
		kore_log(LOG_WARNING, "webhooks: %d deliveries not stored "
		    "together (%s: %s); each goes again alone", s->n,
		    s->sqlstate, s->errmsg);
	for (i = s->n - 1; i >= 0; i--) {
		if ((j = s->jobs[i]) == NULL)
			continue;
		s->jobs[i] = NULL;
		j->slot = NULL;
		if (again) {
			j->alone = 1;
			j->state = INGEST_WAITING;
			TAILQ_INSERT_HEAD(&ingest_queue, j, list);
			continue;
		}
		/* A committed statement without this delivery's row fails
		 * this delivery alone; the others are answered as stored. */
		if (failed || j->status == 0) {
			j->state = INGEST_FAILED;
			(void)snprintf(j->sqlstate, sizeof(j->sqlstate), "%s",
			    failed ? s->sqlstate : "XX000");
			kore_free(j->errmsg);
			j->errmsg = kore_strdup(failed ? s->errmsg :
			    "no result for this delivery");
		} else
			j->state = INGEST_DONE;
		http_request_wakeup(j->req);
	}
	kore_free(s->errmsg);
	s->errmsg = NULL;
	/* A rare huge batch must not keep its memory. */
	for (i = 0; i < INGEST_NPARAMS; i++) {
		if (s->param[i].length > 2 * INGEST_BATCH_BYTES) {
			kore_buf_cleanup(&s->param[i]);
			kore_buf_init(&s->param[i], 4096);
		}
	}
	s->busy = 0;
	if ((j = TAILQ_FIRST(&ingest_queue)) != NULL)
		http_request_wakeup(j->req);
}

/*
 * Kore tears a connection down (the server went away) by marking its
 * statement failed and waking a bound request, but calls no callback;
 * and a free slot must never sit beside a waiting queue.
 */
static void
ingest_watch(void *arg, u_int64_t now)
{
	struct ingest_slot	*s;
	int			 i;

	(void)arg;
	(void)now;
	for (i = 0; i < INGEST_SLOTS; i++) {
		s = &ingest_slots[i];
		if (!s->busy || s->over || s->sql.conn != NULL ||
		    (s->sql.state != KORE_PGSQL_STATE_ERROR &&
		    s->sql.state != KORE_PGSQL_STATE_COMPLETE))
			continue;
		if (s->sql.state == KORE_PGSQL_STATE_ERROR)
			ingest_error(s);
		kore_pgsql_cleanup(&s->sql);
		ingest_finish(s);
	}
	ingest_pump();
}
