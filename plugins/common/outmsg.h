/*
 * outmsg.h: the normalized outbound message send_build receives (schema
 * in docs/plugins.md), loaded and checked for what every channel needs,
 * so each plugin only maps it onto its provider's request.
 */
#ifndef PLUGIN_OUTMSG_H
#define PLUGIN_OUTMSG_H

#include "inbox_plugin.h"
#include "common/pjson.h"

/* Reply buttons, on WhatsApp and in Messenger's button template. */
#define OUT_BUTTONS_MAX		3
#define OUT_BUTTON_TITLE_MAX	20

/* The message as parsed into the call's arena; everything below is in
 * root. */
struct outmsg {
	const struct pj_value	*root;
	const char		*to;
	const char		*to_user_id;
	const char		*client_ref;
	const char		*type;
	const char		*reply_to;
	const struct pj_value	*text;
	const struct pj_value	*template;
	const struct pj_value	*media;
	const struct pj_value	*interactive;
	const struct pj_value	*reaction;
};

/*
 * A plugin's two halves of send_build: the provider's body for a message
 * (opts is the plugin's own), built with b into *bodyp, INBOX_EINVAL or
 * INBOX_EUNSUPPORTED for a message it cannot send (running out of arena
 * is b's); and the request that carries it.
 */
typedef int	(*out_body_fn)(struct pj_build *, const struct outmsg *,
		    const void *, struct pj_value **);
typedef int	(*out_request_fn)(const struct inbox_call *,
		    struct inbox_http_request *);

#pragma GCC visibility push(hidden)

int	out_send_build(const struct inbox_call *, const char *, size_t,
	    out_body_fn, const void *, out_request_fn,
	    struct inbox_http_request *);
int	out_is_media(const char *);
int	out_optional(const char *, size_t);
int	out_buttons(const struct pj_value *, size_t);

#pragma GCC visibility pop

#endif /* !PLUGIN_OUTMSG_H */
