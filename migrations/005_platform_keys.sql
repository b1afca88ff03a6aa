-- 005: the platform's own keys, wrapped by the master key.
--
-- Session ids, API tokens, invitation tokens, CSRF tokens and webhook
-- secrets are hashed with keys derived from the "hashing" key here, not
-- from the master key itself: rotating the master key then rewraps this
-- row like any organization's data key, and nobody is signed out. The
-- server unwraps it at start-up, which is also how a wrong master key is
-- caught before the first request.
CREATE TABLE platform_keys (
	id		text PRIMARY KEY,
	wrapped		bytea NOT NULL,
	version		int NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT ON platform_keys TO inbox_app;
