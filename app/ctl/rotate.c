/*
 * inboxctl rotate-master-key NEW_KEY_FILE: rewrap every key the master
 * key protects (the platform hashing key and each organization's data
 * key) under a new master key. Credentials themselves are untouched:
 * they are sealed with the data keys, which do not change.
 *
 * Each key is rewrapped and committed on its own, and one that already
 * opens with the new master key is left alone, so an interrupted run is
 * finished by running it again. Afterwards, restart the servers with
 * MASTER_KEY_FILE pointing at the new key (docs/vault.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "ctl.h"
#include "vault.h"

static const char SQL_KEYS[] =
    "SELECT 'platform', 'platform', encode(wrapped, 'hex'), version"
    " FROM platform_keys WHERE id = 'hashing'"
    " UNION ALL"
    " SELECT 'org', id::text, encode(data_key, 'hex'), data_key_version"
    " FROM organizations WHERE data_key IS NOT NULL";
static const char SQL_SET_PLATFORM[] =
    "UPDATE platform_keys SET wrapped = decode($2, 'hex')"
    " WHERE id = 'hashing' AND wrapped = decode($3, 'hex') AND $1 <> ''";
static const char SQL_SET_ORG[] =
    "UPDATE organizations SET data_key = decode($2, 'hex')"
    " WHERE id = $1::uuid AND data_key = decode($3, 'hex')";

int
ctl_rotate(int argc, char **argv)
{
	struct vault	*oldv = NULL, *newv = NULL;
	u_int8_t	 raw[VAULT_WRAPPED_LEN], out[VAULT_WRAPPED_LEN];
	char		 hex[VAULT_WRAPPED_LEN * 2 + 1];
	const char	*params[3], *id, *cur;
	PGconn		*db = NULL;
	PGresult	*res = NULL, *up;
	size_t		 len;
	int		 i, rc, done = 0, skipped = 0, failed = 0, ret = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: inboxctl rotate-master-key "
		    "NEW_KEY_FILE\n");
		return (2);
	}
	rc = getenv("MASTER_KEY_FILE") != NULL ?
	    vault_open_file(&oldv, getenv("MASTER_KEY_FILE")) :
	    vault_open_env(&oldv);
	if (rc != VAULT_OK) {
		fprintf(stderr, "rotate: current master key: %s\n",
		    vault_strerror(rc));
		goto cleanup;
	}
	if ((rc = vault_open_file(&newv, argv[1])) != VAULT_OK) {
		fprintf(stderr, "rotate: %s: %s\n", argv[1],
		    vault_strerror(rc));
		goto cleanup;
	}
	if ((db = ctl_connect("MIGRATE_DATABASE_URL")) == NULL)
		goto cleanup;
	res = PQexec(db, SQL_KEYS);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "rotate: %s", PQerrorMessage(db));
		goto cleanup;
	}
	for (i = 0; i < PQntuples(res); i++) {
		id = PQgetvalue(res, i, 1);
		cur = PQgetvalue(res, i, 2);
		if (sodium_hex2bin(raw, sizeof(raw), cur, strlen(cur), NULL,
		    &len, NULL) != 0) {
			fprintf(stderr, "rotate: %s: malformed key\n", id);
			failed++;
			continue;
		}
		if (vault_check(newv, id, raw, len) == VAULT_OK) {
			skipped++;
			continue;
		}
		if ((rc = vault_rewrap(oldv, newv, id, raw, len, out)) !=
		    VAULT_OK) {
			fprintf(stderr, "rotate: %s: %s\n", id,
			    vault_strerror(rc));
			failed++;
			continue;
		}
		sodium_bin2hex(hex, sizeof(hex), out, sizeof(out));
		params[0] = id;
		params[1] = hex;
		params[2] = cur;
		up = PQexecParams(db, strcmp(PQgetvalue(res, i, 0),
		    "platform") == 0 ? SQL_SET_PLATFORM : SQL_SET_ORG, 3, NULL,
		    params, NULL, NULL, 0);
		if (PQresultStatus(up) != PGRES_COMMAND_OK ||
		    strcmp(PQcmdTuples(up), "1") != 0) {
			fprintf(stderr, "rotate: %s: not updated (changed "
			    "meanwhile?) %s", id, PQerrorMessage(db));
			failed++;
		} else {
			done++;
		}
		PQclear(up);
	}
	printf("rotate: %d rewrapped, %d already under the new key, "
	    "%d failed; new key id %s\n", done, skipped, failed,
	    vault_key_id(newv));
	ret = failed == 0 ? 0 : 1;

cleanup:
	PQclear(res);
	if (db != NULL)
		PQfinish(db);
	if (oldv != NULL)
		vault_close(oldv);
	if (newv != NULL)
		vault_close(newv);
	return (ret);
}
