/*
 * wa_templates.h: a WhatsApp account's message templates, as the Cloud
 * API's message_templates edge (providers.md §1) and 360dialog's
 * /v1/configs/templates (§2) list them, in the host's shape (struct
 * inbox_templates, docs/plugins.md). Both list Meta's template objects;
 * they differ in where the list sits and how it pages, which is each
 * plugin's.
 */
#ifndef PLUGIN_WA_TEMPLATES_H
#define PLUGIN_WA_TEMPLATES_H

#include "inbox_plugin.h"
#include "common/pjson.h"

/* Templates asked for per page: a WABA holds up to a few thousand. */
#define WA_TEMPLATES_PAGE	100

#pragma GCC visibility push(hidden)

int	wa_templates_list(const struct inbox_call *, const struct pj_value *,
	    struct inbox_templates *);

#pragma GCC visibility pop

#endif /* !PLUGIN_WA_TEMPLATES_H */
