-- 007: sending. Replies and new conversations queued by the API, the
-- outbox the dispatcher drains, Idempotency-Key results, per-channel
-- pacing and dead letters. docs/dispatcher.md tells the whole story.
--
-- A send is one statement (api.message_send): it authenticates, checks
-- the message against what the server's plugins said of it, enforces
-- the customer-care window, and writes the message (direction out,
-- status queued) and its outbox row together, then NOTIFYs "outbox".
--
-- The dispatcher (app/dispatcher) connects as inbox_app, like the
-- server: it owns nothing and cannot bypass row-level security. Its two
-- functions work across organizations the way webhook ingestion does:
-- outbox_lanes, one row per channel with something to send, is global
-- (ids and times only, like channel_routes), and everything of a tenant
-- is read and written after app.set_tenant() for that lane or result.
--
-- Exactly once, as far as it can be: a claim locks outbox rows with FOR
-- UPDATE SKIP LOCKED and leases them; a result counts only for the claim
-- (attempt_id) it answers, except "sent", which always counts. A lease
-- that runs out (a dispatcher killed mid-send) makes the message
-- claimable again: the send it was making may have reached the provider,
-- so at most the messages in flight at that moment can go out twice.

-- ---------------------------------------------------------------- tables

-- Who sent it through us (NULL for inbound, echoes, API tokens).
ALTER TABLE messages
	ADD COLUMN author_id uuid REFERENCES users ON DELETE SET NULL;

-- One row per outbound message the dispatcher still has to deal with:
-- queued (waiting, leased or backing off) or dead (given up on, listed
-- for admins and re-queueable). A sent message leaves the outbox; its
-- fate from then on is messages.status.
CREATE TABLE outbox (
	org_id		uuid NOT NULL,
	message_id	uuid NOT NULL,
	channel_id	uuid NOT NULL,
	contact_id	uuid NOT NULL,
	-- messages.seq: a recipient's messages leave in this order.
	seq		bigint NOT NULL,
	state		text NOT NULL DEFAULT 'queued'
			    CHECK (state IN ('queued', 'dead')),
	attempts	int NOT NULL DEFAULT 0,
	next_attempt_at	timestamptz NOT NULL DEFAULT now(),
	-- A claim: until lease_until nobody else sends it; attempt_id names
	-- the claim, so a late result of an older one is ignored.
	lease_until	timestamptz,
	leased_by	text,
	attempt_id	bigint,
	last_error_code	text,
	last_error_title text,
	dead_reason	text CHECK (dead_reason IN ('permanent', 'attempts',
			    'expired')),
	dead_at		timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, message_id),
	FOREIGN KEY (org_id, message_id) REFERENCES messages ON DELETE CASCADE,
	FOREIGN KEY (org_id, channel_id) REFERENCES channels ON DELETE CASCADE
);
CREATE INDEX outbox_lane ON outbox (org_id, channel_id, seq)
    WHERE state = 'queued';
CREATE INDEX outbox_recipient ON outbox (org_id, channel_id, contact_id, seq)
    WHERE state = 'queued';
CREATE INDEX outbox_dead ON outbox (org_id, dead_at DESC, message_id)
    WHERE state = 'dead';

CREATE SEQUENCE outbox_attempts;

-- Per channel: when the dispatcher should look at it next (wake_at, NULL
-- when there is nothing to do or the channel is paused), and its pacing:
-- next_at is the earliest time its next send may start, moved on by
-- 1/send_rate seconds per send, so a number never goes over its rate
-- however many dispatchers run. served_at makes the claim round-robin.
-- Global, like channel_routes: ids and times only.
CREATE TABLE outbox_lanes (
	org_id		uuid NOT NULL,
	channel_id	uuid NOT NULL,
	wake_at		timestamptz,
	next_at		timestamptz NOT NULL DEFAULT '-infinity',
	served_at	timestamptz,
	paused		boolean NOT NULL DEFAULT false,
	PRIMARY KEY (org_id, channel_id),
	FOREIGN KEY (org_id, channel_id) REFERENCES channels ON DELETE CASCADE
);
CREATE INDEX outbox_lanes_wake ON outbox_lanes (wake_at)
    WHERE wake_at IS NOT NULL;

-- The first answer to an API call made with an Idempotency-Key: a retry
-- with the same key and the same request gets it again. Kept 24 hours.
CREATE TABLE idempotency_keys (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	key		text NOT NULL,
	fingerprint	bytea NOT NULL,
	status		int,
	body		jsonb,
	message_id	uuid,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, key)
);

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE idempotency_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON outbox USING (org_id = app.current_org());
CREATE POLICY tenant ON idempotency_keys USING (org_id = app.current_org());

GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, outbox_lanes,
    idempotency_keys TO inbox_app;
GRANT USAGE ON SEQUENCE outbox_attempts TO inbox_app;

-- ---------------------------------------------------------------- helpers

CREATE FUNCTION app.care_window() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '24 hours' $$;

CREATE FUNCTION app.idempotency_ttl() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '24 hours' $$;

-- Wakes every dispatcher (sent at commit, dropped with a rollback).
CREATE FUNCTION app.outbox_notify() RETURNS void
LANGUAGE sql AS $$ SELECT pg_notify('outbox', '') $$;

-- The key of the normalized outbound message that holds a type's object.
CREATE FUNCTION app.outbound_key(p_type text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN p_type IN ('image', 'audio', 'video', 'document')
	    THEN 'media' ELSE p_type END
$$;

-- The normalized outbound message (docs/plugins.md) plugins build the
-- provider's request from. client_ref is our message id: providers give
-- it back in statuses and echoes.
CREATE FUNCTION app.outbound_payload(m messages, ct contacts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object(
	    'to', CASE WHEN ct.external_id = ct.user_id THEN NULL
		ELSE ct.external_id END,
	    'to_user_id', ct.user_id, 'client_ref', m.id, 'type', m.type,
	    app.outbound_key(m.type), m.content, 'reply_to', m.reply_to)
$$;

-- A channel lane has (or may have) work from p_at on.
CREATE FUNCTION app.lane_wake(p_org uuid, p_channel uuid, p_at timestamptz)
RETURNS void LANGUAGE sql AS $$
	INSERT INTO outbox_lanes (org_id, channel_id, wake_at)
	VALUES (p_org, p_channel, p_at)
	ON CONFLICT (org_id, channel_id) DO UPDATE
	    SET wake_at = least(outbox_lanes.wake_at, EXCLUDED.wake_at)
	    WHERE outbox_lanes.wake_at IS NULL OR
		outbox_lanes.wake_at > EXCLUDED.wake_at
$$;

-- Our message named by the API (its id) or a provider id, in a channel
-- and with a contact: the provider's id to quote or react to. 422 when
-- there is none (unknown, or not sent yet).
CREATE FUNCTION app.target_message(p_org uuid, p_channel uuid,
    p_contact uuid, p_ref text, p_field text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_pmid	text;
BEGIN
	IF app.is_uuid(p_ref) THEN
		SELECT provider_message_id INTO v_pmid FROM messages
		WHERE org_id = p_org AND id = p_ref::uuid
		    AND channel_id = p_channel AND contact_id = p_contact;
	ELSE
		SELECT provider_message_id INTO v_pmid FROM messages
		WHERE org_id = p_org AND channel_id = p_channel
		    AND provider_message_id = p_ref AND contact_id = p_contact;
	END IF;
	IF v_pmid IS NULL THEN
		PERFORM app.fail(422, 'VALIDATION_FAILED', p_field ||
		    ' must name a message of this conversation that the ' ||
		    'provider has', jsonb_build_object(p_field,
		    'is not a message of this conversation with a provider id'));
	END IF;
	RETURN v_pmid;
END $$;

-- A message as the sending API shows it: with its place in the outbox.
CREATE FUNCTION app.sent_message_json(m messages) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT app.message_json(m) || jsonb_build_object(
	    'author_id', m.author_id,
	    'delivery', (SELECT jsonb_build_object('state', o.state,
		'attempts', o.attempts, 'next_attempt_at', CASE WHEN
		o.state = 'queued' THEN o.next_attempt_at END,
		'last_error', CASE WHEN o.last_error_code IS NULL AND
		    o.last_error_title IS NULL THEN NULL ELSE
		    jsonb_build_object('code', o.last_error_code,
		    'title', o.last_error_title) END,
		'dead_reason', o.dead_reason, 'dead_at', o.dead_at)
		FROM outbox o WHERE o.org_id = m.org_id
		AND o.message_id = m.id))
$$;

-- ---------------------------------------------------------------- send

-- POST /conversations/:id/messages (p_srv.path.id) and POST /messages
-- ({channel_id, to, ...}): one message queued, answered 202.
--   p_srv.idempotency_key  the header, when sent
--   p_srv.invalid          {code, message, details}: the server found
--                          the body malformed (answered after auth)
--   p_srv.send_check       {adapter: {ok} | {ok: false, code, message}}:
--                          what each loaded plugin made of the message
--   p_srv.capabilities     {adapter: {sends: [types], care_window}}
-- The order of answers: 401, idempotent replay, 404, 422 malformed, 409
-- channel not connected, 422 unsupported or invalid for the channel,
-- 422 contact blocked, 422 care window closed.
CREATE FUNCTION api.message_send(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_key	text := p_srv ->> 'idempotency_key';
	v_reply	boolean := p_srv #>> '{path,id}' IS NOT NULL;
	v_fp	bytea;
	v_type	text;
	v_obj	jsonb;
	v_check	jsonb;
	v_caps	jsonb;
	v_last	timestamptz;
	v_to	text;
	v_reply_to text;
	v_text	text;
	k	idempotency_keys%ROWTYPE;
	cv	conversations%ROWTYPE;
	ch	channels%ROWTYPE;
	ct	contacts%ROWTYPE;
	m	messages%ROWTYPE;
BEGIN
	IF p_srv #>> '{invalid,code}' = 'INVALID_IDEMPOTENCY_KEY' THEN
		PERFORM app.fail(400, 'INVALID_IDEMPOTENCY_KEY',
		    p_srv #>> '{invalid,message}', p_srv #> '{invalid,details}');
	END IF;
	-- A retry with the key gets the first answer; a concurrent one
	-- waits for the first to commit (the primary key), then gets it.
	IF v_key IS NOT NULL THEN
		v_fp := sha256(convert_to(coalesce(p_srv #>> '{path,id}', '-')
		    || ' ' || p_in::text, 'UTF8'));
		INSERT INTO idempotency_keys (org_id, key, fingerprint)
		VALUES (c.org_id, v_key, v_fp)
		ON CONFLICT (org_id, key) DO UPDATE SET
		    fingerprint = EXCLUDED.fingerprint, status = NULL,
		    body = NULL, message_id = NULL, created_at = now()
		    WHERE idempotency_keys.created_at <
			now() - app.idempotency_ttl()
		RETURNING * INTO k;
		IF k.org_id IS NULL THEN
			SELECT * INTO k FROM idempotency_keys
			WHERE org_id = c.org_id AND key = v_key;
			IF k.fingerprint <> v_fp THEN
				PERFORM app.fail(422, 'IDEMPOTENCY_KEY_REUSED',
				    'This Idempotency-Key was used for a ' ||
				    'different request',
				    jsonb_build_object('idempotency_key',
				    'was used for another request'));
			END IF;
			status := k.status;
			body := k.body;
			RETURN;
		END IF;
	END IF;

	IF v_reply THEN
		cv := app.conversation_find(c, p_srv);
		SELECT * INTO ch FROM channels WHERE org_id = c.org_id
		    AND id = cv.channel_id;
		SELECT * INTO ct FROM contacts WHERE org_id = c.org_id
		    AND id = cv.contact_id;
	ELSE
		IF app.is_uuid(p_in ->> 'channel_id') THEN
			SELECT * INTO ch FROM channels WHERE org_id = c.org_id
			    AND id = (p_in ->> 'channel_id')::uuid;
		END IF;
		IF ch.id IS NULL THEN
			IF p_in -> 'channel_id' IS NULL OR
			    jsonb_typeof(p_in -> 'channel_id') <> 'string' THEN
				PERFORM app.fail(422, 'VALIDATION_FAILED',
				    'channel_id is required',
				    jsonb_build_object('channel_id',
				    'is required'));
			END IF;
			PERFORM app.fail(404, 'NOT_FOUND', 'Channel not found');
		END IF;
	END IF;

	IF p_srv -> 'invalid' IS NOT NULL THEN
		PERFORM app.fail(422, p_srv #>> '{invalid,code}',
		    p_srv #>> '{invalid,message}', p_srv #> '{invalid,details}');
	END IF;
	IF NOT v_reply THEN
		v_to := app.field_text(p_in, 'to', 256);
		IF ch.family = 'whatsapp' THEN
			IF v_to !~ '^\+?[0-9]{6,20}$' THEN
				PERFORM app.fail(422, 'VALIDATION_FAILED',
				    'to must be a phone number in international '
				    'format (digits, country code first)',
				    jsonb_build_object('to',
				    'must be a phone number'));
			END IF;
			v_to := ltrim(v_to, '+');
		ELSIF v_to ~ '[[:space:][:cntrl:]]' THEN
			PERFORM app.fail(422, 'VALIDATION_FAILED',
			    'to must be the recipient''s id on the channel',
			    jsonb_build_object('to', 'must not contain spaces'));
		END IF;
	END IF;

	IF ch.status <> 'connected' THEN
		PERFORM app.fail(409, 'CHANNEL_NOT_CONNECTED', CASE ch.status
		    WHEN 'error' THEN 'This channel needs to be reconnected: '
			|| coalesce(ch.status_message, 'its last check failed')
		    ELSE 'This channel is disconnected' END,
		    jsonb_build_object('channel_id', ch.id,
		    'channel_status', ch.status));
	END IF;
	v_type := p_in ->> 'type';
	v_check := p_srv -> 'send_check' -> ch.adapter;
	v_caps := coalesce(p_srv -> 'capabilities' -> ch.adapter, '{}');
	IF v_check IS NULL THEN
		PERFORM app.fail(409, 'ADAPTER_NOT_LOADED',
		    'This channel''s plugin is not installed on the server');
	END IF;
	IF NOT (v_check ->> 'ok')::boolean THEN
		PERFORM app.fail(422, v_check ->> 'code', v_check ->> 'message',
		    jsonb_build_object('type', v_type, 'adapter', ch.adapter,
		    'sends', v_caps -> 'sends'));
	END IF;

	IF ct.id IS NULL THEN
		ct.id := app.inbox_contact(c.org_id, ch.family,
		    jsonb_build_object('external_id', v_to));
		SELECT * INTO ct FROM contacts WHERE org_id = c.org_id
		    AND id = ct.id;
	END IF;

	-- WhatsApp (and Meta's other channels) take free-form messages only
	-- within 24 hours of the customer's last message to that number.
	IF (v_caps ->> 'care_window')::boolean AND v_type <> 'template' THEN
		SELECT max(last_inbound_at) INTO v_last FROM conversations
		WHERE org_id = c.org_id AND contact_id = ct.id
		    AND channel_id = ch.id;
		IF v_last IS NULL OR v_last < now() - app.care_window() THEN
			PERFORM app.fail(422, 'CARE_WINDOW_CLOSED',
			    CASE WHEN v_last IS NULL THEN
				'This customer has not written to this channel'
			    ELSE 'The customer last wrote more than 24 hours '
				'ago' END || CASE WHEN (v_caps -> 'sends') ? 'template' THEN
			    ': outside the customer-care window only ' ||
			    'template messages can be sent'
			    ELSE ': nothing can be sent until they write again'
			    END, jsonb_build_object('last_inbound_at', v_last,
			    'window_closed_at', v_last + app.care_window(),
			    'allowed_types', CASE WHEN (v_caps -> 'sends') ? 'template'
				THEN '["template"]'::jsonb ELSE '[]' END));
		END IF;
	END IF;

	IF NOT v_reply THEN
		FOR i IN 1..3 LOOP
			SELECT * INTO cv FROM conversations
			WHERE org_id = c.org_id AND contact_id = ct.id
			    AND channel_id = ch.id AND status = 'open';
			EXIT WHEN cv.id IS NOT NULL;
			INSERT INTO conversations (org_id, channel_id,
			    contact_id)
			VALUES (c.org_id, ch.id, ct.id)
			ON CONFLICT DO NOTHING
			RETURNING * INTO cv;
			EXIT WHEN cv.id IS NOT NULL;
		END LOOP;
	END IF;

	v_obj := p_in -> app.outbound_key(v_type);
	IF v_type = 'reaction' THEN
		v_obj := v_obj || jsonb_build_object('message_id',
		    app.target_message(c.org_id, ch.id, ct.id,
		    v_obj ->> 'message_id', 'reaction.message_id'));
	END IF;
	IF p_in ->> 'reply_to' IS NOT NULL THEN
		v_reply_to := app.target_message(c.org_id, ch.id, ct.id,
		    p_in ->> 'reply_to', 'reply_to');
	END IF;
	v_text := CASE app.outbound_key(v_type)
	    WHEN 'text' THEN v_obj ->> 'body'
	    WHEN 'media' THEN v_obj ->> 'caption'
	    WHEN 'interactive' THEN v_obj ->> 'body'
	    WHEN 'reaction' THEN v_obj ->> 'emoji' END;

	INSERT INTO messages (org_id, conversation_id, channel_id, contact_id,
	    direction, sender, type, text, content, reply_to, status,
	    status_at, author_id)
	VALUES (c.org_id, cv.id, ch.id, ct.id, 'out', 'agent', v_type, v_text,
	    v_obj, v_reply_to, 'queued', now(), c.user_id)
	RETURNING * INTO m;
	INSERT INTO outbox (org_id, message_id, channel_id, contact_id, seq)
	VALUES (c.org_id, m.id, ch.id, ct.id, m.seq);
	PERFORM app.lane_wake(c.org_id, ch.id, now());
	PERFORM app.outbox_notify();
	UPDATE conversations SET last_message_at = greatest(last_message_at,
	    m.at), updated_at = now()
	WHERE org_id = c.org_id AND id = cv.id;
	PERFORM app.inbox_notify(c.org_id, 'message', cv.id, m.id, ch.id);

	status := 202;
	body := app.sent_message_json(m);
	IF v_key IS NOT NULL THEN
		UPDATE idempotency_keys SET status = 202,
		    body = message_send.body, message_id = m.id
		WHERE org_id = c.org_id AND key = v_key;
		-- Now and then, forget this organization's old keys.
		IF random() < 0.01 THEN
			DELETE FROM idempotency_keys WHERE org_id = c.org_id
			    AND created_at < now() - app.idempotency_ttl();
		END IF;
	END IF;
END $$;

CREATE FUNCTION app.message_find(c app.ctx, p_srv jsonb) RETURNS messages
LANGUAGE plpgsql AS $$
DECLARE
	m	messages%ROWTYPE;
BEGIN
	SELECT * INTO m FROM messages
	WHERE org_id = c.org_id AND id = (p_srv #>> '{path,id}')::uuid;
	IF NOT FOUND THEN
		PERFORM app.fail(404, 'NOT_FOUND', 'Message not found');
	END IF;
	RETURN m;
END $$;

-- GET /messages/:id: a message and, while the dispatcher has it, its
-- place in the outbox.
CREATE FUNCTION api.message_get(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	status := 200;
	body := app.sent_message_json(app.message_find(c, p_srv));
END $$;

-- GET /dead-letters: what the dispatcher gave up on, newest first;
-- filter channel_id; cursor "<µs>_<message id>". Admins only.
CREATE FUNCTION api.dead_letters_list(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_limit	int := app.page_limit(p_srv);
	v_cur	text := app.page_cursor(p_srv, '[0-9a-f-]{36}');
	v_chan	uuid := app.query_uuid(p_srv, 'channel_id');
	v_rows	jsonb;
BEGIN
	PERFORM app.require_role(c, 'admin');
	SELECT coalesce(jsonb_agg(app.sent_message_json(m) ||
	    jsonb_build_object('_cursor', app.cursor_make(o.dead_at,
	    o.message_id::text)) ORDER BY o.dead_at DESC, o.message_id DESC),
	    '[]')
	INTO v_rows
	FROM (SELECT o.* FROM outbox o
	    WHERE o.org_id = c.org_id AND o.state = 'dead'
	    AND (v_chan IS NULL OR o.channel_id = v_chan)
	    AND (v_cur IS NULL OR (o.dead_at, o.message_id) <
		(app.cursor_time(v_cur), split_part(v_cur, '_', 2)::uuid))
	    ORDER BY o.dead_at DESC, o.message_id DESC
	    LIMIT v_limit + 1) o
	JOIN messages m ON m.org_id = o.org_id AND m.id = o.message_id;
	status := 200;
	body := jsonb_build_object(
	    'data', (SELECT coalesce(jsonb_agg(e - '_cursor' ORDER BY n), '[]')
		FROM jsonb_array_elements(v_rows) WITH ORDINALITY x(e, n)
		WHERE n <= v_limit),
	    'next_cursor', CASE WHEN jsonb_array_length(v_rows) > v_limit
		THEN v_rows -> (v_limit - 1) ->> '_cursor' END);
END $$;

-- POST /dead-letters/:id/requeue: a dead letter queued again, with its
-- attempts counted afresh. Admins only.
CREATE FUNCTION api.dead_letter_requeue(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	m	messages%ROWTYPE;
	o	outbox%ROWTYPE;
BEGIN
	PERFORM app.require_role(c, 'admin');
	m := app.message_find(c, p_srv);
	UPDATE outbox SET state = 'queued', attempts = 0,
	    next_attempt_at = now(), lease_until = NULL, leased_by = NULL,
	    attempt_id = NULL, dead_reason = NULL, dead_at = NULL,
	    created_at = now()
	WHERE org_id = c.org_id AND message_id = m.id AND state = 'dead'
	RETURNING * INTO o;
	IF o.message_id IS NULL THEN
		PERFORM app.fail(409, 'NOT_DEAD_LETTER',
		    'Only a dead-lettered message can be queued again');
	END IF;
	UPDATE messages SET status = 'queued', status_at = now(),
	    failed_at = NULL, error_code = NULL, error_title = NULL
	WHERE org_id = c.org_id AND id = m.id RETURNING * INTO m;
	PERFORM app.lane_wake(c.org_id, m.channel_id, now());
	PERFORM app.outbox_notify();
	PERFORM app.inbox_notify(c.org_id, 'status', m.conversation_id, m.id,
	    m.channel_id);
	PERFORM app.audit(c, 'message_requeued', m.id::text,
	    jsonb_build_object('channel_id', m.channel_id), p_srv);
	status := 200;
	body := app.sent_message_json(m);
END $$;

-- ---------------------------------------------------------------- dispatch

-- Gives up on a queued message: it shows as failed with the last error.
CREATE FUNCTION app.outbox_dead(o outbox, p_reason text, p_code text,
    p_title text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	m	messages%ROWTYPE;
BEGIN
	UPDATE outbox SET state = 'dead', dead_reason = p_reason,
	    dead_at = now(), lease_until = NULL, leased_by = NULL,
	    last_error_code = coalesce(p_code, last_error_code),
	    last_error_title = coalesce(p_title, last_error_title)
	WHERE org_id = o.org_id AND message_id = o.message_id;
	UPDATE messages SET status = 'failed', status_at = now(),
	    failed_at = now(),
	    error_code = coalesce(p_code, o.last_error_code, upper(p_reason)),
	    error_title = left(coalesce(p_title, o.last_error_title,
		CASE p_reason WHEN 'expired' THEN 'Not sent in time'
		ELSE 'Too many failed attempts' END), 1000)
	WHERE org_id = o.org_id AND id = o.message_id
	    AND app.status_rank(status) < app.status_rank('sent')
	RETURNING * INTO m;
	IF m.id IS NOT NULL THEN
		PERFORM app.inbox_notify(m.org_id, 'status',
		    m.conversation_id, m.id, m.channel_id);
	END IF;
END $$;

-- When a lane next has something to claim: the earliest head of a
-- recipient's queue that is due (or whose lease runs out), but not
-- before its pacing allows. NULL when it has nothing.
CREATE FUNCTION app.lane_next_wake(l outbox_lanes, p_horizon interval)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
	-- NULL when nothing waits (greatest() would ignore a NULL due and
	-- return the pacing time, keeping idle lanes awake).
	SELECT CASE WHEN w.due IS NULL THEN NULL
	    ELSE greatest(w.due, l.next_at - p_horizon) END
	FROM (SELECT min(greatest(o.next_attempt_at,
	    coalesce(o.lease_until, '-infinity'))) AS due
	    FROM outbox o
	    WHERE o.org_id = l.org_id AND o.channel_id = l.channel_id
	    AND o.state = 'queued'
	    AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.org_id = o.org_id
		AND p.channel_id = o.channel_id AND p.contact_id = o.contact_id
		AND p.state = 'queued' AND p.seq < o.seq)) w
$$;

-- The dispatcher's claim, in one statement: up to p_opts.max messages,
-- round-robin over the channels that have work (least recently served
-- first, one channel of each organization before a second of any), each
-- channel paced at its send_rate. Per message: the normalized outbound
-- message, the claim's attempt id and delay_ms, when to start the send
-- (its slot in the channel's pacing). Per channel: what is needed to
-- decrypt its credentials, sealed. next_ms: when any lane next wakes.
--   p_opts  {max, lanes, horizon_ms, lease_ms, max_attempts, max_age_s,
--            rate_factor}
CREATE FUNCTION api.outbox_claim(p_worker text, p_opts jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	v_now	timestamptz := clock_timestamp();
	v_left	int := coalesce((p_opts ->> 'max')::int, 100);
	v_hz	interval := coalesce((p_opts ->> 'horizon_ms')::int, 250)
		    * interval '1 millisecond';
	v_lease	interval := coalesce((p_opts ->> 'lease_ms')::int, 60000)
		    * interval '1 millisecond';
	v_maxat	int := coalesce((p_opts ->> 'max_attempts')::int, 8);
	v_age	interval := coalesce((p_opts ->> 'max_age_s')::int, 86400)
		    * interval '1 second';
	v_factor float8 := coalesce((p_opts ->> 'rate_factor')::float8, 1.0);
	v_out	jsonb := '[]';
	v_msgs	jsonb;
	v_gap	interval;
	v_start	timestamptz;
	v_k	int;
	v_n	int;
	l	outbox_lanes%ROWTYPE;
	ch	channels%ROWTYPE;
	o	outbox%ROWTYPE;
	og	organizations%ROWTYPE;
BEGIN
	FOR l IN SELECT ol.* FROM (SELECT org_id, channel_id, served_at,
	    row_number() OVER (PARTITION BY org_id
		ORDER BY served_at NULLS FIRST) AS rn
	    FROM outbox_lanes WHERE wake_at <= v_now) w
	    JOIN outbox_lanes ol ON ol.org_id = w.org_id
		AND ol.channel_id = w.channel_id
	    ORDER BY w.rn, w.served_at NULLS FIRST
	    LIMIT coalesce((p_opts ->> 'lanes')::int, 200)
	    FOR UPDATE OF ol SKIP LOCKED
	LOOP
		EXIT WHEN v_left <= 0;
		PERFORM app.set_tenant(l.org_id, NULL);
		SELECT * INTO ch FROM channels WHERE org_id = l.org_id
		    AND id = l.channel_id;
		IF ch.id IS NULL OR ch.status <> 'connected' THEN
			-- Paused until the channel is connected again (the
			-- trigger below wakes it).
			UPDATE outbox_lanes SET wake_at = NULL, paused = true
			WHERE org_id = l.org_id AND channel_id = l.channel_id;
			CONTINUE;
		END IF;

		-- What waited too long, or failed too often without an
		-- answer (a dispatcher dying on it), is given up on.
		FOR o IN SELECT * FROM outbox WHERE org_id = l.org_id
		    AND channel_id = l.channel_id AND state = 'queued'
		    AND (lease_until IS NULL OR lease_until <= v_now)
		    AND (created_at < v_now - v_age OR attempts >= v_maxat)
		    FOR UPDATE SKIP LOCKED
		LOOP
			PERFORM app.outbox_dead(o, CASE WHEN
			    o.attempts >= v_maxat THEN 'attempts'
			    ELSE 'expired' END, NULL, NULL);
		END LOOP;

		v_gap := interval '1 second' / (ch.send_rate * v_factor);
		-- An idle channel starts at a random point of its first
		-- interval: channels that start together do not send in step.
		v_start := CASE WHEN l.next_at >= v_now THEN l.next_at
		    ELSE v_now + random() * v_gap END;
		v_k := least(v_left, floor(extract(epoch FROM
		    (v_now + v_hz - v_start)) / extract(epoch FROM v_gap))::int
		    + 1);
		v_msgs := '[]';
		IF v_k > 0 THEN
			WITH pick AS (
				SELECT x.message_id, row_number() OVER
				    (ORDER BY x.seq) - 1 AS i
				FROM (SELECT o2.message_id, o2.seq FROM outbox o2
				    WHERE o2.org_id = l.org_id
				    AND o2.channel_id = l.channel_id
				    AND o2.state = 'queued'
				    AND o2.next_attempt_at <= v_now
				    AND (o2.lease_until IS NULL OR
					o2.lease_until <= v_now)
				    AND NOT EXISTS (SELECT 1 FROM outbox p
					WHERE p.org_id = o2.org_id
					AND p.channel_id = o2.channel_id
					AND p.contact_id = o2.contact_id
					AND p.state = 'queued'
					AND p.seq < o2.seq)
				    ORDER BY o2.seq LIMIT v_k
				    FOR UPDATE SKIP LOCKED) x
			), claimed AS (
				UPDATE outbox ob SET attempts = ob.attempts + 1,
				    attempt_id = nextval('outbox_attempts'),
				    leased_by = p_worker,
				    lease_until = v_start + pick.i * v_gap +
					v_lease
				FROM pick
				WHERE ob.org_id = l.org_id
				    AND ob.message_id = pick.message_id
				RETURNING ob.message_id, ob.attempt_id,
				    ob.attempts, pick.i
			)
			SELECT coalesce(jsonb_agg(jsonb_build_object(
			    'message_id', cl.message_id,
			    'attempt', cl.attempt_id,
			    'attempts', cl.attempts,
			    'delay_ms', greatest(0, round(extract(epoch FROM
				(v_start + cl.i * v_gap - v_now)) * 1000)),
			    'payload', app.outbound_payload(m, ct))
			    ORDER BY cl.i), '[]')
			INTO v_msgs
			FROM claimed cl
			JOIN messages m ON m.org_id = l.org_id
			    AND m.id = cl.message_id
			JOIN contacts ct ON ct.org_id = l.org_id
			    AND ct.id = m.contact_id;
		END IF;
		v_n := jsonb_array_length(v_msgs);
		IF v_n > 0 THEN
			l.next_at := v_start + v_n * v_gap;
			v_left := v_left - v_n;
			SELECT * INTO og FROM organizations WHERE id = l.org_id;
			v_out := v_out || jsonb_build_object(
			    'org_id', l.org_id, 'channel_id', l.channel_id,
			    'adapter', ch.adapter, 'config', ch.config,
			    'data_key', encode(og.data_key, 'hex'),
			    'data_key_version', og.data_key_version,
			    'secrets', coalesce((SELECT jsonb_object_agg(s.field,
				jsonb_build_object('sealed',
				encode(s.sealed, 'hex'),
				'key_version', s.key_version))
				FROM channel_secrets s
				WHERE s.org_id = l.org_id
				AND s.channel_id = l.channel_id), '{}'),
			    'messages', v_msgs);
		END IF;
		UPDATE outbox_lanes SET next_at = l.next_at, served_at = v_now,
		    paused = false, wake_at = app.lane_next_wake(l, v_hz)
		WHERE org_id = l.org_id AND channel_id = l.channel_id;
	END LOOP;
	PERFORM app.set_tenant(NULL, NULL);
	RETURN jsonb_build_object('lanes', v_out, 'next_ms',
	    (SELECT greatest(0, ceil(extract(epoch FROM
		(min(wake_at) - clock_timestamp())) * 1000))::bigint
	    FROM outbox_lanes WHERE wake_at IS NOT NULL));
END $$;

-- Throttling answers slow the whole channel down, not only the message.
CREATE FUNCTION app.outbox_throttled(r jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT (r ->> 'http_status') = '429' OR
	    (r ->> 'error_code') IN ('4', '613', '80007', '130429')
$$;

-- The dispatcher's results, in one statement. Each is {org_id,
-- message_id, attempt, outcome, provider_message_id, error_code,
-- error_title, retry_after (s), http_status}, outcome one of
--   sent     the provider took it: it leaves the outbox
--   retry    transient: again after Retry-After or an exponential
--            backoff with jitter, dead after max_attempts or max_age
--   failed   permanent: dead, the message failed with the provider's
--            code and message
--   auth     credentials rejected: the channel is in error (reconnect
--            it), its lane paused, the message waits, uncounted
--   release  not sent (the dispatcher is stopping): claimable at once
-- A result for a claim that is no longer current is ignored, except
-- sent. Returns how many of each applied.
--   p_opts  {backoff_ms, backoff_max_ms, max_attempts, max_age_s}
CREATE FUNCTION api.outbox_report(p_worker text, p_results jsonb,
    p_opts jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	v_base	float8 := coalesce((p_opts ->> 'backoff_ms')::float8, 1000);
	v_cap	float8 := coalesce((p_opts ->> 'backoff_max_ms')::float8,
		    300000);
	v_maxat	int := coalesce((p_opts ->> 'max_attempts')::int, 8);
	v_age	interval := coalesce((p_opts ->> 'max_age_s')::int, 86400)
		    * interval '1 second';
	v_count	jsonb := '{}';
	v_what	text;
	v_ms	float8;
	v_next	timestamptz;
	v_pmid	text;
	v_undead boolean;
	v_worg	uuid[] := '{}';
	v_wchan	uuid[] := '{}';
	v_wat	timestamptz[] := '{}';
	r	jsonb;
	o	outbox%ROWTYPE;
	m	messages%ROWTYPE;
	ch	channels%ROWTYPE;
BEGIN
	FOR r IN SELECT e FROM jsonb_array_elements(p_results) e LOOP
		PERFORM app.set_tenant((r ->> 'org_id')::uuid, NULL);
		o := NULL;
		SELECT * INTO o FROM outbox WHERE org_id = (r ->> 'org_id')::uuid
		    AND message_id = (r ->> 'message_id')::uuid FOR UPDATE;
		v_what := r ->> 'outcome';
		IF v_what = 'sent' THEN
			SELECT * INTO m FROM messages
			WHERE org_id = (r ->> 'org_id')::uuid
			    AND id = (r ->> 'message_id')::uuid;
			v_pmid := left(r ->> 'provider_message_id', 512);
			IF m.id IS NULL THEN
				v_what := 'gone';
			ELSE
				-- An echo that came before this answer and was
				-- not recognized (no client_ref) is this message.
				IF v_pmid IS NOT NULL AND
				    m.provider_message_id IS NULL THEN
					DELETE FROM messages
					WHERE org_id = m.org_id
					    AND channel_id = m.channel_id
					    AND provider_message_id = v_pmid
					    AND id <> m.id AND direction = 'out'
					    AND sender = 'provider_app';
				END IF;
				-- Our own giving up (a dead letter) is undone
				-- by a late success; a provider's failed
				-- status, which may come first, is not.
				v_undead := coalesce(o.state = 'dead', false);
				UPDATE messages SET provider_message_id =
				    coalesce(provider_message_id, v_pmid),
				    status = CASE WHEN app.status_rank(status)
					< app.status_rank('sent') OR v_undead
					THEN 'sent' ELSE status END,
				    status_at = CASE WHEN
					app.status_rank(status) <
					app.status_rank('sent') OR v_undead
					THEN now() ELSE status_at END,
				    sent_at = coalesce(sent_at, now()),
				    failed_at = CASE WHEN v_undead THEN NULL
					ELSE failed_at END,
				    error_code = CASE WHEN v_undead THEN NULL
					ELSE error_code END,
				    error_title = CASE WHEN v_undead THEN NULL
					ELSE error_title END
				WHERE org_id = m.org_id AND id = m.id
				RETURNING * INTO m;
				DELETE FROM outbox WHERE org_id = m.org_id
				    AND message_id = m.id;
				PERFORM app.inbox_notify(m.org_id, 'status',
				    m.conversation_id, m.id, m.channel_id);
				-- The recipient's next message may go now.
				IF o.message_id IS NOT NULL AND EXISTS (
				    SELECT 1 FROM outbox p
				    WHERE p.org_id = o.org_id
				    AND p.channel_id = o.channel_id
				    AND p.contact_id = o.contact_id
				    AND p.state = 'queued') THEN
					v_worg := v_worg || o.org_id;
				v_wchan := v_wchan || o.channel_id;
				v_wat := v_wat || now();
				END IF;
			END IF;
		ELSIF o.message_id IS NULL OR o.state <> 'queued' OR
		    o.attempt_id IS DISTINCT FROM (r ->> 'attempt')::bigint THEN
			v_what := 'stale';
		ELSIF v_what = 'retry' THEN
			UPDATE outbox SET lease_until = NULL, leased_by = NULL,
			    last_error_code = r ->> 'error_code',
			    last_error_title = left(r ->> 'error_title', 1000)
			WHERE org_id = o.org_id AND message_id = o.message_id
			RETURNING * INTO o;
			IF o.attempts >= v_maxat OR
			    o.created_at < now() - v_age THEN
				PERFORM app.outbox_dead(o, CASE WHEN
				    o.attempts >= v_maxat THEN 'attempts'
				    ELSE 'expired' END, NULL, NULL);
				v_what := 'dead';
			ELSE
				IF coalesce((r ->> 'retry_after')::float8, 0) > 0
				THEN
					v_ms := (r ->> 'retry_after')::float8 *
					    1000 * (1 + random() * 0.1);
				ELSE
					v_ms := least(v_cap, v_base *
					    2 ^ (o.attempts - 1)) *
					    (0.5 + random() * 0.5);
				END IF;
				v_next := now() + v_ms * interval '1 millisecond';
				UPDATE outbox SET next_attempt_at = v_next
				WHERE org_id = o.org_id
				    AND message_id = o.message_id;
				IF app.outbox_throttled(r) THEN
					UPDATE outbox_lanes SET next_at =
					    greatest(next_at, v_next)
					WHERE org_id = o.org_id
					    AND channel_id = o.channel_id;
				END IF;
				v_worg := v_worg || o.org_id;
				v_wchan := v_wchan || o.channel_id;
				v_wat := v_wat || v_next;
			END IF;
		ELSIF v_what = 'failed' THEN
			PERFORM app.outbox_dead(o, 'permanent',
			    coalesce(r ->> 'error_code', 'HTTP_' ||
				(r ->> 'http_status')),
			    coalesce(left(r ->> 'error_title', 1000),
				'The provider refused the message'));
			IF EXISTS (SELECT 1 FROM outbox p
			    WHERE p.org_id = o.org_id
			    AND p.channel_id = o.channel_id
			    AND p.contact_id = o.contact_id
			    AND p.state = 'queued') THEN
				v_worg := v_worg || o.org_id;
				v_wchan := v_wchan || o.channel_id;
				v_wat := v_wat || now();
			END IF;
		ELSIF v_what = 'auth' THEN
			UPDATE outbox SET lease_until = NULL, leased_by = NULL,
			    attempts = greatest(0, attempts - 1),
			    last_error_code = r ->> 'error_code',
			    last_error_title = left(r ->> 'error_title', 1000)
			WHERE org_id = o.org_id AND message_id = o.message_id;
			UPDATE channels SET status = 'error',
			    status_message = left('The provider rejected the '
				|| 'credentials' || coalesce(' (' ||
				(r ->> 'error_code') || ')', '') ||
				coalesce(': ' || (r ->> 'error_title'), '') ||
				'; reconnect this channel to send again', 500),
			    checked_at = now()
			WHERE org_id = o.org_id AND id = o.channel_id
			    AND status = 'connected'
			RETURNING * INTO ch;
			UPDATE outbox_lanes SET wake_at = NULL, paused = true
			WHERE org_id = o.org_id AND channel_id = o.channel_id;
			IF ch.id IS NOT NULL THEN
				PERFORM app.inbox_notify(o.org_id,
				    'channel_status', NULL, NULL, ch.id);
			END IF;
		ELSIF v_what = 'release' THEN
			UPDATE outbox SET lease_until = NULL, leased_by = NULL,
			    attempts = greatest(0, attempts - 1)
			WHERE org_id = o.org_id AND message_id = o.message_id;
			v_worg := v_worg || o.org_id;
				v_wchan := v_wchan || o.channel_id;
				v_wat := v_wat || now();
		ELSE
			v_what := 'unknown';
		END IF;
		v_count := jsonb_set(v_count, ARRAY[v_what],
		    to_jsonb(coalesce((v_count ->> v_what)::int, 0) + 1));
	END LOOP;
	PERFORM app.set_tenant(NULL, NULL);
	-- Lanes last, in key order: two dispatchers reporting at once take
	-- their locks in the same order.
	INSERT INTO outbox_lanes (org_id, channel_id, wake_at)
	SELECT x.o, x.ch, min(x.at)
	FROM unnest(v_worg, v_wchan, v_wat) x(o, ch, at)
	GROUP BY x.o, x.ch ORDER BY x.o, x.ch
	ON CONFLICT (org_id, channel_id) DO UPDATE
	    SET wake_at = least(outbox_lanes.wake_at, EXCLUDED.wake_at)
	    WHERE outbox_lanes.wake_at IS NULL OR
		outbox_lanes.wake_at > EXCLUDED.wake_at;
	RETURN v_count;
END $$;

-- A channel connected again (reconnect, new credentials) resumes its
-- queue at once.
CREATE FUNCTION app.channel_resume() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE outbox_lanes SET paused = false, wake_at = now()
	WHERE org_id = NEW.org_id AND channel_id = NEW.id;
	IF FOUND THEN
		PERFORM app.outbox_notify();
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER channel_resume AFTER UPDATE OF status ON channels
	FOR EACH ROW WHEN (NEW.status = 'connected' AND
	    OLD.status IS DISTINCT FROM 'connected')
	EXECUTE FUNCTION app.channel_resume();

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app, api TO inbox_app;
