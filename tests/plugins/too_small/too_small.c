/* too_small: a size that stops before send_build, smaller than 1.0's. */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = offsetof(struct inbox_plugin, send_build),
	.name = "too_small", .display_name = "Too small", .version = "1.0.0",
	.capabilities = INBOX_CAP_TEXT, STUB_FUNCS
};

INBOX_PLUGIN_DEFINE(desc)
