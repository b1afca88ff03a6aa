/*
 * fuzz_signature.c: libFuzzer target for the X-Hub-Signature-256 parser
 * and verifier.
 *
 * The input is split at its first NUL: the bytes before are the header
 * value, the bytes after are the body (so the escaped-unicode fallback sees
 * arbitrary, often invalid, UTF-8). Besides not crashing, it checks that
 * whatever parses is exactly "sha256=" and 64 hex digits, and that a
 * header the target signs itself over the body verifies.
 *
 * Build and run (from the repository root):
 *   mkdir -p tests/fuzz/bin
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *       -fno-sanitize-recover=undefined -std=gnu11 -Wall -Wextra -Werror \
 *       -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Iapp/core \
 *       tests/fuzz/fuzz_signature.c app/core/signature.c \
 *       -o tests/fuzz/bin/fuzz_signature -lsodium
 *   tests/fuzz/bin/fuzz_signature -max_total_time=60
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "signature.h"

static const char	key[] = "fuzz-app-secret";

static void	check_header(const uint8_t *, size_t, const uint8_t *, size_t);
static void	check_own_signature(const uint8_t *, size_t);
int		LLVMFuzzerInitialize(int *, char ***);
int		LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() == -1)
		abort();
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const uint8_t	*nul, *body;
	size_t		 hlen;

	nul = memchr(data, '\0', len);
	hlen = nul == NULL ? len : (size_t)(nul - data);
	body = nul == NULL ? data + len : nul + 1;

	check_header(data, hlen, body, len - (size_t)(body - data));
	check_own_signature(body, len - (size_t)(body - data));
	return (0);
}

/* The fuzzed header, copied to its own allocation so ASan sees any
 * read past hlen. */
static void
check_header(const uint8_t *data, size_t hlen, const uint8_t *body,
    size_t blen)
{
	uint8_t	 mac[SIGNATURE_MAC_LEN];
	char	*h;
	size_t	 i;
	int	 rc;

	if ((h = malloc(hlen == 0 ? 1 : hlen)) == NULL)
		abort();
	memcpy(h, data, hlen);

	rc = signature_parse(h, hlen, mac);
	if (rc == SIGNATURE_OK) {
		if (hlen != SIGNATURE_HEADER_LEN ||
		    memcmp(h, SIGNATURE_PREFIX, SIGNATURE_PREFIX_LEN) != 0)
			abort();
		for (i = SIGNATURE_PREFIX_LEN; i < hlen; i++)
			if (!((h[i] >= '0' && h[i] <= '9') ||
			    (h[i] >= 'a' && h[i] <= 'f') ||
			    (h[i] >= 'A' && h[i] <= 'F')))
				abort();
	} else if (rc != SIGNATURE_MALFORMED)
		abort();

	rc = signature_verify(h, hlen, key, sizeof(key) - 1, body, blen);
	if (rc != SIGNATURE_OK && rc != SIGNATURE_MALFORMED &&
	    rc != SIGNATURE_MISMATCH)
		abort();
	free(h);
}

/* A header signed here over the body always verifies. */
static void
check_own_signature(const uint8_t *body, size_t blen)
{
	crypto_auth_hmacsha256_state	st;
	uint8_t				mac[SIGNATURE_MAC_LEN];
	char				hdr[SIGNATURE_HEADER_LEN + 1];

	crypto_auth_hmacsha256_init(&st, (const uint8_t *)key,
	    sizeof(key) - 1);
	crypto_auth_hmacsha256_update(&st, body, blen);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(hdr, SIGNATURE_PREFIX, SIGNATURE_PREFIX_LEN);
	sodium_bin2hex(hdr + SIGNATURE_PREFIX_LEN,
	    sizeof(hdr) - SIGNATURE_PREFIX_LEN, mac, sizeof(mac));
	if (signature_verify(hdr, SIGNATURE_HEADER_LEN, key, sizeof(key) - 1,
	    body, blen) != SIGNATURE_OK)
		abort();
}
