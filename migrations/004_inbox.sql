-- 004: the inbox (contacts, conversations, messages) and the webhook
-- journal.
--
-- Inbound webhooks arrive on one shared endpoint before anyone knows the
-- tenant. The server authenticates the raw bytes, lets the adapter's
-- plugin turn them into normalized events (docs/plugins.md), and hands
-- the whole delivery to api.webhook_ingest() in one statement: it
-- journals the delivery, resolves each routing key through
-- channel_routes, and applies that key's events inside the owning
-- organization (app.set_tenant), so nothing is acknowledged to the
-- provider before it is committed. docs/webhooks.md tells the whole
-- story, including replay.
--
-- Exactly once: a message is unique by (org, channel, provider message
-- id) and inserted with ON CONFLICT DO NOTHING; statuses only move up
-- app.status_rank(); a contact and the open conversation of a contact on
-- a channel are unique too, and their upserts retry when a concurrent
-- delivery created them first.

-- ---------------------------------------------------------------- tenant

CREATE TABLE contacts (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	-- whatsapp, messenger, instagram...: one person per family, so a
	-- number that writes to a Cloud API and a 360dialog channel of the
	-- same organization is one contact.
	family		text NOT NULL,
	-- The sender's id: phone number (wa_id), PSID, IGSID, or the
	-- WhatsApp business-scoped user id when no number was given.
	external_id	text NOT NULL CHECK (length(external_id)
			    BETWEEN 1 AND 256),
	-- WhatsApp BSUID, once seen: it stays when the number is withheld.
	user_id		text CHECK (length(user_id) <= 256),
	name		text,
	username	text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX contacts_external ON contacts (org_id, family,
    external_id);
CREATE UNIQUE INDEX contacts_user ON contacts (org_id, family, user_id)
    WHERE user_id IS NOT NULL;
CREATE INDEX contacts_recent ON contacts (org_id, created_at DESC, id DESC);

CREATE TABLE conversations (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	channel_id	uuid NOT NULL,
	contact_id	uuid NOT NULL,
	status		text NOT NULL DEFAULT 'open'
			    CHECK (status IN ('open', 'closed')),
	last_message_at	timestamptz NOT NULL DEFAULT now(),
	-- The customer last wrote: the 24-hour care window starts here.
	last_inbound_at	timestamptz,
	closed_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, id),
	FOREIGN KEY (org_id, channel_id) REFERENCES channels ON DELETE CASCADE,
	FOREIGN KEY (org_id, contact_id) REFERENCES contacts ON DELETE CASCADE
);
-- One open conversation per contact and channel.
CREATE UNIQUE INDEX conversations_open ON conversations (org_id, contact_id,
    channel_id) WHERE status = 'open';
CREATE INDEX conversations_recent ON conversations (org_id,
    last_message_at DESC, id DESC);
CREATE INDEX conversations_channel ON conversations (org_id, channel_id,
    last_message_at DESC, id DESC);
CREATE INDEX conversations_contact ON conversations (org_id, contact_id,
    channel_id, last_message_at DESC);

CREATE TABLE messages (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	-- For our own sends this is the client_ref the provider echoes
	-- back (WhatsApp biz_opaque_callback_data, Messenger metadata).
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	conversation_id	uuid NOT NULL,
	channel_id	uuid NOT NULL,
	contact_id	uuid NOT NULL,
	direction	text NOT NULL CHECK (direction IN ('in', 'out')),
	-- contact: the customer; agent: sent through us; provider_app: sent
	-- from the provider's own app (a person in Meta's inbox, another
	-- tool), seen as an echo.
	sender		text NOT NULL CHECK (sender IN ('contact', 'agent',
			    'provider_app')),
	type		text NOT NULL CHECK (type ~ '^[a-z_]{1,32}$'),
	text		text,
	content		jsonb NOT NULL DEFAULT '{}',
	provider_message_id text CHECK (length(provider_message_id) <= 512),
	reply_to	text,
	status		text NOT NULL CHECK (status IN ('received', 'queued',
			    'sent', 'delivered', 'read', 'played', 'failed')),
	status_at	timestamptz,
	sent_at		timestamptz,
	delivered_at	timestamptz,
	read_at		timestamptz,
	played_at	timestamptz,
	failed_at	timestamptz,
	error_code	text,
	error_title	text,
	deleted_at	timestamptz,
	-- When it was written, by the provider's clock.
	at		timestamptz NOT NULL DEFAULT now(),
	created_at	timestamptz NOT NULL DEFAULT now(),
	-- The webhook delivery it came in (webhook_deliveries.id).
	delivery_id	bigint,
	PRIMARY KEY (org_id, id),
	FOREIGN KEY (org_id, conversation_id) REFERENCES conversations
	    ON DELETE CASCADE,
	FOREIGN KEY (org_id, channel_id) REFERENCES channels ON DELETE CASCADE,
	FOREIGN KEY (org_id, contact_id) REFERENCES contacts ON DELETE CASCADE
);
-- Exactly once: NULLs (a send not yet accepted) are distinct.
CREATE UNIQUE INDEX messages_provider_id ON messages (org_id, channel_id,
    provider_message_id);
CREATE INDEX messages_thread ON messages (org_id, conversation_id,
    at DESC, seq DESC);
CREATE INDEX messages_outgoing ON messages (org_id, channel_id, contact_id,
    at) WHERE direction = 'out';

-- Errors about an account rather than a message (WhatsApp value.errors).
-- They carry no id: a redelivery of the same body is recognized by its
-- hash.
CREATE TABLE channel_errors (
	org_id		uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
	id		bigint GENERATED ALWAYS AS IDENTITY,
	channel_id	uuid NOT NULL,
	error_code	text,
	error_title	text,
	at		timestamptz NOT NULL,
	body_sha256	bytea NOT NULL,
	delivery_id	bigint,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, id),
	FOREIGN KEY (org_id, channel_id) REFERENCES channels ON DELETE CASCADE,
	UNIQUE NULLS NOT DISTINCT (org_id, channel_id, body_sha256,
	    error_code, error_title)
);

ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE contacts FORCE ROW LEVEL SECURITY;
ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversations FORCE ROW LEVEL SECURITY;
ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
ALTER TABLE channel_errors ENABLE ROW LEVEL SECURITY;
ALTER TABLE channel_errors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON contacts USING (org_id = app.current_org());
CREATE POLICY tenant ON conversations USING (org_id = app.current_org());
CREATE POLICY tenant ON messages USING (org_id = app.current_org());
CREATE POLICY tenant ON channel_errors USING (org_id = app.current_org());

GRANT SELECT, INSERT, UPDATE, DELETE ON contacts, conversations, messages,
    channel_errors TO inbox_app;

-- ---------------------------------------------------------------- journal

-- Every authenticated delivery, as received, before routing: global (it
-- is written before the tenant is known) and read by operators with
-- inboxctl, never through the tenant API. events holds the plugin's
-- normalized events, so a replay needs no plugin.
CREATE TABLE webhook_deliveries (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	received_at	timestamptz NOT NULL,
	recorded_at	timestamptz NOT NULL DEFAULT now(),
	-- The path it was posted to: meta, 360dialog, whatsapp_cloud...
	endpoint	text NOT NULL,
	-- The adapter that parsed it; NULL when no plugin claims its
	-- Meta "object".
	adapter		text,
	family		text,
	verification	text NOT NULL CHECK (verification IN
			    ('platform_secret', 'tenant_secret',
			    'channel_secret')),
	headers		jsonb NOT NULL DEFAULT '{}',
	body		text NOT NULL,
	body_sha256	bytea NOT NULL,
	events		jsonb NOT NULL DEFAULT '[]',
	nevents		int NOT NULL DEFAULT 0
);
CREATE INDEX webhook_deliveries_received ON webhook_deliveries (received_at);

-- What became of each routing key of a delivery:
--   routed    applied in org_id's channel_id (result has the counts)
--   unrouted  no connected channel of this adapter owns the key: kept,
--             replayable once one does
--   failed    applying raised an error (error): replayable
--   rejected  the delivery's credential does not cover this key (a
--             tenant's own app secret signing another tenant's account):
--             never applied, never replayed
CREATE TABLE webhook_delivery_keys (
	delivery_id	bigint NOT NULL REFERENCES webhook_deliveries
			    ON DELETE CASCADE,
	routing_key	text NOT NULL,
	outcome		text NOT NULL CHECK (outcome IN ('routed',
			    'unrouted', 'failed', 'rejected')),
	org_id		uuid,
	channel_id	uuid,
	events		int NOT NULL DEFAULT 0,
	result		jsonb NOT NULL DEFAULT '{}',
	error		text,
	attempts	int NOT NULL DEFAULT 1,
	last_attempt_at	timestamptz NOT NULL DEFAULT now(),
	replayed_at	timestamptz,
	PRIMARY KEY (delivery_id, routing_key)
);
CREATE INDEX webhook_delivery_keys_pending ON webhook_delivery_keys
    (delivery_id) WHERE outcome IN ('unrouted', 'failed');
CREATE INDEX webhook_delivery_keys_key ON webhook_delivery_keys
    (routing_key, delivery_id);

-- 360dialog deliveries are identified by the hash of their secret header.
CREATE INDEX channel_routes_secret ON channel_routes (webhook_secret_hash)
    WHERE webhook_secret_hash IS NOT NULL;

GRANT SELECT, INSERT, UPDATE ON webhook_deliveries, webhook_delivery_keys
    TO inbox_app;

-- For operators in psql: what is waiting for a replay.
CREATE VIEW webhook_pending AS
	SELECT k.delivery_id, d.received_at, d.adapter, k.routing_key,
	    k.outcome, k.events, k.attempts, k.error
	FROM webhook_delivery_keys k
	JOIN webhook_deliveries d ON d.id = k.delivery_id
	WHERE k.outcome IN ('unrouted', 'failed');

-- ---------------------------------------------------------------- helpers

-- Statuses only move up this order; failed is final.
CREATE FUNCTION app.status_rank(p_status text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p_status WHEN 'received' THEN 0 WHEN 'queued' THEN 0
	    WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 WHEN 'read' THEN 3
	    WHEN 'played' THEN 4 WHEN 'failed' THEN 9 ELSE -1 END
$$;

-- A provider timestamp (epoch seconds) as a time; now() when it is
-- missing or absurd.
CREATE FUNCTION app.inbox_time(p_epoch text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN p_epoch ~ '^[0-9]{1,11}$' AND p_epoch::bigint > 0
	    THEN to_timestamp(p_epoch::bigint) ELSE now() END
$$;

CREATE FUNCTION app.is_uuid(p text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
	SELECT p ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
$$;

-- A cursor "<microseconds since the epoch>_<id>" and back.
CREATE FUNCTION app.cursor_make(p_at timestamptz, p_id text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
	SELECT (extract(epoch FROM p_at) * 1000000)::bigint::text || '_' || p_id
$$;

CREATE FUNCTION app.cursor_time(p_cursor text) RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
	SELECT timestamptz 'epoch' +
	    split_part(p_cursor, '_', 1)::bigint * interval '1 microsecond'
$$;

-- The cursor of a list query, checked: NULL when absent.
CREATE FUNCTION app.page_cursor(p_srv jsonb, p_id_re text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := p_srv #>> '{query,cursor}';
BEGIN
	IF s IS NOT NULL AND s !~ ('^-?[0-9]{1,18}_' || p_id_re || '$') THEN
		PERFORM app.fail(400, 'INVALID_QUERY', 'cursor is not valid',
		    jsonb_build_object('cursor', 'is not valid'));
	END IF;
	RETURN s;
END $$;

-- A query argument that must be one of p_allowed, or NULL when absent.
CREATE FUNCTION app.query_enum(p_srv jsonb, p_name text, p_allowed text[])
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := p_srv #>> ARRAY['query', p_name];
BEGIN
	IF s IS NOT NULL AND NOT s = ANY (p_allowed) THEN
		PERFORM app.fail(400, 'INVALID_QUERY', p_name ||
		    ' must be one of ' || array_to_string(p_allowed, ', '),
		    jsonb_build_object(p_name, 'must be one of ' ||
		    array_to_string(p_allowed, ', ')));
	END IF;
	RETURN s;
END $$;

CREATE FUNCTION app.query_uuid(p_srv jsonb, p_name text) RETURNS uuid
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := p_srv #>> ARRAY['query', p_name];
BEGIN
	IF s IS NOT NULL AND NOT app.is_uuid(s) THEN
		PERFORM app.fail(400, 'INVALID_QUERY', p_name ||
		    ' is not a valid id', jsonb_build_object(p_name,
		    'is not a valid id'));
	END IF;
	RETURN s::uuid;
END $$;

-- Tells every kore node's live clients: ids only (NOTIFY payloads must
-- stay under 8000 bytes). Sent at commit, dropped with a rollback.
CREATE FUNCTION app.inbox_notify(p_org uuid, p_kind text, p_conversation uuid,
    p_message uuid, p_channel uuid DEFAULT NULL) RETURNS void
LANGUAGE sql AS $$
	SELECT pg_notify('inbox_events', json_build_object('org_id', p_org,
	    'kind', p_kind, 'conversation_id', p_conversation,
	    'message_id', p_message, 'channel_id', p_channel)::text)
$$;

-- ---------------------------------------------------------------- apply

-- The contact an event names, created or updated; its id. Looked up by
-- the BSUID first (it survives a withheld number), then by external id.
CREATE FUNCTION app.inbox_contact(p_org uuid, p_family text, p_c jsonb)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
	v_ext	text := nullif(p_c ->> 'external_id', '');
	v_uid	text := nullif(p_c ->> 'user_id', '');
	v_name	text := nullif(left(p_c ->> 'name', 200), '');
	v_uname	text := nullif(left(p_c ->> 'username', 200), '');
	ct	contacts%ROWTYPE;
	i	int;
BEGIN
	IF v_ext IS NULL THEN
		RAISE EXCEPTION 'event without contact.external_id';
	END IF;
	FOR i IN 1..3 LOOP
		ct := NULL;
		IF v_uid IS NOT NULL THEN
			SELECT * INTO ct FROM contacts WHERE org_id = p_org
			    AND family = p_family AND user_id = v_uid;
		END IF;
		IF ct.id IS NULL THEN
			SELECT * INTO ct FROM contacts WHERE org_id = p_org
			    AND family = p_family AND external_id = v_ext;
		END IF;
		BEGIN
			IF ct.id IS NOT NULL THEN
				-- A contact known by its BSUID alone whose
				-- number now shows is keyed by the number.
				UPDATE contacts SET
				    name = coalesce(v_name, name),
				    username = coalesce(v_uname, username),
				    user_id = coalesce(user_id, v_uid),
				    external_id = CASE WHEN
					external_id = user_id AND
					v_ext IS DISTINCT FROM v_uid
					THEN v_ext ELSE external_id END,
				    updated_at = now()
				WHERE org_id = p_org AND id = ct.id AND (
				    name IS DISTINCT FROM coalesce(v_name, name)
				    OR username IS DISTINCT FROM
					coalesce(v_uname, username)
				    OR (user_id IS NULL AND v_uid IS NOT NULL)
				    OR (external_id = user_id AND
					v_ext IS DISTINCT FROM v_uid));
				RETURN ct.id;
			END IF;
			INSERT INTO contacts (org_id, family, external_id,
			    user_id, name, username)
			VALUES (p_org, p_family, v_ext, v_uid, v_name, v_uname)
			RETURNING id INTO ct.id;
			RETURN ct.id;
		EXCEPTION WHEN unique_violation THEN
			-- A concurrent delivery made it first: look again.
		END;
	END LOOP;
	RAISE EXCEPTION 'contact % keeps conflicting', v_ext;
END $$;

-- The conversation a message of a contact on a channel belongs to: the
-- open one; for an inbound message the latest closed one reopened, or a
-- new one. Outgoing messages (echoes) never reopen.
CREATE FUNCTION app.inbox_conversation(p_org uuid, p_channel uuid,
    p_contact uuid, p_inbound boolean, p_at timestamptz)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
	v_id	uuid;
	v_last	uuid;
	i	int;
BEGIN
	FOR i IN 1..3 LOOP
		SELECT id INTO v_id FROM conversations WHERE org_id = p_org
		    AND contact_id = p_contact AND channel_id = p_channel
		    AND status = 'open';
		IF v_id IS NOT NULL THEN
			RETURN v_id;
		END IF;
		SELECT id INTO v_last FROM conversations WHERE org_id = p_org
		    AND contact_id = p_contact AND channel_id = p_channel
		    ORDER BY last_message_at DESC, created_at DESC LIMIT 1;
		IF v_last IS NOT NULL AND NOT p_inbound THEN
			RETURN v_last;
		END IF;
		BEGIN
			IF v_last IS NOT NULL THEN
				UPDATE conversations SET status = 'open',
				    closed_at = NULL, updated_at = now()
				WHERE org_id = p_org AND id = v_last
				    AND status = 'closed'
				RETURNING id INTO v_id;
			ELSE
				INSERT INTO conversations (org_id, channel_id,
				    contact_id, last_message_at)
				VALUES (p_org, p_channel, p_contact, p_at)
				RETURNING id INTO v_id;
			END IF;
			IF v_id IS NOT NULL THEN
				RETURN v_id;
			END IF;
		EXCEPTION WHEN unique_violation THEN
			-- Opened by a concurrent delivery: look again.
		END;
	END LOOP;
	RAISE EXCEPTION 'conversation of contact % keeps conflicting',
	    p_contact;
END $$;

-- One message event. Returns what happened: message, duplicate, echo.
CREATE FUNCTION app.inbox_message(r channel_routes, p_delivery bigint,
    ev jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_pmid	text := ev ->> 'provider_message_id';
	v_in	boolean := coalesce(ev ->> 'direction', 'in') <> 'out';
	v_ref	text := ev ->> 'echo_metadata';
	v_at	timestamptz := app.inbox_time(ev ->> 'timestamp');
	v_type	text := coalesce(ev ->> 'type', 'unsupported');
	v_own	messages%ROWTYPE;
	v_contact uuid;
	v_conv	uuid;
	v_msg	uuid;
BEGIN
	IF v_pmid IS NULL OR v_pmid = '' THEN
		RAISE EXCEPTION 'message event without provider_message_id';
	END IF;
	IF EXISTS (SELECT 1 FROM messages WHERE org_id = r.org_id
	    AND channel_id = r.channel_id AND provider_message_id = v_pmid)
	THEN
		RETURN 'duplicate';
	END IF;
	-- The echo of one of our own sends: it names our message id.
	IF NOT v_in AND app.is_uuid(v_ref) THEN
		SELECT * INTO v_own FROM messages WHERE org_id = r.org_id
		    AND id = v_ref::uuid AND channel_id = r.channel_id
		    AND direction = 'out';
		IF v_own.id IS NOT NULL THEN
			UPDATE messages SET
			    provider_message_id = coalesce(provider_message_id,
				v_pmid),
			    status = CASE WHEN app.status_rank(status) <
				app.status_rank('sent') THEN 'sent'
				ELSE status END,
			    sent_at = coalesce(sent_at, v_at),
			    status_at = CASE WHEN app.status_rank(status) <
				app.status_rank('sent') THEN v_at
				ELSE status_at END
			WHERE org_id = r.org_id AND id = v_own.id
			    AND (provider_message_id IS NULL OR
				app.status_rank(status) <
				app.status_rank('sent'));
			RETURN 'echo';
		END IF;
	END IF;
	v_contact := app.inbox_contact(r.org_id, r.family, ev -> 'contact');
	v_conv := app.inbox_conversation(r.org_id, r.channel_id, v_contact,
	    v_in, v_at);
	INSERT INTO messages (org_id, conversation_id, channel_id, contact_id,
	    direction, sender, type, text, content, provider_message_id,
	    reply_to, status, status_at, sent_at, at, delivery_id)
	VALUES (r.org_id, v_conv, r.channel_id, v_contact,
	    CASE WHEN v_in THEN 'in' ELSE 'out' END,
	    CASE WHEN v_in THEN 'contact' ELSE 'provider_app' END,
	    CASE WHEN v_type ~ '^[a-z_]{1,32}$' THEN v_type
		ELSE 'unsupported' END,
	    ev ->> 'text',
	    CASE WHEN jsonb_typeof(ev -> 'content') = 'object'
		THEN ev -> 'content' ELSE '{}' END,
	    v_pmid, ev ->> 'reply_to',
	    CASE WHEN v_in THEN 'received' ELSE 'sent' END, v_at,
	    CASE WHEN v_in THEN NULL ELSE v_at END, v_at, p_delivery)
	ON CONFLICT (org_id, channel_id, provider_message_id) DO NOTHING
	RETURNING id INTO v_msg;
	IF v_msg IS NULL THEN
		RETURN 'duplicate';
	END IF;
	UPDATE conversations SET
	    last_message_at = greatest(last_message_at, v_at),
	    last_inbound_at = CASE WHEN v_in THEN
		greatest(last_inbound_at, v_at) ELSE last_inbound_at END,
	    updated_at = now()
	WHERE org_id = r.org_id AND id = v_conv;
	-- An unsend removes the message it names from view.
	IF v_type = 'deleted' THEN
		UPDATE messages SET deleted_at = coalesce(deleted_at, v_at)
		WHERE org_id = r.org_id AND channel_id = r.channel_id
		    AND provider_message_id =
			ev #>> '{content,target_message_id}';
	END IF;
	PERFORM app.inbox_notify(r.org_id, 'message', v_conv, v_msg,
	    r.channel_id);
	RETURN CASE WHEN v_in THEN 'message' ELSE 'echo_recorded' END;
END $$;

-- One status event of an outbound message: applied, stale or unknown.
CREATE FUNCTION app.inbox_status(r channel_routes, ev jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_pmid	text := ev ->> 'provider_message_id';
	v_st	text := ev ->> 'status';
	v_rank	int := app.status_rank(ev ->> 'status');
	v_ref	text := ev ->> 'client_ref';
	v_at	timestamptz := app.inbox_time(ev ->> 'timestamp');
	m	messages%ROWTYPE;
	v_id	uuid;
BEGIN
	IF v_rank < 1 THEN
		RETURN 'status_ignored';
	END IF;
	SELECT * INTO m FROM messages WHERE org_id = r.org_id
	    AND channel_id = r.channel_id AND provider_message_id = v_pmid;
	-- The status may come before our send recorded the provider's id;
	-- WhatsApp gives our id back as biz_opaque_callback_data.
	IF m.id IS NULL AND app.is_uuid(v_ref) THEN
		UPDATE messages SET provider_message_id = v_pmid
		WHERE org_id = r.org_id AND id = v_ref::uuid
		    AND channel_id = r.channel_id AND direction = 'out'
		    AND provider_message_id IS NULL
		RETURNING * INTO m;
	END IF;
	IF m.id IS NULL OR m.direction <> 'out' THEN
		RETURN 'status_unknown';
	END IF;
	UPDATE messages SET status = v_st, status_at = v_at,
	    sent_at = CASE WHEN v_st = 'sent' THEN v_at ELSE sent_at END,
	    delivered_at = CASE WHEN v_st = 'delivered' THEN v_at
		ELSE delivered_at END,
	    read_at = CASE WHEN v_st = 'read' THEN v_at ELSE read_at END,
	    played_at = CASE WHEN v_st = 'played' THEN v_at ELSE played_at END,
	    failed_at = CASE WHEN v_st = 'failed' THEN v_at ELSE failed_at END,
	    error_code = CASE WHEN v_st = 'failed' THEN ev ->> 'error_code'
		ELSE error_code END,
	    error_title = CASE WHEN v_st = 'failed' THEN
		left(ev ->> 'error_title', 1000) ELSE error_title END
	WHERE org_id = r.org_id AND id = m.id
	    AND app.status_rank(status) < v_rank
	RETURNING id INTO v_id;
	IF v_id IS NULL THEN
		RETURN 'status_stale';
	END IF;
	PERFORM app.inbox_notify(r.org_id, 'status', m.conversation_id, m.id,
	    r.channel_id);
	RETURN 'status';
END $$;

-- Messenger delivery and read watermarks: everything we sent that contact
-- on that channel before the watermark reached that status.
CREATE FUNCTION app.inbox_watermark(r channel_routes, ev jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_st	text := ev ->> 'status';
	v_rank	int := app.status_rank(ev ->> 'status');
	v_mark	timestamptz := app.inbox_time(ev ->> 'watermark');
	v_at	timestamptz := app.inbox_time(ev ->> 'timestamp');
	m	record;
	n	int := 0;
BEGIN
	IF v_rank NOT IN (2, 3) THEN
		RETURN 'status_ignored';
	END IF;
	FOR m IN UPDATE messages ms SET status = v_st, status_at = v_at,
	    delivered_at = CASE WHEN v_st = 'delivered' THEN v_at
		ELSE ms.delivered_at END,
	    read_at = CASE WHEN v_st = 'read' THEN v_at ELSE ms.read_at END
	FROM contacts ct
	WHERE ms.org_id = r.org_id AND ms.channel_id = r.channel_id
	    AND ms.direction = 'out' AND ct.org_id = ms.org_id
	    AND ct.id = ms.contact_id AND ct.family = r.family
	    AND ct.external_id = ev ->> 'contact_external_id'
	    AND ms.at <= v_mark
	    AND app.status_rank(ms.status) BETWEEN 1 AND v_rank - 1
	RETURNING ms.id, ms.conversation_id
	LOOP
		PERFORM app.inbox_notify(r.org_id, 'status',
		    m.conversation_id, m.id, r.channel_id);
		n := n + 1;
	END LOOP;
	RETURN CASE WHEN n > 0 THEN 'status' ELSE 'status_stale' END;
END $$;

-- An error about the account.
CREATE FUNCTION app.inbox_error(r channel_routes, p_delivery bigint,
    p_sha bytea, ev jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	v_id	bigint;
BEGIN
	INSERT INTO channel_errors (org_id, channel_id, error_code,
	    error_title, at, body_sha256, delivery_id)
	VALUES (r.org_id, r.channel_id, ev ->> 'error_code',
	    left(ev ->> 'error_title', 1000),
	    app.inbox_time(ev ->> 'timestamp'), p_sha, p_delivery)
	ON CONFLICT DO NOTHING
	RETURNING id INTO v_id;
	IF v_id IS NULL THEN
		RETURN 'duplicate';
	END IF;
	PERFORM app.inbox_notify(r.org_id, 'channel_error', NULL, NULL,
	    r.channel_id);
	RETURN 'error';
END $$;

-- Applies one routing key's events (in payload order) in r's
-- organization. Returns the count of each outcome, plus the provider ids
-- of statuses for messages we never sent (at most 20).
CREATE FUNCTION app.inbox_apply(r channel_routes, p_delivery bigint,
    p_sha bytea, p_events jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
	ev	jsonb;
	v_what	text;
	v_count	jsonb := '{}';
	v_unknown jsonb := '[]';
BEGIN
	PERFORM app.set_tenant(r.org_id, NULL);
	FOR ev IN SELECT e FROM jsonb_array_elements(p_events) e LOOP
		v_what := CASE ev ->> 'kind'
		    WHEN 'message' THEN app.inbox_message(r, p_delivery, ev)
		    WHEN 'status' THEN app.inbox_status(r, ev)
		    WHEN 'watermark' THEN app.inbox_watermark(r, ev)
		    WHEN 'error' THEN app.inbox_error(r, p_delivery, p_sha, ev)
		    ELSE 'ignored' END;
		v_count := jsonb_set(v_count, ARRAY[v_what],
		    to_jsonb(coalesce((v_count ->> v_what)::int, 0) + 1));
		IF v_what = 'status_unknown' AND
		    jsonb_array_length(v_unknown) < 20 THEN
			v_unknown := v_unknown ||
			    to_jsonb(ev ->> 'provider_message_id');
		END IF;
	END LOOP;
	IF jsonb_array_length(v_unknown) > 0 THEN
		v_count := v_count || jsonb_build_object('unknown_messages',
		    v_unknown);
	END IF;
	RETURN v_count;
END $$;

-- What becomes of one routing key of delivery d (a row to insert or to
-- update the journal with). p_allowed: the keys the delivery's
-- credential covers, NULL for all.
CREATE FUNCTION app.webhook_key(d webhook_deliveries, p_key text,
    p_allowed jsonb) RETURNS webhook_delivery_keys
LANGUAGE plpgsql AS $$
DECLARE
	k	webhook_delivery_keys%ROWTYPE;
	r	channel_routes%ROWTYPE;
	v_ev	jsonb;
BEGIN
	k.delivery_id := d.id;
	k.routing_key := p_key;
	k.last_attempt_at := clock_timestamp();
	k.attempts := 1;
	k.result := '{}';
	SELECT coalesce(jsonb_agg(e ORDER BY n), '[]') INTO v_ev
	FROM jsonb_array_elements(d.events) WITH ORDINALITY x(e, n)
	WHERE e ->> 'routing_key' = p_key;
	k.events := jsonb_array_length(v_ev);

	IF p_allowed IS NOT NULL AND NOT p_allowed ? p_key THEN
		k.outcome := 'rejected';
		RETURN k;
	END IF;
	SELECT * INTO r FROM channel_routes
	WHERE family = d.family AND routing_key = p_key
	    AND adapter = d.adapter;
	IF r.org_id IS NULL THEN
		k.outcome := CASE WHEN d.verification = 'platform_secret'
		    THEN 'unrouted' ELSE 'rejected' END;
		RETURN k;
	END IF;
	k.org_id := r.org_id;
	k.channel_id := r.channel_id;
	BEGIN
		k.result := app.inbox_apply(r, d.id, d.body_sha256, v_ev);
		k.outcome := 'routed';
	EXCEPTION WHEN OTHERS THEN
		-- This key's work is undone; the other keys go on.
		k.outcome := 'failed';
		k.error := left(SQLSTATE || ': ' || SQLERRM, 1000);
	END;
	PERFORM app.set_tenant(NULL, NULL);
	RETURN k;
END $$;

-- ---------------------------------------------------------------- ingest

-- A whole authenticated delivery, in one statement.
--   p_endpoint  the path's adapter (meta, 360dialog, whatsapp_cloud...)
--   p_meta      {adapter, family, verification, headers, received_at
--               (epoch ms), secret_hash (hex, channel_secret),
--               allowed_keys ([...], tenant_secret)}
--   p_events    the plugin's normalized events (a JSON array)
--   p_body      the raw body, as received
-- A 360dialog secret that does not cover every routing key of the body
-- answers 403 and stores nothing. Otherwise 200, after the journal and
-- every key's rows are committed.
CREATE FUNCTION api.webhook_ingest(p_endpoint text, p_meta jsonb,
    p_events jsonb, p_body text, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	d	webhook_deliveries%ROWTYPE;
	k	webhook_delivery_keys%ROWTYPE;
	r	channel_routes%ROWTYPE;
	v_keys	text[];
	v_key	text;
	v_allowed jsonb := p_meta -> 'allowed_keys';
BEGIN
	IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'events must be a JSON array';
	END IF;
	SELECT coalesce(array_agg(key ORDER BY first), '{}') INTO v_keys
	FROM (SELECT e ->> 'routing_key' AS key, min(n) AS first
	    FROM jsonb_array_elements(p_events) WITH ORDINALITY x(e, n)
	    WHERE e ->> 'routing_key' IS NOT NULL GROUP BY 1) q;

	IF p_meta ->> 'verification' = 'channel_secret' THEN
		SELECT * INTO r FROM channel_routes
		WHERE webhook_secret_hash =
		    decode(p_meta ->> 'secret_hash', 'hex')
		    AND adapter = p_meta ->> 'adapter';
		IF r.org_id IS NULL OR EXISTS (SELECT 1 FROM unnest(v_keys) x
		    WHERE x <> r.routing_key) THEN
			status := 403;
			body := jsonb_build_object('error_code',
			    'WEBHOOK_FORBIDDEN', 'error',
			    'The webhook secret does not match this account');
			RETURN;
		END IF;
		v_allowed := jsonb_build_array(r.routing_key);
	END IF;

	INSERT INTO webhook_deliveries (received_at, endpoint, adapter,
	    family, verification, headers, body, body_sha256, events, nevents)
	VALUES (coalesce(timestamptz 'epoch' + (p_meta ->> 'received_at')::bigint
		* interval '1 millisecond', now()),
	    p_endpoint, p_meta ->> 'adapter', p_meta ->> 'family',
	    p_meta ->> 'verification', coalesce(p_meta -> 'headers', '{}'),
	    p_body, sha256(convert_to(p_body, 'UTF8')), p_events,
	    jsonb_array_length(p_events))
	RETURNING * INTO d;

	FOREACH v_key IN ARRAY v_keys LOOP
		k := app.webhook_key(d, v_key, v_allowed);
		INSERT INTO webhook_delivery_keys SELECT k.*;
	END LOOP;
	status := 200;
	body := jsonb_build_object('received', true, 'delivery_id', d.id,
	    'events', d.nevents);
END $$;

-- The sealed own app secrets of the channels that route p_keys for
-- p_adapter: the server unseals them and checks a Meta signature that
-- the platform's secret did not verify. Server only.
--   p_field  the plugin's app-secret credential field
CREATE FUNCTION api.webhook_app_secrets(p_adapter text, p_family text,
    p_keys jsonb, p_field text, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	r	channel_routes%ROWTYPE;
	v_rows	jsonb := '[]';
	v_row	jsonb;
BEGIN
	FOR r IN SELECT * FROM channel_routes WHERE family = p_family
	    AND adapter = p_adapter AND own_app_secret
	    AND routing_key IN (SELECT jsonb_array_elements_text(p_keys))
	LOOP
		PERFORM app.set_tenant(r.org_id, NULL);
		SELECT jsonb_build_object('routing_key', r.routing_key,
		    'org_id', r.org_id, 'channel_id', r.channel_id,
		    'data_key', encode(o.data_key, 'hex'),
		    'data_key_version', o.data_key_version,
		    'sealed', encode(s.sealed, 'hex'),
		    'key_version', s.key_version) INTO v_row
		FROM organizations o JOIN channel_secrets s
		    ON s.org_id = o.id AND s.channel_id = r.channel_id
		    AND s.field = p_field
		WHERE o.id = r.org_id AND o.data_key IS NOT NULL;
		IF v_row IS NOT NULL THEN
			v_rows := v_rows || v_row;
		END IF;
	END LOOP;
	PERFORM app.set_tenant(NULL, NULL);
	status := 200;
	body := jsonb_build_object('data', v_rows);
END $$;

-- Whether a 360dialog secret names any channel at all: decides between
-- 400 and 403 for a body that does not parse. Server only.
CREATE FUNCTION api.webhook_secret_known(p_adapter text, p_hash text,
    OUT status int, OUT body jsonb)
LANGUAGE sql AS $$
	SELECT 200, jsonb_build_object('known', EXISTS (SELECT 1
	    FROM channel_routes WHERE adapter = p_adapter
	    AND webhook_secret_hash = decode(p_hash, 'hex')))
$$;

-- ---------------------------------------------------------------- replay

-- Applies again one unrouted or failed routing key of a delivery (now
-- that its account may be connected, or the cause of the failure is
-- fixed), through the same path as a live delivery. For inboxctl
-- replay-webhooks; returns the key's new journal row as JSON.
CREATE FUNCTION app.webhook_replay(p_delivery bigint, p_key text)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	d	webhook_deliveries%ROWTYPE;
	k	webhook_delivery_keys%ROWTYPE;
	n	webhook_delivery_keys%ROWTYPE;
BEGIN
	SELECT * INTO k FROM webhook_delivery_keys
	WHERE delivery_id = p_delivery AND routing_key = p_key FOR UPDATE;
	IF k.delivery_id IS NULL THEN
		RAISE EXCEPTION 'no routing key % in delivery %', p_key,
		    p_delivery;
	END IF;
	IF k.outcome NOT IN ('unrouted', 'failed') THEN
		RETURN to_jsonb(k) || jsonb_build_object('skipped', true);
	END IF;
	SELECT * INTO d FROM webhook_deliveries WHERE id = p_delivery;
	-- Only the platform's secret covers any account; a key that failed
	-- under another credential goes back to the channel it was for.
	IF d.verification <> 'platform_secret' THEN
		n := app.webhook_key(d, p_key, jsonb_build_array(p_key));
		IF n.channel_id IS DISTINCT FROM k.channel_id THEN
			n.outcome := 'rejected';
		END IF;
	ELSE
		n := app.webhook_key(d, p_key, NULL);
	END IF;
	UPDATE webhook_delivery_keys SET outcome = n.outcome,
	    org_id = n.org_id, channel_id = n.channel_id, result = n.result,
	    error = n.error, attempts = attempts + 1,
	    last_attempt_at = n.last_attempt_at, replayed_at = now()
	WHERE delivery_id = p_delivery AND routing_key = p_key
	RETURNING * INTO n;
	RETURN to_jsonb(n);
END $$;

-- ---------------------------------------------------------------- read

CREATE FUNCTION app.contact_json(ct contacts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', ct.id, 'family', ct.family,
	    'external_id', ct.external_id, 'user_id', ct.user_id,
	    'name', ct.name, 'username', ct.username,
	    'created_at', ct.created_at, 'updated_at', ct.updated_at)
$$;

CREATE FUNCTION app.message_json(m messages) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', m.id,
	    'conversation_id', m.conversation_id, 'channel_id', m.channel_id,
	    'contact_id', m.contact_id, 'direction', m.direction,
	    'sender', m.sender, 'type', m.type, 'text', m.text,
	    'content', m.content, 'provider_message_id',
	    m.provider_message_id, 'reply_to', m.reply_to,
	    'status', m.status, 'status_at', m.status_at,
	    'sent_at', m.sent_at, 'delivered_at', m.delivered_at,
	    'read_at', m.read_at, 'played_at', m.played_at,
	    'failed_at', m.failed_at,
	    'error', CASE WHEN m.error_code IS NULL AND m.error_title IS NULL
		THEN NULL ELSE jsonb_build_object('code', m.error_code,
		'title', m.error_title) END,
	    'deleted_at', m.deleted_at, 'at', m.at,
	    'created_at', m.created_at)
$$;

CREATE FUNCTION app.conversation_json(cv conversations) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', cv.id, 'status', cv.status,
	    'channel', (SELECT jsonb_build_object('id', ch.id,
		'adapter', ch.adapter, 'family', ch.family, 'name', ch.name)
		FROM channels ch WHERE ch.org_id = cv.org_id
		AND ch.id = cv.channel_id),
	    'contact', (SELECT app.contact_json(ct) FROM contacts ct
		WHERE ct.org_id = cv.org_id AND ct.id = cv.contact_id),
	    'last_message', (SELECT jsonb_build_object('id', m.id,
		'direction', m.direction, 'type', m.type, 'text',
		left(m.text, 200), 'status', m.status, 'at', m.at)
		FROM messages m WHERE m.org_id = cv.org_id
		AND m.conversation_id = cv.id AND m.deleted_at IS NULL
		ORDER BY m.at DESC, m.seq DESC LIMIT 1),
	    'last_message_at', cv.last_message_at,
	    'last_inbound_at', cv.last_inbound_at,
	    'closed_at', cv.closed_at, 'created_at', cv.created_at,
	    'updated_at', cv.updated_at)
$$;

-- GET /conversations: newest activity first; filters channel_id, adapter,
-- status, contact_id; cursor "<µs>_<id>" of the last row shown.
CREATE FUNCTION api.conversations_list(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_limit	int := app.page_limit(p_srv);
	v_cur	text := app.page_cursor(p_srv, '[0-9a-f-]{36}');
	v_chan	uuid := app.query_uuid(p_srv, 'channel_id');
	v_ct	uuid := app.query_uuid(p_srv, 'contact_id');
	v_stat	text := app.query_enum(p_srv, 'status',
		    ARRAY['open', 'closed']);
	v_adap	text := p_srv #>> '{query,adapter}';
	v_rows	jsonb;
BEGIN
	SELECT coalesce(jsonb_agg(app.conversation_json(cv) ||
	    jsonb_build_object('_cursor', app.cursor_make(cv.last_message_at,
	    cv.id::text)) ORDER BY cv.last_message_at DESC, cv.id DESC), '[]')
	INTO v_rows
	FROM (SELECT cv.* FROM conversations cv
	    WHERE cv.org_id = c.org_id
	    AND (v_chan IS NULL OR cv.channel_id = v_chan)
	    AND (v_ct IS NULL OR cv.contact_id = v_ct)
	    AND (v_stat IS NULL OR cv.status = v_stat)
	    AND (v_adap IS NULL OR EXISTS (SELECT 1 FROM channels ch
		WHERE ch.org_id = cv.org_id AND ch.id = cv.channel_id
		AND ch.adapter = v_adap))
	    AND (v_cur IS NULL OR (cv.last_message_at, cv.id) <
		(app.cursor_time(v_cur), split_part(v_cur, '_', 2)::uuid))
	    ORDER BY cv.last_message_at DESC, cv.id DESC
	    LIMIT v_limit + 1) cv;
	status := 200;
	body := jsonb_build_object(
	    'data', (SELECT coalesce(jsonb_agg(e - '_cursor' ORDER BY n), '[]')
		FROM jsonb_array_elements(v_rows) WITH ORDINALITY x(e, n)
		WHERE n <= v_limit),
	    'next_cursor', CASE WHEN jsonb_array_length(v_rows) > v_limit
		THEN v_rows -> (v_limit - 1) ->> '_cursor' END);
END $$;

CREATE FUNCTION app.conversation_find(c app.ctx, p_srv jsonb)
RETURNS conversations LANGUAGE plpgsql AS $$
DECLARE
	cv	conversations%ROWTYPE;
BEGIN
	SELECT * INTO cv FROM conversations
	WHERE org_id = c.org_id AND id = (p_srv #>> '{path,id}')::uuid;
	IF NOT FOUND THEN
		PERFORM app.fail(404, 'NOT_FOUND', 'Conversation not found');
	END IF;
	RETURN cv;
END $$;

CREATE FUNCTION api.conversation_get(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	status := 200;
	body := app.conversation_json(app.conversation_find(c, p_srv));
END $$;

-- GET /conversations/:id/messages: newest first; cursor "<µs>_<seq>".
CREATE FUNCTION api.conversation_messages(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	cv	conversations%ROWTYPE := app.conversation_find(c, p_srv);
	v_limit	int := app.page_limit(p_srv);
	v_cur	text := app.page_cursor(p_srv, '[0-9]{1,18}');
	v_rows	jsonb;
BEGIN
	SELECT coalesce(jsonb_agg(app.message_json(m) ||
	    jsonb_build_object('_cursor', app.cursor_make(m.at,
	    m.seq::text)) ORDER BY m.at DESC, m.seq DESC), '[]')
	INTO v_rows
	FROM (SELECT m.* FROM messages m
	    WHERE m.org_id = c.org_id AND m.conversation_id = cv.id
	    AND (v_cur IS NULL OR (m.at, m.seq) <
		(app.cursor_time(v_cur), split_part(v_cur, '_', 2)::bigint))
	    ORDER BY m.at DESC, m.seq DESC
	    LIMIT v_limit + 1) m;
	status := 200;
	body := jsonb_build_object(
	    'data', (SELECT coalesce(jsonb_agg(e - '_cursor' ORDER BY n), '[]')
		FROM jsonb_array_elements(v_rows) WITH ORDINALITY x(e, n)
		WHERE n <= v_limit),
	    'next_cursor', CASE WHEN jsonb_array_length(v_rows) > v_limit
		THEN v_rows -> (v_limit - 1) ->> '_cursor' END);
END $$;

-- GET /contacts: newest first; filter family.
CREATE FUNCTION api.contacts_list(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_limit	int := app.page_limit(p_srv);
	v_cur	text := app.page_cursor(p_srv, '[0-9a-f-]{36}');
	v_fam	text := p_srv #>> '{query,family}';
	v_rows	jsonb;
BEGIN
	SELECT coalesce(jsonb_agg(app.contact_json(ct) ||
	    jsonb_build_object('_cursor', app.cursor_make(ct.created_at,
	    ct.id::text)) ORDER BY ct.created_at DESC, ct.id DESC), '[]')
	INTO v_rows
	FROM (SELECT ct.* FROM contacts ct
	    WHERE ct.org_id = c.org_id
	    AND (v_fam IS NULL OR ct.family = v_fam)
	    AND (v_cur IS NULL OR (ct.created_at, ct.id) <
		(app.cursor_time(v_cur), split_part(v_cur, '_', 2)::uuid))
	    ORDER BY ct.created_at DESC, ct.id DESC
	    LIMIT v_limit + 1) ct;
	status := 200;
	body := jsonb_build_object(
	    'data', (SELECT coalesce(jsonb_agg(e - '_cursor' ORDER BY n), '[]')
		FROM jsonb_array_elements(v_rows) WITH ORDINALITY x(e, n)
		WHERE n <= v_limit),
	    'next_cursor', CASE WHEN jsonb_array_length(v_rows) > v_limit
		THEN v_rows -> (v_limit - 1) ->> '_cursor' END);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app, api TO inbox_app;
