-- 015: failed-login counters are forgotten once they no longer count.
--
-- A row older than the throttle window is ignored by app.throttle_check
-- and restarted by app.throttle_failed, so deleting it changes nothing,
-- but nothing deleted them: a password-spraying run over random
-- addresses left a row per address and per email for ever. Each failure
-- now also removes a few such rows (more than the two it can add), so
-- the table stays the size of the current window's failures, without a
-- cron job.

CREATE INDEX login_throttle_last_failure ON login_throttle (last_failure);

CREATE OR REPLACE FUNCTION app.throttle_failed(p_email text, p_ip text)
RETURNS void LANGUAGE sql AS $$
	DELETE FROM login_throttle WHERE key IN (SELECT l.key
	    FROM login_throttle l
	    WHERE l.last_failure < now() - app.throttle_window()
	    ORDER BY l.last_failure LIMIT 8 FOR UPDATE SKIP LOCKED);
	INSERT INTO login_throttle AS l (key, failures)
	VALUES ('acct:' || p_email, 1), ('ip:' || p_ip, 1)
	ON CONFLICT (key) DO UPDATE SET
	    failures = CASE WHEN l.last_failure < now() - app.throttle_window()
		THEN 1 ELSE l.failures + 1 END,
	    last_failure = now()
$$;
