/*
 * test_signature.c: X-Hub-Signature-256 parsing and verification.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "signature.h"

/* RFC 4231, test case 2. */
#define JEFE_KEY	"Jefe"
#define JEFE_DATA	"what do ya want for nothing?"
#define JEFE_SIG	"sha256=5bdcc146bf60754e6a042426089575c7" \
			    "5a003f089d2739839dec58b964ec3843"

static void	sign(const char *, const void *, size_t, char *);
static int	verify(const char *, const char *, const char *);
static void	test_good(void **);
static void	test_bad(void **);
static void	test_missing_prefix(void **);
static void	test_lengths(void **);
static void	test_non_hex(void **);
static void	test_empty(void **);
static void	test_uppercase(void **);
static void	test_parse(void **);
static void	test_escaped_fallback(void **);

/* "sha256=<hex>" of body under key, into out (at least 72 bytes). */
static void
sign(const char *key, const void *body, size_t len, char *out)
{
	crypto_auth_hmacsha256_state	st;
	uint8_t				mac[32];

	crypto_auth_hmacsha256_init(&st, (const uint8_t *)key, strlen(key));
	crypto_auth_hmacsha256_update(&st, body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, 65, mac, sizeof(mac));
}

static int
verify(const char *hdr, const char *key, const char *body)
{
	return (signature_verify(hdr, hdr == NULL ? 0 : strlen(hdr), key,
	    key == NULL ? 0 : strlen(key), body, strlen(body)));
}

static void
test_good(void **state)
{
	char	hdr[80];
	char	longkey[200];

	(void)state;
	assert_int_equal(verify(JEFE_SIG, JEFE_KEY, JEFE_DATA), SIGNATURE_OK);

	/* Keys longer than the SHA-256 block are hashed first. */
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	sign(longkey, "{}", 2, hdr);
	assert_int_equal(verify(hdr, longkey, "{}"), SIGNATURE_OK);

	/* Over exactly the bytes: an empty body has a signature too. */
	sign("s3cret", "", 0, hdr);
	assert_int_equal(verify(hdr, "s3cret", ""), SIGNATURE_OK);
}

static void
test_bad(void **state)
{
	char	hdr[80];
	size_t	i;

	(void)state;
	assert_int_equal(verify(JEFE_SIG, "jefe", JEFE_DATA),
	    SIGNATURE_MISMATCH);
	assert_int_equal(verify(JEFE_SIG, JEFE_KEY, JEFE_DATA " "),
	    SIGNATURE_MISMATCH);

	/* Every digit changed, one at a time, fails. */
	for (i = 7; i < SIGNATURE_HEADER_LEN; i++) {
		strcpy(hdr, JEFE_SIG);
		hdr[i] = hdr[i] == '0' ? '1' : '0';
		assert_int_equal(verify(hdr, JEFE_KEY, JEFE_DATA),
		    SIGNATURE_MISMATCH);
	}
}

static void
test_missing_prefix(void **state)
{
	(void)state;
	assert_int_equal(verify(JEFE_SIG + 7, JEFE_KEY, JEFE_DATA),
	    SIGNATURE_MALFORMED);
	assert_int_equal(verify("sha1=5bdcc146bf60754e6a042426089575c75a003f08"
	    "9d2739839dec58b964ec3843ab", JEFE_KEY, JEFE_DATA),
	    SIGNATURE_MALFORMED);
	assert_int_equal(verify("SHA256=5bdcc146bf60754e6a042426089575c75a003f0"
	    "89d2739839dec58b964ec3843", JEFE_KEY, JEFE_DATA),
	    SIGNATURE_MALFORMED);
	assert_int_equal(verify("sha256:5bdcc146bf60754e6a042426089575c75a003f0"
	    "89d2739839dec58b964ec3843", JEFE_KEY, JEFE_DATA),
	    SIGNATURE_MALFORMED);
}

static void
test_lengths(void **state)
{
	char	hdr[100];

	(void)state;
	/* Short: one digit missing. */
	snprintf(hdr, sizeof(hdr), "%.*s", SIGNATURE_HEADER_LEN - 1, JEFE_SIG);
	assert_int_equal(verify(hdr, JEFE_KEY, JEFE_DATA), SIGNATURE_MALFORMED);
	/* Long: a digit, a space, a newline, a second signature. */
	snprintf(hdr, sizeof(hdr), "%s0", JEFE_SIG);
	assert_int_equal(verify(hdr, JEFE_KEY, JEFE_DATA), SIGNATURE_MALFORMED);
	snprintf(hdr, sizeof(hdr), "%s ", JEFE_SIG);
	assert_int_equal(verify(hdr, JEFE_KEY, JEFE_DATA), SIGNATURE_MALFORMED);
	snprintf(hdr, sizeof(hdr), " %s", JEFE_SIG);
	assert_int_equal(verify(hdr, JEFE_KEY, JEFE_DATA), SIGNATURE_MALFORMED);
	snprintf(hdr, sizeof(hdr), "%s\n", JEFE_SIG);
	assert_int_equal(verify(hdr, JEFE_KEY, JEFE_DATA), SIGNATURE_MALFORMED);
	assert_int_equal(verify("sha256=", JEFE_KEY, JEFE_DATA),
	    SIGNATURE_MALFORMED);
	/* A NUL inside the counted length is not hex either. */
	assert_int_equal(signature_verify("sha256=\0", SIGNATURE_HEADER_LEN,
	    "k", 1, "", 0), SIGNATURE_MALFORMED);
}

static void
test_non_hex(void **state)
{
	char	hdr[80];
	size_t	i;
	const char bad[] = "gG xz-+\x80\xff";

	(void)state;
	for (i = 0; i < sizeof(bad) - 1; i++) {
		strcpy(hdr, JEFE_SIG);
		hdr[40] = bad[i];
		assert_int_equal(verify(hdr, JEFE_KEY, JEFE_DATA),
		    SIGNATURE_MALFORMED);
	}
}

static void
test_empty(void **state)
{
	(void)state;
	assert_int_equal(verify("", JEFE_KEY, JEFE_DATA), SIGNATURE_MALFORMED);
	assert_int_equal(signature_verify(NULL, 0, JEFE_KEY, 4, JEFE_DATA,
	    strlen(JEFE_DATA)), SIGNATURE_MALFORMED);
	/* An empty or missing secret never verifies anything. */
	assert_int_equal(verify(JEFE_SIG, "", JEFE_DATA), SIGNATURE_NOKEY);
	assert_int_equal(verify(JEFE_SIG, NULL, JEFE_DATA), SIGNATURE_NOKEY);
	assert_string_equal(signature_strerror(SIGNATURE_NOKEY),
	    "no secret to verify the signature with");
}

static void
test_uppercase(void **state)
{
	char	hdr[80];
	size_t	i;

	(void)state;
	strcpy(hdr, JEFE_SIG);
	for (i = 7; hdr[i] != '\0'; i++)
		if (hdr[i] >= 'a' && hdr[i] <= 'f')
			hdr[i] -= 'a' - 'A';
	assert_int_equal(verify(hdr, JEFE_KEY, JEFE_DATA), SIGNATURE_OK);
}

static void
test_parse(void **state)
{
	uint8_t	mac[32];

	(void)state;
	assert_int_equal(signature_parse(JEFE_SIG, strlen(JEFE_SIG), mac),
	    SIGNATURE_OK);
	assert_int_equal(mac[0], 0x5b);
	assert_int_equal(mac[31], 0x43);
	/* No NUL needed: only len bytes are read. */
	assert_int_equal(signature_parse(JEFE_SIG "trailing",
	    SIGNATURE_HEADER_LEN, mac), SIGNATURE_OK);
}

static void
test_escaped_fallback(void **state)
{
	/* "äöå 😀" raw, and as Meta documents signing it. */
	const char	*raw = "{\"t\":\"\xc3\xa4\xc3\xb6\xc3\xa5 "
			    "\xf0\x9f\x98\x80\"}";
	const char	*esc = "{\"t\":\"\\u00e4\\u00f6\\u00e5 "
			    "\\ud83d\\ude00\"}";
	const char	*upper = "{\"t\":\"\\u00E4\\u00F6\\u00E5 "
			    "\\uD83D\\uDE00\"}";
	char		 hdr[80], body[5000], escbody[3 * 5000];
	size_t		 i, n;

	(void)state;
	sign("app", esc, strlen(esc), hdr);
	assert_int_equal(verify(hdr, "app", esc), SIGNATURE_OK);
	assert_int_equal(verify(hdr, "app", raw), SIGNATURE_OK);
	/* Escaped with uppercase digits is a different payload. */
	sign("app", upper, strlen(upper), hdr);
	assert_int_equal(verify(hdr, "app", raw), SIGNATURE_MISMATCH);

	/* Long enough to flush the escape buffer several times. */
	for (i = 0, n = 0; i + 2 < sizeof(body); i += 2, n += 6) {
		memcpy(body + i, "\xc3\xa9", 2);
		memcpy(escbody + n, "\\u00e9", 6);
	}
	body[i] = '\0';
	sign("app", escbody, n, hdr);
	assert_int_equal(verify(hdr, "app", body), SIGNATURE_OK);

	/* Not UTF-8 (overlong, surrogate, truncated): raw check only. */
	sign("app", "\\u002f", 6, hdr);
	assert_int_equal(verify(hdr, "app", "\xc0\xaf"), SIGNATURE_MISMATCH);
	sign("app", "\\ud800", 6, hdr);
	assert_int_equal(verify(hdr, "app", "\xed\xa0\x80"),
	    SIGNATURE_MISMATCH);
	sign("app", "x", 1, hdr);
	assert_int_equal(verify(hdr, "app", "\xe2\x82"), SIGNATURE_MISMATCH);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_missing_prefix),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_non_hex),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_uppercase),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_escaped_fallback),
	};

	if (sodium_init() == -1)
		return (1);
	return (cmocka_run_group_tests_name("signature", tests, NULL, NULL));
}
