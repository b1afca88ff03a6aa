/*
 * inboxctl replay-webhooks: apply again what the webhook journal kept.
 *
 * Every authenticated delivery is journaled with the plugin's normalized
 * events, and each of its routing keys with an outcome. Two outcomes wait
 * for an operator: "unrouted" (no connected channel owned the account
 * when the delivery came: connect it, then replay) and "failed" (applying
 * raised an error: fix the cause, then replay). A replay runs the key's
 * journaled events through the same SQL as a live delivery
 * (app.webhook_replay), one key per transaction, in delivery order; it is
 * idempotent, since messages are unique by provider id and statuses only
 * move forward, so running it twice, or racing a redelivery, applies each
 * event once. No plugin is needed.
 *
 *   inboxctl replay-webhooks [--list] [--delivery ID] [--routing-key KEY]
 *
 * Connects with MIGRATE_DATABASE_URL: the journal is global and the owner
 * role bypasses row-level security. docs/webhooks.md is the operators'
 * guide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ctl.h"

static const char SQL_PENDING[] =
    "SELECT k.delivery_id, k.routing_key, k.outcome,"
    " coalesce(d.adapter, '-'), to_char(d.received_at,"
    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), k.events, k.attempts,"
    " coalesce(k.error, '')"
    " FROM webhook_delivery_keys k"
    " JOIN webhook_deliveries d ON d.id = k.delivery_id"
    " WHERE k.outcome IN ('unrouted', 'failed')"
    " AND ($1::bigint IS NULL OR k.delivery_id = $1::bigint)"
    " AND ($2::text IS NULL OR k.routing_key = $2::text)"
    " ORDER BY k.delivery_id, k.routing_key";
static const char SQL_REPLAY[] =
    "SELECT r ->> 'outcome', coalesce(r ->> 'result', '{}'),"
    " coalesce(r ->> 'error', '')"
    " FROM app.webhook_replay($1::bigint, $2) r";

static int	replay_usage(void);
static int	replay_one(PGconn *, const char *, const char *,
		    const char *, int *);

static int
replay_usage(void)
{
	fprintf(stderr, "usage: inboxctl replay-webhooks [--list] "
	    "[--delivery ID] [--routing-key KEY]\n");
	return (2);
}

/*
 * Replays one (delivery, key) that was `was`; counts what is still
 * waiting into *left. Returns 0, or -1 after printing the error.
 */
static int
replay_one(PGconn *db, const char *delivery, const char *key,
    const char *was, int *left)
{
	const char	*params[2] = { delivery, key };
	PGresult	*res;
	const char	*outcome;

	res = PQexecParams(db, SQL_REPLAY, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		fprintf(stderr, "inboxctl: delivery %s key %s: %s", delivery,
		    key, PQerrorMessage(db));
		PQclear(res);
		return (-1);
	}
	outcome = PQgetvalue(res, 0, 0);
	printf("delivery %s key %s: %s -> %s %s%s%s\n", delivery, key, was,
	    outcome, PQgetvalue(res, 0, 1), *PQgetvalue(res, 0, 2) ?
	    " " : "", PQgetvalue(res, 0, 2));
	if (strcmp(outcome, "unrouted") == 0 || strcmp(outcome, "failed") == 0)
		(*left)++;
	PQclear(res);
	return (0);
}

int
ctl_replay_webhooks(int argc, char **argv)
{
	const char	*params[2] = { NULL, NULL };
	PGconn		*db;
	PGresult	*res = NULL;
	int		 i, n, list = 0, left = 0, errors = 0, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--list") == 0)
			list = 1;
		else if (strcmp(argv[i], "--delivery") == 0 && i + 1 < argc &&
		    strspn(argv[i + 1], "0123456789") == strlen(argv[i + 1]) &&
		    argv[i + 1][0] != '\0')
			params[0] = argv[++i];
		else if (strcmp(argv[i], "--routing-key") == 0 && i + 1 < argc)
			params[1] = argv[++i];
		else
			return (replay_usage());
	}
	if ((db = ctl_connect("MIGRATE_DATABASE_URL")) == NULL)
		return (1);

	res = PQexecParams(db, SQL_PENDING, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "inboxctl: %s", PQerrorMessage(db));
		goto cleanup;
	}
	n = PQntuples(res);
	if (list) {
		printf("%-10s %-20s %-16s %-24s %-9s %6s %8s  %s\n", "delivery",
		    "received", "adapter", "routing_key", "outcome", "events",
		    "attempts", "error");
		for (i = 0; i < n; i++)
			printf("%-10s %-20s %-16s %-24s %-9s %6s %8s  %s\n",
			    PQgetvalue(res, i, 0), PQgetvalue(res, i, 4),
			    PQgetvalue(res, i, 3), PQgetvalue(res, i, 1),
			    PQgetvalue(res, i, 2), PQgetvalue(res, i, 5),
			    PQgetvalue(res, i, 6), PQgetvalue(res, i, 7));
		printf("%d waiting\n", n);
		rc = 0;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		if (replay_one(db, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2), &left) == -1)
			errors++;
	}
	printf("%d replayed, %d still waiting, %d errors\n", n - errors, left,
	    errors);
	rc = errors ? 1 : 0;

cleanup:
	PQclear(res);
	PQfinish(db);
	return (rc);
}
