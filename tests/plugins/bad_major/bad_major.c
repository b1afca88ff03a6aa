/* bad_major: declares ABI 2.0; a 1.x host must refuse it. */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = 2, .abi_minor = 0, .size = sizeof(struct inbox_plugin),
	.name = "bad_major", .display_name = "Bad major", .version = "2.0.0",
	.capabilities = INBOX_CAP_TEXT, STUB_FUNCS
};

INBOX_PLUGIN_DEFINE(desc)
