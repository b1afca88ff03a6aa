-- 018: however a membership ends, the person's sessions in that
-- organization end with it (and so, through session_changed in 014,
-- their streams): until now only api.member_remove revoked them.
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
