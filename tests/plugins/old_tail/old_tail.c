/*
 * old_tail: what a plugin built against an older minor looks like to a
 * newer host. Its descriptor declares only the 1.0 size, and non-zero bytes
 * follow it in memory where a newer host's appended members would be: the
 * host must copy `size` bytes and read the rest as NULL/0.
 */
#include "../stub.h"

static const struct {
	struct inbox_plugin	desc;
	unsigned char		tail[64];
} image = {
	.desc = {
		.abi_major = INBOX_ABI_MAJOR, .abi_minor = 0,
		.size = STUB_SIZE_1_0,
		.name = "old_tail", .display_name = "Old tail",
		.version = "1.0.0", .capabilities = INBOX_CAP_TEXT, STUB_FUNCS
	},
	.tail = { 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
	    0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
	    0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
	    0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef },
};

const struct inbox_plugin	*inbox_plugin_entry(const struct inbox_host *);

const struct inbox_plugin *
inbox_plugin_entry(const struct inbox_host *host)
{
	(void)host;
	return (&image.desc);
}
