/* no_send_build: claims a send capability without send_build. */
#include "../stub.h"

static const struct inbox_plugin desc = {
	.abi_major = INBOX_ABI_MAJOR, .abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_plugin),
	.name = "no_send_build", .display_name = "No send_build",
	.version = "1.0.0", .capabilities = INBOX_CAP_REACTION,
	.test_build = stub_test_build, .classify = stub_classify
};

INBOX_PLUGIN_DEFINE(desc)
