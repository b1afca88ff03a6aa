-- 014: the live stream (/api/v1/stream, app/stream.c).
--
-- Every kore worker LISTENs on "inbox_events" and pushes each event to
-- its own websocket clients of that event's organization. A stream is
-- opened by api.stream_open, which authenticates like every other call;
-- afterwards nothing on the socket is checked again, so the database
-- says when a credential stops being good: a "revoke" event naming the
-- credential (a session's hash, an API token's id) closes every stream
-- opened with it, on every node. Revoke events carry no organization
-- and are never forwarded to clients.

-- Who the stream is for, and for how long the credential stays good
-- without further use (a session's idle limit, counted from its last
-- recorded use, and its absolute one; a token's none). The socket is closed then, and the client's reconnect is
-- authenticated afresh.
CREATE FUNCTION api.stream_open(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_until	timestamptz;
BEGIN
	IF c.kind = 'session' THEN
		SELECT least(s.expires_at, s.last_seen_at + app.session_idle())
		INTO v_until FROM sessions s WHERE s.id_hash = c.cred;
	END IF;
	status := 200;
	body := jsonb_build_object('org_id', c.org_id, 'user_id', c.user_id,
	    'credential', encode(c.cred, 'hex'),
	    'expires_in', CASE WHEN v_until IS NULL THEN NULL
		ELSE greatest(1, extract(epoch FROM v_until - now())::bigint)
		END);
END $$;

CREATE FUNCTION app.stream_revoke(p_cred bytea) RETURNS void
LANGUAGE sql AS $$
	SELECT pg_notify('inbox_events', json_build_object('kind', 'revoke',
	    'credential', encode(p_cred, 'hex'))::text)
$$;

-- A session that ends, or moves to another organization, takes its
-- streams with it (the client reconnects into the new organization).
CREATE FUNCTION app.session_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' OR NEW.org_id IS DISTINCT FROM OLD.org_id OR
	    (NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL) THEN
		PERFORM app.stream_revoke(OLD.id_hash);
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER session_changed AFTER UPDATE OF org_id, revoked_at OR DELETE
	ON sessions FOR EACH ROW EXECUTE FUNCTION app.session_changed();

CREATE FUNCTION app.api_token_revoked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' OR
	    (NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL) THEN
		PERFORM app.stream_revoke(uuid_send(OLD.id));
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER api_token_revoked AFTER UPDATE OF revoked_at OR DELETE
	ON api_tokens FOR EACH ROW EXECUTE FUNCTION app.api_token_revoked();

GRANT EXECUTE ON FUNCTION api.stream_open(text, jsonb, jsonb),
    app.stream_revoke(bytea), app.session_changed(),
    app.api_token_revoked() TO inbox_app;
