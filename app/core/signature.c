/*
 * signature.c: parse and verify X-Hub-Signature-256 over the raw body.
 *
 * What is accepted: exactly "sha256=" (lowercase, as Meta sends it)
 * followed by exactly 64 hex digits and nothing else: no surrounding
 * whitespace (the HTTP layer strips optional whitespace around header
 * values), no second signature. Hex digits may be upper or lower case:
 * Meta sends lowercase, and accepting both costs nothing since the digits
 * are decoded to bytes before the comparison, so no signature that would
 * not verify becomes acceptable.
 *
 * The comparison is constant time (sodium_memcmp). Decoding the header is
 * not, which is fine: it only leaks timing about bytes the sender chose.
 *
 * Meta documents that it signs an "escaped-unicode" form of the payload
 * (non-ASCII code points as lowercase \uXXXX). Bodies normally arrive in
 * that form already, so the raw bytes verify; when they do not and the body
 * has non-ASCII bytes, the HMAC is computed again over the escaped form,
 * streamed into the HMAC without a copy of the body (providers.md §1.2).
 * A body that is not valid UTF-8 only gets the raw-bytes check.
 */
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "signature.h"

static int	signature_nibble(unsigned char);
static int	signature_hmac_escaped(const uint8_t *, size_t,
		    const uint8_t *, size_t, uint8_t [SIGNATURE_MAC_LEN]);
static long	signature_utf8_next(const uint8_t *, size_t, size_t *);

/*
 * Parses the header value hdr of len bytes (no NUL needed) into mac.
 * SIGNATURE_OK or SIGNATURE_MALFORMED; mac is undefined on failure.
 */
int
signature_parse(const char *hdr, size_t len, uint8_t mac[SIGNATURE_MAC_LEN])
{
	const unsigned char	*hex;
	size_t			 i;
	int			 hi, lo;

	if (hdr == NULL || len != SIGNATURE_HEADER_LEN ||
	    memcmp(hdr, SIGNATURE_PREFIX, SIGNATURE_PREFIX_LEN) != 0)
		return (SIGNATURE_MALFORMED);

	hex = (const unsigned char *)hdr + SIGNATURE_PREFIX_LEN;
	for (i = 0; i < SIGNATURE_MAC_LEN; i++) {
		if ((hi = signature_nibble(hex[2 * i])) == -1 ||
		    (lo = signature_nibble(hex[2 * i + 1])) == -1)
			return (SIGNATURE_MALFORMED);
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return (SIGNATURE_OK);
}

/*
 * Verifies the header value hdr (hlen bytes) against the HMAC-SHA256 of
 * body (blen bytes, exactly as received) under secret (slen bytes, any
 * length). Returns SIGNATURE_OK only for a match; nothing is retained.
 */
int
signature_verify(const char *hdr, size_t hlen, const void *secret,
    size_t slen, const void *body, size_t blen)
{
	crypto_auth_hmacsha256_state	 st;
	uint8_t				 want[SIGNATURE_MAC_LEN];
	uint8_t				 got[SIGNATURE_MAC_LEN];
	const uint8_t			*b = body;
	size_t				 i;
	int				 rc;

	if (secret == NULL || slen == 0)
		return (SIGNATURE_NOKEY);
	if (signature_parse(hdr, hlen, want) != SIGNATURE_OK)
		return (SIGNATURE_MALFORMED);
	if (body == NULL)
		blen = 0;

	rc = SIGNATURE_MISMATCH;
	crypto_auth_hmacsha256_init(&st, secret, slen);
	crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_final(&st, got);
	if (sodium_memcmp(want, got, sizeof(got)) == 0) {
		rc = SIGNATURE_OK;
		goto cleanup;
	}

	for (i = 0; i < blen && b[i] < 0x80; i++)
		;
	if (i < blen && signature_hmac_escaped(secret, slen, b, blen,
	    got) == 0 && sodium_memcmp(want, got, sizeof(got)) == 0)
		rc = SIGNATURE_OK;

cleanup:
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(got, sizeof(got));
	return (rc);
}

/* A short English description of a SIGNATURE_* code, for logs. */
const char *
signature_strerror(int rc)
{
	switch (rc) {
	case SIGNATURE_OK:
		return ("signature valid");
	case SIGNATURE_MALFORMED:
		return ("signature header missing or malformed");
	case SIGNATURE_MISMATCH:
		return ("signature does not match the body");
	case SIGNATURE_NOKEY:
		return ("no secret to verify the signature with");
	default:
		return ("unknown signature error");
	}
}

static int
signature_nibble(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/*
 * The HMAC of body with every non-ASCII code point written as \uXXXX in
 * lowercase hex (a surrogate pair above U+FFFF), fed to the HMAC through a
 * small buffer. -1 when the body is not valid UTF-8.
 */
static int
signature_hmac_escaped(const uint8_t *key, size_t klen, const uint8_t *body,
    size_t len, uint8_t out[SIGNATURE_MAC_LEN])
{
	static const char		 hexd[] = "0123456789abcdef";
	crypto_auth_hmacsha256_state	 st;
	uint8_t				 buf[512];
	size_t				 i, n, k, nunits;
	unsigned long			 units[2];
	long				 cp;
	int				 rc;

	rc = -1;
	crypto_auth_hmacsha256_init(&st, key, klen);
	for (i = 0, n = 0; i < len; ) {
		if (n > sizeof(buf) - 12) {
			crypto_auth_hmacsha256_update(&st, buf, n);
			n = 0;
		}
		if (body[i] < 0x80) {
			buf[n++] = body[i++];
			continue;
		}
		if ((cp = signature_utf8_next(body, len, &i)) == -1)
			goto cleanup;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			units[0] = 0xd800 + ((unsigned long)cp >> 10);
			units[1] = 0xdc00 + ((unsigned long)cp & 0x3ff);
			nunits = 2;
		} else {
			units[0] = (unsigned long)cp;
			nunits = 1;
		}
		for (k = 0; k < nunits; k++) {
			buf[n++] = '\\';
			buf[n++] = 'u';
			buf[n++] = hexd[(units[k] >> 12) & 0xf];
			buf[n++] = hexd[(units[k] >> 8) & 0xf];
			buf[n++] = hexd[(units[k] >> 4) & 0xf];
			buf[n++] = hexd[units[k] & 0xf];
		}
	}
	crypto_auth_hmacsha256_update(&st, buf, n);
	crypto_auth_hmacsha256_final(&st, out);
	rc = 0;

cleanup:
	sodium_memzero(&st, sizeof(st));
	sodium_memzero(buf, sizeof(buf));
	return (rc);
}

/*
 * Decodes the UTF-8 sequence at s[*pos] (a lead byte >= 0x80) and moves
 * *pos past it. -1 for anything that is not well-formed UTF-8: a stray
 * continuation byte, a truncated sequence, an overlong form, a surrogate
 * or a code point above U+10FFFF.
 */
static long
signature_utf8_next(const uint8_t *s, size_t len, size_t *pos)
{
	size_t	i = *pos, need, k;
	long	cp, min;

	if (s[i] >= 0xc2 && s[i] <= 0xdf) {
		need = 1;
		cp = s[i] & 0x1f;
		min = 0x80;
	} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
		need = 2;
		cp = s[i] & 0x0f;
		min = 0x800;
	} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
		need = 3;
		cp = s[i] & 0x07;
		min = 0x10000;
	} else
		return (-1);

	if (len - i - 1 < need)
		return (-1);
	for (k = 1; k <= need; k++) {
		if ((s[i + k] & 0xc0) != 0x80)
			return (-1);
		cp = cp << 6 | (s[i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return (-1);
	*pos = i + need + 1;
	return (cp);
}
