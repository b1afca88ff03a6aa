/* no_webhook_parse: claims INBOX_CAP_WEBHOOK without webhook_parse. */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "no_webhook_parse", .display_name = "No webhook_parse",
	.version = "1.0.0", .capabilities = INBOX_CAP_TEXT | INBOX_CAP_WEBHOOK,
	STUB_FUNCS
};

INBOX_PLUGIN_DEFINE(desc)
