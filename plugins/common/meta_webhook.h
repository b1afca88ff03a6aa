/*
 * meta_webhook.h: Messenger and Instagram webhook deliveries into
 * normalized events. Both post entry[].messaging[] (and standby[] when
 * another app owns the thread) with the same event keys; Instagram adds
 * a few attachment types, unsends and story replies (providers.md §3.2,
 * §4.1). Each entry point is a webhook_parse for one "object".
 */
#ifndef PLUGIN_META_WEBHOOK_H
#define PLUGIN_META_WEBHOOK_H

#include "inbox_plugin.h"

#pragma GCC visibility push(hidden)

int	meta_webhook_parse_page(const struct inbox_call *, const char *,
	    size_t, struct inbox_parsed *);
int	meta_webhook_parse_instagram(const struct inbox_call *, const char *,
	    size_t, struct inbox_parsed *);

#pragma GCC visibility pop

#endif /* !PLUGIN_META_WEBHOOK_H */
