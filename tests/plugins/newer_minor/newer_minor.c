/* newer_minor: declares a minor newer than the host's; refused. */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR + 1,
	.size = sizeof(struct inbox_plugin),
	.name = "newer_minor", .display_name = "Newer minor",
	.version = "1.1.0", .capabilities = INBOX_CAP_TEXT, STUB_FUNCS
};

INBOX_PLUGIN_DEFINE(desc)
