-- 003: channels (connected social accounts), their sealed credentials,
-- per-organization data keys and the global routing directory.
--
-- Credentials never reach the database in the clear: the server seals
-- each secret field with the organization's data key (itself wrapped by
-- the master key, which never leaves the server) and stores the blob.
-- Non-secret fields (ids) are kept as they are in channels.config.

ALTER TABLE organizations
	ADD COLUMN data_key bytea,
	ADD COLUMN data_key_version int;

CREATE TABLE channels (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	id		uuid NOT NULL,
	adapter		text NOT NULL CHECK (adapter ~ '^[a-z0-9_]{1,32}$'),
	family		text NOT NULL,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	routing_key	text,
	account_name	text,
	config		jsonb NOT NULL DEFAULT '{}',
	status		text NOT NULL CHECK (status IN
			    ('connected', 'disconnected', 'error')),
	status_message	text,
	checked_at	timestamptz,
	send_rate	int NOT NULL DEFAULT 80 CHECK (send_rate > 0),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, id)
);

CREATE TABLE channel_secrets (
	org_id		uuid NOT NULL,
	channel_id	uuid NOT NULL,
	field		text NOT NULL,
	sealed		bytea NOT NULL,
	key_version	int NOT NULL,
	hint		text NOT NULL,
	PRIMARY KEY (org_id, channel_id, field),
	FOREIGN KEY (org_id, channel_id) REFERENCES channels ON DELETE CASCADE
);

-- Who owns a routing key (a WhatsApp phone number id, a Page id, an
-- Instagram account id), across all organizations: the webhook endpoint
-- looks here before it knows the tenant, and the primary key is what
-- makes a second claim fail. Only connected (or failing) channels hold
-- a route; disconnecting releases it.
CREATE TABLE channel_routes (
	family		text NOT NULL,
	routing_key	text NOT NULL,
	org_id		uuid NOT NULL,
	channel_id	uuid NOT NULL,
	adapter		text NOT NULL,
	-- 360dialog: keyed hash of the secret header it sends with each
	-- webhook.
	webhook_secret_hash bytea,
	-- The tenant connected its own Meta app: verify with its secret.
	own_app_secret	boolean NOT NULL DEFAULT false,
	PRIMARY KEY (family, routing_key),
	UNIQUE (org_id, channel_id),
	FOREIGN KEY (org_id, channel_id) REFERENCES channels ON DELETE CASCADE
);

ALTER TABLE channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE channels FORCE ROW LEVEL SECURITY;
ALTER TABLE channel_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE channel_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON channels USING (org_id = app.current_org());
CREATE POLICY tenant ON channel_secrets USING (org_id = app.current_org());

GRANT SELECT, INSERT, UPDATE, DELETE ON channels, channel_secrets,
    channel_routes TO inbox_app;

-- A channel as the API shows it. Secrets appear only as their hints.
CREATE FUNCTION app.channel_json(ch channels, p_srv jsonb, p_role text)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', ch.id, 'adapter', ch.adapter,
	    'family', ch.family, 'name', ch.name,
	    'routing_key', ch.routing_key, 'account_name', ch.account_name,
	    'status', ch.status, 'status_message', ch.status_message,
	    'checked_at', ch.checked_at, 'send_rate', ch.send_rate,
	    'created_at', ch.created_at, 'updated_at', ch.updated_at,
	    'credentials', ch.config || coalesce((SELECT
		jsonb_object_agg(s.field, s.hint) FROM channel_secrets s
		WHERE s.org_id = ch.org_id AND s.channel_id = ch.id), '{}'),
	    'webhook', CASE WHEN app.role_rank(p_role) >= 2 THEN
		p_srv -> 'webhooks' -> ch.adapter END)
$$;

CREATE FUNCTION app.channel_find(c app.ctx, p_srv jsonb) RETURNS channels
LANGUAGE plpgsql AS $$
DECLARE
	ch	channels%ROWTYPE;
BEGIN
	SELECT * INTO ch FROM channels
	WHERE org_id = c.org_id AND id = (p_srv #>> '{path,id}')::uuid;
	IF NOT FOUND THEN
		PERFORM app.fail(404, 'NOT_FOUND', 'Channel not found');
	END IF;
	RETURN ch;
END $$;

CREATE FUNCTION api.channels_list(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	status := 200;
	body := jsonb_build_object('data', coalesce((SELECT
	    jsonb_agg(app.channel_json(ch, p_srv, c.role)
	    ORDER BY ch.created_at, ch.id)
	    FROM channels ch WHERE ch.org_id = c.org_id), '[]'),
	    'next_cursor', NULL);
END $$;

CREATE FUNCTION api.channel_get(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	status := 200;
	body := app.channel_json(app.channel_find(c, p_srv), p_srv, c.role);
END $$;

-- Step one of every change that talks to the provider: who the caller
-- is, the organization's wrapped data key, and (for an existing channel)
-- what the server needs to decrypt and call the provider. For the
-- server only: the sealed blobs never leave it.
CREATE FUNCTION api.channel_begin(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	o	organizations%ROWTYPE;
	ch	channels%ROWTYPE;
BEGIN
	PERFORM app.require_role(c, 'admin');
	SELECT * INTO o FROM organizations WHERE id = c.org_id;
	status := 200;
	body := jsonb_build_object('org_id', c.org_id,
	    'data_key', encode(o.data_key, 'hex'),
	    'data_key_version', o.data_key_version,
	    'channel_id', gen_random_uuid());
	IF p_srv #>> '{path,id}' IS NOT NULL THEN
		ch := app.channel_find(c, p_srv);
		body := body || jsonb_build_object('channel_id', ch.id,
		    'adapter', ch.adapter, 'config', ch.config,
		    'status', ch.status, 'name', ch.name,
		    'secrets', coalesce((SELECT jsonb_object_agg(s.field,
			jsonb_build_object('sealed', encode(s.sealed, 'hex'),
			'key_version', s.key_version))
			FROM channel_secrets s WHERE s.org_id = c.org_id
			AND s.channel_id = ch.id), '{}'));
	END IF;
END $$;

-- Takes a route for a channel; 409 when another channel holds it. A
-- change that brings no new webhook secret (a rename, new credentials
-- for a provider we cannot tell a secret) or does not say whether the
-- tenant uses its own Meta app (a reconnect) keeps what the channel's
-- route had: dropping it would make its webhooks fail.
CREATE FUNCTION app.route_claim(ch channels, p_srv jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	old	channel_routes%ROWTYPE;
BEGIN
	IF ch.routing_key IS NULL THEN
		RETURN;
	END IF;
	DELETE FROM channel_routes
	WHERE org_id = ch.org_id AND channel_id = ch.id
	RETURNING * INTO old;
	INSERT INTO channel_routes (family, routing_key, org_id, channel_id,
	    adapter, webhook_secret_hash, own_app_secret)
	VALUES (ch.family, ch.routing_key, ch.org_id, ch.id, ch.adapter,
	    coalesce(decode(p_srv ->> 'webhook_secret_hash', 'hex'),
		old.webhook_secret_hash),
	    coalesce((p_srv ->> 'own_app_secret')::boolean,
		old.own_app_secret, false));
EXCEPTION WHEN unique_violation THEN
	-- Do not say who holds it: that would leak another tenant.
	PERFORM app.fail(409, 'ROUTING_KEY_TAKEN',
	    'This account is already connected to the team inbox; ' ||
	    'disconnect it there first',
	    jsonb_build_object('routing_key', ch.routing_key));
END $$;

-- Replaces a channel's sealed secrets with p_srv.secrets.
CREATE FUNCTION app.secrets_store(ch channels, p_srv jsonb) RETURNS void
LANGUAGE sql AS $$
	DELETE FROM channel_secrets
	WHERE org_id = ch.org_id AND channel_id = ch.id;
	INSERT INTO channel_secrets (org_id, channel_id, field, sealed,
	    key_version, hint)
	SELECT ch.org_id, ch.id, s.key, decode(s.value ->> 'sealed', 'hex'),
	    (s.value ->> 'key_version')::int, s.value ->> 'hint'
	FROM jsonb_each(p_srv -> 'secrets') s;
$$;

-- Step two: what the provider said, saved in one statement.
--   p_srv.mode     connect | update | test | reconnect
--   p_srv.outcome  {ok, status_message, routing_key, account_name}
-- A failed connect or update saves nothing and says why.
CREATE FUNCTION api.channel_save(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_mode	text := p_srv ->> 'mode';
	v_ok	boolean := (p_srv #>> '{outcome,ok}')::boolean;
	v_msg	text := left(p_srv #>> '{outcome,status_message}', 500);
	ch	channels%ROWTYPE;
	n	int;
BEGIN
	PERFORM app.require_role(c, 'admin');
	IF p_srv ->> 'data_key' IS NOT NULL THEN
		UPDATE organizations SET data_key =
		    decode(p_srv ->> 'data_key', 'hex'),
		    data_key_version = (p_srv ->> 'data_key_version')::int
		WHERE id = c.org_id AND data_key IS NULL;
		GET DIAGNOSTICS n = ROW_COUNT;
		IF n = 0 THEN
			PERFORM app.fail(409, 'CONFLICT',
			    'Another change to this organization happened ' ||
			    'at the same time; try again');
		END IF;
	END IF;

	IF v_mode IN ('connect', 'update') AND NOT v_ok THEN
		PERFORM app.fail(422, 'CONNECTION_FAILED',
		    'The provider did not accept these credentials: ' ||
		    coalesce(v_msg, 'no answer'),
		    jsonb_build_object('outcome', p_srv #>> '{outcome,kind}',
		    'provider_message', v_msg));
	END IF;

	IF v_mode = 'connect' THEN
		INSERT INTO channels (org_id, id, adapter, family, name,
		    routing_key, account_name, config, status, checked_at,
		    send_rate)
		VALUES (c.org_id, (p_srv ->> 'channel_id')::uuid,
		    p_srv ->> 'adapter', p_srv ->> 'family',
		    app.field_text(p_in, 'name', 100),
		    p_srv #>> '{outcome,routing_key}',
		    p_srv #>> '{outcome,account_name}',
		    coalesce(p_srv -> 'config', '{}'), 'connected', now(),
		    coalesce((p_srv ->> 'send_rate')::int, 80))
		RETURNING * INTO ch;
		PERFORM app.secrets_store(ch, p_srv);
		PERFORM app.route_claim(ch, p_srv);
		PERFORM app.audit(c, 'channel_connected', ch.id::text,
		    jsonb_build_object('adapter', ch.adapter,
		    'name', ch.name), p_srv);
		status := 201;
		body := app.channel_json(ch, p_srv, c.role);
		RETURN;
	END IF;

	ch := app.channel_find(c, p_srv);
	IF v_mode = 'update' THEN
		UPDATE channels SET
		    -- A name given is checked like a new one (not empty);
		    -- null or absent keeps the old one.
		    name = CASE WHEN coalesce(p_in -> 'name', 'null') = 'null'
			THEN name ELSE app.field_text(p_in, 'name', 100) END,
		    config = coalesce(p_srv -> 'config', config),
		    routing_key = coalesce(p_srv #>> '{outcome,routing_key}',
			routing_key),
		    account_name = p_srv #>> '{outcome,account_name}',
		    status = CASE WHEN status = 'disconnected'
			THEN status ELSE 'connected' END,
		    status_message = NULL, checked_at = now(),
		    updated_at = now()
		WHERE org_id = c.org_id AND id = ch.id RETURNING * INTO ch;
		PERFORM app.secrets_store(ch, p_srv);
		IF ch.status <> 'disconnected' THEN
			PERFORM app.route_claim(ch, p_srv);
		END IF;
		PERFORM app.audit(c, 'channel_credentials_updated',
		    ch.id::text, jsonb_build_object('name', ch.name), p_srv);
	ELSIF v_mode = 'test' THEN
		UPDATE channels SET
		    status = CASE WHEN status = 'disconnected' THEN status
			WHEN v_ok THEN 'connected' ELSE 'error' END,
		    status_message = CASE WHEN v_ok THEN NULL ELSE v_msg END,
		    account_name = coalesce(
			p_srv #>> '{outcome,account_name}', account_name),
		    checked_at = now()
		WHERE org_id = c.org_id AND id = ch.id RETURNING * INTO ch;
	ELSIF v_mode = 'reconnect' THEN
		UPDATE channels SET
		    status = CASE WHEN v_ok THEN 'connected' ELSE 'error' END,
		    status_message = CASE WHEN v_ok THEN NULL ELSE v_msg END,
		    checked_at = now(), updated_at = now()
		WHERE org_id = c.org_id AND id = ch.id RETURNING * INTO ch;
		PERFORM app.route_claim(ch, p_srv);
		PERFORM app.audit(c, 'channel_reconnected', ch.id::text,
		    jsonb_build_object('name', ch.name, 'ok', v_ok), p_srv);
	ELSE
		PERFORM app.fail(400, 'BAD_MODE', 'unknown mode');
	END IF;
	status := 200;
	body := app.channel_json(ch, p_srv, c.role);
END $$;

CREATE FUNCTION api.channel_disconnect(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	ch	channels%ROWTYPE;
BEGIN
	PERFORM app.require_role(c, 'admin');
	ch := app.channel_find(c, p_srv);
	DELETE FROM channel_routes WHERE org_id = c.org_id
	    AND channel_id = ch.id;
	UPDATE channels SET status = 'disconnected', status_message = NULL,
	    updated_at = now()
	WHERE org_id = c.org_id AND id = ch.id RETURNING * INTO ch;
	PERFORM app.audit(c, 'channel_disconnected', ch.id::text,
	    jsonb_build_object('name', ch.name), p_srv);
	status := 200;
	body := app.channel_json(ch, p_srv, c.role);
END $$;

CREATE FUNCTION api.channel_delete(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	ch	channels%ROWTYPE;
BEGIN
	PERFORM app.require_role(c, 'admin');
	ch := app.channel_find(c, p_srv);
	DELETE FROM channels WHERE org_id = c.org_id AND id = ch.id;
	PERFORM app.audit(c, 'channel_deleted', ch.id::text,
	    jsonb_build_object('name', ch.name, 'adapter', ch.adapter), p_srv);
	status := 204;
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app, api TO inbox_app;
