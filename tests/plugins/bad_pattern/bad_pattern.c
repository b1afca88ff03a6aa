/* bad_pattern: a credential field whose pattern is not a valid ERE. */
#include "../stub.h"

static const struct inbox_field fields[] = {
	{ .name = "token", .label = "Token", .pattern = "([a-z",
	    .flags = INBOX_FIELD_SECRET | INBOX_FIELD_REQUIRED,
	    .max_len = 64 },
};

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "bad_pattern", .display_name = "Bad pattern",
	.version = "1.0.0", .capabilities = INBOX_CAP_TEXT,
	.fields = fields, .nfields = 1, STUB_FUNCS
};

INBOX_PLUGIN_DEFINE(desc)
