-- 001: organizations, people, sessions, API tokens, invitations, audit log.
--
-- Runs as the owner role. The server connects as a member of inbox_app,
-- which owns nothing, cannot bypass row-level security, and reaches the
-- data through the functions in schema api (one statement per API call).
--
-- Errors: app.fail() raises SQLSTATE 'IB' || http_status with the human
-- message as MESSAGE, the machine code as DETAIL and details JSON as HINT;
-- the server turns that into the API's error body.

CREATE SCHEMA app;
CREATE SCHEMA api;

-- ---------------------------------------------------------------- helpers

CREATE FUNCTION app.fail(p_status int, p_code text, p_msg text,
    p_details jsonb DEFAULT '{}')
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION USING ERRCODE = 'IB' || p_status::text,
	    MESSAGE = p_msg, DETAIL = p_code,
	    HINT = coalesce(p_details, '{}')::text;
END $$;

CREATE FUNCTION app.current_org() RETURNS uuid
LANGUAGE sql STABLE AS $$
	SELECT nullif(current_setting('app.org_id', true), '')::uuid
$$;

CREATE FUNCTION app.current_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
	SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$;

-- Sets the tenant for the rest of this transaction only.
CREATE FUNCTION app.set_tenant(p_org uuid, p_user uuid) RETURNS void
LANGUAGE sql AS $$
	SELECT set_config('app.org_id', coalesce(p_org::text, ''), true),
	    set_config('app.user_id', coalesce(p_user::text, ''), true)
$$;

-- A text field of a JSON object: trimmed, length-checked, NULL if absent.
CREATE FUNCTION app.field_text(p_in jsonb, p_name text, p_max int,
    p_required boolean DEFAULT true)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	v	jsonb := p_in -> p_name;
	s	text;
BEGIN
	IF v IS NULL OR v = 'null'::jsonb THEN
		IF p_required THEN
			PERFORM app.fail(422, 'VALIDATION_FAILED',
			    p_name || ' is required',
			    jsonb_build_object(p_name, 'is required'));
		END IF;
		RETURN NULL;
	END IF;
	IF jsonb_typeof(v) <> 'string' THEN
		PERFORM app.fail(422, 'VALIDATION_FAILED',
		    p_name || ' must be a string',
		    jsonb_build_object(p_name, 'must be a string'));
	END IF;
	s := btrim(v #>> '{}');
	IF s = '' AND p_required THEN
		PERFORM app.fail(422, 'VALIDATION_FAILED',
		    p_name || ' must not be empty',
		    jsonb_build_object(p_name, 'must not be empty'));
	END IF;
	IF length(s) > p_max THEN
		PERFORM app.fail(422, 'VALIDATION_FAILED',
		    p_name || ' must be at most ' || p_max || ' characters',
		    jsonb_build_object(p_name,
		    'must be at most ' || p_max || ' characters'));
	END IF;
	RETURN s;
END $$;

CREATE FUNCTION app.field_email(p_in jsonb, p_name text DEFAULT 'email')
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := lower(app.field_text(p_in, p_name, 254));
BEGIN
	IF s !~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$' THEN
		PERFORM app.fail(422, 'VALIDATION_FAILED',
		    p_name || ' is not a valid email address',
		    jsonb_build_object(p_name, 'is not a valid email address'));
	END IF;
	RETURN s;
END $$;

CREATE FUNCTION app.field_uuid(p_in jsonb, p_name text)
RETURNS uuid LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := app.field_text(p_in, p_name, 36);
BEGIN
	IF s !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
	THEN
		PERFORM app.fail(422, 'VALIDATION_FAILED',
		    p_name || ' is not a valid id',
		    jsonb_build_object(p_name, 'is not a valid id'));
	END IF;
	RETURN s::uuid;
END $$;

CREATE FUNCTION app.field_role(p_in jsonb, p_name text DEFAULT 'role')
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := app.field_text(p_in, p_name, 16);
BEGIN
	IF s NOT IN ('owner', 'admin', 'agent') THEN
		PERFORM app.fail(422, 'VALIDATION_FAILED',
		    p_name || ' must be owner, admin or agent',
		    jsonb_build_object(p_name, 'must be owner, admin or agent'));
	END IF;
	RETURN s;
END $$;

CREATE FUNCTION app.role_rank(p_role text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p_role WHEN 'owner' THEN 3 WHEN 'admin' THEN 2
	    WHEN 'agent' THEN 1 ELSE 0 END
$$;

-- The page size asked for in a list query, within 1..200.
CREATE FUNCTION app.page_limit(p_srv jsonb) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := p_srv #>> '{query,limit}';
BEGIN
	IF s IS NULL THEN
		RETURN 50;
	END IF;
	IF s !~ '^[0-9]{1,4}$' OR s::int < 1 OR s::int > 200 THEN
		PERFORM app.fail(400, 'INVALID_QUERY',
		    'limit must be a number from 1 to 200',
		    jsonb_build_object('limit', 'must be a number from 1 to 200'));
	END IF;
	RETURN s::int;
END $$;

-- ---------------------------------------------------------------- global

-- People exist once, across organizations.
CREATE TABLE users (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	email		text NOT NULL CHECK (email = lower(email)
			    AND length(email) <= 254),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	password_hash	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email ON users (email);

-- Sessions are a person's, bound to the organization they act in.
-- Only a keyed hash of the cookie value is stored.
CREATE TABLE sessions (
	id_hash		bytea PRIMARY KEY CHECK (length(id_hash) = 32),
	user_id		uuid NOT NULL REFERENCES users ON DELETE CASCADE,
	org_id		uuid NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_seen_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	revoked_at	timestamptz,
	ip		inet,
	user_agent	text
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins per account and per address, for growing delays.
CREATE TABLE login_throttle (
	key		text PRIMARY KEY,
	failures	int NOT NULL DEFAULT 0,
	last_failure	timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------- tenant

CREATE TABLE organizations (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	user_id		uuid NOT NULL REFERENCES users ON DELETE CASCADE,
	role		text NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id, org_id);

-- Machine credentials: "ibt_<org hex>_<secret>", stored as a keyed hash.
CREATE TABLE api_tokens (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	role		text NOT NULL CHECK (role IN ('admin', 'agent')),
	token_hash	bytea NOT NULL CHECK (length(token_hash) = 32),
	hint		text NOT NULL,
	created_by	uuid REFERENCES users ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_used_at	timestamptz,
	revoked_at	timestamptz,
	PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (org_id, token_hash);

CREATE TABLE invitations (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	email		text NOT NULL CHECK (email = lower(email)),
	role		text NOT NULL CHECK (role IN ('owner', 'admin', 'agent')),
	token_hash	bytea NOT NULL CHECK (length(token_hash) = 32),
	invited_by	uuid REFERENCES users ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	accepted_at	timestamptz,
	accepted_by	uuid REFERENCES users ON DELETE SET NULL,
	revoked_at	timestamptz,
	PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX invitations_hash ON invitations (org_id, token_hash);

CREATE TABLE audit_events (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	id		bigint GENERATED ALWAYS AS IDENTITY,
	at		timestamptz NOT NULL DEFAULT now(),
	actor_id	uuid REFERENCES users ON DELETE SET NULL,
	action		text NOT NULL,
	target		text,
	details		jsonb NOT NULL DEFAULT '{}',
	ip		inet,
	PRIMARY KEY (org_id, id)
);

-- Row-level security: a statement that forgot the tenant sees nothing.
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY;
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_events FORCE ROW LEVEL SECURITY;

-- Writes go to the current tenant only. A person may also read their own
-- memberships and organizations, which GET /me and switching need.
CREATE POLICY tenant ON memberships USING (org_id = app.current_org());
CREATE POLICY own_read ON memberships FOR SELECT
	USING (user_id = app.current_user_id());
CREATE POLICY tenant ON organizations USING (id = app.current_org());
CREATE POLICY own_read ON organizations FOR SELECT
	USING (id IN (SELECT m.org_id FROM memberships m
	    WHERE m.user_id = app.current_user_id()));
CREATE POLICY tenant ON api_tokens USING (org_id = app.current_org());
CREATE POLICY tenant ON invitations USING (org_id = app.current_org());
CREATE POLICY tenant ON audit_events USING (org_id = app.current_org());

GRANT USAGE ON SCHEMA app, api TO inbox_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions, login_throttle,
    organizations, memberships, api_tokens, invitations, audit_events
    TO inbox_app;
