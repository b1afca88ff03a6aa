/*
 * health.c: GET /api/v1/health, for load balancers and operators.
 *
 * 200 when the database answers, 503 when it does not, with the version
 * and the plugins this worker loaded either way.
 */
#include "app.h"

static const char SQL_PING[] = "SELECT 1";

static int	health_reply(struct call *, int);

static int
health_reply(struct call *c, int db_ok)
{
	json_t	*body;

	body = json_pack("{s:s, s:s, s:s, s:o}",
	    "status", db_ok ? "ok" : "degraded",
	    "version", APP_VERSION,
	    "database", db_ok ? "ok" : "unreachable",
	    "plugins", plugins_names());
	return (reply_json(c->req, db_ok ? 200 : 503, body));
}

int
h_health(struct call *c)
{
	if (c->step == 0) {
		call_query(c, SQL_PING, 0);
		if (call_failed(c))
			return (health_reply(c, 0));
		return (CALL_WAIT);
	}
	return (health_reply(c, !call_failed(c)));
}
