/*
 * signature.h: Meta's X-Hub-Signature-256 webhook signature.
 *
 * The header is "sha256=" followed by the HMAC-SHA256 of the raw request
 * body under the app secret, as 64 hex digits. See signature.c for what is
 * accepted and why.
 */
#ifndef SIGNATURE_H
#define SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

#define SIGNATURE_PREFIX	"sha256="
#define SIGNATURE_PREFIX_LEN	7
#define SIGNATURE_MAC_LEN	32
#define SIGNATURE_HEADER_LEN	(SIGNATURE_PREFIX_LEN + 2 * SIGNATURE_MAC_LEN)

#define SIGNATURE_OK		0
#define SIGNATURE_MALFORMED	-1	/* missing, wrong prefix/length/hex */
#define SIGNATURE_MISMATCH	-2	/* well-formed but wrong */
#define SIGNATURE_NOKEY		-3	/* empty secret: refuse, never sign */

int		 signature_parse(const char *, size_t,
		    uint8_t [SIGNATURE_MAC_LEN]);
int		 signature_verify(const char *, size_t, const void *, size_t,
		    const void *, size_t);
const char	*signature_strerror(int);

#endif /* !SIGNATURE_H */
