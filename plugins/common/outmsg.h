/*
 * outmsg.h: the normalized outbound message send_build receives (schema
 * in docs/plugins.md), loaded and checked for what every channel needs,
 * so each plugin only maps it onto its provider's request.
 */
#ifndef PLUGIN_OUTMSG_H
#define PLUGIN_OUTMSG_H

#include <jansson.h>

#include "inbox_plugin.h"

/* Reply buttons, on WhatsApp and in Messenger's button template. */
#define OUT_BUTTONS_MAX		3
#define OUT_BUTTON_TITLE_MAX	20

struct outmsg {
	json_t		*root;		/* owns everything below */
	const char	*to;
	const char	*to_user_id;
	const char	*client_ref;
	const char	*type;
	const char	*reply_to;
	const json_t	*text;
	const json_t	*template;
	const json_t	*media;
	const json_t	*interactive;
	const json_t	*reaction;
};

/*
 * A plugin's two halves of send_build: the provider's body for a message
 * (opts is the plugin's own), and the request that carries it.
 */
typedef int	(*out_body_fn)(const struct outmsg *, const void *,
		    json_t **);
typedef int	(*out_request_fn)(const struct inbox_call *,
		    struct inbox_http_request *);

#pragma GCC visibility push(hidden)

int	out_send_build(const struct inbox_call *, const char *, size_t,
	    out_body_fn, const void *, out_request_fn,
	    struct inbox_http_request *);
int	out_parse(const char *, size_t, struct outmsg *);
void	out_free(struct outmsg *);
int	out_is_media(const char *);
int	out_optional(const char *, size_t);
int	out_buttons(const json_t *, size_t);

#pragma GCC visibility pop

#endif /* !PLUGIN_OUTMSG_H */
