/*
 * vault.c: everything that touches key material.
 *
 * One master key (from a file or the environment, never the database)
 * wraps one random data key per organization; each organization's data
 * key encrypts that organization's credential fields. The master key also
 * derives purpose keys (sessions, tokens, csrf) for keyed hashes. All
 * encryption is XChaCha20-Poly1305 with a random 192-bit nonce, so nonces
 * never need to be tracked, and every ciphertext is bound by its associated
 * data to where it belongs: a wrapped key to its organization, a field to
 * its organization, channel and field name. A blob copied to another row
 * therefore fails to decrypt instead of yielding someone else's secret.
 *
 * The master key lives in sodium_malloc memory (guard pages, locked, not
 * in core dumps) made read-only once loaded. Anything else secret on the
 * way (file contents, data keys, derived keys) is wiped before returning.
 *
 * Formats (docs/vault.md):
 *   wrapped data key  01 | nonce[24] | XChaCha20-Poly1305(key[32])  (73 B)
 *                     AD "orgkey:v1:<org_id>"
 *   sealed field      01 | nonce[24] | XChaCha20-Poly1305(value)
 *                     AD "cred:v1:<org_id>:<channel_id>:<field>"
 *   key id            hex of the first 8 bytes of
 *                     BLAKE2b-128(key = master, "inbox master key id v1")
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "vault.h"

/* Large enough for 64 hex digits, a CR LF, and one byte to spot more. */
#define VAULT_FILE_MAX		(2 * VAULT_KEY_LEN + 3)
#define VAULT_AD_MAX		(16 + 2 * VAULT_ID_MAX + 64)
#define VAULT_KEY_ID_INPUT	"inbox master key id v1"

struct vault {
	uint8_t		*key;		/* sodium_malloc, read-only */
	char		 id[VAULT_KEY_ID_LEN + 1];
};

static int	vault_new(struct vault **, const uint8_t *, size_t);
static int	vault_parse_key(const char *, size_t, uint8_t *);
static int	vault_id_ok(const char *);
static int	vault_field_ok(const char *);
static int	vault_ad_orgkey(char *, size_t, const char *);
static int	vault_ad_cred(char *, size_t, const char *, const char *,
		    const char *);

/*
 * Loads the master key from path: exactly 32 raw bytes, or 64 hex digits
 * with an optional trailing newline. The file must be a regular file that
 * neither group nor others may read, write or execute (mode 0400 or 0600):
 * anything else is refused with VAULT_E_PERM. On VAULT_OK *out is a vault
 * the caller releases with vault_close(). On VAULT_E_IO errno says why.
 */
int
vault_open_file(struct vault **out, const char *path)
{
	struct stat	 st;
	uint8_t		*buf;
	size_t		 len;
	ssize_t		 n;
	int		 fd, rc, saved;

	*out = NULL;
	if (sodium_init() == -1)
		return (VAULT_E_INIT);
	if ((buf = sodium_malloc(VAULT_FILE_MAX)) == NULL)
		return (VAULT_E_NOMEM);
	fd = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		rc = VAULT_E_IO;
		goto cleanup;
	}
	if (fstat(fd, &st) == -1) {
		rc = VAULT_E_IO;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & (S_IRWXG | S_IRWXO))) {
		rc = VAULT_E_PERM;
		goto cleanup;
	}

	for (len = 0; len < VAULT_FILE_MAX; len += (size_t)n) {
		n = read(fd, buf + len, VAULT_FILE_MAX - len);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n == -1) {
			rc = VAULT_E_IO;
			goto cleanup;
		}
		if (n == 0)
			break;
	}
	rc = vault_new(out, buf, len);

cleanup:
	saved = errno;
	if (fd != -1)
		(void)close(fd);
	sodium_free(buf);
	errno = saved;
	return (rc);
}

/*
 * The master key as 64 hex digits (a trailing newline is allowed), as
 * given in MASTER_KEY. On VAULT_OK the caller owns *out (vault_close()).
 */
int
vault_open_hex(struct vault **out, const char *hex)
{
	*out = NULL;
	if (hex == NULL)
		return (VAULT_E_NOKEY);
	if (sodium_init() == -1)
		return (VAULT_E_INIT);
	if (strlen(hex) == VAULT_KEY_LEN)	/* never read as raw bytes */
		return (VAULT_E_FORMAT);
	return (vault_new(out, (const uint8_t *)hex, strlen(hex)));
}

/*
 * The master key from MASTER_KEY_FILE when it is set and not empty,
 * otherwise from MASTER_KEY; VAULT_E_NOKEY when neither is set. The
 * caller owns *out on VAULT_OK.
 */
int
vault_open_env(struct vault **out)
{
	const char	*v;

	*out = NULL;
	if ((v = getenv("MASTER_KEY_FILE")) != NULL && *v != '\0')
		return (vault_open_file(out, v));
	if ((v = getenv("MASTER_KEY")) != NULL && *v != '\0')
		return (vault_open_hex(out, v));
	return (VAULT_E_NOKEY);
}

/* Wipes and releases the master key. NULL is allowed. */
void
vault_close(struct vault *v)
{
	if (v == NULL)
		return;
	sodium_free(v->key);	/* zeroes, read-only or not */
	sodium_memzero(v, sizeof(*v));
	free(v);
}

/* The master key's id: 16 lowercase hex digits, owned by v. */
const char *
vault_key_id(const struct vault *v)
{
	return (v->id);
}

/* A sentence for a VAULT_* code, for logs and the CLI. Static storage. */
const char *
vault_strerror(int rc)
{
	switch (rc) {
	case VAULT_OK:
		return ("ok");
	case VAULT_E_ARG:
		return ("invalid argument (an id that is empty, too long or "
		    "contains ':', or a bad field name)");
	case VAULT_E_NOMEM:
		return ("out of memory");
	case VAULT_E_INIT:
		return ("libsodium failed to initialize");
	case VAULT_E_NOKEY:
		return ("no master key: set MASTER_KEY_FILE or MASTER_KEY");
	case VAULT_E_IO:
		return ("cannot read the master key file");
	case VAULT_E_PERM:
		return ("the master key file must be a regular file readable "
		    "by its owner only (chmod 0400)");
	case VAULT_E_FORMAT:
		return ("the master key must be 32 raw bytes or 64 hex "
		    "digits, and not all zeros");
	case VAULT_E_WRONG_KEY:
		return ("a data key does not decrypt under this master key: "
		    "wrong MASTER_KEY/MASTER_KEY_FILE, or the wrapped key "
		    "was altered or belongs to another organization");
	case VAULT_E_BLOB:
		return ("encrypted value is truncated or of an unknown "
		    "format version");
	case VAULT_E_DECRYPT:
		return ("encrypted value does not authenticate: altered, or "
		    "moved from another organization, channel or field");
	case VAULT_E_SPACE:
		return ("output buffer too small");
	case VAULT_E_KEYVERSION:
		return ("encrypted value was made under another data key "
		    "version");
	default:
		return ("unknown vault error");
	}
}

/*
 * A fresh random data key for organization org, wrapped under the master
 * key into wrapped (store it with vault_key_id()). When dk is not NULL
 * the clear key is also left there, version VAULT_DATAKEY_V1, for the
 * caller to use and then wipe.
 */
int
vault_datakey_new(const struct vault *v, const char *org,
    struct vault_datakey *dk, uint8_t wrapped[VAULT_WRAPPED_LEN])
{
	struct vault_datakey	tmp;
	int			rc;

	randombytes_buf(tmp.key, sizeof(tmp.key));
	tmp.version = VAULT_DATAKEY_V1;
	rc = vault_datakey_wrap(v, org, &tmp, wrapped);
	if (rc == VAULT_OK && dk != NULL)
		*dk = tmp;
	vault_datakey_wipe(&tmp);
	return (rc);
}

/* Wraps dk for organization org under the master key, with a new nonce. */
int
vault_datakey_wrap(const struct vault *v, const char *org,
    const struct vault_datakey *dk, uint8_t out[VAULT_WRAPPED_LEN])
{
	char	ad[VAULT_AD_MAX];
	int	adlen;

	if ((adlen = vault_ad_orgkey(ad, sizeof(ad), org)) == -1)
		return (VAULT_E_ARG);
	out[0] = VAULT_BLOB_V1;
	randombytes_buf(out + 1, VAULT_NONCE_LEN);
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + 1 + VAULT_NONCE_LEN, NULL, dk->key, VAULT_KEY_LEN,
	    (const uint8_t *)ad, (unsigned long long)adlen, NULL, out + 1,
	    v->key);
	return (VAULT_OK);
}

/*
 * Unwraps org's data key (wrapped, len bytes) into dk, which the caller
 * wipes with vault_datakey_wipe(). version is the data key version stored
 * next to the wrapped key; it is copied into dk so that vault_seal() can
 * report it. VAULT_E_WRONG_KEY when it does not open; dk is wiped then.
 */
int
vault_datakey_unwrap(const struct vault *v, const char *org,
    const uint8_t *wrapped, size_t len, uint32_t version,
    struct vault_datakey *dk)
{
	char	ad[VAULT_AD_MAX];
	int	adlen;

	sodium_memzero(dk, sizeof(*dk));
	if ((adlen = vault_ad_orgkey(ad, sizeof(ad), org)) == -1)
		return (VAULT_E_ARG);
	if (wrapped == NULL || len != VAULT_WRAPPED_LEN ||
	    wrapped[0] != VAULT_BLOB_V1)
		return (VAULT_E_BLOB);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(dk->key, NULL, NULL,
	    wrapped + 1 + VAULT_NONCE_LEN, VAULT_KEY_LEN + VAULT_TAG_LEN,
	    (const uint8_t *)ad, (unsigned long long)adlen, wrapped + 1,
	    v->key) != 0) {
		sodium_memzero(dk, sizeof(*dk));
		return (VAULT_E_WRONG_KEY);
	}
	dk->version = version;
	return (VAULT_OK);
}

/* Zeroes a data key; call it on every path once the key is not needed. */
void
vault_datakey_wipe(struct vault_datakey *dk)
{
	sodium_memzero(dk, sizeof(*dk));
}

/*
 * Whether org's wrapped data key opens under this master key: VAULT_OK, or
 * VAULT_E_WRONG_KEY / VAULT_E_BLOB with a message from vault_strerror().
 * The server runs it on one organization at start so that a wrong master
 * key stops it with a clear error instead of failing every request.
 */
int
vault_check(const struct vault *v, const char *org, const uint8_t *wrapped,
    size_t len)
{
	struct vault_datakey	dk;
	int			rc;

	rc = vault_datakey_unwrap(v, org, wrapped, len, 0, &dk);
	vault_datakey_wipe(&dk);
	return (rc);
}

/*
 * Master-key rotation for one organization: unwraps wrapped (len bytes)
 * with from and wraps the same data key under to, into out. The data key
 * and so every sealed field stay as they are. out is only written on
 * VAULT_OK; VAULT_E_WRONG_KEY means wrapped is not under from.
 */
int
vault_rewrap(const struct vault *from, const struct vault *to,
    const char *org, const uint8_t *wrapped, size_t len,
    uint8_t out[VAULT_WRAPPED_LEN])
{
	struct vault_datakey	dk;
	int			rc;

	if ((rc = vault_datakey_unwrap(from, org, wrapped, len, 0, &dk)) ==
	    VAULT_OK)
		rc = vault_datakey_wrap(to, org, &dk, out);
	vault_datakey_wipe(&dk);
	return (rc);
}

/*
 * Encrypts the credential value pt (ptlen bytes) of field on channel of
 * org under the data key dk, into out (outsz bytes, at least
 * VAULT_SEALED_LEN(ptlen)). *outlen gets the blob's length and
 * *key_version dk's version, to be stored with the blob. Ids must be 1 to
 * VAULT_ID_MAX bytes without ':'; field must be [a-z0-9_]{1,32}.
 */
int
vault_seal(const struct vault_datakey *dk, const char *org,
    const char *channel, const char *field, const void *pt, size_t ptlen,
    uint8_t *out, size_t outsz, size_t *outlen, uint32_t *key_version)
{
	char	ad[VAULT_AD_MAX];
	int	adlen;

	*outlen = 0;
	if ((adlen = vault_ad_cred(ad, sizeof(ad), org, channel,
	    field)) == -1)
		return (VAULT_E_ARG);
	if (ptlen > crypto_aead_xchacha20poly1305_ietf_MESSAGEBYTES_MAX ||
	    outsz < VAULT_OVERHEAD || outsz - VAULT_OVERHEAD < ptlen)
		return (VAULT_E_SPACE);

	out[0] = VAULT_BLOB_V1;
	randombytes_buf(out + 1, VAULT_NONCE_LEN);
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + 1 + VAULT_NONCE_LEN, NULL, pt, ptlen, (const uint8_t *)ad,
	    (unsigned long long)adlen, NULL, out + 1, dk->key);
	*outlen = VAULT_SEALED_LEN(ptlen);
	*key_version = dk->version;
	return (VAULT_OK);
}

/*
 * Decrypts a blob made by vault_seal() for the same org, channel and
 * field, stored with key_version, into out (outsz bytes, at least
 * bloblen - VAULT_OVERHEAD + 1) followed by a NUL; *outlen gets the
 * value's length. The caller owns out and must wipe it after use (an
 * arena does). Fails closed: on any error out holds no plaintext.
 */
int
vault_unseal(const struct vault_datakey *dk, const char *org,
    const char *channel, const char *field, const uint8_t *blob,
    size_t bloblen, uint32_t key_version, char *out, size_t outsz,
    size_t *outlen)
{
	char	ad[VAULT_AD_MAX];
	size_t	ptlen;
	int	adlen;

	*outlen = 0;
	if (outsz > 0)
		out[0] = '\0';
	if ((adlen = vault_ad_cred(ad, sizeof(ad), org, channel,
	    field)) == -1)
		return (VAULT_E_ARG);
	if (blob == NULL || bloblen < VAULT_OVERHEAD ||
	    blob[0] != VAULT_BLOB_V1)
		return (VAULT_E_BLOB);
	if (key_version != dk->version)
		return (VAULT_E_KEYVERSION);
	ptlen = bloblen - VAULT_OVERHEAD;
	if (outsz <= ptlen)
		return (VAULT_E_SPACE);

	if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out, NULL,
	    NULL, blob + 1 + VAULT_NONCE_LEN, bloblen - 1 - VAULT_NONCE_LEN,
	    (const uint8_t *)ad, (unsigned long long)adlen, blob + 1,
	    dk->key) != 0) {
		sodium_memzero(out, outsz);
		return (VAULT_E_DECRYPT);
	}
	out[ptlen] = '\0';
	*outlen = ptlen;
	return (VAULT_OK);
}

/*
 * BLAKE2b-256 of data keyed with a purpose key (app/keys.c): what
 * gets stored for a session id or an API token instead of the token.
 */
void
vault_keyed_hash(const uint8_t key[VAULT_KEY_LEN], const void *data,
    size_t len, uint8_t out[32])
{
	(void)crypto_generichash(out, 32, data, len, key, VAULT_KEY_LEN);
}

/*
 * VAULT_TOKEN_BYTES random bytes as unpadded base64url (VAULT_TOKEN_LEN
 * characters and a NUL) into out: session ids, API tokens, CSRF tokens,
 * invitation codes. Nothing is kept.
 */
int
vault_random_token(char out[VAULT_TOKEN_LEN + 1])
{
	uint8_t	raw[VAULT_TOKEN_BYTES];

	randombytes_buf(raw, sizeof(raw));
	(void)sodium_bin2base64(out, VAULT_TOKEN_LEN + 1, raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	return (VAULT_OK);
}

/*
 * A vault holding the key in buf: 32 raw bytes when len is 32, otherwise
 * 64 hex digits and an optional "\n" or "\r\n". buf stays the caller's.
 */
static int
vault_new(struct vault **out, const uint8_t *buf, size_t len)
{
	struct vault	*v;
	uint8_t		 idmac[16];
	int		 rc;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return (VAULT_E_NOMEM);
	if ((v->key = sodium_malloc(VAULT_KEY_LEN)) == NULL) {
		free(v);
		return (VAULT_E_NOMEM);
	}

	if (len == VAULT_KEY_LEN)
		memcpy(v->key, buf, VAULT_KEY_LEN);
	else if (vault_parse_key((const char *)buf, len, v->key) == -1) {
		rc = VAULT_E_FORMAT;
		goto fail;
	}
	/* A key of zeros is a mistake (an empty volume, /dev/zero). */
	if (sodium_is_zero(v->key, VAULT_KEY_LEN)) {
		rc = VAULT_E_FORMAT;
		goto fail;
	}

	/* A MAC of a constant, so the id reveals nothing about the key. */
	(void)crypto_generichash(idmac, sizeof(idmac),
	    (const uint8_t *)VAULT_KEY_ID_INPUT, sizeof(VAULT_KEY_ID_INPUT) - 1,
	    v->key, VAULT_KEY_LEN);
	(void)sodium_bin2hex(v->id, sizeof(v->id), idmac, VAULT_KEY_ID_LEN / 2);

	(void)sodium_mprotect_readonly(v->key);
	*out = v;
	return (VAULT_OK);

fail:
	sodium_free(v->key);
	free(v);
	return (rc);
}

/*
 * Whether s (len bytes) is 64 hex digits with an optional trailing "\n"
 * or "\r\n": 0 with the 32 bytes in key, or -1.
 */
static int
vault_parse_key(const char *s, size_t len, uint8_t *key)
{
	uint8_t	tmp[VAULT_KEY_LEN];
	size_t	binlen;
	int	rc;

	if (len > 0 && s[len - 1] == '\n')
		len--;
	if (len > 0 && s[len - 1] == '\r')
		len--;
	if (len != 2 * VAULT_KEY_LEN)
		return (-1);
	rc = sodium_hex2bin(tmp, sizeof(tmp), s, len, NULL, &binlen,
	    NULL) == 0 && binlen == VAULT_KEY_LEN ? 0 : -1;
	if (rc == 0)
		memcpy(key, tmp, VAULT_KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return (rc);
}

/* An org or channel id: 1 to VAULT_ID_MAX bytes, none of them ':' (the
 * separator in associated data, which must stay unambiguous). */
static int
vault_id_ok(const char *id)
{
	size_t	len;

	if (id == NULL)
		return (0);
	len = strnlen(id, VAULT_ID_MAX + 1);
	return (len > 0 && len <= VAULT_ID_MAX && memchr(id, ':', len) == NULL);
}

static int
vault_field_ok(const char *f)
{
	size_t	len;

	if (f == NULL)
		return (0);
	len = strlen(f);
	return (len > 0 && len <= 32 &&
	    strspn(f, "abcdefghijklmnopqrstuvwxyz0123456789_") == len);
}

/* "orgkey:v1:<org>" into ad; its length, or -1 for a bad id. */
static int
vault_ad_orgkey(char *ad, size_t size, const char *org)
{
	int	n;

	if (!vault_id_ok(org))
		return (-1);
	n = snprintf(ad, size, "orgkey:v1:%s", org);
	return (n < 0 || (size_t)n >= size ? -1 : n);
}

/* "cred:v1:<org>:<channel>:<field>" into ad; its length, or -1. */
static int
vault_ad_cred(char *ad, size_t size, const char *org, const char *channel,
    const char *field)
{
	int	n;

	if (!vault_id_ok(org) || !vault_id_ok(channel) ||
	    !vault_field_ok(field))
		return (-1);
	n = snprintf(ad, size, "cred:v1:%s:%s:%s", org, channel, field);
	return (n < 0 || (size_t)n >= size ? -1 : n);
}
