-- 019: the webhook ingest statement made cheaper for PostgreSQL, doing
-- the same. api.webhook_ingest() cost ~1.0-1.6 ms of PostgreSQL CPU per
-- delivery (docs/performance.md); measured with pgbench on
-- tests/bench/ingest.pgbench (20 tenants, a ~1.9 KB WhatsApp delivery
-- with a ~600-character text), pg_stat_statements (track = all),
-- track_functions = 'pl' and perf, where it went and what this changes:
--
-- * messages_text_search (009), the trigram GIN index on messages.text,
--   was the largest single cost (~140 us per insert of such a message,
--   of ~850 us per delivery: trigram extraction, the pending list and
--   its merges), and no query can use it: the inbox search (api.conversations_list, q)
--   runs as inbox_app under the forced row-level security of messages,
--   and ILIKE (~~*) is not leakproof, so the planner may not evaluate it
--   in an index scan before the tenant policy. It read the org's messages
--   through messages_day and filtered them with and without the index
--   (EXPLAIN; idx_scan stayed 0 through a benchmark run). Dropped:
--   search answers exactly as before.
-- * app.set_tenant() was a SQL function of two SELECT columns, which the
--   planner cannot inline, so each call parsed and planned its body
--   again (~20 us, twice per routing key, and once per API request). The
--   same two set_config() calls in plpgsql are planned once per session.
-- * webhook_deliveries: body (~1.9 KB) and events (~1.7 KB) made a row
--   over the 2 KB TOAST threshold, so each insert ran pglz over both
--   (which gave up: the journal stored them uncompressed anyway) and
--   then moved them to the TOAST table (two more heap and index
--   inserts). toast_tuple_target = 8160 keeps rows up to a page inline,
--   uncompressed, as they were stored; past that, lz4 instead of pglz
--   where the server has it. Same for long messages (text, content).
--   The journal's contents are unchanged.
-- * app.inbox_contact entered a BEGIN ... EXCEPTION block (a
--   subtransaction, and a subxid for whatever it wrote) on every call,
--   app.inbox_conversation whenever no conversation was open. A new contact or conversation is now
--   INSERT ... ON CONFLICT DO NOTHING followed by another look-up; a
--   contact whose name has not changed is not updated at all; the
--   contact's blocked flag is read only when there is no open
--   conversation. Savepoints remain only around the rare writes that
--   ON CONFLICT cannot cover (re-keying a contact by its number or BSUID,
--   reopening a closed conversation). With batches (020) this also keeps
--   a transaction to one subxid per routing key in the common case.
-- * app.inbox_message: the conversation is updated only when that moves
--   something (see there). The look-up of a known provider id before any
--   write stays: it is what keeps a redelivery from touching the contact
--   or reopening a conversation; the ON CONFLICT after it covers the
--   concurrent case.
-- * api.webhook_ingest gathers each routing key's events in the pass that
--   finds the keys, instead of app.webhook_key filtering the delivery's
--   events again per key (app.webhook_key(d, key, allowed) remains, for
--   replay).
--
-- Measured on the shared 2-core VM (noisy: compare pairs), PostgreSQL
-- CPU (every process of the cluster, from /proc) per ingest statement,
-- pgbench with ingest.pgbench, before and after back to back on one
-- database of 20 tenants and ~60,000 messages: 1 client 850-1070 ->
-- 590-720 us (p50 0.93 -> 0.71 ms); 8 clients 1054-1075 -> 765-774 us
-- (1,480 -> 2,000 tps); 16 clients 1257 -> 925 us. Of what is left,
-- about a quarter is per transaction (commit and its fdatasync, parsing
-- and planning the statement), which batches (020) share.

-- ---------------------------------------------------------------- storage

DROP INDEX messages_text_search;

ALTER TABLE webhook_deliveries SET (toast_tuple_target = 8160);
DO $$
BEGIN
	ALTER TABLE webhook_deliveries ALTER body SET COMPRESSION lz4,
	    ALTER events SET COMPRESSION lz4,
	    ALTER headers SET COMPRESSION lz4;
	ALTER TABLE messages ALTER text SET COMPRESSION lz4,
	    ALTER content SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
	-- A server built without lz4 keeps pglz.
	RAISE NOTICE 'lz4 is not available here: TOAST keeps pglz';
END $$;

-- ---------------------------------------------------------------- tenant

-- As in 001, in plpgsql: its statements are planned once per session.
CREATE OR REPLACE FUNCTION app.set_tenant(p_org uuid, p_user uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('app.org_id', coalesce(p_org::text, ''), true);
	PERFORM set_config('app.user_id', coalesce(p_user::text, ''), true);
END $$;

-- ---------------------------------------------------------------- apply

-- As in 004: the contact an event names, created or updated; its id,
-- looked up by the BSUID first, then by external id. A contact created
-- by a concurrent delivery is found by looking again after an INSERT
-- that did nothing; only a change of its keys (the BSUID gained, or the
-- number replacing the BSUID as external id) may collide with another
-- contact, and only that runs in a savepoint.
CREATE OR REPLACE FUNCTION app.inbox_contact(p_org uuid, p_family text,
    p_c jsonb)
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
		IF ct.id IS NULL THEN
			INSERT INTO contacts (org_id, family, external_id,
			    user_id, name, username)
			VALUES (p_org, p_family, v_ext, v_uid, v_name, v_uname)
			ON CONFLICT DO NOTHING
			RETURNING id INTO ct.id;
			IF ct.id IS NOT NULL THEN
				RETURN ct.id;
			END IF;
			-- A concurrent delivery made it first: look again.
			CONTINUE;
		END IF;
		-- Name and username only: no key changes, nothing to collide
		-- with, no write when they are the same.
		IF NOT coalesce((ct.user_id IS NULL AND v_uid IS NOT NULL) OR
		    (ct.external_id = ct.user_id AND
		    v_ext IS DISTINCT FROM v_uid), false) THEN
			IF ct.name IS DISTINCT FROM coalesce(v_name, ct.name)
			    OR ct.username IS DISTINCT FROM
			    coalesce(v_uname, ct.username) THEN
				UPDATE contacts SET
				    name = coalesce(v_name, name),
				    username = coalesce(v_uname, username),
				    updated_at = now()
				WHERE org_id = p_org AND id = ct.id AND (
				    name IS DISTINCT FROM coalesce(v_name, name)
				    OR username IS DISTINCT FROM
					coalesce(v_uname, username));
			END IF;
			RETURN ct.id;
		END IF;
		-- A contact known by its BSUID alone whose number now shows is
		-- keyed by the number.
		BEGIN
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
		EXCEPTION WHEN unique_violation THEN
			-- Another contact holds the number or the BSUID.
		END;
	END LOOP;
	RAISE EXCEPTION 'contact % keeps conflicting', v_ext;
END $$;

-- As in 009 (a blocked contact's message never reopens a conversation),
-- without a savepoint for a new conversation: ON CONFLICT on the partial
-- unique index of open ones, then look again. Reopening stays in one
-- (an UPDATE has no ON CONFLICT); it is rare.
CREATE OR REPLACE FUNCTION app.inbox_conversation(p_org uuid, p_channel uuid,
    p_contact uuid, p_inbound boolean, p_at timestamptz)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
	v_id	uuid;
	v_last	uuid;
	v_block	boolean;
	i	int;
BEGIN
	FOR i IN 1..3 LOOP
		SELECT id INTO v_id FROM conversations WHERE org_id = p_org
		    AND contact_id = p_contact AND channel_id = p_channel
		    AND status = 'open';
		IF v_id IS NOT NULL THEN
			RETURN v_id;
		END IF;
		IF i = 1 THEN
			SELECT blocked INTO v_block FROM contacts
			WHERE org_id = p_org AND id = p_contact;
		END IF;
		SELECT id INTO v_last FROM conversations WHERE org_id = p_org
		    AND contact_id = p_contact AND channel_id = p_channel
		    ORDER BY last_message_at DESC, created_at DESC LIMIT 1;
		IF v_last IS NOT NULL AND (NOT p_inbound OR v_block) THEN
			RETURN v_last;
		END IF;
		IF v_last IS NULL THEN
			INSERT INTO conversations (org_id, channel_id,
			    contact_id, last_message_at, status, closed_at)
			VALUES (p_org, p_channel, p_contact, p_at,
			    CASE WHEN v_block THEN 'closed' ELSE 'open' END,
			    CASE WHEN v_block THEN now() END)
			ON CONFLICT (org_id, contact_id, channel_id)
			    WHERE status = 'open' DO NOTHING
			RETURNING id INTO v_id;
			IF v_id IS NOT NULL THEN
				RETURN v_id;
			END IF;
		ELSE
			BEGIN
				UPDATE conversations SET status = 'open',
				    closed_at = NULL, updated_at = now()
				WHERE org_id = p_org AND id = v_last
				    AND status = 'closed'
				RETURNING id INTO v_id;
				IF v_id IS NOT NULL THEN
					RETURN v_id;
				END IF;
			EXCEPTION WHEN unique_violation THEN
			END;
		END IF;
		-- Opened by a concurrent delivery: look again.
	END LOOP;
	RAISE EXCEPTION 'conversation of contact % keeps conflicting',
	    p_contact;
END $$;

-- As in 004, but for the conversation update.
CREATE OR REPLACE FUNCTION app.inbox_message(r channel_routes,
    p_delivery bigint, ev jsonb) RETURNS text
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
	-- Only when it moves something: in a batch transaction a second
	-- message of the conversation that is not newer than the first would
	-- write a row version identical to the one this transaction wrote.
	UPDATE conversations SET
	    last_message_at = greatest(last_message_at, v_at),
	    last_inbound_at = CASE WHEN v_in THEN
		greatest(last_inbound_at, v_at) ELSE last_inbound_at END,
	    updated_at = now()
	WHERE org_id = r.org_id AND id = v_conv
	    AND (last_message_at < v_at OR updated_at <> now()
		OR (v_in AND (last_inbound_at IS NULL OR
		    last_inbound_at < v_at)));
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

-- ---------------------------------------------------------------- ingest

-- As in 004, but given the key's events (p_events, in payload order)
-- instead of filtering them out of d.events again for each key.
CREATE FUNCTION app.webhook_key(d webhook_deliveries, p_key text,
    p_allowed jsonb, p_events jsonb) RETURNS webhook_delivery_keys
LANGUAGE plpgsql AS $$
DECLARE
	k	webhook_delivery_keys%ROWTYPE;
	r	channel_routes%ROWTYPE;
BEGIN
	k.delivery_id := d.id;
	k.routing_key := p_key;
	k.last_attempt_at := clock_timestamp();
	k.attempts := 1;
	k.result := '{}';
	k.events := jsonb_array_length(p_events);

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
	-- The savepoint is what keeps a failing key's work out and the
	-- other keys in. A statement storing several deliveries at once
	-- (api.webhook_ingest_batch, 020) goes without: past 64 written
	-- savepoints a transaction overflows PostgreSQL's subtransaction
	-- cache and slows every other snapshot, and a failure there fails
	-- the whole statement, after which app/ingest.c stores each of its
	-- deliveries again alone, through this savepoint. A deadlock
	-- between two batches is then retried instead of journaled failed.
	IF current_setting('app.ingest_batch', true) = 'on' THEN
		k.result := app.inbox_apply(r, d.id, d.body_sha256, p_events);
	ELSE
		BEGIN
			k.result := app.inbox_apply(r, d.id, d.body_sha256,
			    p_events);
		EXCEPTION WHEN OTHERS THEN
			-- This key's work is undone; the other keys go on.
			k.outcome := 'failed';
			k.error := left(SQLSTATE || ': ' || SQLERRM, 1000);
		END;
	END IF;
	k.outcome := coalesce(k.outcome, 'routed');
	PERFORM app.set_tenant(NULL, NULL);
	RETURN k;
END $$;

-- One routing key of a journaled delivery (app.webhook_replay): its
-- events taken from the journal.
CREATE OR REPLACE FUNCTION app.webhook_key(d webhook_deliveries, p_key text,
    p_allowed jsonb) RETURNS webhook_delivery_keys
LANGUAGE sql AS $$
	SELECT app.webhook_key(d, p_key, p_allowed,
	    (SELECT coalesce(jsonb_agg(e ORDER BY n), '[]')
	    FROM jsonb_array_elements(d.events) WITH ORDINALITY x(e, n)
	    WHERE e ->> 'routing_key' = p_key))
$$;

-- As in 004, but each key's events are gathered in the same pass that
-- finds the keys.
CREATE OR REPLACE FUNCTION api.webhook_ingest(p_endpoint text, p_meta jsonb,
    p_events jsonb, p_body text, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	d	webhook_deliveries%ROWTYPE;
	k	webhook_delivery_keys%ROWTYPE;
	r	channel_routes%ROWTYPE;
	v_keys	text[];
	v_evs	jsonb[];
	v_allowed jsonb := p_meta -> 'allowed_keys';
	i	int;
BEGIN
	IF jsonb_typeof(p_events) IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'events must be a JSON array';
	END IF;
	SELECT coalesce(array_agg(key ORDER BY first), '{}'),
	    coalesce(array_agg(evs ORDER BY first), '{}')
	INTO v_keys, v_evs
	FROM (SELECT e ->> 'routing_key' AS key, min(n) AS first,
		jsonb_agg(e ORDER BY n) AS evs
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

	FOR i IN 1 .. cardinality(v_keys) LOOP
		k := app.webhook_key(d, v_keys[i], v_allowed, v_evs[i]);
		INSERT INTO webhook_delivery_keys SELECT k.*;
	END LOOP;
	status := 200;
	body := jsonb_build_object('received', true, 'delivery_id', d.id,
	    'events', d.nevents);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app, api TO inbox_app;
