/* no_register_build: claims INBOX_CAP_REGISTER without register_build. */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "no_register_build", .display_name = "No register_build",
	.version = "1.0.0", .capabilities = INBOX_CAP_TEXT | INBOX_CAP_REGISTER,
	STUB_FUNCS
};

INBOX_PLUGIN_DEFINE(desc)
