/*
 * inboxctl: operator commands that run beside the server, against the
 * same database and configuration (environment variables, see
 * docs/configuration.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ctl.h"

static const struct {
	const char	*name;
	int		(*run)(int, char **);
	const char	*help;
} commands[] = {
	{ "migrate", ctl_migrate,
	    "[DIR]  apply new migrations (MIGRATE_DATABASE_URL)" },
	{ "replay-webhooks", ctl_replay_webhooks,
	    "[--list] [--delivery ID] [--routing-key KEY]  apply unrouted\n"
	    "      and failed webhook events again (MIGRATE_DATABASE_URL)" },
	{ "rotate-master-key", ctl_rotate,
	    "NEW_KEY_FILE  rewrap every key under a new master key" },
};

static void	usage(void);

static void
usage(void)
{
	size_t	i;

	fprintf(stderr, "usage: inboxctl COMMAND [ARGS]\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  %s %s\n", commands[i].name,
		    commands[i].help);
	exit(2);
}

PGconn *
ctl_connect(const char *env)
{
	const char	*conninfo;
	PGconn		*db;

	if ((conninfo = getenv(env)) == NULL &&
	    (conninfo = getenv("DATABASE_URL")) == NULL) {
		fprintf(stderr, "inboxctl: set %s or DATABASE_URL\n", env);
		return (NULL);
	}
	db = PQconnectdb(conninfo);
	if (PQstatus(db) != CONNECTION_OK) {
		fprintf(stderr, "inboxctl: cannot connect: %s",
		    PQerrorMessage(db));
		PQfinish(db);
		return (NULL);
	}
	return (db);
}

int
ctl_exec(PGconn *db, const char *sql)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(db, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "inboxctl: %s", PQerrorMessage(db));
	PQclear(res);
	return (ok ? 0 : -1);
}

char *
ctl_read_file(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf = NULL, *nbuf;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "r")) == NULL)
		return (NULL);
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((nbuf = realloc(buf, cap + 1)) == NULL) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return (NULL);
			}
			buf = nbuf;
		}
		if ((n = fread(buf + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return (NULL);
	}
	fclose(f);
	buf[len] = '\0';
	*lenp = len;
	return (buf);
}

int
main(int argc, char **argv)
{
	size_t	i;

	if (argc < 2)
		usage();
	if (sodium_init() < 0) {
		fprintf(stderr, "inboxctl: sodium_init failed\n");
		return (1);
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return (commands[i].run(argc - 1, argv + 1));
	}
	usage();
	return (2);
}
