/*
 * meta_send.h: the body of a Messenger or Instagram send. Both take
 * {"recipient":{"id"},"message":{...}} and sender actions for reactions
 * (providers.md §3.3, §4.2); what each can carry differs, and is said
 * by the options its plugin passes.
 */
#ifndef PLUGIN_META_SEND_H
#define PLUGIN_META_SEND_H

#include "inbox_plugin.h"
#include "common/outmsg.h"
#include "common/pjson.h"

/* Messenger's button template (characters). */
#define META_TEMPLATE_TEXT_MAX	640
#define META_PAYLOAD_MAX	1000
/* message.metadata, echoed back in message_echoes (characters). */
#define META_METADATA_MAX	1000

struct meta_send_opts {
	size_t	text_max;	/* characters in a text message */
	int	files;		/* documents, as attachment type "file" */
	int	buttons;	/* interactive buttons, as a button template */
	int	metadata;	/* client_ref in message.metadata */
	int	messaging_type;	/* "messaging_type":"RESPONSE" */
	int	love_only;	/* the only reaction is a heart, "love" */
};

#pragma GCC visibility push(hidden)

int	meta_send_body(struct pj_build *, const struct outmsg *, const void *,
	    struct pj_value **);
void	meta_sent_result(const struct pj_value *, struct inbox_result *);

#pragma GCC visibility pop

#endif /* !PLUGIN_META_SEND_H */
