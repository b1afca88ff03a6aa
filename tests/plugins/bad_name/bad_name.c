/* bad_name: a name outside [a-z0-9_]{1,32}; refused. */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "Bad-Name", .display_name = "Bad name", .version = "1.0.0",
	.capabilities = INBOX_CAP_TEXT, STUB_FUNCS
};

INBOX_PLUGIN_DEFINE(desc)
