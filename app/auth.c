/*
 * auth.c: who is calling, and whether a browser meant to.
 *
 * Browsers carry a session cookie "sid" (256 random bits; the database
 * keeps only a keyed hash). Machines send "Authorization: Bearer ibt_...",
 * an API token that names its organization, so its lookup stays within
 * one tenant. Every state-changing request made with the cookie must
 * come from our own origin and carry the CSRF token, which is derived
 * from the session id and so needs no storage.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sodium.h>

#include "app.h"

#define SID_LEN		43	/* base64url of 32 bytes */
#define SCOPED_ORG_LEN	32	/* hex of a uuid */

static int	token_chars_ok(const char *, size_t);
static int	auth_scoped_parse(const char *, const char *, char *,
		    char [65], const u_int8_t *);

static int
token_chars_ok(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (!isalnum((u_char)s[i]) && s[i] != '-' && s[i] != '_')
			return (0);
	}
	return (1);
}

/*
 * Tokens that name their organization: "<prefix><org hex>_<secret>".
 * Fills org (33 bytes) and the keyed hash of the secret; the lookup is
 * by (org, hash), so an edited org part simply finds nothing.
 */
static int
auth_scoped_parse(const char *tok, const char *prefix, char *org,
    char hash[65], const u_int8_t *key)
{
	size_t	plen = strlen(prefix), i;

	if (strlen(tok) != plen + SCOPED_ORG_LEN + 1 + SID_LEN ||
	    strncmp(tok, prefix, plen) != 0 ||
	    tok[plen + SCOPED_ORG_LEN] != '_' ||
	    !token_chars_ok(tok + plen + SCOPED_ORG_LEN + 1, SID_LEN))
		return (-1);
	for (i = 0; i < SCOPED_ORG_LEN; i++) {
		if (!isxdigit((u_char)tok[plen + i]))
			return (-1);
		org[i] = tolower((u_char)tok[plen + i]);
	}
	org[SCOPED_ORG_LEN] = '\0';
	keys_hash_hex(key, tok + plen + SCOPED_ORG_LEN + 1, hash);
	return (0);
}

int
auth_extract(struct call *c)
{
	struct http_request	*req = c->req;
	const char		*hdr;
	char			*sid, org[SCOPED_ORG_LEN + 1], hash[65];

	c->auth[0] = '\0';
	c->session[0] = '\0';
	/* Routes that work signed out ignore whatever the caller holds. */
	if (!(c->route->flags & ROUTE_AUTH))
		return (0);

	if (http_request_header(req, "authorization", &hdr)) {
		if (strncasecmp(hdr, "bearer ", 7) != 0 ||
		    auth_scoped_parse(hdr + 7, "ibt_", org, hash,
		    key_tokens) == -1) {
			reply_error(req, 401, "UNAUTHENTICATED",
			    "The API token is malformed", NULL);
			return (-1);
		}
		snprintf(c->auth, sizeof(c->auth), "token:%s:%s", org, hash);
		return (0);
	}

	http_populate_cookies(req);
	if (http_request_cookie(req, "sid", &sid) &&
	    strlen(sid) == SID_LEN && token_chars_ok(sid, SID_LEN)) {
		kore_strlcpy(c->session, sid, sizeof(c->session));
		keys_hash_hex(key_sessions, sid, hash);
		snprintf(c->auth, sizeof(c->auth), "session:%s", hash);
	}
	return (0);
}

/* For a scoped token from a body (invitations): org and hash into srv. */
int
auth_scoped_token(struct call *c, const char *tok, const char *prefix,
    const u_int8_t *key)
{
	char	org[SCOPED_ORG_LEN + 1], hash[65];

	if (tok == NULL || auth_scoped_parse(tok, prefix, org, hash,
	    key) == -1)
		return (-1);
	json_object_set_new(c->srv, "org", json_string(org));
	json_object_set_new(c->srv, "token_hash", json_string(hash));
	return (0);
}

/*
 * The secret half of a new scoped token into secret (44 bytes), its hash
 * into srv.token_hash; auth_scoped_format() makes the token once the
 * organization is known.
 */
void
auth_scoped_new(struct call *c, const u_int8_t *key, char *secret,
    size_t len)
{
	char	hash[65];

	keys_random_token(secret, len);
	keys_hash_hex(key, secret, hash);
	json_object_set_new(c->srv, "token_hash", json_string(hash));
}

/* "<prefix><org hex>_<secret>" into out; NULL if org is not a uuid. */
char *
auth_scoped_format(const char *prefix, const char *org_uuid,
    const char *secret, char *out, size_t outlen)
{
	char	hex[SCOPED_ORG_LEN + 1];
	size_t	i, o = 0;

	if (org_uuid == NULL)
		return (NULL);
	for (i = 0; org_uuid[i] != '\0' && o < SCOPED_ORG_LEN; i++) {
		if (org_uuid[i] != '-')
			hex[o++] = org_uuid[i];
	}
	hex[o] = '\0';
	if (o != SCOPED_ORG_LEN)
		return (NULL);
	snprintf(out, outlen, "%s%s_%s", prefix, hex, secret);
	return (out);
}

int
auth_check_csrf(struct call *c)
{
	struct http_request	*req = c->req;
	const char		*origin, *site, *tok;
	char			 want[64];
	int			 has_origin, has_site;

	if (req->method == HTTP_METHOD_GET || req->method == HTTP_METHOD_HEAD)
		return (0);

	has_origin = http_request_header(req, "origin", &origin);
	has_site = http_request_header(req, "sec-fetch-site", &site);
	if ((has_origin && strcmp(origin, app_config.public_origin) != 0) ||
	    (has_site && strcmp(site, "same-origin") != 0 &&
	    strcmp(site, "none") != 0)) {
		reply_error(req, 403, "CROSS_ORIGIN",
		    "Cross-origin requests are not allowed", NULL);
		return (-1);
	}
	if (c->session[0] == '\0')
		return (0);

	auth_csrf_token(c->session, want, sizeof(want));
	if ((!has_origin && !has_site) ||
	    !http_request_header(req, "x-csrf-token", &tok) ||
	    strlen(tok) != strlen(want) ||
	    sodium_memcmp(tok, want, strlen(want)) != 0) {
		reply_error(req, 403, "CSRF_FAILED",
		    "Missing or invalid CSRF token; send the csrf_token from "
		    "GET /api/v1/me as X-CSRF-Token", NULL);
		return (-1);
	}
	return (0);
}

void
auth_csrf_token(const char *session, char *out, size_t outlen)
{
	u_int8_t	mac[32];

	crypto_generichash(mac, sizeof(mac), (const u_int8_t *)session,
	    strlen(session), key_csrf, KEY_LEN);
	sodium_bin2base64(out, outlen, mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void
auth_session_new(struct call *c)
{
	char	hash[65];

	keys_random_token(c->session, sizeof(c->session));
	keys_hash_hex(key_sessions, c->session, hash);
	json_object_set_new(c->srv, "session_hash", json_string(hash));
}

/* Sets the session cookie (on) or clears it. */
void
auth_set_cookie(struct call *c, int on)
{
	char	buf[256];

	snprintf(buf, sizeof(buf), "sid=%s; Path=/; Max-Age=%d; HttpOnly; "
	    "SameSite=Lax%s", on ? c->session : "", on ? 14 * 24 * 3600 : 0,
	    app_config.secure_cookies ? "; Secure" : "");
	http_response_header(c->req, "set-cookie", buf);
}

/*
 * The client's address: the TCP peer, unless the peer is one of
 * TRUSTED_PROXIES (the load balancer), in which case the last address
 * it appended to X-Forwarded-For. Earlier entries are the client's own
 * word and never trusted. Throttling and the audit log depend on this.
 */
const char *
auth_client_ip(struct http_request *req, char *buf, size_t len)
{
	struct connection	*conn = req->owner;
	const char		*xff, *last;
	char			 cand[INET6_ADDRSTRLEN];
	u_int8_t		 tmp[sizeof(struct in6_addr)];
	size_t			 n;

	if (conn->family == AF_INET6)
		inet_ntop(AF_INET6, &conn->addr.ipv6.sin6_addr, buf, len);
	else if (conn->family == AF_INET)
		inet_ntop(AF_INET, &conn->addr.ipv4.sin_addr, buf, len);
	else
		kore_strlcpy(buf, "127.0.0.1", len);

	if (!config_trusted_proxy(buf) ||
	    !http_request_header(req, "x-forwarded-for", &xff))
		return (buf);
	last = strrchr(xff, ',');
	last = last != NULL ? last + 1 : xff;
	while (*last == ' ')
		last++;
	n = strcspn(last, " ");
	if (n == 0 || n >= sizeof(cand))
		return (buf);
	memcpy(cand, last, n);
	cand[n] = '\0';
	if (inet_pton(AF_INET, cand, tmp) == 1 ||
	    inet_pton(AF_INET6, cand, tmp) == 1)
		kore_strlcpy(buf, cand, len);
	return (buf);
}
