/*
 * wa_send.h: the body of a WhatsApp send (providers.md §1.8), which the
 * Cloud API and 360dialog share to the byte; only the URL and the
 * authentication differ, and those are each plugin's. Also reading the
 * message id from the answer, which has the same shape on both.
 */
#ifndef PLUGIN_WA_SEND_H
#define PLUGIN_WA_SEND_H

#include "inbox_plugin.h"
#include "common/outmsg.h"
#include "common/pjson.h"

/* Limits, in characters (providers.md §1.8, §1.13). */
#define WA_TEXT_MAX		4096
#define WA_CAPTION_MAX		1024
#define WA_IA_BODY_MAX		1024
#define WA_IA_HEADER_MAX	60
#define WA_IA_FOOTER_MAX	60
#define WA_BUTTON_ID_MAX	256
#define WA_LIST_BUTTON_MAX	20
#define WA_LIST_SECTIONS_MAX	10
#define WA_LIST_ROWS_MAX	10
#define WA_SECTION_TITLE_MAX	24
#define WA_ROW_ID_MAX		200
#define WA_ROW_TITLE_MAX	24
#define WA_ROW_DESC_MAX		72
/* biz_opaque_callback_data, in bytes. */
#define WA_CALLBACK_DATA_MAX	512

#pragma GCC visibility push(hidden)

int	wa_send_body(struct pj_build *, const struct outmsg *, const void *,
	    struct pj_value **);
void	wa_sent_result(const struct pj_value *, struct inbox_result *);

#pragma GCC visibility pop

#endif /* !PLUGIN_WA_SEND_H */
