/*
 * keys.c: the master key, and the keys the server derives from it.
 *
 * The vault is opened in the parent before the workers fork (it lives in
 * guarded memory every worker inherits). Session ids, API tokens and
 * invitation tokens are stored only as keyed BLAKE2b hashes, and CSRF
 * tokens are a keyed hash of the session id; each purpose has its own
 * subkey so that one kind of token can never stand in for another.
 */
#include <sodium.h>

#include "app.h"
#include "vault.h"

struct vault	*app_vault;
u_int8_t	*key_sessions;
u_int8_t	*key_tokens;
u_int8_t	*key_csrf;
u_int8_t	*key_invites;
u_int8_t	*key_webhooks;

static u_int8_t	*keys_derive(const char *);

static u_int8_t *
keys_derive(const char *purpose)
{
	u_int8_t	*k;
	int		 rc;

	if ((k = sodium_malloc(KEY_LEN)) == NULL)
		fatalx("sodium_malloc failed");
	if ((rc = vault_subkey(app_vault, purpose, k)) != VAULT_OK)
		fatalx("cannot derive the %s key: %s", purpose,
		    vault_strerror(rc));
	sodium_mprotect_readonly(k);
	return (k);
}

void
keys_init(void)
{
	int	rc;

	if (app_config.master_key_file != NULL)
		rc = vault_open_file(&app_vault, app_config.master_key_file);
	else
		rc = vault_open_env(&app_vault);
	if (rc != VAULT_OK)
		fatalx("master key (%s): %s", app_config.master_key_file ?
		    app_config.master_key_file : "MASTER_KEY",
		    vault_strerror(rc));
	kore_log(LOG_NOTICE, "master key %s loaded", vault_key_id(app_vault));
	key_sessions = keys_derive("sessions");
	key_tokens = keys_derive("apitoken");
	key_csrf = keys_derive("csrf");
	key_invites = keys_derive("invites");
	key_webhooks = keys_derive("webhooks");
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
