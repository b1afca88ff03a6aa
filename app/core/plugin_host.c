/*
 * plugin_host.c: loading, checking and calling channel plugins.
 *
 * A plugin is refused, with one log line saying why, when this host cannot
 * run it safely: another ABI major or a newer minor, a descriptor smaller
 * than ABI 1.0's, a missing function its capabilities require (or one of
 * a pair without the other), a bad name, bad credential field
 * declarations, or a name already loaded. Refusing
 * one plugin never stops the others from loading; whether a refusal is
 * fatal is the embedder's decision (plugin_registry_load_list() counts
 * them).
 *
 * The descriptor is copied into a zeroed, host-owned struct inbox_plugin,
 * at most `size` bytes of it: a plugin built against an older minor has a
 * smaller descriptor, and the fields it does not know read as NULL/0
 * instead of whatever follows its descriptor in memory.
 *
 * Logging and configuration go through callbacks the embedder sets once
 * at start (kore_log and getenv in the server, stderr in the tools); they
 * are process-wide because struct inbox_host, which plugins receive, has
 * no context pointer.
 */
#include <sys/types.h>

#include <ctype.h>
#include <dlfcn.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "arena.h"
#include "plugin_host.h"

#define PLUGIN_LOG_MAX		1024
#define PLUGIN_NAME_CHARS	"abcdefghijklmnopqrstuvwxyz0123456789_"
#define PLUGIN_FIELD_FLAGS	(INBOX_FIELD_SECRET | \
				    INBOX_FIELD_REQUIRED | \
				    INBOX_FIELD_ROUTING | \
				    INBOX_FIELD_APP_SECRET)
#define PLUGIN_CAPS		(PLUGIN_CAP_SEND | INBOX_CAP_WEBHOOK | \
				    INBOX_CAP_CARE_WINDOW | INBOX_CAP_REGISTER)

struct host_field {
	regex_t		re;
	int		has_re;
};

struct plugin_registry {
	struct host_plugin	**v;
	size_t			  n;
	size_t			  cap;
};

static void	 host_log(int, const char *, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static void	 host_vlog(int, const char *, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));
static void	 host_hmac_sha256(const uint8_t *, size_t, const uint8_t *,
		    size_t, uint8_t [32]);
static int	 host_memcmp_ct(const void *, const void *, size_t);
static const char *host_config(const char *);
static void	 host_log_stderr(int, const char *);

static int	 plugin_name_ok(const char *);
static int	 plugin_check(struct host_plugin *, char *, size_t);
static int	 plugin_check_fields(struct host_plugin *, char *, size_t);
static void	 plugin_release(struct host_plugin *);
static const struct inbox_field *plugin_field(const struct host_plugin *,
		    const char *);
static const char *plugin_version(const struct host_plugin *);

static plugin_log_fn	 log_fn = host_log_stderr;
static plugin_config_fn	 config_fn;

static const struct inbox_host host_table = {
	.abi_major = INBOX_ABI_MAJOR,
	.abi_minor = INBOX_ABI_MINOR,
	.size = sizeof(struct inbox_host),
	.alloc = arena_alloc,
	.strndup = arena_strndup,
	.printf = arena_printf,
	.log = host_log,
	.hmac_sha256 = host_hmac_sha256,
	.memcmp_ct = host_memcmp_ct,
	.config = host_config,
};

/* Where log lines go; NULL restores the default, stderr. */
void
plugin_host_set_log(plugin_log_fn fn)
{
	log_fn = fn == NULL ? host_log_stderr : fn;
}

/*
 * Where inbox_host.config looks names up; NULL (the default) makes every
 * lookup NULL. The strings it returns must stay valid for the process.
 */
void
plugin_host_set_config(plugin_config_fn fn)
{
	config_fn = fn;
}

/* The service table every plugin gets: static, valid for the process. */
const struct inbox_host *
plugin_host_table(void)
{
	return (&host_table);
}

/* A line of the host's own through the embedder's log sink. */
void
plugin_host_log(int level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	host_vlog(level, NULL, fmt, ap);
	va_end(ap);
}

/* An empty registry, owned by the caller (plugin_registry_free()). */
struct plugin_registry *
plugin_registry_new(void)
{
	if (sodium_init() == -1)
		return (NULL);
	return (calloc(1, sizeof(struct plugin_registry)));
}

/*
 * Unloads every plugin and frees the registry. Every host_plugin, and
 * every pointer a plugin returned, is invalid afterwards. NULL is allowed.
 */
void
plugin_registry_free(struct plugin_registry *reg)
{
	size_t	i;

	if (reg == NULL)
		return;
	for (i = 0; i < reg->n; i++)
		plugin_release(reg->v[i]);
	free(reg->v);
	free(reg);
}

/*
 * Loads the plugin at path (dlopen: a path without '/' is searched for
 * like any dlopen name) into reg. 0 when loaded; -1 when refused or
 * unloadable, after one log line saying why.
 */
int
plugin_registry_load(struct plugin_registry *reg, const char *path)
{
	const struct inbox_plugin	*d;
	const struct host_plugin	*dup;
	struct host_plugin		*p, **v;
	inbox_plugin_entry_fn		 entry;
	char				 why[256];

	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->path = strdup(path)) == NULL) {
		plugin_host_log(INBOX_LOG_ERR, "plugin %s: out of memory",
		    path);
		goto refuse;
	}
	if ((p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		plugin_host_log(INBOX_LOG_ERR, "plugin %s: cannot load: %s",
		    path, dlerror());
		goto refuse;
	}
	/* POSIX leaves object-to-function pointer casts to dlsym's users. */
	*(void **)&entry = dlsym(p->dl, INBOX_PLUGIN_ENTRY);
	if (entry == NULL) {
		plugin_host_log(INBOX_LOG_ERR, "plugin %s: refused: no %s "
		    "symbol", path, INBOX_PLUGIN_ENTRY);
		goto refuse;
	}
	if ((d = entry(&host_table)) == NULL) {
		plugin_host_log(INBOX_LOG_ERR, "plugin %s: refused: %s "
		    "returned NULL", path, INBOX_PLUGIN_ENTRY);
		goto refuse;
	}

	/* The first three members are the same in every ABI version. */
	if (d->abi_major != INBOX_ABI_MAJOR ||
	    d->abi_minor > INBOX_ABI_MINOR) {
		plugin_host_log(INBOX_LOG_ERR, "plugin %s: ABI %u.%u is not "
		    "supported by host %u.%u", path, d->abi_major,
		    d->abi_minor, INBOX_ABI_MAJOR, INBOX_ABI_MINOR);
		goto refuse;
	}
	if (d->size < PLUGIN_DESC_SIZE_1_0) {
		plugin_host_log(INBOX_LOG_ERR, "plugin %s: refused: descriptor "
		    "size %zu is smaller than ABI 1.0's %zu", path, d->size,
		    (size_t)PLUGIN_DESC_SIZE_1_0);
		goto refuse;
	}
	(void)plugin_desc_copy(&p->desc, sizeof(p->desc), d);

	if (plugin_check(p, why, sizeof(why)) == -1) {
		plugin_host_log(INBOX_LOG_ERR, "plugin %s: refused: %s", path,
		    why);
		goto refuse;
	}
	if ((dup = plugin_find(reg, p->desc.name)) != NULL) {
		plugin_host_log(INBOX_LOG_ERR, "plugin %s: refused: %s "
		    "version %s duplicates %s version %s already loaded from "
		    "%s", path, p->desc.name, plugin_version(p),
		    dup->desc.name, plugin_version(dup), dup->path);
		goto refuse;
	}
	if (p->desc.webhook_object != NULL &&
	    (dup = plugin_find_webhook_object(reg,
	    p->desc.webhook_object)) != NULL)
		plugin_host_log(INBOX_LOG_WARN, "plugin %s: webhook object "
		    "\"%s\" is also claimed by %s, which lookups by object "
		    "will return", path, p->desc.webhook_object,
		    dup->desc.name);

	if (reg->n == reg->cap) {
		v = reallocarray(reg->v, reg->cap == 0 ? 8 : reg->cap * 2,
		    sizeof(*v));
		if (v == NULL) {
			plugin_host_log(INBOX_LOG_ERR, "plugin %s: out of "
			    "memory", path);
			goto refuse;
		}
		reg->v = v;
		reg->cap = reg->cap == 0 ? 8 : reg->cap * 2;
	}
	reg->v[reg->n++] = p;
	plugin_host_log(INBOX_LOG_INFO, "plugin %s: loaded %s version %s "
	    "(ABI %u.%u)", path, p->desc.name, plugin_version(p),
	    p->desc.abi_major, p->desc.abi_minor);
	return (0);

refuse:
	plugin_release(p);
	return (-1);
}

/*
 * Loads each plugin of list, comma-separated: an element with a '/' is a
 * path, anything else a name loaded from dir/<name>.so (dir NULL means
 * "."). Blanks around elements are ignored. Returns how many were refused
 * (0: all loaded), or -1 when out of memory.
 */
int
plugin_registry_load_list(struct plugin_registry *reg, const char *dir,
    const char *list)
{
	char	*copy, *item, *last, *end, *path;
	int	 refused;

	if (list == NULL)
		return (0);
	if ((copy = strdup(list)) == NULL)
		return (-1);
	if (dir == NULL)
		dir = ".";

	refused = 0;
	for (item = strtok_r(copy, ",", &last); item != NULL;
	    item = strtok_r(NULL, ",", &last)) {
		while (isspace((unsigned char)*item))
			item++;
		end = item + strlen(item);
		while (end > item && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*item == '\0')
			continue;

		if (strchr(item, '/') != NULL) {
			if (plugin_registry_load(reg, item) == -1)
				refused++;
			continue;
		}
		if (!plugin_name_ok(item)) {
			plugin_host_log(INBOX_LOG_ERR, "plugin list: \"%s\" is "
			    "neither a path nor a plugin name", item);
			refused++;
			continue;
		}
		if (asprintf(&path, "%s/%s.so", dir, item) == -1) {
			free(copy);
			return (-1);
		}
		if (plugin_registry_load(reg, path) == -1)
			refused++;
		free(path);
	}
	free(copy);
	return (refused);
}

/* How many plugins are loaded. */
size_t
plugin_count(const struct plugin_registry *reg)
{
	return (reg->n);
}

/* The i-th plugin in load order, or NULL past the end. */
const struct host_plugin *
plugin_at(const struct plugin_registry *reg, size_t i)
{
	return (i < reg->n ? reg->v[i] : NULL);
}

/* The plugin called name, or NULL. */
const struct host_plugin *
plugin_find(const struct plugin_registry *reg, const char *name)
{
	size_t	i;

	if (name == NULL)
		return (NULL);
	for (i = 0; i < reg->n; i++)
		if (strcmp(reg->v[i]->desc.name, name) == 0)
			return (reg->v[i]);
	return (NULL);
}

/*
 * The first loaded plugin claiming the webhook "object" (Meta's top-level
 * field), or NULL. Loading warns when two plugins claim the same object.
 */
const struct host_plugin *
plugin_find_webhook_object(const struct plugin_registry *reg,
    const char *object)
{
	size_t	i;

	if (object == NULL)
		return (NULL);
	for (i = 0; i < reg->n; i++)
		if (reg->v[i]->desc.webhook_object != NULL &&
		    strcmp(reg->v[i]->desc.webhook_object, object) == 0)
			return (reg->v[i]);
	return (NULL);
}

/*
 * Copies src's descriptor into dst (dstsize bytes, the host's idea of the
 * descriptor): dst is zeroed, then min(src->size, dstsize) bytes are
 * copied, so members beyond what the plugin declared read as NULL/0.
 * Returns the number of bytes copied.
 */
size_t
plugin_desc_copy(void *dst, size_t dstsize, const struct inbox_plugin *src)
{
	size_t	n;

	n = src->size < dstsize ? src->size : dstsize;
	memset(dst, 0, dstsize);
	memcpy(dst, src, n);
	return (n);
}

/*
 * Whether p lists message templates: its descriptor is large enough to
 * hold the ABI 1.1 members (a 1.0 plugin's copy has them zeroed, but the
 * size says so plainly) and provides both; plugin_check refused one
 * without the other.
 */
int
plugin_has_templates(const struct host_plugin *p)
{
	return (p->desc.size >= PLUGIN_DESC_SIZE_1_1 &&
	    p->desc.templates_build != NULL &&
	    p->desc.templates_parse != NULL);
}

/*
 * Sets up call for one plugin function: the host table, a fresh arena and
 * the credential set creds (ncreds entries, may be 0), which stays the
 * caller's and must outlive the call. 0, or -1 when out of memory. Pair
 * with plugin_call_end().
 */
int
plugin_call_begin(struct inbox_call *call, const struct inbox_cred *creds,
    size_t ncreds)
{
	return (plugin_call_begin_input(call, creds, ncreds, 0));
}

/*
 * plugin_call_begin() for a call that parses input_len bytes of JSON:
 * the arena may grow to PLUGIN_ARENA_PER_INPUT_BYTE times that when it
 * exceeds the default limit, so that a body the host accepted in size
 * is never refused for want of room to parse it.
 */
int
plugin_call_begin_input(struct inbox_call *call,
    const struct inbox_cred *creds, size_t ncreds, size_t input_len)
{
	size_t	limit = 0;

	if (input_len > ARENA_DEFAULT_LIMIT / PLUGIN_ARENA_PER_INPUT_BYTE) {
		if (input_len > SIZE_MAX / PLUGIN_ARENA_PER_INPUT_BYTE)
			return (-1);
		limit = input_len * PLUGIN_ARENA_PER_INPUT_BYTE;
	}
	memset(call, 0, sizeof(*call));
	if ((call->arena = arena_new(limit)) == NULL)
		return (-1);
	call->host = &host_table;
	call->creds = creds;
	call->ncreds = ncreds;
	return (0);
}

/*
 * Wipes and frees the call's arena. Everything the plugin returned during
 * the call is invalid afterwards: copy what must be kept first.
 */
void
plugin_call_end(struct inbox_call *call)
{
	arena_free(call->arena);
	memset(call, 0, sizeof(*call));
}

/*
 * Checks a tenant's credential set against p's fields: every name must be
 * a declared field and given once, every required field non-empty, every
 * value at most max_len bytes (PLUGIN_CRED_MAX when the field declares 0)
 * without control characters, and matching the field's pattern as a whole.
 * Empty optional fields are accepted as "not set". Each problem is added
 * to the JSON object details as "field": "message" (one per field; the
 * value itself is never echoed, it may be a secret). Returns the number
 * of problems, or -1 when out of memory.
 */
int
plugin_creds_validate(const struct host_plugin *p,
    const struct inbox_cred *creds, size_t ncreds, json_t *details)
{
	const struct inbox_field	*f;
	const char			*name, *value, *msg;
	char				 buf[256];
	size_t				 i, j, idx, len, max;
	int				 n;

	n = 0;
	for (i = 0; i < ncreds; i++) {
		name = creds[i].name == NULL ? "" : creds[i].name;
		msg = NULL;
		if (plugin_field(p, name) == NULL)
			msg = "is not a field of this channel";
		for (j = 0; msg == NULL && j < i; j++)
			if (creds[j].name != NULL &&
			    strcmp(creds[j].name, name) == 0)
				msg = "is given more than once";
		if (msg == NULL || json_object_get(details, name) != NULL)
			continue;
		if (json_object_set_new(details, name, json_string(msg)) == -1)
			return (-1);
		n++;
	}

	for (idx = 0; idx < p->desc.nfields; idx++) {
		f = &p->desc.fields[idx];
		for (value = NULL, i = 0; i < ncreds; i++)
			if (creds[i].name != NULL &&
			    strcmp(creds[i].name, f->name) == 0) {
				value = creds[i].value;
				break;
			}
		if (json_object_get(details, f->name) != NULL)
			continue;

		msg = NULL;
		max = f->max_len == 0 ? PLUGIN_CRED_MAX : f->max_len;
		len = value == NULL ? 0 : strnlen(value, max + 1);
		if (len == 0) {
			if (f->flags & INBOX_FIELD_REQUIRED)
				msg = "is required";
		} else if (len > max) {
			(void)snprintf(buf, sizeof(buf),
			    "must be at most %zu bytes", max);
			msg = buf;
		} else {
			for (i = 0; i < len; i++)
				if ((unsigned char)value[i] < 0x20 ||
				    value[i] == 0x7f)
					break;
			if (i < len)
				msg = "must not contain control characters";
			else if (p->fields[idx].has_re &&
			    regexec(&p->fields[idx].re, value, 0, NULL,
			    0) != 0) {
				if (f->hint != NULL)
					(void)snprintf(buf, sizeof(buf),
					    "does not have the expected "
					    "format: %s", f->hint);
				else
					(void)snprintf(buf, sizeof(buf),
					    "does not have the expected "
					    "format");
				msg = buf;
			}
		}
		if (msg == NULL)
			continue;
		if (json_object_set_new(details, f->name,
		    json_string(msg)) == -1)
			return (-1);
		n++;
	}
	return (n);
}

/*
 * inbox_host.log: "plugin <tag>: <message>". Control characters become
 * '?' so a provider's error text cannot forge log lines.
 */
static void
host_log(int level, const char *tag, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	host_vlog(level, tag == NULL ? "?" : tag, fmt, ap);
	va_end(ap);
}

static void
host_vlog(int level, const char *tag, const char *fmt, va_list ap)
{
	char	line[PLUGIN_LOG_MAX];
	size_t	off, i;
	int	n;

	off = 0;
	if (tag != NULL) {
		n = snprintf(line, sizeof(line), "plugin %s: ", tag);
		off = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n :
		    sizeof(line) - 1;
	}
	if (vsnprintf(line + off, sizeof(line) - off, fmt, ap) < 0)
		line[off] = '\0';
	for (i = 0; line[i] != '\0'; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (level < INBOX_LOG_ERR)
		level = INBOX_LOG_ERR;
	if (level > INBOX_LOG_DEBUG)
		level = INBOX_LOG_DEBUG;
	log_fn(level, line);
}

/* The default sink, for tools. */
static void
host_log_stderr(int level, const char *line)
{
	static const char	*names[] = { "error", "warning", "info",
				    "debug" };

	fprintf(stderr, "%s: %s\n", names[level], line);
}

/* inbox_host.hmac_sha256: keys of any length, as RFC 2104 allows. */
static void
host_hmac_sha256(const uint8_t *key, size_t klen, const uint8_t *msg,
    size_t mlen, uint8_t out[32])
{
	crypto_auth_hmacsha256_state	st;

	crypto_auth_hmacsha256_init(&st, key, klen);
	crypto_auth_hmacsha256_update(&st, msg, mlen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* inbox_host.memcmp_ct: 0 when equal, in time independent of the data. */
static int
host_memcmp_ct(const void *a, const void *b, size_t len)
{
	return (sodium_memcmp(a, b, len) == 0 ? 0 : 1);
}

static const char *
host_config(const char *name)
{
	if (name == NULL || config_fn == NULL)
		return (NULL);
	return (config_fn(name));
}

/* [a-z0-9_]{1,32} */
static int
plugin_name_ok(const char *s)
{
	size_t	len;

	if (s == NULL)
		return (0);
	len = strnlen(s, PLUGIN_NAME_MAX + 1);
	return (len > 0 && len <= PLUGIN_NAME_MAX &&
	    strspn(s, PLUGIN_NAME_CHARS) == len);
}

/*
 * Whether the copied descriptor is one the host can use; on -1 why holds
 * the reason. Compiles the field patterns into p->fields.
 */
static int
plugin_check(struct host_plugin *p, char *why, size_t size)
{
	const struct inbox_plugin	*d = &p->desc;

	if (!plugin_name_ok(d->name)) {
		(void)snprintf(why, size, "name \"%.40s\" is not "
		    "[a-z0-9_]{1,32}", d->name == NULL ? "(null)" : d->name);
		return (-1);
	}
	if (d->version == NULL || d->display_name == NULL) {
		(void)snprintf(why, size, "%s has no %s", d->name,
		    d->version == NULL ? "version" : "display_name");
		return (-1);
	}
	if (d->capabilities & ~PLUGIN_CAPS) {
		(void)snprintf(why, size, "%s has unknown capability bits "
		    "0x%x", d->name, d->capabilities & ~PLUGIN_CAPS);
		return (-1);
	}
	if (d->test_build == NULL || d->classify == NULL) {
		(void)snprintf(why, size, "%s has no %s", d->name,
		    d->test_build == NULL ? "test_build" : "classify");
		return (-1);
	}
	if ((d->capabilities & INBOX_CAP_WEBHOOK) && d->webhook_parse == NULL) {
		(void)snprintf(why, size, "%s has INBOX_CAP_WEBHOOK but no "
		    "webhook_parse", d->name);
		return (-1);
	}
	if ((d->capabilities & PLUGIN_CAP_SEND) && d->send_build == NULL) {
		(void)snprintf(why, size, "%s has a send capability but no "
		    "send_build", d->name);
		return (-1);
	}
	if ((d->capabilities & INBOX_CAP_REGISTER) &&
	    d->register_build == NULL) {
		(void)snprintf(why, size, "%s has INBOX_CAP_REGISTER but no "
		    "register_build", d->name);
		return (-1);
	}
	if ((d->templates_build == NULL) != (d->templates_parse == NULL)) {
		(void)snprintf(why, size, "%s has %s but no %s", d->name,
		    d->templates_build == NULL ? "templates_parse" :
		    "templates_build", d->templates_build == NULL ?
		    "templates_build" : "templates_parse");
		return (-1);
	}
	if (d->webhook_auth != INBOX_WEBHOOK_NONE &&
	    d->webhook_auth != INBOX_WEBHOOK_META_SIGNATURE &&
	    d->webhook_auth != INBOX_WEBHOOK_CHANNEL_SECRET) {
		(void)snprintf(why, size, "%s has unknown webhook_auth %d",
		    d->name, d->webhook_auth);
		return (-1);
	}
	if (d->webhook_object != NULL && *d->webhook_object == '\0') {
		(void)snprintf(why, size, "%s has an empty webhook_object",
		    d->name);
		return (-1);
	}
	return (plugin_check_fields(p, why, size));
}

/*
 * The credential fields: at most PLUGIN_FIELDS_MAX, each with a valid,
 * unique name, a label, known flags and a pattern that compiles; at most
 * one routing field, which cannot be secret (the host looks it up in the
 * clear), and at most one app secret field, which must be secret.
 */
static int
plugin_check_fields(struct host_plugin *p, char *why, size_t size)
{
	const struct inbox_plugin	*d = &p->desc;
	const struct inbox_field	*f;
	char				*anchored;
	size_t				 i, j, nrouting, nappsecret;
	int				 rc;

	if (d->nfields > PLUGIN_FIELDS_MAX ||
	    (d->nfields > 0 && d->fields == NULL)) {
		(void)snprintf(why, size, "%s declares %zu fields %s", d->name,
		    d->nfields, d->fields == NULL ? "but no array" :
		    "(too many)");
		return (-1);
	}
	if (d->nfields > 0 &&
	    (p->fields = calloc(d->nfields, sizeof(*p->fields))) == NULL) {
		(void)snprintf(why, size, "out of memory");
		return (-1);
	}

	nrouting = nappsecret = 0;
	for (i = 0; i < d->nfields; i++) {
		f = &d->fields[i];
		if (!plugin_name_ok(f->name)) {
			(void)snprintf(why, size, "%s field %zu: name "
			    "\"%.40s\" is not [a-z0-9_]{1,32}", d->name, i,
			    f->name == NULL ? "(null)" : f->name);
			return (-1);
		}
		for (j = 0; j < i; j++)
			if (strcmp(d->fields[j].name, f->name) == 0)
				break;
		if (j < i) {
			(void)snprintf(why, size, "%s field %s: declared "
			    "twice", d->name, f->name);
			return (-1);
		}
		if (f->label == NULL) {
			(void)snprintf(why, size, "%s field %s: no label",
			    d->name, f->name);
			return (-1);
		}
		if (f->flags & ~PLUGIN_FIELD_FLAGS) {
			(void)snprintf(why, size, "%s field %s: unknown flags "
			    "0x%x", d->name, f->name,
			    f->flags & ~PLUGIN_FIELD_FLAGS);
			return (-1);
		}
		if ((f->flags & INBOX_FIELD_ROUTING) &&
		    ((f->flags & INBOX_FIELD_SECRET) || nrouting++ > 0)) {
			(void)snprintf(why, size, "%s field %s: a routing "
			    "field must be the only one and not secret",
			    d->name, f->name);
			return (-1);
		}
		if ((f->flags & INBOX_FIELD_APP_SECRET) &&
		    (!(f->flags & INBOX_FIELD_SECRET) || nappsecret++ > 0)) {
			(void)snprintf(why, size, "%s field %s: an app secret "
			    "field must be the only one and secret", d->name,
			    f->name);
			return (-1);
		}
		if (f->pattern == NULL)
			continue;

		/* Anchored: the whole value must match, not a part of it. */
		if (asprintf(&anchored, "^(%s)$", f->pattern) == -1) {
			(void)snprintf(why, size, "out of memory");
			return (-1);
		}
		rc = regcomp(&p->fields[i].re, anchored,
		    REG_EXTENDED | REG_NOSUB);
		free(anchored);
		if (rc != 0) {
			(void)snprintf(why, size, "%s field %s: pattern "
			    "\"%.60s\" is not a valid POSIX ERE", d->name,
			    f->name, f->pattern);
			return (-1);
		}
		p->fields[i].has_re = 1;
	}
	return (0);
}

/* Frees p and its compiled patterns, and unloads its object. */
static void
plugin_release(struct host_plugin *p)
{
	size_t	i;

	if (p == NULL)
		return;
	if (p->fields != NULL) {
		for (i = 0; i < p->desc.nfields; i++)
			if (p->fields[i].has_re)
				regfree(&p->fields[i].re);
		free(p->fields);
	}
	if (p->dl != NULL)
		(void)dlclose(p->dl);
	free(p->path);
	free(p);
}

/* The field of p called name, or NULL. */
static const struct inbox_field *
plugin_field(const struct host_plugin *p, const char *name)
{
	size_t	i;

	for (i = 0; i < p->desc.nfields; i++)
		if (strcmp(p->desc.fields[i].name, name) == 0)
			return (&p->desc.fields[i]);
	return (NULL);
}

static const char *
plugin_version(const struct host_plugin *p)
{
	return (p->desc.version == NULL ? "(none)" : p->desc.version);
}
