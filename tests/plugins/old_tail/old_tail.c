/*
 * old_tail: what a plugin built against an older minor looks like to a
 * newer host. Its descriptor declares only the 1.0 size, and non-zero bytes
 * follow it in memory where a newer host's appended members would be: the
 * host must copy `size` bytes and read the rest as NULL/0. The header it
 * is built with has those members (1.1's templates_*), so they are set
 * here to what such memory could hold: bytes that are no pointers.
 */
#include <stdint.h>

#include "../stub.h"

#define JUNK	((uintptr_t)0xdedededededededeULL)

static const struct {
	struct inbox_plugin	desc;
	unsigned char		tail[64];
} image = {
	.desc = {
		.abi_major = INBOX_ABI_MAJOR, .abi_minor = 0,
		.size = STUB_SIZE_1_0,
		.name = "old_tail", .display_name = "Old tail",
		.version = "1.0.0", .capabilities = INBOX_CAP_TEXT, STUB_FUNCS,
		.templates_build = (int (*)(const struct inbox_call *,
		    const char *, struct inbox_http_request *))JUNK,
		.templates_parse = (int (*)(const struct inbox_call *,
		    const struct inbox_http_response *,
		    struct inbox_templates *))JUNK,
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
