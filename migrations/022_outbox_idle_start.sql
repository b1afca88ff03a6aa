-- 022: an idle slow lane waits for its random start.
--
-- An idle lane starts at a random point of its first interval (007), so
-- that channels queued together do not send in step. For a channel
-- slower than one message per horizon (send_rate below 4/s with the
-- dispatcher's 250 ms), that point often lies beyond the horizon: the
-- claim took nothing and left next_at in the past, so the lane's wake_at
-- was its due message, already come, and every dispatcher claimed it
-- again at once, drawing anew, until a draw landed within the horizon
-- (about gap/horizon claims in all: four for 1/s). Now the drawn start
-- becomes next_at and the lane wakes when it comes within the horizon.
-- The rest of the function is 007's.

-- The dispatcher's claim, in one statement: up to p_opts.max messages,
-- round-robin over the channels that have work (least recently served
-- first, one channel of each organization before a second of any), each
-- channel paced at its send_rate. Per message: the normalized outbound
-- message, the claim's attempt id and delay_ms, when to start the send
-- (its slot in the channel's pacing). Per channel: what is needed to
-- decrypt its credentials, sealed. next_ms: when any lane next wakes.
--   p_opts  {max, lanes, horizon_ms, lease_ms, max_attempts, max_age_s,
--            rate_factor}
CREATE OR REPLACE FUNCTION api.outbox_claim(p_worker text, p_opts jsonb) RETURNS jsonb
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
		IF v_k <= 0 THEN
			-- A start beyond the horizon is kept: the lane then
			-- sleeps until it comes within it (lane_next_wake),
			-- rather than being claimed again at once for another
			-- draw.
			l.next_at := v_start;
		ELSE
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
