-- 008: a channel with nothing left to send sleeps until something is
-- queued. app.lane_next_wake (007) returned its pacing time instead of
-- NULL when no message was waiting (greatest() ignores a NULL), so such
-- lanes stayed awake and every claim visited each of them again.
CREATE OR REPLACE FUNCTION app.lane_next_wake(l outbox_lanes,
    p_horizon interval)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
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
