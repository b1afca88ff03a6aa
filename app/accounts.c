/*
 * accounts.c: the routes that need more than one api.* call: signing up,
 * signing in and out, API tokens and invitations.
 *
 * They exist in C because part of their work must not happen in the
 * database: passwords are hashed and checked with Argon2id on a task
 * thread, and secrets (session ids, tokens) are made here so that only
 * their keyed hashes are ever stored. Everything else stays in the SQL
 * functions of migrations/002_accounts_api.sql.
 */
#include <sodium.h>

#include "app.h"

static const char SQL_SIGNUP[] =
    "SELECT status, body::text FROM api.signup($1::jsonb, $2::jsonb)";
static const char SQL_LOGIN_BEGIN[] =
    "SELECT status, body::text FROM api.login_begin($1::jsonb, $2::jsonb)";
static const char SQL_LOGIN_FINISH[] =
    "SELECT status, body::text FROM api.login_finish($1::jsonb, $2::jsonb)";
static const char SQL_LOGOUT[] =
    "SELECT status, body::text FROM api.logout($1, $2::jsonb, $3::jsonb)";
static const char SQL_ME[] =
    "SELECT status, body::text FROM api.me($1, $2::jsonb, $3::jsonb)";
static const char SQL_TOKEN_CREATE[] =
    "SELECT status, body::text FROM api.token_create($1, $2::jsonb, "
    "$3::jsonb)";
static const char SQL_INVITE_CREATE[] =
    "SELECT status, body::text FROM api.invitation_create($1, $2::jsonb, "
    "$3::jsonb)";
static const char SQL_INVITE_PREVIEW[] =
    "SELECT status, body::text FROM api.invitation_preview($1::jsonb, "
    "$2::jsonb)";
static const char SQL_INVITE_BEGIN[] =
    "SELECT status, body::text FROM api.invitation_begin($1::jsonb, "
    "$2::jsonb)";
static const char SQL_INVITE_ACCEPT[] =
    "SELECT status, body::text FROM api.invitation_accept($1::jsonb, "
    "$2::jsonb)";

static const char	*in_string(struct call *, const char *);
static const char	*in_password(struct call *);
static int		 reply_signed_in(struct call *);
static int		 reply_password_invalid(struct call *, const char *);
static int		 reply_with_token(struct call *, const char *,
			    const char *);

static const char *
in_string(struct call *c, const char *name)
{
	return (json_string_value(json_object_get(c->in, name)));
}

/* The password the client sent; it never goes to the database. */
static const char *
in_password(struct call *c)
{
	return (json_string_value(json_object_get(c->secret, "password")));
}

static int
reply_password_invalid(struct call *c, const char *why)
{
	char	msg[96];

	snprintf(msg, sizeof(msg), "password %s", why);
	return (reply_error(c->req, 422, "VALIDATION_FAILED", msg,
	    json_pack("{s:s}", "password", why)));
}

/*
 * The answer of a call that starts a session: the cookie, and the CSRF
 * token the browser must send back with every change.
 */
static int
reply_signed_in(struct call *c)
{
	char	csrf[64];
	json_t	*body;
	int	 status;

	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	if (status >= 400)
		return (call_reply_body(c, status, body));
	auth_set_cookie(c, 1);
	auth_csrf_token(c->session, csrf, sizeof(csrf));
	json_object_set_new(body, "csrf_token", json_string(csrf));
	return (reply_json(c->req, status, body));
}

int
h_signup(struct call *c)
{
	const char	*why, *hash;

	switch (c->step) {
	case 0:
		if ((why = password_check(in_password(c))) != NULL)
			return (reply_password_invalid(c, why));
		return (password_hash_start(c, in_password(c)));
	case 1:
		if ((hash = password_hashed(c)) == NULL)
			return (reply_error(c->req, 500, "INTERNAL_ERROR",
			    "Could not secure the password", NULL));
		json_object_set_new(c->srv, "password_hash", json_string(hash));
		auth_session_new(c);
		return (call_query_anon(c, SQL_SIGNUP));
	default:
		return (reply_signed_in(c));
	}
}

/*
 * Three steps whatever the email: the stored hash (or none), a check on
 * a task thread (against a dummy hash when there is no account), then
 * recording the outcome. Both failures answer the same 401.
 */
int
h_login(struct call *c)
{
	json_t		*body;
	const char	*uid;
	int		 status, ok;

	switch (c->step) {
	case 0:
		/* As typed, untrimmed: spaces are characters too. */
		if (in_password(c) == NULL || strlen(in_password(c)) > 1024)
			return (reply_error(c->req, 422, "VALIDATION_FAILED",
			    "password must be a string of at most 1024 "
			    "characters", json_pack("{s:s}", "password",
			    "must be a string of at most 1024 characters")));
		return (call_query_anon(c, SQL_LOGIN_BEGIN));
	case 1:
		if (call_api_result(c, &status, &body) == -1)
			return (CALL_DONE);
		uid = json_string_value(json_object_get(body, "user_id"));
		if (uid != NULL)
			json_object_set_new(c->srv, "user_id", json_string(uid));
		password_verify_start(c, in_password(c),
		    json_string_value(json_object_get(body, "password_hash")));
		json_decref(body);
		return (CALL_WAIT);
	case 2:
		ok = password_verified(c) &&
		    json_object_get(c->srv, "user_id") != NULL;
		json_object_set_new(c->srv, "verified", json_boolean(ok));
		if (ok)
			auth_session_new(c);
		return (call_query_anon(c, SQL_LOGIN_FINISH));
	default:
		return (reply_signed_in(c));
	}
}

int
h_logout(struct call *c)
{
	json_t	*body;
	int	 status;

	if (c->step == 0)
		return (call_query_api(c, SQL_LOGOUT));
	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	json_decref(body);
	auth_set_cookie(c, 0);
	return (reply_json(c->req, 204, NULL));
}

int
h_me(struct call *c)
{
	json_t	*body;
	char	 csrf[64];
	int	 status;

	if (c->step == 0)
		return (call_query_api(c, SQL_ME));
	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	if (c->session[0] != '\0') {
		auth_csrf_token(c->session, csrf, sizeof(csrf));
		json_object_set_new(body, "csrf_token", json_string(csrf));
	}
	return (reply_json(c->req, status, body));
}

/*
 * A created token or invitation: the stored row plus, this once, the
 * token itself, which the database never sees.
 */
static int
reply_with_token(struct call *c, const char *prefix, const char *secret)
{
	char	 tok[SCOPED_TOKEN_MAX], link[512];
	json_t	*body;
	int	 status;

	if (call_api_result(c, &status, &body) == -1)
		return (CALL_DONE);
	if (auth_scoped_format(prefix, json_string_value(json_object_get(body,
	    "organization_id")), secret, tok, sizeof(tok)) == NULL) {
		json_decref(body);
		return (reply_error(c->req, 500, "INTERNAL_ERROR",
		    "Something went wrong on our side", NULL));
	}
	json_object_set_new(body, "token", json_string(tok));
	if (strcmp(prefix, "inv_") == 0) {
		snprintf(link, sizeof(link), "%s/#/invite/%s",
		    app_config.public_url, tok);
		json_object_set_new(body, "link", json_string(link));
	}
	sodium_memzero(tok, sizeof(tok));
	return (reply_json(c->req, status, body));
}

int
h_token_create(struct call *c)
{
	char	hint[16];
	char	*secret;

	if (c->step == 0) {
		secret = kore_calloc(1, 48);
		c->task_arg = secret;
		c->task_free = kore_free;
		auth_scoped_new(c, key_tokens, secret, 48);
		snprintf(hint, sizeof(hint), "ibt_…%s",
		    secret + strlen(secret) - 4);
		json_object_set_new(c->srv, "token_hint", json_string(hint));
		return (call_query_api(c, SQL_TOKEN_CREATE));
	}
	return (reply_with_token(c, "ibt_", c->task_arg));
}

int
h_invitation_create(struct call *c)
{
	char	*secret;

	if (c->step == 0) {
		secret = kore_calloc(1, 48);
		c->task_arg = secret;
		c->task_free = kore_free;
		auth_scoped_new(c, key_invites, secret, 48);
		return (call_query_api(c, SQL_INVITE_CREATE));
	}
	return (reply_with_token(c, "inv_", c->task_arg));
}

int
h_invitation_preview(struct call *c)
{
	if (c->step == 0) {
		if (auth_scoped_token(c, in_string(c, "token"), "inv_",
		    key_invites) == -1)
			return (reply_error(c->req, 404, "INVITATION_NOT_FOUND",
			    "This invitation is invalid, expired or already "
			    "used", NULL));
		return (call_query_anon(c, SQL_INVITE_PREVIEW));
	}
	return (call_reply_api(c));
}

/*
 * Accepting signs the person in: an existing account proves its
 * password, a new one sets it.
 */
int
h_invitation_accept(struct call *c)
{
	json_t		*body;
	const char	*hash, *why;
	int		 status;

	switch (c->step) {
	case 0:
		if (auth_scoped_token(c, in_string(c, "token"), "inv_",
		    key_invites) == -1)
			return (reply_error(c->req, 404, "INVITATION_NOT_FOUND",
			    "This invitation is invalid, expired or already "
			    "used", NULL));
		return (call_query_anon(c, SQL_INVITE_BEGIN));
	case 1:
		if (call_api_result(c, &status, &body) == -1)
			return (CALL_DONE);
		hash = json_string_value(json_object_get(body,
		    "password_hash"));
		if (hash != NULL) {
			password_verify_start(c, in_password(c),
			    hash);
		} else if ((why = password_check(in_password(c))) != NULL) {
			json_decref(body);
			return (reply_password_invalid(c, why));
		} else {
			password_hash_start(c, in_password(c));
		}
		json_decref(body);
		return (CALL_WAIT);
	case 2:
		if ((hash = password_hashed(c)) != NULL)
			json_object_set_new(c->srv, "password_hash",
			    json_string(hash));
		json_object_set_new(c->srv, "verified",
		    json_boolean(password_verified(c)));
		auth_session_new(c);
		return (call_query_anon(c, SQL_INVITE_ACCEPT));
	default:
		return (reply_signed_in(c));
	}
}
