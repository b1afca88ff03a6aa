-- 010: a person who leaves an organization takes their credentials for
-- it with them. API tokens they created and invitations they sent stop
-- working the moment their membership ends (their sessions already do,
-- in api.member_remove): otherwise a removed admin could keep admin
-- access through a token, or walk back in through an invitation they
-- had sent to another address. A trigger, so that every way a membership
-- ends is covered.
CREATE FUNCTION app.membership_ended() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE api_tokens SET revoked_at = now()
	WHERE org_id = OLD.org_id AND created_by = OLD.user_id
	    AND revoked_at IS NULL;
	UPDATE invitations SET revoked_at = now()
	WHERE org_id = OLD.org_id AND invited_by = OLD.user_id
	    AND accepted_at IS NULL AND revoked_at IS NULL;
	RETURN OLD;
END $$;

CREATE TRIGGER membership_ended AFTER DELETE ON memberships
	FOR EACH ROW EXECUTE FUNCTION app.membership_ended();
