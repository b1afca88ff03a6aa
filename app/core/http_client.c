/*
 * http_client.c: sending a plugin-built request with libcurl.
 *
 * Plugins only describe requests; this is where they are sent, by the
 * kore module's task threads (connection tests) and by the dispatcher's
 * multi loop (sends). Answers are bounded: at most HTTP_RESULT_BODY_MAX
 * bytes of body and HTTP_RESULT_HEADERS headers, names lowercased, since
 * a provider (or something pretending to be one) decides their size.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"

static size_t	on_body(char *, size_t, size_t, void *);
static size_t	on_header(char *, size_t, size_t, void *);

static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct http_result	*res = arg;
	size_t			 len = size * n, room;
	char			*p;

	room = HTTP_RESULT_BODY_MAX - res->body_len;
	if (len > room)
		return (0);	/* aborts the transfer: CURLE_WRITE_ERROR */
	if ((p = realloc(res->body, res->body_len + len + 1)) == NULL)
		return (0);
	res->body = p;
	memcpy(res->body + res->body_len, data, len);
	res->body_len += len;
	res->body[res->body_len] = '\0';
	return (len);
}

static size_t
on_header(char *data, size_t size, size_t n, void *arg)
{
	struct http_result	*res = arg;
	size_t			 len = size * n, i, nlen;
	char			*colon, *name, *value;
	const char		*v, *end;

	/* A new status line (redirects, 100-continue) starts over. */
	if (len > 5 && strncmp(data, "HTTP/", 5) == 0) {
		for (i = 0; i < res->nheaders; i++) {
			free((char *)res->headers[i].name);
			free((char *)res->headers[i].value);
		}
		res->nheaders = 0;
		return (len);
	}
	if (res->nheaders == HTTP_RESULT_HEADERS ||
	    (colon = memchr(data, ':', len)) == NULL)
		return (len);
	nlen = colon - data;
	v = colon + 1;
	end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
	    end[-1] == ' '))
		end--;
	if ((name = strndup(data, nlen)) == NULL ||
	    (value = strndup(v, end - v)) == NULL) {
		free(name);
		return (len);
	}
	for (i = 0; i < nlen; i++)
		name[i] = tolower((unsigned char)name[i]);
	res->headers[res->nheaders].name = name;
	res->headers[res->nheaders].value = value;
	res->nheaders++;
	return (len);
}

/*
 * An easy handle for req, writing into res (zeroed here). The request's
 * strings must outlive the transfer.
 */
CURL *
http_client_prepare(const struct inbox_http_request *req, long timeout_ms,
    struct http_result *res)
{
	CURL		*curl;
	char		 line[1024];
	size_t		 i;

	memset(res, 0, sizeof(*res));
	if ((curl = curl_easy_init()) == NULL)
		return (NULL);
	for (i = 0; i < req->nheaders && i < INBOX_MAX_HEADERS; i++) {
		snprintf(line, sizeof(line), "%s: %s", req->headers[i].name,
		    req->headers[i].value);
		res->req_headers = curl_slist_append(res->req_headers, line);
	}
	/* No "Expect: 100-continue" round trip before small bodies. */
	res->req_headers = curl_slist_append(res->req_headers, "Expect:");
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, res->req_headers);
	if (req->body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->body_len);
	} else if (strcmp(req->method, "GET") == 0) {
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	}
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, res);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, res);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, res->error);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout_ms < 5000 ? timeout_ms : 5000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "team-inbox/1");
	return (curl);
}

void
http_client_done(CURL *curl, CURLcode rc, struct http_result *res)
{
	long	code = 0;

	if (rc == CURLE_OK) {
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
		res->status = (int)code;
	} else {
		res->status = 0;
		res->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
		if (res->error[0] == '\0')
			snprintf(res->error, sizeof(res->error), "%s",
			    curl_easy_strerror(rc));
	}
	curl_slist_free_all(res->req_headers);
	res->req_headers = NULL;
}

int
http_client_perform(const struct inbox_http_request *req, long timeout_ms,
    struct http_result *res)
{
	CURL		*curl;
	CURLcode	 rc;

	if ((curl = http_client_prepare(req, timeout_ms, res)) == NULL) {
		snprintf(res->error, sizeof(res->error), "curl_easy_init");
		return (-1);
	}
	rc = curl_easy_perform(curl);
	http_client_done(curl, rc, res);
	curl_easy_cleanup(curl);
	return (res->status == 0 ? -1 : 0);
}

void
http_result_response(const struct http_result *res,
    struct inbox_http_response *out)
{
	out->status = res->status;
	out->headers = res->headers;
	out->nheaders = res->nheaders;
	out->body = res->body != NULL ? res->body : "";
	out->body_len = res->body_len;
}

void
http_result_free(struct http_result *res)
{
	size_t	i;

	for (i = 0; i < res->nheaders; i++) {
		free((char *)res->headers[i].name);
		free((char *)res->headers[i].value);
	}
	res->nheaders = 0;
	free(res->body);
	res->body = NULL;
	curl_slist_free_all(res->req_headers);
	res->req_headers = NULL;
}
