/*
 * inbox_plugin.h: the one header a channel plugin includes.
 *
 * A channel plugin is a shared object exporting one function,
 * inbox_plugin_entry(). The host calls it once with its service table and
 * gets back a const descriptor: the plugin's name, capabilities, the
 * credential fields a tenant fills in, and the functions below.
 *
 * Plugins are pure. They build HTTP requests and parse or classify what
 * providers send back; the host does every read and write on the network
 * and the database, holds the secrets, and owns all memory a plugin hands
 * back. Every function receives a struct inbox_call: allocate from its
 * arena (freed by the host after the call), read the channel's decrypted
 * credentials from it, log through its host table. A plugin keeps no
 * mutable globals, never frees host memory and never exits.
 *
 * Compatibility: the host accepts a plugin of the same major and a minor
 * not newer than its own. Fields are only ever appended; the host copies
 * `size` bytes of the descriptor into a zeroed struct, so fields an older
 * plugin does not know read as NULL/0, and it checks `size` before it
 * uses a field appended after 1.0.
 *
 * Changelog
 *   1.0 (2026-11-21)  First version: credential fields, connection test,
 *                     webhook registration, webhook parsing into
 *                     normalized events, send building, response
 *                     classification.
 *   1.1 (2026-11-21)  Message templates: templates_build and
 *                     templates_parse appended to struct inbox_plugin
 *                     (optional, both or neither), struct
 *                     inbox_templates, and INBOX_OP_TEMPLATES, which
 *                     classify() is given for their answers. A 1.0
 *                     plugin loads unchanged and lists no templates.
 */
#ifndef INBOX_PLUGIN_H
#define INBOX_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define INBOX_ABI_MAJOR		1
#define INBOX_ABI_MINOR		1

/* The symbol every plugin exports. */
#define INBOX_PLUGIN_ENTRY	"inbox_plugin_entry"

/* Return values of plugin functions. */
#define INBOX_OK		0
#define INBOX_EINVAL		-1	/* input is malformed */
#define INBOX_EUNSUPPORTED	-2	/* not something this channel can do */
#define INBOX_ENOMEM		-3	/* the arena is exhausted */

/* Log levels for inbox_host.log. */
#define INBOX_LOG_ERR		0
#define INBOX_LOG_WARN		1
#define INBOX_LOG_INFO		2
#define INBOX_LOG_DEBUG		3

struct inbox_arena;

/*
 * The host's services. Valid for the life of the process; every call gets
 * it again through inbox_call, so a plugin never needs to store it.
 */
struct inbox_host {
	uint32_t	abi_major;
	uint32_t	abi_minor;
	size_t		size;

	/* Zeroed memory from the call's arena, or NULL when exhausted. */
	void		*(*alloc)(struct inbox_arena *, size_t);
	/* A NUL-terminated copy of len bytes, in the arena. */
	char		*(*strndup)(struct inbox_arena *, const char *, size_t);
	/* printf into the arena. */
	char		*(*printf)(struct inbox_arena *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));
	/* Never pass secrets to log. */
	void		 (*log)(int, const char *, const char *, ...)
			    __attribute__((format(printf, 3, 4)));
	void		 (*hmac_sha256)(const uint8_t *, size_t,
			    const uint8_t *, size_t, uint8_t [32]);
	/* Constant-time compare: 0 when equal. */
	int		 (*memcmp_ct)(const void *, const void *, size_t);
	/* Configuration by name (GRAPH_API_BASE, D360_API_BASE, ...). */
	const char	*(*config)(const char *);
};

/* One credential value of a channel, decrypted for this call only. */
struct inbox_cred {
	const char	*name;
	const char	*value;
};

/* What every plugin function receives. */
struct inbox_call {
	const struct inbox_host	*host;
	struct inbox_arena	*arena;
	const struct inbox_cred	*creds;
	size_t			 ncreds;
};

/* The credential value called name, or NULL. */
static inline const char *
inbox_cred_get(const struct inbox_call *call, const char *name)
{
	size_t	i, j;

	for (i = 0; i < call->ncreds; i++) {
		for (j = 0; name[j] != '\0' &&
		    name[j] == call->creds[i].name[j]; j++)
			;
		if (name[j] == '\0' && call->creds[i].name[j] == '\0')
			return (call->creds[i].value);
	}
	return (NULL);
}

/* Credential field flags. */
#define INBOX_FIELD_SECRET	0x01	/* encrypted, never shown again */
#define INBOX_FIELD_REQUIRED	0x02
#define INBOX_FIELD_ROUTING	0x04	/* its value is the routing key */
#define INBOX_FIELD_APP_SECRET	0x08	/* tenant's own webhook signing key */

struct inbox_field {
	const char	*name;		/* [a-z0-9_]{1,32} */
	const char	*label;		/* shown in the connect form */
	const char	*hint;		/* format hint shown under the field */
	const char	*pattern;	/* POSIX ERE the whole value matches */
	uint32_t	 flags;
	uint32_t	 max_len;	/* bytes */
};

#define INBOX_MAX_HEADERS	8

struct inbox_header {
	const char	*name;
	const char	*value;
};

/* A request the host will send. Everything points into the arena. */
struct inbox_http_request {
	const char		*method;	/* "GET", "POST", ... */
	const char		*url;
	struct inbox_header	 headers[INBOX_MAX_HEADERS];
	size_t			 nheaders;
	const char		*body;		/* NULL for none */
	size_t			 body_len;
};

/* A provider's answer, as the host received it. */
struct inbox_http_response {
	int				 status;
	const struct inbox_header	*headers;	/* names lowercase */
	size_t				 nheaders;
	const char			*body;
	size_t				 body_len;
};

/* What a provider's answer means. */
#define INBOX_OUTCOME_OK	1	/* done */
#define INBOX_OUTCOME_RETRY	2	/* transient: throttled, 5xx, down */
#define INBOX_OUTCOME_PERMANENT	3	/* will never succeed as it is */
#define INBOX_OUTCOME_AUTH	4	/* credentials rejected */
#define INBOX_OUTCOME_NOT_FOUND	5	/* no such account for these creds */

struct inbox_result {
	int		 outcome;
	const char	*message_id;	/* send: the provider's message id */
	const char	*routing_key;	/* test: the account id confirmed */
	const char	*account_name;	/* test: a display name or number */
	uint32_t	 retry_after;	/* RETRY: seconds, 0 = host decides */
	const char	*error_code;	/* the provider's code, as text */
	const char	*error_title;	/* the provider's message */
};

/* Which request classify() is looking at. */
#define INBOX_OP_TEST		1
#define INBOX_OP_REGISTER	2
#define INBOX_OP_SEND		3
#define INBOX_OP_TEMPLATES	4	/* 1.1: templates_build's request */

/* Webhook authentication, done by the host over the raw bytes. */
#define INBOX_WEBHOOK_NONE		0
#define INBOX_WEBHOOK_META_SIGNATURE	1	/* X-Hub-Signature-256 */
#define INBOX_WEBHOOK_CHANNEL_SECRET	2	/* per-channel secret header */

/*
 * A parsed webhook delivery: a JSON array of normalized events (the
 * schema is in docs/plugins.md) and the distinct routing keys they name.
 */
struct inbox_parsed {
	const char	 *events;
	size_t		  events_len;
	const char	**routing_keys;
	size_t		  nrouting_keys;
};

/*
 * 1.1: one page of the account's message templates. templates is a JSON
 * array of {"name", "language", "status", "category", "components"}
 * (the schema is in docs/plugins.md); next is the cursor of the page
 * after this one, NULL on the last. Everything points into the arena.
 */
struct inbox_templates {
	const char	*templates;
	size_t		 templates_len;
	const char	*next;
};

/* Capabilities. */
#define INBOX_CAP_TEXT		(1u << 0)
#define INBOX_CAP_MEDIA		(1u << 1)
#define INBOX_CAP_TEMPLATE	(1u << 2)
#define INBOX_CAP_INTERACTIVE	(1u << 3)
#define INBOX_CAP_REACTION	(1u << 4)
#define INBOX_CAP_WEBHOOK	(1u << 5)	/* receives webhooks */
#define INBOX_CAP_CARE_WINDOW	(1u << 6)	/* free-form only 24 h after
						   the customer last wrote */
#define INBOX_CAP_REGISTER	(1u << 7)	/* connect registers our
						   webhook with the provider */

struct inbox_plugin {
	uint32_t		 abi_major;
	uint32_t		 abi_minor;
	size_t			 size;		/* sizeof(struct inbox_plugin) */

	const char		*name;		/* [a-z0-9_]{1,32}, unique */
	const char		*display_name;
	const char		*version;
	const char		*family;	/* whatsapp, messenger, ... */
	uint32_t		 capabilities;
	const struct inbox_field *fields;
	size_t			 nfields;

	/* Webhooks: the Meta "object" this plugin claims, or NULL. */
	const char		*webhook_object;
	int			 webhook_auth;
	/* Default sends per second per sending account. */
	uint32_t		 send_rate;

	/* Required: the cheapest request that proves the credentials. */
	int	(*test_build)(const struct inbox_call *,
		    struct inbox_http_request *);
	/* Required: what a provider's answer to any op means. */
	int	(*classify)(const struct inbox_call *, int,
		    const struct inbox_http_response *, struct inbox_result *);
	/* With INBOX_CAP_REGISTER: point the provider's webhooks at url,
	 * sending header_name: header_value with each. */
	int	(*register_build)(const struct inbox_call *, const char *,
		    const char *, const char *, struct inbox_http_request *);
	/* With INBOX_CAP_WEBHOOK: a raw body into normalized events.
	 * INBOX_EINVAL when the body is not a JSON object or has duplicate
	 * keys; anything else well-formed is INBOX_OK, even when no event
	 * in it is usable. */
	int	(*webhook_parse)(const struct inbox_call *, const char *,
		    size_t, struct inbox_parsed *);
	/* With any send capability: a normalized outbound message (JSON,
	 * schema in docs/plugins.md) into the provider's request.
	 * INBOX_EUNSUPPORTED for a type this channel cannot send. */
	int	(*send_build)(const struct inbox_call *, const char *, size_t,
		    struct inbox_http_request *);

	/* 1.1, optional (both or neither): the account's message
	 * templates, a page at a time. templates_build: the request for the
	 * page at cursor (NULL for the first; else a next that
	 * templates_parse returned). The host classifies the answer with
	 * classify(INBOX_OP_TEMPLATES) and hands only an OK one to
	 * templates_parse, which is INBOX_EINVAL when it is not the
	 * provider's documented shape. */
	int	(*templates_build)(const struct inbox_call *, const char *,
		    struct inbox_http_request *);
	int	(*templates_parse)(const struct inbox_call *,
		    const struct inbox_http_response *,
		    struct inbox_templates *);
};

typedef const struct inbox_plugin *(*inbox_plugin_entry_fn)(
    const struct inbox_host *);

/* Define the entry point: INBOX_PLUGIN_DEFINE(my_descriptor); */
#define INBOX_PLUGIN_DEFINE(desc)					\
	const struct inbox_plugin *inbox_plugin_entry(			\
	    const struct inbox_host *);					\
	const struct inbox_plugin *					\
	inbox_plugin_entry(const struct inbox_host *host)		\
	{								\
		(void)host;						\
		return (&(desc));					\
	}

#endif /* !INBOX_PLUGIN_H */
