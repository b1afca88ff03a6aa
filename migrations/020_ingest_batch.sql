-- 020: several webhook deliveries stored by one statement (group commit).
--
-- The endpoint (app/ingest.c) gathers the deliveries that are ready to
-- be stored while the worker's previous statements run, and sends them
-- together: one transaction, one commit, one round trip, where each
-- used to cost its own. Each delivery is still exactly what
-- api.webhook_ingest() makes of it, and its row of the result is what
-- that delivery is answered with, once the whole statement committed.
--
-- A transaction now holds the locks of several deliveries until its
-- commit, so two concurrent batches must take them in the same order or
-- they could deadlock (a deadlock costs deadlock_timeout, then the
-- batch is stored again one delivery at a time). The rows a delivery locks
-- are those of its sender on its receiving account: the conversation
-- (contact and channel), the messages a status names. So deliveries are
-- applied in the order of (routing key, sender) of their first event,
-- and in arrival order for the same sender, which keeps one customer's
-- messages in the order they came.
CREATE FUNCTION api.webhook_ingest_batch(p_endpoint text[], p_meta text[],
    p_events text[], p_body text[])
RETURNS TABLE (i int, status int, body jsonb)
LANGUAGE plpgsql AS $$
DECLARE
	x	record;
	r	record;
BEGIN
	IF cardinality(p_endpoint) IS DISTINCT FROM cardinality(p_meta) OR
	    cardinality(p_endpoint) IS DISTINCT FROM cardinality(p_events) OR
	    cardinality(p_endpoint) IS DISTINCT FROM cardinality(p_body) THEN
		RAISE EXCEPTION 'webhook_ingest_batch: arrays differ in length';
	END IF;
	-- Several deliveries: no savepoint per routing key (019,
	-- app.webhook_key); any failure fails them all and the server
	-- stores each again alone.
	PERFORM set_config('app.ingest_batch',
	    CASE WHEN cardinality(p_endpoint) > 1 THEN 'on' ELSE 'off' END,
	    true);
	-- MATERIALIZED: each delivery's events are parsed once, not once
	-- per sort key.
	FOR x IN
		WITH d AS MATERIALIZED (
			SELECT u.n, u.e, u.m::jsonb AS m, u.ev::jsonb AS ev, u.b
			FROM unnest(p_endpoint, p_meta, p_events, p_body)
			    WITH ORDINALITY u(e, m, ev, b, n))
		SELECT * FROM d
		ORDER BY d.ev -> 0 ->> 'routing_key',
		    coalesce(d.ev #>> '{0,contact,external_id}',
			d.ev #>> '{0,recipient}',
			d.ev #>> '{0,contact_external_id}'),
		    d.n
	LOOP
		SELECT * INTO r FROM api.webhook_ingest(x.e, x.m, x.ev, x.b);
		i := x.n;
		status := r.status;
		body := r.body;
		RETURN NEXT;
	END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION api.webhook_ingest_batch(text[], text[], text[],
    text[]) TO inbox_app;
