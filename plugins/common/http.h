/*
 * http.h: building the requests a plugin hands to the host, and reading
 * the plain HTTP part of a provider's answer (status, Retry-After).
 *
 * Every string a request points to is copied into the call's arena, as
 * inbox_plugin.h requires.
 */
#ifndef PLUGIN_HTTP_H
#define PLUGIN_HTTP_H

#include <stdint.h>

#include "inbox_plugin.h"
#include "common/pjson.h"

/* Longest Retry-After we pass on: a day. */
#define HTTP_RETRY_AFTER_MAX	86400

#pragma GCC visibility push(hidden)

int		 http_base(const struct inbox_call *, const char *,
		    const char **);
int		 http_init(const struct inbox_call *,
		    struct inbox_http_request *, const char *, const char *);
int		 http_header(const struct inbox_call *,
		    struct inbox_http_request *, const char *, const char *);
int		 http_bearer(const struct inbox_call *,
		    struct inbox_http_request *, const char *);
int		 http_json(const struct inbox_call *,
		    struct inbox_http_request *, const struct pj_value *);
const char	*http_escape(const struct inbox_call *, const char *);
int		 http_printable(const char *);
int		 http_digits(const char *);
const char	*http_resp_header(const struct inbox_http_response *,
		    const char *);
uint32_t	 http_retry_after(const struct inbox_http_response *);
void		 http_classify_status(const struct inbox_http_response *,
		    struct inbox_result *);

#pragma GCC visibility pop

#endif /* !PLUGIN_HTTP_H */
