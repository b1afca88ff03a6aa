/*
 * vault.h: the master key, per-organization data keys, encrypted
 * credential fields and keys derived for hashing tokens. docs/vault.md
 * describes the key hierarchy, the formats and rotation.
 */
#ifndef VAULT_H
#define VAULT_H

#include <stddef.h>
#include <stdint.h>

#define VAULT_KEY_LEN		32
#define VAULT_KEY_ID_LEN	16	/* hex characters, without the NUL */
#define VAULT_BLOB_V1		0x01	/* first byte of every blob */
#define VAULT_NONCE_LEN		24
#define VAULT_TAG_LEN		16
#define VAULT_OVERHEAD		(1 + VAULT_NONCE_LEN + VAULT_TAG_LEN)
/* A wrapped data key: version, nonce, encrypted key, tag. */
#define VAULT_WRAPPED_LEN	(VAULT_OVERHEAD + VAULT_KEY_LEN)
/* A sealed field of n plaintext bytes. */
#define VAULT_SEALED_LEN(n)	(VAULT_OVERHEAD + (n))
/* The longest org or channel id: they go into associated data. */
#define VAULT_ID_MAX		64
/* Data keys made by vault_datakey_new() have this version. */
#define VAULT_DATAKEY_V1	1
/* Random tokens: 256 bits as unpadded base64url. */
#define VAULT_TOKEN_BYTES	32
#define VAULT_TOKEN_LEN		43	/* characters, without the NUL */

#define VAULT_OK		0
#define VAULT_E_ARG		-1
#define VAULT_E_NOMEM		-2
#define VAULT_E_INIT		-3
#define VAULT_E_NOKEY		-4
#define VAULT_E_IO		-5
#define VAULT_E_PERM		-6
#define VAULT_E_FORMAT		-7
#define VAULT_E_WRONG_KEY	-8
#define VAULT_E_BLOB		-9
#define VAULT_E_DECRYPT		-10
#define VAULT_E_SPACE		-11
#define VAULT_E_KEYVERSION	-12

struct vault;

/*
 * An organization's data key in the clear, for one operation. The caller
 * owns the storage (usually the stack) and must vault_datakey_wipe() it.
 */
struct vault_datakey {
	uint8_t		key[VAULT_KEY_LEN];
	uint32_t	version;
};

int		 vault_open_file(struct vault **, const char *);
int		 vault_open_hex(struct vault **, const char *);
int		 vault_open_env(struct vault **);
void		 vault_close(struct vault *);
const char	*vault_key_id(const struct vault *);
const char	*vault_strerror(int);

int		 vault_datakey_new(const struct vault *, const char *,
		    struct vault_datakey *, uint8_t [VAULT_WRAPPED_LEN]);
int		 vault_datakey_wrap(const struct vault *, const char *,
		    const struct vault_datakey *, uint8_t [VAULT_WRAPPED_LEN]);
int		 vault_datakey_unwrap(const struct vault *, const char *,
		    const uint8_t *, size_t, uint32_t, struct vault_datakey *);
void		 vault_datakey_wipe(struct vault_datakey *);
int		 vault_check(const struct vault *, const char *,
		    const uint8_t *, size_t);
int		 vault_rewrap(const struct vault *, const struct vault *,
		    const char *, const uint8_t *, size_t,
		    uint8_t [VAULT_WRAPPED_LEN]);

int		 vault_seal(const struct vault_datakey *, const char *,
		    const char *, const char *, const void *, size_t,
		    uint8_t *, size_t, size_t *, uint32_t *);
int		 vault_unseal(const struct vault_datakey *, const char *,
		    const char *, const char *, const uint8_t *, size_t,
		    uint32_t, char *, size_t, size_t *);

void		 vault_keyed_hash(const uint8_t [VAULT_KEY_LEN], const void *,
		    size_t, uint8_t [32]);
int		 vault_random_token(char [VAULT_TOKEN_LEN + 1]);

#endif /* !VAULT_H */
