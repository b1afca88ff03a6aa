/*
 * test_vault.c: master key loading, data key wrapping, sealed credential
 * fields, rotation, derived keys and tokens.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "vault.h"

#define HEX_A	"000102030405060708090a0b0c0d0e0f" \
		"101112131415161718191a1b1c1d1e1f"
#define HEX_B	"f0e1d2c3b4a5968778695a4b3c2d1e0f" \
		"0f1e2d3c4b5a69788796a5b4c3d2e1f0"

static char	*key_file(const void *, size_t, mode_t);
static void	 seal_one(struct vault *, struct vault_datakey *,
		    uint8_t *, uint8_t *, size_t *);
static void	 test_roundtrip(void **);
static void	 test_tamper_every_bit(void **);
static void	 test_wrapped_tamper(void **);
static void	 test_moved_ciphertext(void **);
static void	 test_wrong_master_key(void **);
static void	 test_rotation(void **);
static void	 test_key_file(void **);
static void	 test_key_env(void **);
static void	 test_key_id(void **);
static void	 test_bad_args(void **);
static void	 test_keyed_hash(void **);
static void	 test_tokens(void **);

static const char	secret[] = "EAAGm0PX4ZCpsBAsecret-token";

/* A temporary key file with the given contents and mode; free the path
 * after unlinking it. */
static char *
key_file(const void *data, size_t len, mode_t mode)
{
	char	*path;
	int	 fd;

	assert_non_null(path = strdup("/tmp/test_vault.XXXXXX"));
	assert_int_not_equal(fd = mkstemp(path), -1);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
	return (path);
}

/* Seals `secret` for org1/ch1/access_token with a fresh data key. */
static void
seal_one(struct vault *v, struct vault_datakey *dk, uint8_t *wrapped,
    uint8_t *blob, size_t *bloblen)
{
	uint32_t	kv;

	assert_int_equal(vault_datakey_new(v, "org1", dk, wrapped), VAULT_OK);
	assert_int_equal(vault_seal(dk, "org1", "ch1", "access_token", secret,
	    strlen(secret), blob, VAULT_SEALED_LEN(strlen(secret)), bloblen,
	    &kv), VAULT_OK);
	assert_int_equal(kv, VAULT_DATAKEY_V1);
	assert_int_equal(*bloblen, VAULT_SEALED_LEN(strlen(secret)));
}

static void
test_roundtrip(void **state)
{
	struct vault		*v;
	struct vault_datakey	 dk, dk2;
	uint8_t			 wrapped[VAULT_WRAPPED_LEN], blob[200];
	uint8_t			 blob2[200];
	char			 out[200];
	size_t			 bloblen, blob2len, outlen;
	uint32_t		 kv;

	(void)state;
	assert_int_equal(vault_open_hex(&v, HEX_A), VAULT_OK);
	seal_one(v, &dk, wrapped, blob, &bloblen);
	assert_int_equal(blob[0], VAULT_BLOB_V1);
	assert_null(memmem(blob, bloblen, secret, strlen(secret)));

	/* Later, from the stored wrapped key. */
	assert_int_equal(vault_datakey_unwrap(v, "org1", wrapped,
	    sizeof(wrapped), VAULT_DATAKEY_V1, &dk2), VAULT_OK);
	assert_memory_equal(dk.key, dk2.key, VAULT_KEY_LEN);
	assert_int_equal(vault_unseal(&dk2, "org1", "ch1", "access_token",
	    blob, bloblen, VAULT_DATAKEY_V1, out, sizeof(out), &outlen),
	    VAULT_OK);
	assert_int_equal(outlen, strlen(secret));
	assert_string_equal(out, secret);

	/* Random nonces: the same value twice gives different blobs. */
	assert_int_equal(vault_seal(&dk, "org1", "ch1", "access_token",
	    secret, strlen(secret), blob2, sizeof(blob2), &blob2len, &kv),
	    VAULT_OK);
	assert_int_equal(blob2len, bloblen);
	assert_memory_not_equal(blob, blob2, bloblen);

	/* An empty value is a value too. */
	assert_int_equal(vault_seal(&dk, "org1", "ch1", "note", "", 0, blob2,
	    sizeof(blob2), &blob2len, &kv), VAULT_OK);
	assert_int_equal(blob2len, VAULT_OVERHEAD);
	assert_int_equal(vault_unseal(&dk, "org1", "ch1", "note", blob2,
	    blob2len, kv, out, sizeof(out), &outlen), VAULT_OK);
	assert_int_equal(outlen, 0);
	assert_string_equal(out, "");

	/* The exact room needed is enough, one byte less is not. */
	assert_int_equal(vault_unseal(&dk, "org1", "ch1", "access_token",
	    blob, bloblen, kv, out, strlen(secret) + 1, &outlen), VAULT_OK);
	assert_int_equal(vault_unseal(&dk, "org1", "ch1", "access_token",
	    blob, bloblen, kv, out, strlen(secret), &outlen), VAULT_E_SPACE);
	assert_int_equal(vault_seal(&dk, "org1", "ch1", "access_token",
	    secret, strlen(secret), blob2, VAULT_SEALED_LEN(strlen(secret)) - 1,
	    &blob2len, &kv), VAULT_E_SPACE);

	vault_datakey_wipe(&dk);
	vault_datakey_wipe(&dk2);
	assert_true(sodium_is_zero(dk.key, sizeof(dk.key)));
	vault_close(v);
	vault_close(NULL);
}

static void
test_tamper_every_bit(void **state)
{
	struct vault		*v;
	struct vault_datakey	 dk;
	uint8_t			 wrapped[VAULT_WRAPPED_LEN], blob[200];
	char			 out[200];
	size_t			 bloblen, outlen, i;
	int			 bit, rc;

	(void)state;
	assert_int_equal(vault_open_hex(&v, HEX_A), VAULT_OK);
	seal_one(v, &dk, wrapped, blob, &bloblen);

	for (i = 0; i < bloblen; i++) {
		for (bit = 0; bit < 8; bit++) {
			blob[i] ^= 1u << bit;
			memset(out, 'x', sizeof(out));
			rc = vault_unseal(&dk, "org1", "ch1", "access_token",
			    blob, bloblen, VAULT_DATAKEY_V1, out, sizeof(out),
			    &outlen);
			assert_int_equal(rc, i == 0 ? VAULT_E_BLOB :
			    VAULT_E_DECRYPT);
			assert_int_equal(outlen, 0);
			assert_int_equal(out[0], '\0');
			blob[i] ^= 1u << bit;
		}
	}
	/* Truncated, extended, or empty. */
	for (i = 0; i < bloblen; i++)
		assert_int_not_equal(vault_unseal(&dk, "org1", "ch1",
		    "access_token", blob, i, VAULT_DATAKEY_V1, out,
		    sizeof(out), &outlen), VAULT_OK);
	blob[bloblen] = 0;
	assert_int_equal(vault_unseal(&dk, "org1", "ch1", "access_token",
	    blob, bloblen + 1, VAULT_DATAKEY_V1, out, sizeof(out), &outlen),
	    VAULT_E_DECRYPT);
	assert_int_equal(vault_unseal(&dk, "org1", "ch1", "access_token",
	    NULL, 0, VAULT_DATAKEY_V1, out, sizeof(out), &outlen),
	    VAULT_E_BLOB);
	/* Still fine untouched. */
	assert_int_equal(vault_unseal(&dk, "org1", "ch1", "access_token",
	    blob, bloblen, VAULT_DATAKEY_V1, out, sizeof(out), &outlen),
	    VAULT_OK);
	/* Stored with another data key version. */
	assert_int_equal(vault_unseal(&dk, "org1", "ch1", "access_token",
	    blob, bloblen, VAULT_DATAKEY_V1 + 1, out, sizeof(out), &outlen),
	    VAULT_E_KEYVERSION);

	vault_datakey_wipe(&dk);
	vault_close(v);
}

static void
test_wrapped_tamper(void **state)
{
	struct vault		*v;
	struct vault_datakey	 dk;
	uint8_t			 wrapped[VAULT_WRAPPED_LEN];
	size_t			 i;
	int			 bit;

	(void)state;
	assert_int_equal(vault_open_hex(&v, HEX_A), VAULT_OK);
	assert_int_equal(vault_datakey_new(v, "org1", NULL, wrapped),
	    VAULT_OK);
	for (i = 0; i < sizeof(wrapped); i++) {
		for (bit = 0; bit < 8; bit++) {
			wrapped[i] ^= 1u << bit;
			assert_int_equal(vault_datakey_unwrap(v, "org1",
			    wrapped, sizeof(wrapped), 1, &dk), i == 0 ?
			    VAULT_E_BLOB : VAULT_E_WRONG_KEY);
			assert_true(sodium_is_zero(dk.key, sizeof(dk.key)));
			wrapped[i] ^= 1u << bit;
		}
	}
	assert_int_equal(vault_check(v, "org1", wrapped, sizeof(wrapped) - 1),
	    VAULT_E_BLOB);
	assert_int_equal(vault_check(v, "org1", wrapped, sizeof(wrapped)),
	    VAULT_OK);
	vault_close(v);
}

static void
test_moved_ciphertext(void **state)
{
	struct vault		*v;
	struct vault_datakey	 dk, dk2;
	uint8_t			 wrapped[VAULT_WRAPPED_LEN];
	uint8_t			 wrapped2[VAULT_WRAPPED_LEN], blob[200];
	char			 out[200];
	size_t			 bloblen, outlen;

	(void)state;
	assert_int_equal(vault_open_hex(&v, HEX_A), VAULT_OK);
	seal_one(v, &dk, wrapped, blob, &bloblen);

	/* Same data key, another row: org, channel or field differ. */
	assert_int_equal(vault_unseal(&dk, "org2", "ch1", "access_token",
	    blob, bloblen, 1, out, sizeof(out), &outlen), VAULT_E_DECRYPT);
	assert_int_equal(vault_unseal(&dk, "org1", "ch2", "access_token",
	    blob, bloblen, 1, out, sizeof(out), &outlen), VAULT_E_DECRYPT);
	assert_int_equal(vault_unseal(&dk, "org1", "ch1", "app_secret",
	    blob, bloblen, 1, out, sizeof(out), &outlen), VAULT_E_DECRYPT);
	/* Separators cannot be shifted between parts: ':' is refused. */
	assert_int_equal(vault_unseal(&dk, "org1:ch1", "access_token",
	    "access_token", blob, bloblen, 1, out, sizeof(out), &outlen),
	    VAULT_E_ARG);
	assert_int_equal(vault_unseal(&dk, "org", "1", "access_token",
	    blob, bloblen, 1, out, sizeof(out), &outlen), VAULT_E_DECRYPT);

	/* Another organization's data key, even under the right ids. */
	assert_int_equal(vault_datakey_new(v, "org2", &dk2, wrapped2),
	    VAULT_OK);
	assert_int_equal(vault_unseal(&dk2, "org1", "ch1", "access_token",
	    blob, bloblen, 1, out, sizeof(out), &outlen), VAULT_E_DECRYPT);

	/* A wrapped key copied onto another organization's row. */
	assert_int_equal(vault_datakey_unwrap(v, "org2", wrapped,
	    sizeof(wrapped), 1, &dk2), VAULT_E_WRONG_KEY);
	assert_int_equal(vault_check(v, "org2", wrapped, sizeof(wrapped)),
	    VAULT_E_WRONG_KEY);

	vault_datakey_wipe(&dk);
	vault_datakey_wipe(&dk2);
	vault_close(v);
}

static void
test_wrong_master_key(void **state)
{
	struct vault	*a, *b;
	uint8_t		 wrapped[VAULT_WRAPPED_LEN];
	int		 rc;

	(void)state;
	assert_int_equal(vault_open_hex(&a, HEX_A), VAULT_OK);
	assert_int_equal(vault_open_hex(&b, HEX_B), VAULT_OK);
	assert_string_not_equal(vault_key_id(a), vault_key_id(b));
	assert_int_equal(vault_datakey_new(a, "org1", NULL, wrapped),
	    VAULT_OK);
	assert_int_equal(vault_check(a, "org1", wrapped, sizeof(wrapped)),
	    VAULT_OK);
	rc = vault_check(b, "org1", wrapped, sizeof(wrapped));
	assert_int_equal(rc, VAULT_E_WRONG_KEY);
	assert_non_null(strstr(vault_strerror(rc), "wrong MASTER_KEY"));
	vault_close(a);
	vault_close(b);
}

static void
test_rotation(void **state)
{
	struct vault		*old, *new;
	struct vault_datakey	 dk, dk2;
	uint8_t			 wrapped[VAULT_WRAPPED_LEN], blob[200];
	uint8_t			 rewrapped[VAULT_WRAPPED_LEN];
	uint8_t			 again[VAULT_WRAPPED_LEN];
	char			 out[200];
	size_t			 bloblen, outlen;

	(void)state;
	assert_int_equal(vault_open_hex(&old, HEX_A), VAULT_OK);
	assert_int_equal(vault_open_hex(&new, HEX_B), VAULT_OK);
	seal_one(old, &dk, wrapped, blob, &bloblen);

	assert_int_equal(vault_rewrap(old, new, "org1", wrapped,
	    sizeof(wrapped), rewrapped), VAULT_OK);
	assert_memory_not_equal(wrapped, rewrapped, sizeof(wrapped));
	assert_int_equal(vault_check(new, "org1", rewrapped,
	    sizeof(rewrapped)), VAULT_OK);
	assert_int_equal(vault_check(old, "org1", rewrapped,
	    sizeof(rewrapped)), VAULT_E_WRONG_KEY);

	/* Same data key, so fields sealed before rotation still open. */
	assert_int_equal(vault_datakey_unwrap(new, "org1", rewrapped,
	    sizeof(rewrapped), 1, &dk2), VAULT_OK);
	assert_memory_equal(dk.key, dk2.key, VAULT_KEY_LEN);
	assert_int_equal(vault_unseal(&dk2, "org1", "ch1", "access_token",
	    blob, bloblen, 1, out, sizeof(out), &outlen), VAULT_OK);
	assert_string_equal(out, secret);

	/* Running rotation twice on a row: the second sees the new key. */
	memset(again, 0x55, sizeof(again));
	assert_int_equal(vault_rewrap(old, new, "org1", rewrapped,
	    sizeof(rewrapped), again), VAULT_E_WRONG_KEY);
	assert_int_equal(again[0], 0x55);
	/* Rewrapping is bound to the organization too. */
	assert_int_equal(vault_rewrap(old, new, "org2", wrapped,
	    sizeof(wrapped), again), VAULT_E_WRONG_KEY);

	vault_datakey_wipe(&dk);
	vault_datakey_wipe(&dk2);
	vault_close(old);
	vault_close(new);
}

static void
test_key_file(void **state)
{
	struct vault	*v, *h;
	uint8_t		 raw[VAULT_KEY_LEN];
	size_t		 binlen;
	char		*p;
	char		 upper[80];
	size_t		 i;

	(void)state;
	assert_int_equal(vault_open_hex(&h, HEX_A), VAULT_OK);
	assert_int_equal(sodium_hex2bin(raw, sizeof(raw), HEX_A,
	    strlen(HEX_A), NULL, &binlen, NULL), 0);

	p = key_file(raw, sizeof(raw), 0600);
	assert_int_equal(vault_open_file(&v, p), VAULT_OK);
	assert_string_equal(vault_key_id(v), vault_key_id(h));
	vault_close(v);
	/* Readable by group or others, or writable by them: refused. */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(vault_open_file(&v, p), VAULT_E_PERM);
	assert_null(v);
	assert_int_equal(chmod(p, 0604), 0);
	assert_int_equal(vault_open_file(&v, p), VAULT_E_PERM);
	assert_int_equal(chmod(p, 0620), 0);
	assert_int_equal(vault_open_file(&v, p), VAULT_E_PERM);
	assert_int_equal(chmod(p, 0400), 0);
	assert_int_equal(vault_open_file(&v, p), VAULT_OK);
	vault_close(v);
	unlink(p);
	free(p);

	/* Hex, with and without a newline, either case. */
	p = key_file(HEX_A "\n", strlen(HEX_A) + 1, 0400);
	assert_int_equal(vault_open_file(&v, p), VAULT_OK);
	assert_string_equal(vault_key_id(v), vault_key_id(h));
	vault_close(v);
	unlink(p);
	free(p);
	for (i = 0; HEX_A[i] != '\0'; i++)
		upper[i] = HEX_A[i] >= 'a' ? HEX_A[i] - 32 : HEX_A[i];
	upper[i] = '\0';
	p = key_file(upper, strlen(upper), 0600);
	assert_int_equal(vault_open_file(&v, p), VAULT_OK);
	assert_string_equal(vault_key_id(v), vault_key_id(h));
	vault_close(v);
	unlink(p);
	free(p);

	/* Wrong sizes, not hex, two newlines, all zeros. */
	p = key_file(raw, sizeof(raw) - 1, 0600);
	assert_int_equal(vault_open_file(&v, p), VAULT_E_FORMAT);
	unlink(p);
	free(p);
	p = key_file(HEX_A "\n\n", strlen(HEX_A) + 2, 0600);
	assert_int_equal(vault_open_file(&v, p), VAULT_E_FORMAT);
	unlink(p);
	free(p);
	p = key_file(HEX_A "00", strlen(HEX_A) + 2, 0600);
	assert_int_equal(vault_open_file(&v, p), VAULT_E_FORMAT);
	unlink(p);
	free(p);
	upper[0] = 'z';
	p = key_file(upper, strlen(upper), 0600);
	assert_int_equal(vault_open_file(&v, p), VAULT_E_FORMAT);
	unlink(p);
	free(p);
	memset(raw, 0, sizeof(raw));
	p = key_file(raw, sizeof(raw), 0600);
	assert_int_equal(vault_open_file(&v, p), VAULT_E_FORMAT);
	unlink(p);
	free(p);
	p = key_file("", 0, 0600);
	assert_int_equal(vault_open_file(&v, p), VAULT_E_FORMAT);
	unlink(p);
	free(p);

	assert_int_equal(vault_open_file(&v, "/nonexistent/master.key"),
	    VAULT_E_IO);
	assert_int_equal(vault_open_file(&v, "/tmp"), VAULT_E_PERM);
	vault_close(h);
}

static void
test_key_env(void **state)
{
	struct vault	*v, *h;
	char		*p;

	(void)state;
	assert_int_equal(vault_open_hex(&h, HEX_A), VAULT_OK);
	unsetenv("MASTER_KEY_FILE");
	unsetenv("MASTER_KEY");
	assert_int_equal(vault_open_env(&v), VAULT_E_NOKEY);

	setenv("MASTER_KEY", HEX_B, 1);
	assert_int_equal(vault_open_env(&v), VAULT_OK);
	assert_string_not_equal(vault_key_id(v), vault_key_id(h));
	vault_close(v);

	/* The file wins over the variable. */
	p = key_file(HEX_A, strlen(HEX_A), 0600);
	setenv("MASTER_KEY_FILE", p, 1);
	assert_int_equal(vault_open_env(&v), VAULT_OK);
	assert_string_equal(vault_key_id(v), vault_key_id(h));
	vault_close(v);
	unlink(p);
	free(p);

	unsetenv("MASTER_KEY_FILE");
	setenv("MASTER_KEY", "not hex", 1);
	assert_int_equal(vault_open_env(&v), VAULT_E_FORMAT);
	/* 32 characters are never taken as raw key bytes. */
	setenv("MASTER_KEY", "0123456789abcdef0123456789abcdef", 1);
	assert_int_equal(vault_open_env(&v), VAULT_E_FORMAT);
	unsetenv("MASTER_KEY");
	vault_close(h);
}

static void
test_key_id(void **state)
{
	struct vault	*v;
	uint8_t		 key[VAULT_KEY_LEN], mac[16];
	size_t		 binlen;
	char		 hex[17];

	(void)state;
	assert_int_equal(vault_open_hex(&v, HEX_A), VAULT_OK);
	assert_int_equal(sodium_hex2bin(key, sizeof(key), HEX_A,
	    strlen(HEX_A), NULL, &binlen, NULL), 0);
	crypto_generichash(mac, sizeof(mac),
	    (const uint8_t *)"inbox master key id v1", 22, key, sizeof(key));
	sodium_bin2hex(hex, sizeof(hex), mac, 8);
	assert_string_equal(vault_key_id(v), hex);
	assert_int_equal(strlen(vault_key_id(v)), VAULT_KEY_ID_LEN);
	vault_close(v);
}

static void
test_bad_args(void **state)
{
	struct vault		*v;
	struct vault_datakey	 dk;
	uint8_t			 wrapped[VAULT_WRAPPED_LEN], blob[100];
	char			 longid[VAULT_ID_MAX + 2];
	size_t			 bloblen;
	uint32_t		 kv;

	(void)state;
	assert_int_equal(vault_open_hex(&v, HEX_A), VAULT_OK);
	memset(longid, '7', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(vault_datakey_new(v, longid, &dk, wrapped),
	    VAULT_E_ARG);
	longid[VAULT_ID_MAX] = '\0';
	assert_int_equal(vault_datakey_new(v, longid, &dk, wrapped),
	    VAULT_OK);
	assert_int_equal(vault_datakey_new(v, "", &dk, wrapped), VAULT_E_ARG);
	assert_int_equal(vault_datakey_new(v, "a:b", &dk, wrapped),
	    VAULT_E_ARG);
	assert_int_equal(vault_seal(&dk, "o", "c", "Bad-Field", "x", 1, blob,
	    sizeof(blob), &bloblen, &kv), VAULT_E_ARG);
	assert_int_equal(vault_seal(&dk, "o", NULL, "f", "x", 1, blob,
	    sizeof(blob), &bloblen, &kv), VAULT_E_ARG);
	vault_datakey_wipe(&dk);
	vault_close(v);
}

static void
test_keyed_hash(void **state)
{
	uint8_t	 k1[32], k2[32], h1[32], h2[32], want[32];

	(void)state;
	memset(k1, 0x11, sizeof(k1));
	memset(k2, 0x22, sizeof(k2));
	vault_keyed_hash(k1, "token", 5, h1);
	vault_keyed_hash(k1, "token", 5, h2);
	assert_memory_equal(h1, h2, 32);
	vault_keyed_hash(k2, "token", 5, h2);
	assert_memory_not_equal(h1, h2, 32);
	vault_keyed_hash(k1, "tokem", 5, h2);
	assert_memory_not_equal(h1, h2, 32);
	/* The documented construction: BLAKE2b-256 keyed with the key. */
	crypto_generichash(want, 32, (const uint8_t *)"token", 5, k1, 32);
	assert_memory_equal(h1, want, 32);
}

static void
test_tokens(void **state)
{
	char	t1[VAULT_TOKEN_LEN + 1], t2[VAULT_TOKEN_LEN + 1];
	uint8_t	raw[VAULT_TOKEN_BYTES];
	size_t	binlen;

	(void)state;
	assert_int_equal(vault_random_token(t1), VAULT_OK);
	assert_int_equal(vault_random_token(t2), VAULT_OK);
	assert_int_equal(strlen(t1), VAULT_TOKEN_LEN);
	assert_int_equal(strspn(t1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-_"), VAULT_TOKEN_LEN);
	assert_string_not_equal(t1, t2);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), t1, strlen(t1),
	    NULL, &binlen, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	assert_int_equal(binlen, VAULT_TOKEN_BYTES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_tamper_every_bit),
		cmocka_unit_test(test_wrapped_tamper),
		cmocka_unit_test(test_moved_ciphertext),
		cmocka_unit_test(test_wrong_master_key),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_key_env),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_bad_args),
		cmocka_unit_test(test_keyed_hash),
		cmocka_unit_test(test_tokens),
	};

	if (sodium_init() == -1)
		return (1);
	return (cmocka_run_group_tests_name("vault", tests, NULL, NULL));
}
