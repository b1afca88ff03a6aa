/*
 * plugins.c: the channel plugins this server runs with.
 *
 * Loaded once in the parent (before the sandbox and the fork), so every
 * worker shares the mappings; a plugin the host refuses is logged and
 * left out, and the server starts with the others. GET /api/v1/plugins
 * describes them for the UI, which draws each connect form from the
 * declared credential fields.
 */
#include "app.h"
#include "plugin_host.h"

struct plugin_registry	*plugins;

static json_t		*plugins_webhook_info;

static void	plugin_log(int, const char *);
static json_t	*plugin_describe(const struct host_plugin *);
static json_t	*plugin_caps(uint32_t);

static void
plugin_log(int level, const char *line)
{
	kore_log(level == INBOX_LOG_ERR ? LOG_ERR : LOG_NOTICE, "%s", line);
}

void
plugins_init(void)
{
	const struct host_plugin	*p;
	size_t				 i;
	char				 url[512];
	json_t				*w;

	plugin_host_set_log(plugin_log);
	plugin_host_set_config(config_get);
	if ((plugins = plugin_registry_new()) == NULL)
		fatalx("plugins: out of memory");
	if (plugin_registry_load_list(plugins, app_config.plugin_dir,
	    app_config.plugins) == -1)
		fatalx("plugins: out of memory");

	/* Where each adapter's webhooks go, for the connect screen. */
	plugins_webhook_info = json_object();
	for (i = 0; i < plugin_count(plugins); i++) {
		p = plugin_at(plugins, i);
		if (!(p->desc.capabilities & INBOX_CAP_WEBHOOK))
			continue;
		snprintf(url, sizeof(url), "%s/api/v1/webhooks/%s",
		    app_config.public_url, p->desc.webhook_object != NULL ?
		    "meta" : p->desc.name);
		w = json_pack("{s:s}", "url", url);
		if (p->desc.webhook_object != NULL &&
		    app_config.meta_verify_token != NULL)
			json_object_set_new(w, "verify_token",
			    json_string(app_config.meta_verify_token));
		json_object_set_new(w, "registered_automatically",
		    json_boolean(p->desc.capabilities & INBOX_CAP_REGISTER));
		if (p->desc.webhook_auth == INBOX_WEBHOOK_CHANNEL_SECRET)
			json_object_set_new(w, "secret_header",
			    json_string(WEBHOOK_SECRET_HEADER));
		json_object_set_new(plugins_webhook_info, p->desc.name, w);
	}
	kore_log(LOG_NOTICE, "plugins: %zu loaded", plugin_count(plugins));
}

json_t *
plugins_names(void)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < plugin_count(plugins); i++)
		json_array_append_new(a,
		    json_string(plugin_at(plugins, i)->desc.name));
	return (a);
}

/* Borrowed: {adapter: {url, verify_token, registered_automatically}}. */
json_t *
plugins_webhooks(void)
{
	return (plugins_webhook_info);
}

static json_t *
plugin_caps(uint32_t caps)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} names[] = {
		{ INBOX_CAP_TEXT, "text" },
		{ INBOX_CAP_MEDIA, "media" },
		{ INBOX_CAP_TEMPLATE, "template" },
		{ INBOX_CAP_INTERACTIVE, "interactive" },
		{ INBOX_CAP_REACTION, "reaction" },
		{ INBOX_CAP_WEBHOOK, "webhook" },
		{ INBOX_CAP_CARE_WINDOW, "care_window" },
		{ INBOX_CAP_REGISTER, "register_webhook" },
	};
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (caps & names[i].bit)
			json_array_append_new(a, json_string(names[i].name));
	}
	return (a);
}

static json_t *
plugin_describe(const struct host_plugin *p)
{
	const struct inbox_field	*f;
	json_t				*fields = json_array();
	size_t				 i;

	for (i = 0; i < p->desc.nfields; i++) {
		f = &p->desc.fields[i];
		json_array_append_new(fields, json_pack(
		    "{s:s, s:s, s:s?, s:s?, s:b, s:b, s:b, s:i}",
		    "name", f->name, "label", f->label,
		    "hint", f->hint, "pattern", f->pattern,
		    "secret", (f->flags & INBOX_FIELD_SECRET) != 0,
		    "required", (f->flags & INBOX_FIELD_REQUIRED) != 0,
		    "routing_key", (f->flags & INBOX_FIELD_ROUTING) != 0,
		    "max_length", (int)f->max_len));
	}
	return (json_pack("{s:s, s:s, s:s, s:s?, s:o, s:o, s:i, s:O?}",
	    "name", p->desc.name, "display_name", p->desc.display_name,
	    "version", p->desc.version, "family", p->desc.family,
	    "capabilities", plugin_caps(p->desc.capabilities),
	    "credential_fields", fields, "send_rate", (int)p->desc.send_rate,
	    "webhook", json_object_get(plugins_webhook_info, p->desc.name)));
}

/* GET /api/v1/plugins: public, it holds nothing of any tenant. */
int
h_plugins(struct call *c)
{
	json_t	*data = json_array();
	size_t	 i;

	for (i = 0; i < plugin_count(plugins); i++)
		json_array_append_new(data,
		    plugin_describe(plugin_at(plugins, i)));
	return (reply_json(c->req, 200, json_pack("{s:o, s:n}", "data", data,
	    "next_cursor")));
}
