/*
 * inboxctl migrate: apply migrations/NNN_name.sql in order.
 *
 * Each file runs in its own transaction and is recorded in
 * schema_migrations with the SHA-256 of its bytes. A recorded migration
 * whose file changed since is an error: migrations are forward-only, so a
 * fix is a new file. An advisory lock makes concurrent runs (two nodes
 * starting at once) wait for each other instead of racing.
 */
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "ctl.h"

#define MIGRATE_LOCK_KEY	"4242001"
#define MIGRATE_MAX		1000

static const char SQL_LOCK[] =
    "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")";
static const char SQL_TABLE[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version int PRIMARY KEY, name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";
static const char SQL_RECORDED[] =
    "SELECT checksum FROM schema_migrations WHERE version = $1";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, name, checksum)"
    " VALUES ($1, $2, $3)";

static int	name_cmp(const void *, const void *);
static int	migration_apply(PGconn *, const char *, const char *, int *);

static int
name_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}

/*
 * Applies one file unless it is recorded already; *applied says which.
 * Returns 0, or -1 after printing why.
 */
static int
migration_apply(PGconn *db, const char *dir, const char *name, int *applied)
{
	unsigned char	 sum[crypto_hash_sha256_BYTES];
	char		 hex[sizeof(sum) * 2 + 1], version[16];
	char		 path[1024], *sql = NULL;
	const char	*params[3];
	size_t		 len;
	PGresult	*res = NULL;
	int		 rc = -1;

	*applied = 0;
	snprintf(version, sizeof(version), "%d", atoi(name));
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((sql = ctl_read_file(path, &len)) == NULL) {
		fprintf(stderr, "migrate: %s: %s\n", path, strerror(errno));
		goto cleanup;
	}
	crypto_hash_sha256(sum, (unsigned char *)sql, len);
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));

	params[0] = version;
	res = PQexecParams(db, SQL_RECORDED, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "migrate: %s", PQerrorMessage(db));
		goto cleanup;
	}
	if (PQntuples(res) == 1) {
		if (strcmp(PQgetvalue(res, 0, 0), hex) != 0) {
			fprintf(stderr, "migrate: %s was edited after it was "
			    "applied (checksum %s, recorded %s); add a new "
			    "migration instead\n", name, hex,
			    PQgetvalue(res, 0, 0));
			goto cleanup;
		}
		rc = 0;
		goto cleanup;
	}
	PQclear(res);

	res = PQexec(db, "BEGIN");
	PQclear(res);
	res = PQexec(db, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "migrate: %s failed: %s", name,
		    PQerrorMessage(db));
		PQclear(PQexec(db, "ROLLBACK"));
		goto cleanup;
	}
	PQclear(res);
	params[1] = name;
	params[2] = hex;
	res = PQexecParams(db, SQL_RECORD, 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "migrate: %s", PQerrorMessage(db));
		PQclear(PQexec(db, "ROLLBACK"));
		goto cleanup;
	}
	PQclear(res);
	res = PQexec(db, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		fprintf(stderr, "migrate: %s", PQerrorMessage(db));
		goto cleanup;
	}
	*applied = 1;
	rc = 0;

cleanup:
	PQclear(res);
	free(sql);
	return (rc);
}

int
ctl_migrate(int argc, char **argv)
{
	const char	*dir = argc > 1 ? argv[1] : "migrations";
	char		*names[MIGRATE_MAX];
	struct dirent	*de;
	DIR		*d = NULL;
	PGconn		*db = NULL;
	size_t		 n = 0, i;
	int		 applied, count = 0, rc = 1;

	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "migrate: %s: %s\n", dir, strerror(errno));
		return (1);
	}
	while ((de = readdir(d)) != NULL && n < MIGRATE_MAX) {
		size_t l = strlen(de->d_name);

		if (l > 8 && de->d_name[0] >= '0' && de->d_name[0] <= '9' &&
		    strcmp(de->d_name + l - 4, ".sql") == 0)
			names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);

	if ((db = ctl_connect("MIGRATE_DATABASE_URL")) == NULL)
		goto cleanup;
	PQclear(PQexec(db, "SET client_min_messages = warning"));
	if (ctl_exec(db, SQL_LOCK) == -1 || ctl_exec(db, SQL_TABLE) == -1)
		goto cleanup;
	for (i = 0; i < n; i++) {
		if (migration_apply(db, dir, names[i], &applied) == -1)
			goto cleanup;
		if (applied) {
			printf("migrate: applied %s\n", names[i]);
			count++;
		}
	}
	printf("migrate: %d applied, %zu in all\n", count, n);
	rc = 0;

cleanup:
	for (i = 0; i < n; i++)
		free(names[i]);
	if (db != NULL)
		PQfinish(db);
	return (rc);
}
