/* no_classify: classify is required of every plugin; refused. */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "no_classify", .display_name = "No classify",
	.version = "1.0.0", .capabilities = INBOX_CAP_TEXT,
	.test_build = stub_test_build, .send_build = stub_send_build
};

INBOX_PLUGIN_DEFINE(desc)
