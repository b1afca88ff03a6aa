/*
 * reply.c: the API's response shapes, in one place.
 *
 * A failure is always {"success": false, "error": "human message",
 * "error_code": "MACHINE_CODE", "details": {...}} with its HTTP status; a
 * single resource is the object itself; a list is {"data": [...],
 * "next_cursor": ...} (built by the SQL functions). docs/api.md documents
 * the same shapes.
 */
#include "app.h"

/* Headers every API answer carries. */
void
reply_security_headers(struct http_request *req)
{
	http_response_header(req, "cache-control", "no-store");
	http_response_header(req, "x-content-type-options", "nosniff");
	http_response_header(req, "x-frame-options", "DENY");
	http_response_header(req, "referrer-policy", "same-origin");
}

/* Sends obj (a reference is stolen); NULL sends no body. */
int
reply_json(struct http_request *req, int status, json_t *obj)
{
	char	*s = NULL;

	if (obj != NULL && status != 204)
		s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (s == NULL) {
		reply_security_headers(req);
		http_response(req, obj == NULL || status == 204 ? status : 500,
		    NULL, 0);
		return (CALL_DONE);
	}
	reply_json_text(req, status, s, strlen(s));
	free(s);
	return (CALL_DONE);
}

/* Sends len bytes that are JSON already (a kept answer, say). */
int
reply_json_text(struct http_request *req, int status, const char *s,
    size_t len)
{
	reply_security_headers(req);
	http_response_header(req, "content-type",
	    "application/json; charset=utf-8");
	http_response(req, status, s, len);
	return (CALL_DONE);
}

/* details is stolen; NULL means {}. */
int
reply_error(struct http_request *req, int status, const char *code,
    const char *message, json_t *details)
{
	json_t	*body;

	if (details == NULL || !json_is_object(details)) {
		json_decref(details);
		details = json_object();
	}
	body = json_pack("{s:b, s:s, s:s, s:o}", "success", 0,
	    "error", message ? message : "Request failed",
	    "error_code", code ? code : "ERROR", "details", details);
	return (reply_json(req, status, body));
}

int
reply_text(struct http_request *req, int status, const char *s, size_t len)
{
	reply_security_headers(req);
	http_response_header(req, "content-type", "text/plain; charset=utf-8");
	http_response(req, status, s, len);
	return (CALL_DONE);
}
