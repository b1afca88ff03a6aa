-- 011: passwords never reach the database in the clear. The server now
-- keeps the password (and channel credentials) out of the JSON it passes
-- to api.* functions and checks the password's shape itself, so login
-- no longer looks at it here.
CREATE OR REPLACE FUNCTION api.login_begin(p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	v_email	text := lower(app.field_text(p_in, 'email', 254));
	u	record;
BEGIN
	PERFORM app.throttle_check(v_email, p_srv ->> 'ip');
	SELECT id, password_hash INTO u FROM users WHERE email = v_email;
	status := 200;
	body := jsonb_build_object('user_id', u.id,
	    'password_hash', u.password_hash);
END $$;
