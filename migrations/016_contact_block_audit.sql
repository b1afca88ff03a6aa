-- 016: blocking a contact is audited when it changes, not whenever the
-- body names it: the UI (and any client that sends the whole form) wrote
-- a contact_blocked entry on every save of an already blocked contact.
-- The function as in 009, but for that test.

CREATE OR REPLACE FUNCTION api.contact_update(p_auth text, p_in jsonb,
    p_srv jsonb, OUT status int, OUT body jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
	c	app.ctx := app.authenticate(p_auth);
	ct	contacts%ROWTYPE := app.contact_find(c, p_srv);
	v_name	text;
	v_tags	text[];
	v_was	boolean := ct.blocked;
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
	IF ct.blocked IS DISTINCT FROM v_was THEN
		PERFORM app.audit(c, CASE WHEN ct.blocked THEN
		    'contact_blocked' ELSE 'contact_unblocked' END,
		    ct.id::text, '{}', p_srv);
	END IF;
	status := 200;
	body := app.contact_json(ct);
END $$;
