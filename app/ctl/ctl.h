/*
 * inboxctl: the operator's command-line tool. Each command is one file.
 */
#ifndef INBOXCTL_H
#define INBOXCTL_H

#include <stddef.h>

#include <libpq-fe.h>

/* Connects with the conninfo in env (falling back to DATABASE_URL);
 * prints why and returns NULL on failure. The caller PQfinish()es. */
PGconn	*ctl_connect(const char *env);
/* Runs constant SQL; returns 0, or -1 after printing the error. */
int	 ctl_exec(PGconn *, const char *);
/* The whole file, NUL-terminated, in malloc()ed memory the caller frees;
 * NULL with errno set on failure. */
char	*ctl_read_file(const char *, size_t *);

int	 ctl_migrate(int, char **);
int	 ctl_replay_webhooks(int, char **);
int	 ctl_rotate(int, char **);

#endif
