/*
 * templates_ok: an ABI 1.1 plugin that lists message templates; loads,
 * and the host says it has them.
 */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "templates_ok", .display_name = "Templates",
	.version = "1.1.0", .capabilities = INBOX_CAP_TEXT, STUB_FUNCS,
	.templates_build = stub_templates_build,
	.templates_parse = stub_templates_parse,
};

INBOX_PLUGIN_DEFINE(desc)
