/*
 * keys.c: the master key, and the keys the server derives from it.
 *
 * The vault is opened in the parent before the workers fork (it lives in
 * guarded memory every worker inherits). Session ids, API tokens and
 * invitation tokens are stored only as keyed BLAKE2b hashes, and CSRF
 * tokens are a keyed hash of the session id; each purpose has its own
 * subkey so that one kind of token can never stand in for another.
 *
 * The subkeys come from the platform's hashing key, a random key kept in
 * the database wrapped by the master key (migrations/005): unwrapping it
 * at start-up proves the master key is the right one, and rotating the
 * master key only rewraps it, so sessions and tokens survive rotation.
 */
#include <libpq-fe.h>
#include <sodium.h>

#include "app.h"
#include "vault.h"

#define PLATFORM_KEY_ID		"platform"

static const char SQL_KEY_GET[] =
    "SELECT encode(wrapped, 'hex'), version FROM platform_keys "
    "WHERE id = 'hashing'";
static const char SQL_KEY_ADD[] =
    "INSERT INTO platform_keys (id, wrapped, version) "
    "VALUES ('hashing', decode($1, 'hex'), $2) ON CONFLICT (id) DO NOTHING";

struct vault	*app_vault;
u_int8_t	*key_sessions;
u_int8_t	*key_tokens;
u_int8_t	*key_csrf;
u_int8_t	*key_invites;
u_int8_t	*key_webhooks;

static u_int8_t	*keys_derive(const struct vault_datakey *, const char *);
static void	 keys_platform(struct vault_datakey *);

/* BLAKE2b keyed with the hashing key, over the purpose's name. */
static u_int8_t *
keys_derive(const struct vault_datakey *hk, const char *purpose)
{
	u_int8_t	*k;

	if ((k = sodium_malloc(KEY_LEN)) == NULL)
		fatalx("sodium_malloc failed");
	crypto_generichash(k, KEY_LEN, (const u_int8_t *)purpose,
	    strlen(purpose), hk->key, sizeof(hk->key));
	sodium_mprotect_readonly(k);
	return (k);
}

/*
 * The platform hashing key, made on the first start against a new
 * database. Blocking libpq is fine here: the parent, once, at start-up.
 */
static void
keys_platform(struct vault_datakey *hk)
{
	u_int8_t	 wrapped[VAULT_WRAPPED_LEN], raw[VAULT_WRAPPED_LEN];
	char		 hex[VAULT_WRAPPED_LEN * 2 + 1], ver[16];
	const char	*params[2];
	PGconn		*db;
	PGresult	*res;
	size_t		 len;
	int		 rc, tries;

	db = PQconnectdb(app_config.database_url);
	if (PQstatus(db) != CONNECTION_OK)
		fatalx("database: %s", PQerrorMessage(db));
	for (tries = 0; tries < 2; tries++) {
		res = PQexec(db, SQL_KEY_GET);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
			fatalx("platform key: %s (are migrations applied?)",
			    PQerrorMessage(db));
		if (PQntuples(res) == 1)
			break;
		PQclear(res);
		if ((rc = vault_datakey_new(app_vault, PLATFORM_KEY_ID, NULL,
		    wrapped)) != VAULT_OK)
			fatalx("platform key: %s", vault_strerror(rc));
		sodium_bin2hex(hex, sizeof(hex), wrapped, sizeof(wrapped));
		snprintf(ver, sizeof(ver), "%d", VAULT_DATAKEY_V1);
		params[0] = hex;
		params[1] = ver;
		/* Two nodes starting at once: the first insert wins. */
		res = PQexecParams(db, SQL_KEY_ADD, 2, NULL, params, NULL,
		    NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			fatalx("platform key: %s", PQerrorMessage(db));
		PQclear(res);
		res = NULL;
	}
	if (res == NULL || PQntuples(res) != 1)
		fatalx("platform key: could not be created");
	if (sodium_hex2bin(raw, sizeof(raw), PQgetvalue(res, 0, 0),
	    PQgetlength(res, 0, 0), NULL, &len, NULL) != 0)
		fatalx("platform key: malformed");
	rc = vault_datakey_unwrap(app_vault, PLATFORM_KEY_ID, raw, len,
	    (uint32_t)atoi(PQgetvalue(res, 0, 1)), hk);
	PQclear(res);
	PQfinish(db);
	if (rc == VAULT_E_WRONG_KEY)
		fatalx("the master key (id %s) is not the one this database's "
		    "keys were wrapped with; start with the right "
		    "MASTER_KEY_FILE", vault_key_id(app_vault));
	if (rc != VAULT_OK)
		fatalx("platform key: %s", vault_strerror(rc));
}

void
keys_init(void)
{
	struct vault_datakey	hk;
	int			rc;

	if (app_config.master_key_file != NULL)
		rc = vault_open_file(&app_vault, app_config.master_key_file);
	else
		rc = vault_open_env(&app_vault);
	if (rc != VAULT_OK)
		fatalx("master key (%s): %s", app_config.master_key_file ?
		    app_config.master_key_file : "MASTER_KEY",
		    vault_strerror(rc));
	keys_platform(&hk);
	kore_log(LOG_NOTICE, "master key %s loaded", vault_key_id(app_vault));
	key_sessions = keys_derive(&hk, "sessions");
	key_tokens = keys_derive(&hk, "apitoken");
	key_csrf = keys_derive(&hk, "csrf");
	key_invites = keys_derive(&hk, "invites");
	key_webhooks = keys_derive(&hk, "webhooks");
	vault_datakey_wipe(&hk);
}

void
keys_random_token(char *out, size_t outlen)
{
	char	tok[VAULT_TOKEN_LEN + 1];

	if (outlen <= VAULT_TOKEN_LEN || vault_random_token(tok) != VAULT_OK)
		fatal("keys_random_token");
	memcpy(out, tok, sizeof(tok));
	sodium_memzero(tok, sizeof(tok));
}

void
keys_hash_hex(const u_int8_t *key, const char *data, char out[65])
{
	u_int8_t	h[32];

	vault_keyed_hash(key, data, strlen(data), h);
	sodium_bin2hex(out, 65, h, sizeof(h));
}
