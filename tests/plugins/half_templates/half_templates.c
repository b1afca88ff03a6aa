/*
 * half_templates: an ABI 1.1 plugin with templates_build but no
 * templates_parse; refused (the pair is both or neither).
 */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "half_templates", .display_name = "Half templates",
	.version = "1.1.0", .capabilities = INBOX_CAP_TEXT, STUB_FUNCS,
	.templates_build = stub_templates_build,
};

INBOX_PLUGIN_DEFINE(desc)
