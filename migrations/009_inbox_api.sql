-- 009: working the inbox. Conversations are closed, reopened and
-- assigned to a member; each member (and each API token) marks them
-- read, which gives unread counts per conversation and per channel;
-- lists filter by assignee, unread and text (contact name, message
-- text). Contacts get a display name, tags, a pin and a block: a
-- blocked contact's messages are still stored, but never reopen a
-- conversation. GET /stats counts messages per channel and day, delivery
-- and read rates, failures by code and the median first response.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- ---------------------------------------------------------------- tables

ALTER TABLE contacts
	-- What the team calls them; name stays the provider's profile name.
	ADD COLUMN display_name text CHECK (length(display_name)
	    BETWEEN 1 AND 200),
	ADD COLUMN tags text[] NOT NULL DEFAULT '{}'
	    CHECK (cardinality(tags) <= 50),
	ADD COLUMN blocked boolean NOT NULL DEFAULT false,
	ADD COLUMN pinned boolean NOT NULL DEFAULT false;
CREATE INDEX contacts_search ON contacts USING gin
    ((coalesce(display_name, '') || ' ' || coalesce(name, '') || ' ' ||
    coalesce(username, '') || ' ' || external_id) gin_trgm_ops);
CREATE INDEX contacts_tags ON contacts USING gin (tags);

ALTER TABLE conversations
	ADD COLUMN assignee_id uuid,
	ADD FOREIGN KEY (org_id, assignee_id) REFERENCES memberships
	    ON DELETE SET NULL (assignee_id);
CREATE INDEX conversations_assignee ON conversations (org_id, assignee_id,
    last_message_at DESC, id DESC);

CREATE INDEX messages_text_search ON messages USING gin (text gin_trgm_ops);
CREATE INDEX messages_inbound ON messages (org_id, conversation_id, seq)
    WHERE direction = 'in';
CREATE INDEX messages_day ON messages (org_id, at);

-- How far each reader (a member, or an API token) has read each
-- conversation: inbound messages after last_read_seq are unread.
CREATE TABLE conversation_reads (
	org_id		uuid NOT NULL,
	conversation_id	uuid NOT NULL,
	reader_id	uuid NOT NULL,
	last_read_seq	bigint NOT NULL,
	read_at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (org_id, conversation_id, reader_id),
	FOREIGN KEY (org_id, conversation_id) REFERENCES conversations
	    ON DELETE CASCADE
);
CREATE INDEX conversation_reads_reader ON conversation_reads (org_id,
    reader_id);

ALTER TABLE conversation_reads ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversation_reads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON conversation_reads
    USING (org_id = app.current_org());
GRANT SELECT, INSERT, UPDATE, DELETE ON conversation_reads TO inbox_app;

-- ---------------------------------------------------------------- helpers

-- Whose read marks: the member, or the API token acting.
CREATE FUNCTION app.reader(c app.ctx) RETURNS uuid
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN c.kind = 'token' THEN encode(c.cred, 'hex')::uuid
	    ELSE c.user_id END
$$;

-- Inbound messages of a conversation the reader has not read.
CREATE FUNCTION app.unread(p_org uuid, p_conv uuid, p_reader uuid)
RETURNS int LANGUAGE sql STABLE AS $$
	SELECT count(*)::int FROM messages m
	WHERE m.org_id = p_org AND m.conversation_id = p_conv
	    AND m.direction = 'in' AND m.deleted_at IS NULL
	    AND m.seq > coalesce((SELECT r.last_read_seq
		FROM conversation_reads r WHERE r.org_id = p_org
		AND r.conversation_id = p_conv AND r.reader_id = p_reader), 0)
$$;

-- A text query argument for ILIKE: trimmed, 1 to 200 characters, its
-- wildcards escaped; NULL when absent.
CREATE FUNCTION app.query_like(p_srv jsonb, p_name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := btrim(p_srv #>> ARRAY['query', p_name]);
BEGIN
	IF s IS NULL OR s = '' THEN
		RETURN NULL;
	END IF;
	IF length(s) > 200 THEN
		PERFORM app.fail(400, 'INVALID_QUERY', p_name ||
		    ' must be at most 200 characters',
		    jsonb_build_object(p_name, 'must be at most 200 characters'));
	END IF;
	RETURN '%' || replace(replace(replace(s, '\', '\\'), '%', '\%'),
	    '_', '\_') || '%';
END $$;

CREATE FUNCTION app.query_bool(p_srv jsonb, p_name text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := p_srv #>> ARRAY['query', p_name];
BEGIN
	IF s IS NULL THEN
		RETURN NULL;
	END IF;
	IF s NOT IN ('true', 'false') THEN
		PERFORM app.fail(400, 'INVALID_QUERY', p_name ||
		    ' must be true or false', jsonb_build_object(p_name,
		    'must be true or false'));
	END IF;
	RETURN s::boolean;
END $$;

-- A contact with what the team set on it.
CREATE OR REPLACE FUNCTION app.contact_json(ct contacts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', ct.id, 'family', ct.family,
	    'external_id', ct.external_id, 'user_id', ct.user_id,
	    'name', ct.name, 'username', ct.username,
	    'display_name', ct.display_name, 'tags', to_jsonb(ct.tags),
	    'blocked', ct.blocked, 'pinned', ct.pinned,
	    'created_at', ct.created_at, 'updated_at', ct.updated_at)
$$;

-- A conversation with its assignee and the reader's unread count.
CREATE FUNCTION app.conversation_view(cv conversations, p_reader uuid)
RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT app.conversation_json(cv) || jsonb_build_object(
	    'assignee', (SELECT jsonb_build_object('id', u.id, 'name', u.name,
		'email', u.email) FROM users u WHERE u.id = cv.assignee_id),
	    'unread', app.unread(cv.org_id, cv.id, p_reader))
$$;

-- ---------------------------------------------------------------- blocked

-- As in 004, except that a blocked contact's message never reopens a
-- conversation: it goes into the latest one, closed as it is, or a new
-- closed one when there is none.
CREATE OR REPLACE FUNCTION app.inbox_conversation(p_org uuid, p_channel uuid,
    p_contact uuid, p_inbound boolean, p_at timestamptz)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
	v_id	uuid;
	v_last	uuid;
	v_block	boolean;
	i	int;
BEGIN
	SELECT blocked INTO v_block FROM contacts WHERE org_id = p_org
	    AND id = p_contact;
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
		IF v_last IS NOT NULL AND (NOT p_inbound OR v_block) THEN
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
				    contact_id, last_message_at, status,
				    closed_at)
				VALUES (p_org, p_channel, p_contact, p_at,
				    CASE WHEN v_block THEN 'closed'
					ELSE 'open' END,
				    CASE WHEN v_block THEN now() END)
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

-- ---------------------------------------------------------------- lists

-- GET /conversations: as in 004, plus assignee_id (a member's id, "me"
-- or "none"), unread (true: only those with unread messages for the
-- caller) and q (contact names and ids, message text); each item has
-- its assignee and the caller's unread count.
CREATE OR REPLACE FUNCTION api.conversations_list(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_reader uuid := app.reader(c);
	v_limit	int := app.page_limit(p_srv);
	v_cur	text := app.page_cursor(p_srv, '[0-9a-f-]{36}');
	v_chan	uuid := app.query_uuid(p_srv, 'channel_id');
	v_ct	uuid := app.query_uuid(p_srv, 'contact_id');
	v_stat	text := app.query_enum(p_srv, 'status',
		    ARRAY['open', 'closed']);
	v_adap	text := p_srv #>> '{query,adapter}';
	v_asg	text := p_srv #>> '{query,assignee_id}';
	v_unread boolean := app.query_bool(p_srv, 'unread');
	v_q	text := app.query_like(p_srv, 'q');
	v_who	uuid;
	v_rows	jsonb;
BEGIN
	IF v_asg = 'me' THEN
		v_who := c.user_id;
		IF v_who IS NULL THEN
			PERFORM app.fail(400, 'INVALID_QUERY',
			    'assignee_id=me needs a person, not an API token',
			    jsonb_build_object('assignee_id',
			    'me is not a person for an API token'));
		END IF;
	ELSIF v_asg IS NOT NULL AND v_asg <> 'none' THEN
		v_who := app.query_uuid(p_srv, 'assignee_id');
	END IF;
	SELECT coalesce(jsonb_agg(app.conversation_view(cv, v_reader) ||
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
	    AND (v_asg IS NULL OR (v_asg = 'none' AND cv.assignee_id IS NULL)
		OR cv.assignee_id = v_who)
	    AND (v_unread IS NULL OR (app.unread(cv.org_id, cv.id, v_reader)
		> 0) = v_unread)
	    AND (v_q IS NULL OR EXISTS (SELECT 1 FROM contacts ct
		WHERE ct.org_id = cv.org_id AND ct.id = cv.contact_id
		AND (coalesce(ct.display_name, '') || ' ' ||
		    coalesce(ct.name, '') || ' ' || coalesce(ct.username, '')
		    || ' ' || ct.external_id) ILIKE v_q)
		OR EXISTS (SELECT 1 FROM messages m
		WHERE m.org_id = cv.org_id AND m.conversation_id = cv.id
		AND m.deleted_at IS NULL AND m.text ILIKE v_q))
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

CREATE OR REPLACE FUNCTION api.conversation_get(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	status := 200;
	body := app.conversation_view(app.conversation_find(c, p_srv),
	    app.reader(c));
END $$;

-- PATCH /conversations/:id {status, assignee_id}: close, reopen, assign
-- to a member or (null) to nobody. Fields left out stay as they are.
CREATE FUNCTION api.conversation_update(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	cv	conversations%ROWTYPE := app.conversation_find(c, p_srv);
	v_stat	text;
	v_asg	uuid;
	v_set_asg boolean := p_in ? 'assignee_id';
	k	text;
BEGIN
	FOR k IN SELECT jsonb_object_keys(p_in) LOOP
		IF k NOT IN ('status', 'assignee_id') THEN
			PERFORM app.fail(422, 'VALIDATION_FAILED',
			    k || ' cannot be changed here',
			    jsonb_build_object(k, 'is not a field of this change'));
		END IF;
	END LOOP;
	IF p_in ? 'status' THEN
		v_stat := app.field_text(p_in, 'status', 16);
		IF v_stat NOT IN ('open', 'closed') THEN
			PERFORM app.fail(422, 'VALIDATION_FAILED',
			    'status must be open or closed',
			    jsonb_build_object('status', 'must be open or closed'));
		END IF;
	END IF;
	IF v_set_asg AND p_in -> 'assignee_id' <> 'null' THEN
		v_asg := app.field_uuid(p_in, 'assignee_id');
		IF NOT EXISTS (SELECT 1 FROM memberships m
		    WHERE m.org_id = c.org_id AND m.user_id = v_asg) THEN
			PERFORM app.fail(422, 'VALIDATION_FAILED',
			    'assignee_id must be a member of this organization',
			    jsonb_build_object('assignee_id', 'is not a member'));
		END IF;
	END IF;
	BEGIN
		UPDATE conversations SET
		    status = coalesce(v_stat, status),
		    closed_at = CASE WHEN v_stat IS NULL OR v_stat = status
			THEN closed_at WHEN v_stat = 'closed' THEN now()
			ELSE NULL END,
		    assignee_id = CASE WHEN v_set_asg THEN v_asg
			ELSE assignee_id END,
		    updated_at = now()
		WHERE org_id = c.org_id AND id = cv.id RETURNING * INTO cv;
	EXCEPTION WHEN unique_violation THEN
		PERFORM app.fail(409, 'CONVERSATION_OPEN',
		    'This contact has another open conversation on this ' ||
		    'channel; close it first');
	END;
	IF v_stat IS NOT NULL THEN
		PERFORM app.audit(c, 'conversation_' || CASE v_stat
		    WHEN 'open' THEN 'reopened' ELSE 'closed' END,
		    cv.id::text, '{}', p_srv);
	END IF;
	IF v_set_asg THEN
		PERFORM app.audit(c, 'conversation_assigned', cv.id::text,
		    jsonb_build_object('assignee_id', v_asg), p_srv);
	END IF;
	PERFORM app.inbox_notify(c.org_id, 'conversation', cv.id, NULL,
	    cv.channel_id);
	status := 200;
	body := app.conversation_view(cv, app.reader(c));
END $$;

-- POST /conversations/:id/read: everything in it so far is read, for
-- the caller.
CREATE FUNCTION api.conversation_read(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	cv	conversations%ROWTYPE := app.conversation_find(c, p_srv);
	v_reader uuid := app.reader(c);
BEGIN
	INSERT INTO conversation_reads (org_id, conversation_id, reader_id,
	    last_read_seq)
	VALUES (c.org_id, cv.id, v_reader, coalesce((SELECT max(m.seq)
	    FROM messages m WHERE m.org_id = c.org_id
	    AND m.conversation_id = cv.id), 0))
	ON CONFLICT (org_id, conversation_id, reader_id) DO UPDATE
	    SET last_read_seq = greatest(conversation_reads.last_read_seq,
		EXCLUDED.last_read_seq), read_at = now();
	status := 200;
	body := app.conversation_view(cv, v_reader);
END $$;

-- GET /conversations/unread: the caller's unread messages and
-- conversations, per channel and in all (open conversations only).
CREATE FUNCTION api.unread_counts(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_reader uuid := app.reader(c);
BEGIN
	WITH per AS (
		SELECT cv.channel_id, app.unread(cv.org_id, cv.id, v_reader) n
		FROM conversations cv
		WHERE cv.org_id = c.org_id AND cv.status = 'open'
	), ch AS (
		SELECT channel_id, sum(n)::int AS messages,
		    count(*) FILTER (WHERE n > 0)::int AS conversations
		FROM per GROUP BY channel_id
	)
	SELECT jsonb_build_object(
	    'messages', coalesce(sum(ch.messages), 0),
	    'conversations', coalesce(sum(ch.conversations), 0),
	    'channels', coalesce(jsonb_agg(jsonb_build_object(
		'channel_id', ch.channel_id, 'messages', ch.messages,
		'conversations', ch.conversations) ORDER BY ch.channel_id)
		FILTER (WHERE ch.messages > 0), '[]'))
	INTO body FROM ch;
	status := 200;
END $$;

-- ---------------------------------------------------------------- contacts

-- GET /contacts: as in 004, plus q (names, username, external id),
-- tag, blocked and pinned filters.
CREATE OR REPLACE FUNCTION api.contacts_list(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_limit	int := app.page_limit(p_srv);
	v_cur	text := app.page_cursor(p_srv, '[0-9a-f-]{36}');
	v_fam	text := p_srv #>> '{query,family}';
	v_q	text := app.query_like(p_srv, 'q');
	v_tag	text := p_srv #>> '{query,tag}';
	v_block	boolean := app.query_bool(p_srv, 'blocked');
	v_pin	boolean := app.query_bool(p_srv, 'pinned');
	v_rows	jsonb;
BEGIN
	SELECT coalesce(jsonb_agg(app.contact_json(ct) ||
	    jsonb_build_object('_cursor', app.cursor_make(ct.created_at,
	    ct.id::text)) ORDER BY ct.created_at DESC, ct.id DESC), '[]')
	INTO v_rows
	FROM (SELECT ct.* FROM contacts ct
	    WHERE ct.org_id = c.org_id
	    AND (v_fam IS NULL OR ct.family = v_fam)
	    AND (v_q IS NULL OR (coalesce(ct.display_name, '') || ' ' ||
		coalesce(ct.name, '') || ' ' || coalesce(ct.username, '') ||
		' ' || ct.external_id) ILIKE v_q)
	    AND (v_tag IS NULL OR ct.tags @> ARRAY[v_tag])
	    AND (v_block IS NULL OR ct.blocked = v_block)
	    AND (v_pin IS NULL OR ct.pinned = v_pin)
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

CREATE FUNCTION app.contact_find(c app.ctx, p_srv jsonb) RETURNS contacts
LANGUAGE plpgsql AS $$
DECLARE
	ct	contacts%ROWTYPE;
BEGIN
	SELECT * INTO ct FROM contacts
	WHERE org_id = c.org_id AND id = (p_srv #>> '{path,id}')::uuid;
	IF NOT FOUND THEN
		PERFORM app.fail(404, 'NOT_FOUND', 'Contact not found');
	END IF;
	RETURN ct;
END $$;

CREATE FUNCTION api.contact_get(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
BEGIN
	status := 200;
	body := app.contact_json(app.contact_find(c, p_srv));
END $$;

-- PATCH /contacts/:id {display_name, tags, blocked, pinned}: fields left
-- out stay; a null display_name goes back to the provider's name.
CREATE FUNCTION api.contact_update(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	ct	contacts%ROWTYPE := app.contact_find(c, p_srv);
	v_name	text;
	v_tags	text[];
	k	text;
	t	jsonb;
BEGIN
	FOR k IN SELECT jsonb_object_keys(p_in) LOOP
		IF k NOT IN ('display_name', 'tags', 'blocked', 'pinned') THEN
			PERFORM app.fail(422, 'VALIDATION_FAILED',
			    k || ' cannot be changed',
			    jsonb_build_object(k, 'is not a field of this change'));
		END IF;
	END LOOP;
	IF p_in ? 'display_name' AND p_in -> 'display_name' <> 'null' THEN
		v_name := app.field_text(p_in, 'display_name', 200);
	END IF;
	IF p_in ? 'tags' THEN
		IF jsonb_typeof(p_in -> 'tags') <> 'array' OR
		    jsonb_array_length(p_in -> 'tags') > 50 THEN
			PERFORM app.fail(422, 'VALIDATION_FAILED',
			    'tags must be an array of at most 50 tags',
			    jsonb_build_object('tags', 'must be an array of at '
			    'most 50 tags'));
		END IF;
		FOR t IN SELECT jsonb_array_elements(p_in -> 'tags') LOOP
			IF jsonb_typeof(t) <> 'string' OR
			    length(btrim(t #>> '{}')) NOT BETWEEN 1 AND 50 THEN
				PERFORM app.fail(422, 'VALIDATION_FAILED',
				    'each tag must be 1 to 50 characters',
				    jsonb_build_object('tags', 'each must be 1 '
				    'to 50 characters'));
			END IF;
		END LOOP;
		SELECT coalesce(array_agg(DISTINCT btrim(x) ORDER BY btrim(x)),
		    '{}') INTO v_tags
		FROM jsonb_array_elements_text(p_in -> 'tags') x;
	END IF;
	FOR k IN SELECT unnest(ARRAY['blocked', 'pinned']) LOOP
		IF p_in ? k AND jsonb_typeof(p_in -> k) <> 'boolean' THEN
			PERFORM app.fail(422, 'VALIDATION_FAILED',
			    k || ' must be true or false',
			    jsonb_build_object(k, 'must be true or false'));
		END IF;
	END LOOP;
	UPDATE contacts SET
	    display_name = CASE WHEN p_in ? 'display_name' THEN v_name
		ELSE display_name END,
	    tags = coalesce(v_tags, tags),
	    blocked = coalesce((p_in ->> 'blocked')::boolean, blocked),
	    pinned = coalesce((p_in ->> 'pinned')::boolean, pinned),
	    updated_at = now()
	WHERE org_id = c.org_id AND id = ct.id RETURNING * INTO ct;
	IF p_in ? 'blocked' THEN
		PERFORM app.audit(c, CASE WHEN ct.blocked THEN
		    'contact_blocked' ELSE 'contact_unblocked' END,
		    ct.id::text, '{}', p_srv);
	END IF;
	status := 200;
	body := app.contact_json(ct);
END $$;

-- ---------------------------------------------------------------- stats

-- A date query argument (YYYY-MM-DD), or p_default when absent.
CREATE FUNCTION app.query_date(p_srv jsonb, p_name text, p_default date)
RETURNS date LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	s	text := p_srv #>> ARRAY['query', p_name];
BEGIN
	IF s IS NULL THEN
		RETURN p_default;
	END IF;
	IF s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
		PERFORM app.fail(400, 'INVALID_QUERY', p_name ||
		    ' must be a date (YYYY-MM-DD)', jsonb_build_object(p_name,
		    'must be a date (YYYY-MM-DD)'));
	END IF;
	BEGIN
		RETURN s::date;
	EXCEPTION WHEN others THEN
		PERFORM app.fail(400, 'INVALID_QUERY', p_name ||
		    ' is not a valid date', jsonb_build_object(p_name,
		    'is not a valid date'));
	END;
END $$;

-- GET /stats?from=&to=&channel_id=: days in UTC, both ends included
-- (default: the last 30 days), at most 366 days.
--   per_day          messages in and out per channel and day
--   delivery         of what we sent (agent messages): how many the
--                    provider took, were delivered, read, failed; rates
--                    over those taken
--   failures         failed messages by error code
--   first_response   per conversation that began in the range, the
--                    time from the customer's first message to the
--                    first reply through us: median and count
CREATE FUNCTION api.stats(p_auth text, p_in jsonb, p_srv jsonb,
    OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	v_to	date := app.query_date(p_srv, 'to',
		    (now() AT TIME ZONE 'UTC')::date);
	v_from	date := app.query_date(p_srv, 'from', v_to - 29);
	v_chan	uuid := app.query_uuid(p_srv, 'channel_id');
	v_lo	timestamptz;
	v_hi	timestamptz;
	v_days	jsonb;
	v_deliv	jsonb;
	v_fail	jsonb;
	v_first	jsonb;
BEGIN
	IF v_from > v_to OR v_to - v_from > 365 THEN
		PERFORM app.fail(400, 'INVALID_QUERY',
		    'from must not be after to, and at most 366 days before it',
		    jsonb_build_object('from', 'out of range'));
	END IF;
	v_lo := v_from::timestamp AT TIME ZONE 'UTC';
	v_hi := (v_to + 1)::timestamp AT TIME ZONE 'UTC';

	SELECT coalesce(jsonb_agg(jsonb_build_object('day', d.day,
	    'channel_id', d.channel_id, 'in', d.n_in, 'out', d.n_out)
	    ORDER BY d.day, d.channel_id), '[]') INTO v_days
	FROM (SELECT (m.at AT TIME ZONE 'UTC')::date AS day, m.channel_id,
		count(*) FILTER (WHERE m.direction = 'in') AS n_in,
		count(*) FILTER (WHERE m.direction = 'out') AS n_out
	    FROM messages m
	    WHERE m.org_id = c.org_id AND m.at >= v_lo AND m.at < v_hi
	    AND (v_chan IS NULL OR m.channel_id = v_chan)
	    GROUP BY 1, 2) d;

	SELECT jsonb_build_object('sent', s.sent, 'delivered', s.delivered,
	    'read', s.nread, 'failed', s.failed, 'queued', s.queued,
	    'delivery_rate', CASE WHEN s.sent > 0
		THEN round(s.delivered::numeric / s.sent, 4) END,
	    'read_rate', CASE WHEN s.sent > 0
		THEN round(s.nread::numeric / s.sent, 4) END)
	INTO v_deliv
	FROM (SELECT
		count(*) FILTER (WHERE m.sent_at IS NOT NULL OR
		    app.status_rank(m.status) BETWEEN 1 AND 4) AS sent,
		count(*) FILTER (WHERE m.delivered_at IS NOT NULL OR
		    app.status_rank(m.status) BETWEEN 2 AND 4) AS delivered,
		count(*) FILTER (WHERE m.read_at IS NOT NULL OR
		    app.status_rank(m.status) BETWEEN 3 AND 4) AS nread,
		count(*) FILTER (WHERE m.status = 'failed') AS failed,
		count(*) FILTER (WHERE m.status = 'queued') AS queued
	    FROM messages m
	    WHERE m.org_id = c.org_id AND m.direction = 'out'
	    AND m.sender = 'agent' AND m.at >= v_lo AND m.at < v_hi
	    AND (v_chan IS NULL OR m.channel_id = v_chan)) s;

	SELECT coalesce(jsonb_agg(jsonb_build_object('code', f.code,
	    'title', f.title, 'count', f.n) ORDER BY f.n DESC, f.code), '[]')
	INTO v_fail
	FROM (SELECT coalesce(m.error_code, 'UNKNOWN') AS code,
		max(m.error_title) AS title, count(*) AS n
	    FROM messages m
	    WHERE m.org_id = c.org_id AND m.direction = 'out'
	    AND m.status = 'failed' AND m.at >= v_lo AND m.at < v_hi
	    AND (v_chan IS NULL OR m.channel_id = v_chan)
	    GROUP BY 1) f;

	SELECT jsonb_build_object(
	    'median_seconds', round(percentile_cont(0.5) WITHIN GROUP
		(ORDER BY extract(epoch FROM r.answered - r.asked))::numeric,
		1),
	    'answered', count(r.answered),
	    'unanswered', count(*) - count(r.answered))
	INTO v_first
	FROM (SELECT fi.asked, (SELECT min(o.at) FROM messages o
		WHERE o.org_id = c.org_id AND o.conversation_id = fi.id
		AND o.direction = 'out' AND o.sender = 'agent'
		AND o.at >= fi.asked) AS answered
	    FROM (SELECT cv.id, (SELECT min(i.at) FROM messages i
		    WHERE i.org_id = c.org_id AND i.conversation_id = cv.id
		    AND i.direction = 'in') AS asked
		FROM conversations cv
		WHERE cv.org_id = c.org_id
		AND (v_chan IS NULL OR cv.channel_id = v_chan)) fi
	    WHERE fi.asked >= v_lo AND fi.asked < v_hi) r;

	status := 200;
	body := jsonb_build_object('from', v_from, 'to', v_to,
	    'channel_id', v_chan, 'per_day', v_days, 'delivery', v_deliv,
	    'failures', v_fail, 'first_response', v_first);
END $$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA app, api TO inbox_app;
