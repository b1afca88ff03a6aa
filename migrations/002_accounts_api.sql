-- 002: the account API as functions, one per call.
--
-- Every api.* function is one statement for the server: it authenticates
-- the caller, sets the tenant for this transaction, checks the role and
-- does the work, atomically. Arguments:
--   p_auth  'session:<hex hash>', 'token:<org hex>:<hex hash>' or ''
--   p_in    the client's JSON body ('{}' when none)
--   p_srv   what the server derived: ip, user_agent, path ids, query
--           arguments, password and token hashes
-- They return (status, body); failures raise through app.fail().

CREATE TYPE app.ctx AS (
	user_id		uuid,
	org_id		uuid,
	role		text,
	kind		text,		-- session or token
	cred		bytea		-- session hash, or the token's id
);

CREATE FUNCTION app.session_idle() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '12 hours' $$;
CREATE FUNCTION app.session_lifetime() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '14 days' $$;

CREATE FUNCTION app.unauthenticated() RETURNS void
LANGUAGE sql AS $$
	SELECT app.fail(401, 'UNAUTHENTICATED',
	    'Sign in or send a valid API token')
$$;

-- Who is calling, in which organization; sets the tenant.
CREATE FUNCTION app.authenticate(p_auth text) RETURNS app.ctx
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx;
	kind	text := split_part(p_auth, ':', 1);
	h	bytea;
	s	sessions%ROWTYPE;
	t	record;
BEGIN
	IF kind = 'session' THEN
		h := decode(split_part(p_auth, ':', 2), 'hex');
		SELECT * INTO s FROM sessions WHERE id_hash = h
		    AND revoked_at IS NULL AND expires_at > now()
		    AND last_seen_at > now() - app.session_idle();
		IF NOT FOUND THEN
			PERFORM app.unauthenticated();
		END IF;
		PERFORM app.set_tenant(s.org_id, s.user_id);
		SELECT m.role INTO c.role FROM memberships m
		    WHERE m.org_id = s.org_id AND m.user_id = s.user_id;
		IF NOT FOUND THEN
			PERFORM app.unauthenticated();
		END IF;
		-- Idle expiry needs last_seen_at; a minute's precision is
		-- enough and keeps most reads from writing.
		IF s.last_seen_at < now() - interval '1 minute' THEN
			UPDATE sessions SET last_seen_at = now()
			    WHERE id_hash = h;
		END IF;
		c.user_id := s.user_id;
		c.org_id := s.org_id;
		c.kind := 'session';
		c.cred := h;
	ELSIF kind = 'token' THEN
		c.org_id := split_part(p_auth, ':', 2)::uuid;
		h := decode(split_part(p_auth, ':', 3), 'hex');
		PERFORM app.set_tenant(c.org_id, NULL);
		SELECT k.id, k.role, k.last_used_at INTO t FROM api_tokens k
		    WHERE k.org_id = c.org_id AND k.token_hash = h
		    AND k.revoked_at IS NULL;
		IF NOT FOUND THEN
			PERFORM app.unauthenticated();
		END IF;
		IF t.last_used_at IS NULL OR
		    t.last_used_at < now() - interval '10 seconds' THEN
			UPDATE api_tokens SET last_used_at = now()
			    WHERE org_id = c.org_id AND id = t.id;
		END IF;
		c.role := t.role;
		c.kind := 'token';
		c.cred := uuid_send(t.id);
	ELSE
		PERFORM app.unauthenticated();
	END IF;
	RETURN c;
END $$;

CREATE FUNCTION app.require_role(c app.ctx, p_min text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF app.role_rank(c.role) < app.role_rank(p_min) THEN
		PERFORM app.fail(403, 'FORBIDDEN', CASE p_min
		    WHEN 'owner' THEN 'Only owners can do this'
		    ELSE 'Only owners and admins can do this' END);
	END IF;
END $$;

CREATE FUNCTION app.audit(c app.ctx, p_action text, p_target text,
    p_details jsonb, p_srv jsonb)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO audit_events (org_id, actor_id, action, target, details, ip)
	VALUES (c.org_id, c.user_id, p_action, p_target,
	    coalesce(p_details, '{}') || CASE WHEN c.kind = 'token'
	    THEN jsonb_build_object('api_token_id', encode(c.cred, 'hex')::uuid)
	    ELSE '{}' END,
	    (p_srv ->> 'ip')::inet)
$$;

-- The organization a person lands in at sign-in: where they last were.
CREATE FUNCTION app.landing_org(p_user uuid) RETURNS uuid
LANGUAGE sql AS $$
	SELECT m.org_id FROM memberships m
	LEFT JOIN LATERAL (SELECT max(s.last_seen_at) AS seen FROM sessions s
	    WHERE s.user_id = p_user AND s.org_id = m.org_id) l ON true
	WHERE m.user_id = p_user
	ORDER BY l.seen DESC NULLS LAST, m.created_at
	LIMIT 1
$$;

CREATE FUNCTION app.session_create(p_user uuid, p_org uuid, p_srv jsonb)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO sessions (id_hash, user_id, org_id, expires_at, ip,
	    user_agent)
	VALUES (decode(p_srv ->> 'session_hash', 'hex'), p_user, p_org,
	    now() + app.session_lifetime(), (p_srv ->> 'ip')::inet,
	    left(p_srv ->> 'user_agent', 300))
$$;

-- GET /me's body for a user acting in an organization.
CREATE FUNCTION app.me_body(p_user uuid, p_org uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'user', (SELECT jsonb_build_object('id', u.id, 'email', u.email,
		'name', u.name, 'created_at', u.created_at)
		FROM users u WHERE u.id = p_user),
	    'organization', (SELECT jsonb_build_object('id', o.id,
		'name', o.name, 'role', m.role)
		FROM organizations o JOIN memberships m ON m.org_id = o.id
		WHERE o.id = p_org AND m.user_id = p_user),
	    'memberships', coalesce((SELECT jsonb_agg(jsonb_build_object(
		'organization', jsonb_build_object('id', o.id, 'name', o.name),
		'role', m.role) ORDER BY o.name, o.id)
		FROM memberships m JOIN organizations o ON o.id = m.org_id
		WHERE m.user_id = p_user), '[]'))
$$;

-- ---------------------------------------------------------------- auth

CREATE FUNCTION api.signup(p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	v_org	text := app.field_text(p_in, 'organization_name', 200);
	v_name	text := app.field_text(p_in, 'name', 200);
	v_email	text := app.field_email(p_in);
	v_user	uuid;
	v_oid	uuid := gen_random_uuid();
	c	app.ctx;
BEGIN
	PERFORM app.set_tenant(v_oid, NULL);
	BEGIN
		INSERT INTO users (email, name, password_hash)
		VALUES (v_email, v_name, p_srv ->> 'password_hash')
		RETURNING id INTO v_user;
	EXCEPTION WHEN unique_violation THEN
		PERFORM app.fail(409, 'EMAIL_TAKEN',
		    'An account with this email already exists; sign in instead',
		    jsonb_build_object('email', 'is already registered'));
	END;
	PERFORM app.set_tenant(v_oid, v_user);
	INSERT INTO organizations (id, name) VALUES (v_oid, v_org);
	INSERT INTO memberships (org_id, user_id, role)
	VALUES (v_oid, v_user, 'owner');
	PERFORM app.session_create(v_user, v_oid, p_srv);
	c := (v_user, v_oid, 'owner', 'session', NULL)::app.ctx;
	PERFORM app.audit(c, 'signup', v_email, '{}', p_srv);
	status := 201;
	body := app.me_body(v_user, v_oid);
END $$;

-- Sign-in throttling, per account and per client address: five free
-- failures per account, twenty per address, then a delay that doubles with
-- each failure, capped at 15 minutes. A failure after a quiet hour starts
-- the count afresh, so old mistakes (an office behind one address) do not
-- turn each new typo into the longest delay: growing delays, never a
-- lockout.
CREATE FUNCTION app.throttle_window() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '1 hour' $$;

-- Raises 429 (with retry_after) while p_email or p_ip must wait.
CREATE FUNCTION app.throttle_check(p_email text, p_ip text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	v_wait	int;
BEGIN
	SELECT max(ceil(extract(epoch FROM (t.last_failure +
	    make_interval(secs => least(900, 2 ^ (t.failures - t.free))))
	    - now())))::int INTO v_wait
	FROM (SELECT l.last_failure, l.failures,
	    CASE WHEN l.key LIKE 'ip:%' THEN 20 ELSE 5 END AS free
	    FROM login_throttle l WHERE l.key IN ('acct:' || p_email,
	    'ip:' || p_ip)
	    AND l.last_failure > now() - app.throttle_window()) t
	WHERE t.failures >= t.free;
	IF v_wait > 0 THEN
		PERFORM app.fail(429, 'TOO_MANY_ATTEMPTS',
		    'Too many failed sign-ins; try again in ' || v_wait ||
		    ' seconds', jsonb_build_object('retry_after', v_wait));
	END IF;
END $$;

CREATE FUNCTION app.throttle_failed(p_email text, p_ip text) RETURNS void
LANGUAGE sql AS $$
	INSERT INTO login_throttle AS l (key, failures)
	VALUES ('acct:' || p_email, 1), ('ip:' || p_ip, 1)
	ON CONFLICT (key) DO UPDATE SET
	    failures = CASE WHEN l.last_failure < now() - app.throttle_window()
		THEN 1 ELSE l.failures + 1 END,
	    last_failure = now()
$$;

-- Login, step one: the stored hash to verify against, unless throttled.
-- Unknown emails go through the same steps, so both answers look alike.
CREATE FUNCTION api.login_begin(p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	v_email	text := lower(app.field_text(p_in, 'email', 254));
	u	record;
BEGIN
	-- The password never comes here: the server checks it and keeps
	-- it out of the arguments, so the database never sees it.
	PERFORM app.throttle_check(v_email, p_srv ->> 'ip');
	SELECT id, password_hash INTO u FROM users WHERE email = v_email;
	status := 200;
	body := jsonb_build_object('user_id', u.id,
	    'password_hash', u.password_hash);
END $$;

-- Login, step two: p_srv.verified says whether the password matched.
CREATE FUNCTION api.login_finish(p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	v_email	text := lower(app.field_text(p_in, 'email', 254));
	v_user	uuid := (p_srv ->> 'user_id')::uuid;
	v_org	uuid;
	c	app.ctx;
BEGIN
	IF NOT coalesce((p_srv ->> 'verified')::boolean, false) OR
	    v_user IS NULL THEN
		PERFORM app.throttle_failed(v_email, p_srv ->> 'ip');
		-- Each organization of the person sees the failed attempt.
		-- Their memberships are visible only as that person (RLS), and
		-- are read whole before the loop moves the tenant around.
		PERFORM app.set_tenant(NULL, v_user);
		FOREACH v_org IN ARRAY ARRAY(SELECT m.org_id FROM memberships m
		    WHERE m.user_id = v_user) LOOP
			PERFORM app.set_tenant(v_org, NULL);
			c := (NULL, v_org, NULL, 'session', NULL)::app.ctx;
			PERFORM app.audit(c, 'login_failed', v_email, '{}',
			    p_srv);
		END LOOP;
		status := 401;
		body := jsonb_build_object('error',
		    'Email or password is incorrect',
		    'error_code', 'INVALID_CREDENTIALS', 'details', '{}');
		RETURN;
	END IF;
	PERFORM app.set_tenant(NULL, v_user);
	v_org := app.landing_org(v_user);
	IF v_org IS NULL THEN
		PERFORM app.fail(403, 'NO_ORGANIZATION',
		    'This account no longer belongs to any organization; ' ||
		    'accept an invitation to join one');
	END IF;
	DELETE FROM login_throttle WHERE key = 'acct:' || v_email;
	PERFORM app.set_tenant(v_org, v_user);
	PERFORM app.session_create(v_user, v_org, p_srv);
	c := (v_user, v_org, NULL, 'session', NULL)::app.ctx;
	PERFORM app.audit(c, 'login', v_email, '{}', p_srv);
	status := 200;
	body := app.me_body(v_user, v_org);
END $$;

CREATE FUNCTION api.logout(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	IF c.kind <> 'session' THEN
		PERFORM app.fail(400, 'NOT_A_SESSION',
		    'API tokens are revoked, not logged out');
	END IF;
	UPDATE sessions SET revoked_at = now() WHERE id_hash = c.cred;
	status := 204;
END $$;

CREATE FUNCTION api.me(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	status := 200;
	IF c.kind = 'token' THEN
		body := jsonb_build_object('user', NULL,
		    'organization', (SELECT jsonb_build_object('id', o.id,
			'name', o.name, 'role', c.role)
			FROM organizations o WHERE o.id = c.org_id),
		    'memberships', '[]'::jsonb);
	ELSE
		body := app.me_body(c.user_id, c.org_id);
	END IF;
END $$;

CREATE FUNCTION api.switch_org(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_org	uuid := app.field_uuid(p_in, 'organization_id');
BEGIN
	IF c.kind <> 'session' THEN
		PERFORM app.fail(400, 'NOT_A_SESSION',
		    'An API token belongs to one organization');
	END IF;
	IF NOT EXISTS (SELECT 1 FROM memberships m
	    WHERE m.org_id = v_org AND m.user_id = c.user_id) THEN
		PERFORM app.fail(404, 'NOT_FOUND', 'Organization not found');
	END IF;
	UPDATE sessions SET org_id = v_org WHERE id_hash = c.cred;
	PERFORM app.set_tenant(v_org, c.user_id);
	status := 200;
	body := app.me_body(c.user_id, v_org);
END $$;

CREATE FUNCTION api.org_create(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_name	text := app.field_text(p_in, 'name', 200);
	v_oid	uuid := gen_random_uuid();
	o	organizations%ROWTYPE;
BEGIN
	IF c.kind <> 'session' THEN
		PERFORM app.fail(403, 'FORBIDDEN',
		    'API tokens cannot create organizations');
	END IF;
	PERFORM app.set_tenant(v_oid, c.user_id);
	INSERT INTO organizations (id, name) VALUES (v_oid, v_name)
	RETURNING * INTO o;
	INSERT INTO memberships (org_id, user_id, role)
	VALUES (v_oid, c.user_id, 'owner');
	c.org_id := v_oid;
	PERFORM app.audit(c, 'organization_created', v_name, '{}', p_srv);
	status := 201;
	body := jsonb_build_object('id', o.id, 'name', o.name,
	    'role', 'owner', 'created_at', o.created_at);
END $$;

-- ---------------------------------------------------------------- tokens

CREATE FUNCTION app.token_json(k api_tokens) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('id', k.id, 'organization_id', k.org_id,
	    'name', k.name, 'role', k.role,
	    'hint', k.hint, 'created_at', k.created_at,
	    'last_used_at', k.last_used_at, 'revoked_at', k.revoked_at)
$$;

CREATE FUNCTION api.tokens_list(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	PERFORM app.require_role(c, 'admin');
	status := 200;
	body := jsonb_build_object('data', coalesce((SELECT
	    jsonb_agg(app.token_json(k) ORDER BY k.created_at DESC, k.id)
	    FROM api_tokens k WHERE k.org_id = c.org_id), '[]'),
	    'next_cursor', NULL);
END $$;

CREATE FUNCTION api.token_create(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_name	text := app.field_text(p_in, 'name', 100);
	v_role	text := coalesce(app.field_text(p_in, 'role', 16, false),
		    'agent');
	k	api_tokens%ROWTYPE;
BEGIN
	PERFORM app.require_role(c, 'admin');
	IF v_role NOT IN ('admin', 'agent') THEN
		PERFORM app.fail(422, 'VALIDATION_FAILED',
		    'role must be admin or agent',
		    jsonb_build_object('role', 'must be admin or agent'));
	END IF;
	INSERT INTO api_tokens (org_id, name, role, token_hash, hint,
	    created_by)
	VALUES (c.org_id, v_name, v_role,
	    decode(p_srv ->> 'token_hash', 'hex'), p_srv ->> 'token_hint',
	    c.user_id)
	RETURNING * INTO k;
	PERFORM app.audit(c, 'api_token_created', k.id::text,
	    jsonb_build_object('name', k.name, 'role', k.role), p_srv);
	status := 201;
	body := app.token_json(k);
END $$;

CREATE FUNCTION api.token_revoke(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	k	api_tokens%ROWTYPE;
BEGIN
	PERFORM app.require_role(c, 'admin');
	UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
	WHERE org_id = c.org_id AND id = (p_srv #>> '{path,id}')::uuid
	RETURNING * INTO k;
	IF NOT FOUND THEN
		PERFORM app.fail(404, 'NOT_FOUND', 'API token not found');
	END IF;
	PERFORM app.audit(c, 'api_token_revoked', k.id::text,
	    jsonb_build_object('name', k.name), p_srv);
	status := 204;
END $$;

-- ---------------------------------------------------------------- members

CREATE FUNCTION app.member_json(p_org uuid, p_user uuid) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', u.id, 'user_id', u.id,
	    'email', u.email, 'name', u.name, 'role', m.role,
	    'joined_at', m.created_at)
	FROM memberships m JOIN users u ON u.id = m.user_id
	WHERE m.org_id = p_org AND m.user_id = p_user
$$;

CREATE FUNCTION api.members_list(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	status := 200;
	body := jsonb_build_object('data', coalesce((SELECT
	    jsonb_agg(app.member_json(m.org_id, m.user_id)
	    ORDER BY app.role_rank(m.role) DESC, m.created_at, m.user_id)
	    FROM memberships m WHERE m.org_id = c.org_id), '[]'),
	    'next_cursor', NULL);
END $$;

-- An organization always keeps an owner.
CREATE FUNCTION app.check_owner_left(p_org uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM memberships
	    WHERE org_id = p_org AND role = 'owner') THEN
		PERFORM app.fail(409, 'LAST_OWNER',
		    'An organization needs at least one owner; ' ||
		    'make someone else owner first');
	END IF;
END $$;

CREATE FUNCTION api.member_update(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_user	uuid := (p_srv #>> '{path,id}')::uuid;
	v_role	text := app.field_role(p_in);
	v_old	text;
BEGIN
	PERFORM app.require_role(c, 'admin');
	-- Serialize role changes within the organization, so two owners
	-- demoting each other at once cannot leave it without one.
	PERFORM 1 FROM organizations WHERE id = c.org_id FOR UPDATE;
	SELECT role INTO v_old FROM memberships
	WHERE org_id = c.org_id AND user_id = v_user;
	IF NOT FOUND THEN
		PERFORM app.fail(404, 'NOT_FOUND', 'Member not found');
	END IF;
	-- Only owners grant or take away ownership.
	IF (v_role = 'owner' OR v_old = 'owner') AND c.role <> 'owner' THEN
		PERFORM app.fail(403, 'FORBIDDEN',
		    'Only owners can grant or remove ownership');
	END IF;
	UPDATE memberships SET role = v_role
	WHERE org_id = c.org_id AND user_id = v_user;
	PERFORM app.check_owner_left(c.org_id);
	IF v_old <> v_role THEN
		PERFORM app.audit(c, 'role_changed', v_user::text,
		    jsonb_build_object('from', v_old, 'to', v_role), p_srv);
	END IF;
	status := 200;
	body := app.member_json(c.org_id, v_user);
END $$;

CREATE FUNCTION api.member_remove(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_user	uuid := (p_srv #>> '{path,id}')::uuid;
	v_old	text;
BEGIN
	-- Anyone may leave; removing others takes an admin.
	IF v_user IS DISTINCT FROM c.user_id THEN
		PERFORM app.require_role(c, 'admin');
	END IF;
	PERFORM 1 FROM organizations WHERE id = c.org_id FOR UPDATE;
	DELETE FROM memberships WHERE org_id = c.org_id AND user_id = v_user
	RETURNING role INTO v_old;
	IF NOT FOUND THEN
		PERFORM app.fail(404, 'NOT_FOUND', 'Member not found');
	END IF;
	IF v_old = 'owner' AND c.role <> 'owner' THEN
		PERFORM app.fail(403, 'FORBIDDEN',
		    'Only owners can remove an owner');
	END IF;
	PERFORM app.check_owner_left(c.org_id);
	-- Their sessions in this organization end now.
	UPDATE sessions SET revoked_at = now()
	WHERE user_id = v_user AND org_id = c.org_id AND revoked_at IS NULL;
	PERFORM app.audit(c, CASE WHEN v_user = c.user_id THEN 'member_left'
	    ELSE 'member_removed' END, v_user::text,
	    jsonb_build_object('role', v_old), p_srv);
	status := 204;
END $$;

-- ---------------------------------------------------------------- invitations

CREATE FUNCTION app.invitation_json(i invitations) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
	SELECT jsonb_build_object('id', i.id, 'organization_id', i.org_id,
	    'email', i.email,
	    'role', i.role, 'created_at', i.created_at,
	    'expires_at', i.expires_at, 'accepted_at', i.accepted_at,
	    'revoked_at', i.revoked_at)
$$;

CREATE FUNCTION api.invitations_list(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	PERFORM app.require_role(c, 'admin');
	status := 200;
	body := jsonb_build_object('data', coalesce((SELECT
	    jsonb_agg(app.invitation_json(i) ORDER BY i.created_at DESC, i.id)
	    FROM invitations i WHERE i.org_id = c.org_id
	    AND i.accepted_at IS NULL AND i.revoked_at IS NULL
	    AND i.expires_at > now()), '[]'),
	    'next_cursor', NULL);
END $$;

CREATE FUNCTION api.invitation_create(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_email	text := app.field_email(p_in);
	v_role	text := app.field_role(p_in);
	i	invitations%ROWTYPE;
BEGIN
	PERFORM app.require_role(c, 'admin');
	IF v_role = 'owner' AND c.role <> 'owner' THEN
		PERFORM app.fail(403, 'FORBIDDEN',
		    'Only owners can invite owners');
	END IF;
	IF EXISTS (SELECT 1 FROM memberships m JOIN users u
	    ON u.id = m.user_id WHERE m.org_id = c.org_id
	    AND u.email = v_email) THEN
		PERFORM app.fail(409, 'ALREADY_MEMBER',
		    'This person is already a member',
		    jsonb_build_object('email', 'is already a member'));
	END IF;
	INSERT INTO invitations (org_id, email, role, token_hash, invited_by,
	    expires_at)
	VALUES (c.org_id, v_email, v_role,
	    decode(p_srv ->> 'token_hash', 'hex'), c.user_id,
	    now() + interval '7 days')
	RETURNING * INTO i;
	PERFORM app.audit(c, 'invitation_created', v_email,
	    jsonb_build_object('role', v_role), p_srv);
	status := 201;
	body := app.invitation_json(i);
END $$;

CREATE FUNCTION api.invitation_revoke(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	i	invitations%ROWTYPE;
BEGIN
	PERFORM app.require_role(c, 'admin');
	UPDATE invitations SET revoked_at = coalesce(revoked_at, now())
	WHERE org_id = c.org_id AND id = (p_srv #>> '{path,id}')::uuid
	    AND accepted_at IS NULL
	RETURNING * INTO i;
	IF NOT FOUND THEN
		PERFORM app.fail(404, 'NOT_FOUND', 'Invitation not found');
	END IF;
	PERFORM app.audit(c, 'invitation_revoked', i.email, '{}', p_srv);
	status := 204;
END $$;

-- An open invitation by its token; the token names its organization.
CREATE FUNCTION app.invitation_open(p_srv jsonb) RETURNS invitations
LANGUAGE plpgsql AS $$
DECLARE
	i	invitations%ROWTYPE;
BEGIN
	PERFORM app.set_tenant((p_srv ->> 'org')::uuid, NULL);
	SELECT * INTO i FROM invitations
	WHERE org_id = (p_srv ->> 'org')::uuid
	    AND token_hash = decode(p_srv ->> 'token_hash', 'hex')
	    AND accepted_at IS NULL AND revoked_at IS NULL
	    AND expires_at > now();
	IF NOT FOUND THEN
		PERFORM app.fail(404, 'INVITATION_NOT_FOUND',
		    'This invitation is invalid, expired or already used');
	END IF;
	RETURN i;
END $$;

-- What the accept screen shows.
CREATE FUNCTION api.invitation_preview(p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	i	invitations := app.invitation_open(p_srv);
BEGIN
	status := 200;
	body := jsonb_build_object('email', i.email, 'role', i.role,
	    'organization', (SELECT jsonb_build_object('id', o.id,
		'name', o.name) FROM organizations o WHERE o.id = i.org_id),
	    'existing_user', EXISTS (SELECT 1 FROM users u
		WHERE u.email = i.email),
	    'expires_at', i.expires_at);
END $$;

-- Accept, step one, for the server only: the invited person's stored
-- password hash, or null when they have no account yet. An existing
-- account proves its password here, so it is throttled like a login:
-- an invitation link must not be a way round the sign-in delays.
CREATE FUNCTION api.invitation_begin(p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	i	invitations := app.invitation_open(p_srv);
	v_hash	text;
BEGIN
	SELECT u.password_hash INTO v_hash FROM users u WHERE u.email = i.email;
	IF v_hash IS NOT NULL THEN
		PERFORM app.throttle_check(i.email, p_srv ->> 'ip');
	END IF;
	status := 200;
	body := jsonb_build_object('password_hash', v_hash);
END $$;

-- Accept: p_srv.verified (existing user, password checked) or
-- p_srv.password_hash (new user).
CREATE FUNCTION api.invitation_accept(p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	i	invitations := app.invitation_open(p_srv);
	v_user	uuid;
	c	app.ctx;
BEGIN
	SELECT id INTO v_user FROM users WHERE email = i.email;
	IF v_user IS NOT NULL THEN
		IF NOT coalesce((p_srv ->> 'verified')::boolean, false) THEN
			PERFORM app.throttle_failed(i.email, p_srv ->> 'ip');
			status := 401;
			body := jsonb_build_object('error',
			    'Email or password is incorrect',
			    'error_code', 'INVALID_CREDENTIALS',
			    'details', '{}');
			RETURN;
		END IF;
	ELSE
		IF p_srv ->> 'password_hash' IS NULL THEN
			PERFORM app.fail(422, 'VALIDATION_FAILED',
			    'password is required',
			    jsonb_build_object('password', 'is required'));
		END IF;
		INSERT INTO users (email, name, password_hash)
		VALUES (i.email, app.field_text(p_in, 'name', 200),
		    p_srv ->> 'password_hash')
		RETURNING id INTO v_user;
	END IF;
	DELETE FROM login_throttle WHERE key = 'acct:' || i.email;
	PERFORM app.set_tenant(i.org_id, v_user);
	INSERT INTO memberships (org_id, user_id, role)
	VALUES (i.org_id, v_user, i.role)
	ON CONFLICT (org_id, user_id) DO NOTHING;
	UPDATE invitations SET accepted_at = now(), accepted_by = v_user
	WHERE org_id = i.org_id AND id = i.id;
	PERFORM app.session_create(v_user, i.org_id, p_srv);
	c := (v_user, i.org_id, i.role, 'session', NULL)::app.ctx;
	PERFORM app.audit(c, 'invitation_accepted', i.email,
	    jsonb_build_object('role', i.role), p_srv);
	status := 200;
	body := app.me_body(v_user, i.org_id);
END $$;

-- ---------------------------------------------------------------- audit

CREATE FUNCTION api.audit_list(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_limit	int := app.page_limit(p_srv);
	v_cur	text := p_srv #>> '{query,cursor}';
	v_rows	jsonb;
BEGIN
	PERFORM app.require_role(c, 'admin');
	IF v_cur IS NOT NULL AND v_cur !~ '^[0-9]{1,18}$' THEN
		PERFORM app.fail(400, 'INVALID_QUERY', 'cursor is not valid',
		    jsonb_build_object('cursor', 'is not valid'));
	END IF;
	SELECT coalesce(jsonb_agg(r ORDER BY (r ->> 'seq')::bigint DESC),
	    '[]') INTO v_rows
	FROM (SELECT jsonb_build_object('id', a.id::text, 'seq', a.id,
	    'at', a.at, 'action', a.action, 'target', a.target,
	    'details', a.details, 'ip', host(a.ip),
	    'actor', CASE WHEN u.id IS NULL THEN NULL ELSE
		jsonb_build_object('id', u.id, 'name', u.name,
		'email', u.email) END) AS r
	    FROM audit_events a LEFT JOIN users u ON u.id = a.actor_id
	    WHERE a.org_id = c.org_id
	    AND (v_cur IS NULL OR a.id < v_cur::bigint)
	    ORDER BY a.id DESC LIMIT v_limit + 1) q;
	status := 200;
	body := jsonb_build_object(
	    'data', (SELECT coalesce(jsonb_agg(e - 'seq'), '[]')
		FROM (SELECT e FROM jsonb_array_elements(v_rows) e
		LIMIT v_limit) x),
	    'next_cursor', CASE WHEN jsonb_array_length(v_rows) > v_limit
		THEN v_rows -> (v_limit - 1) ->> 'id' END);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app, api TO inbox_app;
