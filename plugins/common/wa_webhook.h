/*
 * wa_webhook.h: WhatsApp webhook deliveries into normalized events.
 *
 * Meta's Cloud API and 360dialog (which hosts the Cloud API) post the
 * same envelope (providers.md §1.3-§1.6, §2.2), so both plugins parse
 * with this.
 */
#ifndef PLUGIN_WA_WEBHOOK_H
#define PLUGIN_WA_WEBHOOK_H

#include "inbox_plugin.h"

#pragma GCC visibility push(hidden)

int	wa_webhook_parse(const struct inbox_call *, const char *, size_t,
	    struct inbox_parsed *);

#pragma GCC visibility pop

#endif /* !PLUGIN_WA_WEBHOOK_H */
