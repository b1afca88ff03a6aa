-- 018: two corrections to the stream's credential checks (014).
--
-- A stream's session limit counts from the session's last recorded use,
-- not from now: app.authenticate records use at most once a minute, so
-- "now" could keep a stream open up to a minute past the idle limit.
CREATE OR REPLACE FUNCTION api.stream_open(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
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

-- However a membership ends, the person's sessions in that organization
-- end with it (and so, through session_changed, their streams): until
-- now only api.member_remove revoked them.
CREATE FUNCTION app.membership_sessions_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE sessions SET revoked_at = now()
	WHERE user_id = OLD.user_id AND org_id = OLD.org_id
	    AND revoked_at IS NULL;
	RETURN NULL;
END $$;

CREATE TRIGGER membership_sessions_ended AFTER DELETE ON memberships
	FOR EACH ROW EXECUTE FUNCTION app.membership_sessions_ended();

GRANT EXECUTE ON FUNCTION app.membership_sessions_ended() TO inbox_app;
