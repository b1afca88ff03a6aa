/* dup_a: loads as "dup" version 1.0.0; see dup_b. */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "dup", .display_name = "Dup A", .version = "1.0.0",
	.capabilities = INBOX_CAP_TEXT, STUB_FUNCS
};

INBOX_PLUGIN_DEFINE(desc)
