/* secret_routing: a routing field marked secret (the host must read
 * routing keys in the clear); refused. */
#include "../stub.h"

static const struct inbox_field fields[] = {
	{ .name = "page_id", .label = "Page id",
	    .flags = INBOX_FIELD_SECRET | INBOX_FIELD_ROUTING, .max_len = 32 },
};

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "secret_routing", .display_name = "Secret routing",
	.version = "1.0.0", .capabilities = INBOX_CAP_TEXT,
	.fields = fields, .nfields = 1, STUB_FUNCS
};

INBOX_PLUGIN_DEFINE(desc)
