/*
 * config.c: the server's configuration, from the environment.
 *
 * Read once in the parent before the workers fork, so every worker has
 * the same values. Development defaults are safe on a laptop; with
 * APP_ENV=production the server refuses to start without what production
 * needs. docs/configuration.md lists every variable.
 */
#include "app.h"

struct app_config	app_config;

static const char	*env_or(const char *, const char *);
static u_int64_t	 env_ms(const char *, u_int64_t, u_int64_t);
static void		 origin_from_url(const char *);

static const char *
env_or(const char *name, const char *def)
{
	const char	*v = getenv(name);

	return (v != NULL && *v != '\0' ? v : def);
}

/* A number of milliseconds, def when unset; anything else is fatal. */
static u_int64_t
env_ms(const char *name, u_int64_t def, u_int64_t max)
{
	const char		*v = env_or(name, NULL);
	char			*end;
	unsigned long long	 n;

	if (v == NULL)
		return (def);
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || *v == '-' || n > max)
		fatalx("%s must be a number of milliseconds up to %llu: %s",
		    name, (unsigned long long)max, v);
	return (n);
}

/* "https://inbox.example.com/app" -> "https://inbox.example.com". */
static void
origin_from_url(const char *url)
{
	const char	*p;
	size_t		 len;

	if ((p = strstr(url, "://")) == NULL)
		fatalx("PUBLIC_URL must be an absolute URL: %s", url);
	if ((p = strchr(p + 3, '/')) == NULL)
		len = strlen(url);
	else
		len = p - url;
	if (len >= sizeof(app_config.public_origin))
		fatalx("PUBLIC_URL is too long");
	memcpy(app_config.public_origin, url, len);
	app_config.public_origin[len] = '\0';
}

void
config_load(void)
{
	struct app_config	*c = &app_config;

	c->production = strcmp(env_or("APP_ENV", "development"),
	    "production") == 0;
	c->database_url = env_or("DATABASE_URL", NULL);
	if (c->database_url == NULL)
		fatalx("DATABASE_URL is not set");
	c->public_url = env_or("PUBLIC_URL", "http://127.0.0.1:8888");
	origin_from_url(c->public_url);
	c->secure_cookies = strncmp(c->public_url, "https://", 8) == 0;
	c->master_key_file = env_or("MASTER_KEY_FILE", NULL);
	c->meta_app_secret = env_or("META_APP_SECRET", NULL);
	c->meta_verify_token = env_or("META_VERIFY_TOKEN", NULL);
	c->graph_api_base = env_or("GRAPH_API_BASE",
	    "https://graph.facebook.com/v23.0");
	c->instagram_api_base = env_or("INSTAGRAM_API_BASE",
	    "https://graph.instagram.com/v23.0");
	c->d360_api_base = env_or("D360_API_BASE",
	    "https://waba-v2.360dialog.io");
	c->example_api_base = env_or("EXAMPLE_API_BASE",
	    "http://127.0.0.1:9100/example");
	c->plugin_dir = env_or("PLUGIN_DIR", "plugins");
	c->trusted_proxies = env_or("TRUSTED_PROXIES", "");
	c->plugins = env_or("PLUGINS",
	    "whatsapp_cloud,360dialog,messenger,instagram");
	/* A page reload or a reconnect should find LISTEN still there. */
	c->stream_linger_ms = env_ms("STREAM_LINGER_MS",
	    STREAM_LINGER_DEFAULT_MS, 3600000);

	if (c->production) {
		if (!c->secure_cookies)
			fatalx("production: PUBLIC_URL must be https");
		if (c->master_key_file == NULL && getenv("MASTER_KEY") == NULL)
			fatalx("production: set MASTER_KEY_FILE");
		if (c->meta_app_secret == NULL || c->meta_verify_token == NULL)
			fatalx("production: set META_APP_SECRET and "
			    "META_VERIFY_TOKEN");
	}
}

/* Whether addr is one of TRUSTED_PROXIES (comma-separated addresses). */
int
config_trusted_proxy(const char *addr)
{
	const char	*p = app_config.trusted_proxies, *end;
	size_t		 len = strlen(addr);

	while (*p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		end = p + strcspn(p, ", ");
		if ((size_t)(end - p) == len && strncmp(p, addr, len) == 0)
			return (1);
		p = end;
	}
	return (0);
}

const char *
config_get(const char *name)
{
	static const struct {
		const char	*name;
		size_t		 offset;
	} names[] = {
		{ "GRAPH_API_BASE",
		    offsetof(struct app_config, graph_api_base) },
		{ "INSTAGRAM_API_BASE",
		    offsetof(struct app_config, instagram_api_base) },
		{ "D360_API_BASE",
		    offsetof(struct app_config, d360_api_base) },
		{ "EXAMPLE_API_BASE",
		    offsetof(struct app_config, example_api_base) },
		{ "PUBLIC_URL", offsetof(struct app_config, public_url) },
	};
	size_t	i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i].name) == 0)
			return (*(const char **)((char *)&app_config +
			    names[i].offset));
	}
	return (NULL);
}
