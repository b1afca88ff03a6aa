/*
 * password.c: Argon2id hashing and verification, off the event loop.
 *
 * crypto_pwhash_str takes tens of milliseconds and 64 MiB by design;
 * done in a worker it would stall every other request on that worker, so
 * each hash or verification runs on a kore task thread. Unknown accounts
 * are verified against a dummy hash made at start-up, so a login for an
 * email that does not exist takes as long as a wrong password.
 */
#include <sodium.h>

#include "app.h"
#include "utf8.h"

#define PASSWORD_MIN_CHARS	10
#define PASSWORD_MAX_CHARS	128
#define PASSWORD_MAX_BYTES	1024

struct pw_job {
	char	password[PASSWORD_MAX_BYTES + 1];
	char	hash[crypto_pwhash_STRBYTES];
	int	verify;
	int	verified;
	int	ok;
};

static char	dummy_hash[crypto_pwhash_STRBYTES];

static int	pw_task(struct kore_task *);
static void	pw_free(void *);
static int	pw_start(struct call *, const char *, const char *);

/* Called once in the parent. */
void
password_init(void)
{
	if (crypto_pwhash_str(dummy_hash, "not a real password", 19,
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		fatalx("crypto_pwhash_str: out of memory");
}

const char *
password_check(const char *pw)
{
	size_t	chars;

	if (pw == NULL)
		return ("is required");
	chars = utf8_chars(pw);
	if (chars < PASSWORD_MIN_CHARS || chars > PASSWORD_MAX_CHARS ||
	    strlen(pw) > PASSWORD_MAX_BYTES)
		return ("must be 10 to 128 characters long");
	return (NULL);
}

/* Runs on a task thread: touches only its job. */
static int
pw_task(struct kore_task *t)
{
	struct pw_job	*j = call_task_arg(t);
	size_t		 len = strlen(j->password);

	if (j->verify) {
		j->verified = crypto_pwhash_str_verify(j->hash, j->password,
		    len) == 0;
		j->ok = 1;
	} else {
		j->ok = crypto_pwhash_str(j->hash, j->password, len,
		    crypto_pwhash_OPSLIMIT_INTERACTIVE,
		    crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
	}
	sodium_memzero(j->password, sizeof(j->password));
	return (j->ok ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

static void
pw_free(void *arg)
{
	sodium_memzero(arg, sizeof(struct pw_job));
	kore_free(arg);
}

static int
pw_start(struct call *c, const char *pw, const char *hash)
{
	struct pw_job	*j;

	j = kore_calloc(1, sizeof(*j));
	kore_strlcpy(j->password, pw ? pw : "", sizeof(j->password));
	if (hash != NULL) {
		j->verify = 1;
		if (strlen(hash) >= sizeof(j->hash) ||
		    strncmp(hash, "$argon2", 7) != 0)
			hash = dummy_hash;
		kore_strlcpy(j->hash, hash, sizeof(j->hash));
	}
	return (call_task(c, pw_task, j, pw_free));
}

int
password_hash_start(struct call *c, const char *pw)
{
	return (pw_start(c, pw, NULL));
}

/* hash NULL (no such account) verifies against the dummy hash. */
int
password_verify_start(struct call *c, const char *pw, const char *hash)
{
	return (pw_start(c, pw, hash ? hash : dummy_hash));
}

/* The new hash, owned by the call; NULL if hashing failed. */
const char *
password_hashed(struct call *c)
{
	struct pw_job	*j = c->task_arg;

	return (j != NULL && j->ok && !j->verify ? j->hash : NULL);
}

int
password_verified(struct call *c)
{
	struct pw_job	*j = c->task_arg;

	return (j != NULL && j->ok && j->verify && j->verified);
}
