-- 013: a channel's settings through the API, its account errors, and
-- what the server needs to list its message templates.
--
-- PATCH /api/v1/channels/{id} with only a name and/or a send_rate is one
-- statement (api.channel_settings): there is nothing to ask the
-- provider, so a channel whose token was revoked can still be renamed or
-- slowed down. New credentials still go through the provider first
-- (app/channels.c: channel_begin, the test, channel_save); the two
-- wrappers below add the send_rate given with them, checked before the
-- provider is asked and saved in the same statement as the credentials.
--
-- The dispatcher reads channels.send_rate at every claim, so a new rate
-- needs no restart; app.channel_rate_set() makes a faster one apply
-- from the next send rather than after the slot already handed out.

-- A channel's sends per second at most: Meta's highest WhatsApp
-- throughput is 1,000 messages per second per number.
CREATE FUNCTION app.send_rate_max() RETURNS int
LANGUAGE sql IMMUTABLE AS $$ SELECT 1000 $$;

-- send_rate of a JSON body: NULL when absent, else an integer from 1 to
-- app.send_rate_max(), or a 422. The text is checked before it is cast,
-- so a huge number cannot overflow, and a number with a fraction
-- ("80.0", which is how the server passes on 8e1 too) is refused. null
-- is refused as well: there is no "unset".
CREATE FUNCTION app.field_send_rate(p_in jsonb) RETURNS int
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	v	jsonb := p_in -> 'send_rate';
	s	text := v::text;
BEGIN
	IF v IS NULL THEN
		RETURN NULL;
	END IF;
	IF jsonb_typeof(v) <> 'number' OR s !~ '^[0-9]{1,4}$' OR
	    s::int NOT BETWEEN 1 AND app.send_rate_max() THEN
		PERFORM app.fail(422, 'VALIDATION_FAILED',
		    'send_rate must be a whole number of messages per second '
		    || 'from 1 to ' || app.send_rate_max(),
		    jsonb_build_object('send_rate', 'must be an integer from 1 '
		    || 'to ' || app.send_rate_max()));
	END IF;
	RETURN s::int;
END $$;

-- Sets ch's send_rate. A slower rate applies from the next claim, which
-- reads it. A faster one applies from the next send: the lane's next
-- slot, spaced by the old rate, is brought closer by the difference of
-- the two intervals (so it stays at least one new interval after the
-- last slot handed out), and a lane waiting on its pacing is woken.
CREATE FUNCTION app.channel_rate_set(ch channels, p_rate int)
RETURNS channels LANGUAGE plpgsql AS $$
DECLARE
	v_old	int := ch.send_rate;
BEGIN
	IF p_rate IS NULL OR p_rate = v_old THEN
		RETURN ch;
	END IF;
	UPDATE channels SET send_rate = p_rate, updated_at = now()
	WHERE org_id = ch.org_id AND id = ch.id RETURNING * INTO ch;
	IF p_rate > v_old THEN
		UPDATE outbox_lanes SET
		    next_at = next_at - interval '1 second' / v_old +
			interval '1 second' / p_rate,
		    wake_at = CASE WHEN wake_at IS NOT NULL THEN
			least(wake_at, now()) END
		WHERE org_id = ch.org_id AND channel_id = ch.id
		    AND next_at > now();
		IF FOUND THEN
			PERFORM app.outbox_notify();
		END IF;
	END IF;
	RETURN ch;
END $$;

-- PATCH /api/v1/channels/{id} {name?, send_rate?}: no credentials, no
-- provider. Only what is given changes; a name null or absent stays.
CREATE FUNCTION api.channel_settings(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	ch	channels%ROWTYPE;
	v_name	text;
	v_rate	int;
	v_diff	jsonb := '{}';
BEGIN
	PERFORM app.require_role(c, 'admin');
	ch := app.channel_find(c, p_srv);
	IF coalesce(p_in -> 'name', 'null') <> 'null' THEN
		v_name := app.field_text(p_in, 'name', 100);
	END IF;
	v_rate := app.field_send_rate(p_in);
	IF v_name IS NOT NULL AND v_name <> ch.name THEN
		UPDATE channels SET name = v_name, updated_at = now()
		WHERE org_id = c.org_id AND id = ch.id RETURNING * INTO ch;
		v_diff := jsonb_build_object('name', v_name);
	END IF;
	IF v_rate IS NOT NULL AND v_rate <> ch.send_rate THEN
		v_diff := v_diff || jsonb_build_object('send_rate', v_rate);
		ch := app.channel_rate_set(ch, v_rate);
	END IF;
	IF v_diff <> '{}' THEN
		PERFORM app.audit(c, 'channel_updated', ch.id::text,
		    v_diff || jsonb_build_object('name', ch.name), p_srv);
	END IF;
	status := 200;
	body := app.channel_json(ch, p_srv, c.role);
END $$;

-- PATCH with credentials, step one: channel_begin, then the send_rate
-- given with them, so a bad one is refused before the provider is asked
-- (and before 360dialog is told a new webhook secret).
CREATE FUNCTION api.channel_update_begin(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	SELECT b.status, b.body INTO status, body
	FROM api.channel_begin(p_auth, p_in, p_srv) b;
	PERFORM app.field_send_rate(p_in);
END $$;

-- PATCH with credentials, last step: what channel_save keeps (it
-- authenticates and checks the role itself, and refuses credentials the
-- provider did not accept), then the send_rate, in one statement.
CREATE FUNCTION api.channel_update_save(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx;
	v_rate	int;
	ch	channels%ROWTYPE;
BEGIN
	SELECT s.status, s.body INTO status, body
	FROM api.channel_save(p_auth, p_in, p_srv) s;
	c := app.authenticate(p_auth);
	v_rate := app.field_send_rate(p_in);
	ch := app.channel_find(c, p_srv);
	IF v_rate IS NOT NULL AND v_rate <> ch.send_rate THEN
		ch := app.channel_rate_set(ch, v_rate);
		PERFORM app.audit(c, 'channel_updated', ch.id::text,
		    jsonb_build_object('name', ch.name, 'send_rate', v_rate),
		    p_srv);
		body := app.channel_json(ch, p_srv, c.role);
	END IF;
END $$;

-- ---------------------------------------------------------------- errors

CREATE INDEX channel_errors_by_channel ON channel_errors (org_id,
    channel_id, id DESC);

-- GET /api/v1/channels/{id}/errors: what WhatsApp said about the account
-- (value.errors of a webhook, kept by app.inbox_error), newest first,
-- paginated by id like the audit log. Any member, like the channel.
CREATE FUNCTION api.channel_errors_list(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	ch	channels%ROWTYPE := app.channel_find(c, p_srv);
	v_limit	int := app.page_limit(p_srv);
	v_cur	text := p_srv #>> '{query,cursor}';
	v_data	jsonb;
	v_next	text;
BEGIN
	IF v_cur IS NOT NULL AND v_cur !~ '^[0-9]{1,18}$' THEN
		PERFORM app.fail(400, 'INVALID_QUERY', 'cursor is not valid',
		    jsonb_build_object('cursor', 'is not valid'));
	END IF;
	WITH page AS (
		SELECT e.*, row_number() OVER (ORDER BY e.id DESC) AS n
		FROM channel_errors e
		WHERE e.org_id = c.org_id AND e.channel_id = ch.id
		    AND (v_cur IS NULL OR e.id < v_cur::bigint)
		ORDER BY e.id DESC LIMIT v_limit + 1)
	SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id::text,
	    'error_code', p.error_code, 'error_title', p.error_title,
	    'at', p.at, 'received_at', p.created_at) ORDER BY p.id DESC)
		FILTER (WHERE p.n <= v_limit), '[]'),
	    CASE WHEN count(*) > v_limit THEN
		(min(p.id) FILTER (WHERE p.n <= v_limit))::text END
	INTO v_data, v_next FROM page p;
	status := 200;
	body := jsonb_build_object('data', v_data, 'next_cursor', v_next);
END $$;

-- ---------------------------------------------------------------- templates

-- A channel's sealed credentials, for the server to open.
CREATE FUNCTION app.channel_sealed(ch channels) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT coalesce(jsonb_object_agg(s.field, jsonb_build_object(
	    'sealed', encode(s.sealed, 'hex'), 'key_version', s.key_version)),
	    '{}')
	FROM channel_secrets s
	WHERE s.org_id = ch.org_id AND s.channel_id = ch.id
$$;

-- GET /api/v1/channels/{id}/templates, step one: what the server needs
-- to ask the provider with the channel's credentials, as channel_begin
-- hands it over, but for any member: agents choose templates when they
-- write. For the server only: the sealed blobs never leave it.
CREATE FUNCTION api.channel_templates_begin(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	ch	channels%ROWTYPE := app.channel_find(c, p_srv);
	o	organizations%ROWTYPE;
BEGIN
	SELECT * INTO o FROM organizations WHERE id = c.org_id;
	status := 200;
	body := jsonb_build_object('org_id', c.org_id, 'channel_id', ch.id,
	    'adapter', ch.adapter, 'status', ch.status, 'config', ch.config,
	    'data_key', encode(o.data_key, 'hex'),
	    'data_key_version', o.data_key_version,
	    'secrets', app.channel_sealed(ch));
END $$;

-- The provider rejected the channel's credentials while the server used
-- them for a member (listing templates): as when a test or a send finds
-- that, the channel is in error with p_srv.outcome.status_message, and
-- its queue pauses until it is reconnected. A disconnected channel stays
-- so. Any member: the verdict is the provider's, not the caller's.
CREATE FUNCTION api.channel_credentials_rejected(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	ch	channels%ROWTYPE := app.channel_find(c, p_srv);
BEGIN
	UPDATE channels SET status = 'error', checked_at = now(),
	    status_message = left(p_srv #>> '{outcome,status_message}', 500)
	WHERE org_id = c.org_id AND id = ch.id AND status <> 'disconnected';
	IF ch.status = 'connected' THEN
		PERFORM app.inbox_notify(c.org_id, 'channel_status', NULL, NULL,
		    ch.id);
	END IF;
	status := 200;
	body := jsonb_build_object('status', CASE WHEN
	    ch.status = 'disconnected' THEN ch.status ELSE 'error' END);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app, api TO inbox_app;
