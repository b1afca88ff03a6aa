/*
 * plugin_host.h: the host side of channel plugins (plugins/inbox_plugin.h).
 *
 * Loads plugins into a registry, refusing the ones this host cannot run,
 * gives them the host service table, sets up calls with a fresh arena and
 * a credential set, and validates a tenant's credentials against the
 * fields a plugin declares. No kore dependency: the embedding program
 * (the kore module, inboxctl, the dispatcher, inbox-plugin-check) supplies
 * logging and configuration through two callbacks.
 */
#ifndef PLUGIN_HOST_H
#define PLUGIN_HOST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "inbox_plugin.h"

/* Size of an ABI 1.0 descriptor: up to and including send_build. Fields
 * appended by later minors come after it and never change it. */
#define PLUGIN_DESC_SIZE_1_0						\
	(offsetof(struct inbox_plugin, send_build) +			\
	    sizeof(((struct inbox_plugin *)0)->send_build))
/* Size of an ABI 1.1 descriptor: up to and including templates_parse. */
#define PLUGIN_DESC_SIZE_1_1						\
	(offsetof(struct inbox_plugin, templates_parse) +		\
	    sizeof(((struct inbox_plugin *)0)->templates_parse))

#define PLUGIN_NAME_MAX		32
#define PLUGIN_FIELDS_MAX	32
/* Longest credential value accepted for a field that declares max_len 0. */
#define PLUGIN_CRED_MAX		4096
/*
 * Arena bytes a plugin may need per byte of JSON it parses. Measured on
 * 4 MiB bodies: a long array of one-digit numbers (pjson's tree: a
 * 24-byte node and vector growth per 2 bytes) 33; thousands of minimal
 * WhatsApp messages or statuses, Messenger messages, attachments or
 * deliveries, as Meta sends them, 17-26 with their events. Only bodies
 * of near-empty events ({"id","from"}: 12 bytes of events per byte) go
 * past it; the webhook answers those 413.
 */
#define PLUGIN_ARENA_PER_INPUT_BYTE	40
/* Capabilities that mean the plugin sends messages. */
#define PLUGIN_CAP_SEND							\
	(INBOX_CAP_TEXT | INBOX_CAP_MEDIA | INBOX_CAP_TEMPLATE |	\
	    INBOX_CAP_INTERACTIVE | INBOX_CAP_REACTION)

struct host_field;

/*
 * A loaded plugin. Read-only for callers; it belongs to its registry and
 * is valid until plugin_registry_free(). desc is the host's zeroed copy of
 * the plugin's descriptor, so fields appended after the plugin's minor are
 * NULL/0; the strings and functions it points to live in the plugin.
 */
struct host_plugin {
	struct inbox_plugin	 desc;
	char			*path;
	void			*dl;
	struct host_field	*fields;	/* compiled patterns */
};

struct plugin_registry;

/* The embedder's log sink: one line, no newline, never a secret. */
typedef void		 (*plugin_log_fn)(int, const char *);
/* The embedder's configuration lookup: a value or NULL. */
typedef const char	*(*plugin_config_fn)(const char *);

void			 plugin_host_set_log(plugin_log_fn);
void			 plugin_host_set_config(plugin_config_fn);
const struct inbox_host	*plugin_host_table(void);
void			 plugin_host_log(int, const char *, ...)
			    __attribute__((format(printf, 2, 3)));

struct plugin_registry	*plugin_registry_new(void);
void			 plugin_registry_free(struct plugin_registry *);
int			 plugin_registry_load(struct plugin_registry *,
			    const char *);
int			 plugin_registry_load_list(struct plugin_registry *,
			    const char *, const char *);
size_t			 plugin_count(const struct plugin_registry *);
const struct host_plugin *plugin_at(const struct plugin_registry *, size_t);
const struct host_plugin *plugin_find(const struct plugin_registry *,
			    const char *);
const struct host_plugin *plugin_find_webhook_object(
			    const struct plugin_registry *, const char *);
size_t			 plugin_desc_copy(void *, size_t,
			    const struct inbox_plugin *);
/* Whether p lists message templates (ABI 1.1 templates_*). */
int			 plugin_has_templates(const struct host_plugin *);

int			 plugin_call_begin(struct inbox_call *,
			    const struct inbox_cred *, size_t);
int			 plugin_call_begin_input(struct inbox_call *,
			    const struct inbox_cred *, size_t, size_t);
void			 plugin_call_end(struct inbox_call *);

int			 plugin_creds_validate(const struct host_plugin *,
			    const struct inbox_cred *, size_t, json_t *);

#endif /* !PLUGIN_HOST_H */
