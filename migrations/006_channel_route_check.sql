-- 006: whether an account is free before we register our webhook with
-- its provider (360dialog). Registering replaces the provider's webhook
-- secret, so it must not happen for an account another channel holds.
-- channel_save still has the final word (a race between the two is
-- answered 409 there), this only keeps a refused connect harmless.
CREATE FUNCTION api.channel_route_check(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	PERFORM app.require_role(c, 'admin');
	IF EXISTS (SELECT 1 FROM channel_routes r
	    WHERE r.family = p_srv ->> 'family'
	    AND r.routing_key = p_srv #>> '{outcome,routing_key}'
	    AND r.channel_id <> (p_srv ->> 'channel_id')::uuid) THEN
		PERFORM app.fail(409, 'ROUTING_KEY_TAKEN',
		    'This account is already connected to the team inbox; ' ||
		    'disconnect it there first',
		    jsonb_build_object('routing_key',
		    p_srv #>> '{outcome,routing_key}'));
	END IF;
	status := 200;
	body := '{}';
END $$;

GRANT EXECUTE ON FUNCTION api.channel_route_check(text, jsonb, jsonb)
    TO inbox_app;
