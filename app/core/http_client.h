/*
 * http_client.h: sending a plugin-built request with libcurl.
 */
#ifndef HTTP_CLIENT_H
#define HTTP_CLIENT_H

#include <stddef.h>

#include <curl/curl.h>

#include "inbox_plugin.h"

#define HTTP_RESULT_HEADERS	32
#define HTTP_RESULT_BODY_MAX	(1024 * 1024)

/*
 * A provider's answer. status is 0 when no answer came (error says why;
 * timed_out tells a timeout apart). Owns its memory: http_result_free().
 */
struct http_result {
	int			 status;
	int			 timed_out;
	char			 error[CURL_ERROR_SIZE];
	struct inbox_header	 headers[HTTP_RESULT_HEADERS];
	size_t			 nheaders;
	char			*body;
	size_t			 body_len;
	/* private */
	struct curl_slist	*req_headers;
};

/* Blocking: for task threads and tools. Returns 0 if an answer came. */
int	 http_client_perform(const struct inbox_http_request *, long,
	    struct http_result *);
/* A configured easy handle for a curl multi loop; finish with
 * http_client_done() once curl reports it complete. NULL on failure. */
CURL	*http_client_prepare(const struct inbox_http_request *, long,
	    struct http_result *);
void	 http_client_done(CURL *, CURLcode, struct http_result *);
/* The answer as the plugin ABI wants it (points into res). */
void	 http_result_response(const struct http_result *,
	    struct inbox_http_response *);
void	 http_result_free(struct http_result *);

#endif
