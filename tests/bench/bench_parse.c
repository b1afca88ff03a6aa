/*
 * bench_parse.c: how long each adapter's webhook_parse takes on one
 * realistic delivery, measured against jansson's strict load of the same
 * bytes (json_loadb with JSON_REJECT_DUPLICATES, then json_decref), the
 * parse the plugins' own must stay compatible with.
 *
 * The WhatsApp adapters parse tests/bench/bench_parse_whatsapp.json, a
 * delivery as tests/bench/bench_webhooks.py's delivery_body() makes it
 * (1.9 KB: one text message with a referral, non-ASCII as \uXXXX and
 * "/" as "\/", as Meta sends it); Messenger and Instagram their golden
 * case parse_referral, the example adapter parse_messages. Each call is
 * made as the server makes it: the plugin loaded by the real host,
 * a fresh arena per call (plugin_call_begin/end), so arena set-up and
 * wiping are in the figure.
 *
 * Each measurement is the best of BENCH_ROUNDS rounds of BENCH_CALLS
 * calls, after a warm-up; the best round is the one least disturbed by
 * the rest of the machine. Run from the repository root:
 *   make bench-parse
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "inbox_plugin.h"
#include "plugin_host.h"

#define BENCH_ROUNDS	7
#define BENCH_CALLS	20000
#define BENCH_WARMUP	2000
#define BENCH_WA_BODY	"tests/bench/bench_parse_whatsapp.json"

/* An adapter and where its body comes from: a file, or a golden case. */
struct bench_case {
	const char	*plugin;
	const char	*body_file;
	const char	*golden;
};

static const struct bench_case bench_cases[] = {
	{ "whatsapp_cloud",	BENCH_WA_BODY,	NULL },
	{ "360dialog",		BENCH_WA_BODY,	NULL },
	{ "messenger",		NULL,	"parse_referral.json" },
	{ "instagram",		NULL,	"parse_referral.json" },
	{ "example",		NULL,	"parse_messages.json" },
};

/* What is timed: an adapter and a body. */
struct bench_run {
	const struct inbox_plugin	*plugin;
	const char			*body;
	size_t				 len;
};

static char	*bench_read(const char *, size_t *);
static char	*bench_golden(const char *, const char *, size_t *);
static double	 bench_now(void);
static double	 bench_time(void (*)(const void *), const void *);
static void	 bench_plugin(const void *);
static void	 bench_jansson(const void *);
static void	 bench_log(int, const char *);

static void
bench_log(int level, const char *line)
{
	if (level <= INBOX_LOG_WARN)
		fprintf(stderr, "%s\n", line);
}

static double
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* The whole of file path, NUL-terminated, in *lenp bytes; exits on error. */
static char *
bench_read(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	long	 len;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1) {
		perror(path);
		exit(1);
	}
	if ((buf = malloc((size_t)len + 1)) == NULL ||
	    fread(buf, 1, (size_t)len, f) != (size_t)len) {
		perror(path);
		exit(1);
	}
	fclose(f);
	buf[len] = '\0';
	*lenp = (size_t)len;
	return (buf);
}

/* The webhook body of golden case name of plugin, malloc'd. */
static char *
bench_golden(const char *plugin, const char *name, size_t *lenp)
{
	json_error_t	 err;
	json_t		*c, *body;
	char		 path[512];
	char		*s;

	snprintf(path, sizeof(path), "plugins/%s/golden/%s", plugin, name);
	if ((c = json_load_file(path, 0, &err)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, err.text);
		exit(1);
	}
	body = json_object_get(json_object_get(c, "input"), "body");
	if (!json_is_string(body) || (s = strdup(json_string_value(body))) ==
	    NULL) {
		fprintf(stderr, "%s: no input.body\n", path);
		exit(1);
	}
	*lenp = json_string_length(body);
	json_decref(c);
	return (s);
}

/*
 * Microseconds per call of one(arg): the best of BENCH_ROUNDS rounds of
 * BENCH_CALLS calls, after BENCH_WARMUP.
 */
static double
bench_time(void (*one)(const void *), const void *arg)
{
	double	t, best;
	int	i, r;

	best = -1;
	for (r = -1; r < BENCH_ROUNDS; r++) {
		t = bench_now();
		for (i = 0; i < (r < 0 ? BENCH_WARMUP : BENCH_CALLS); i++)
			one(arg);
		t = (bench_now() - t) * 1e6 / BENCH_CALLS;
		if (r >= 0 && (best < 0 || t < best))
			best = t;
	}
	return (best);
}

/* One webhook_parse call as the server makes it, arena set-up and
 * release included; exits when the body gives no events. */
static void
bench_plugin(const void *arg)
{
	const struct bench_run	*br = arg;
	struct inbox_call	 call;
	struct inbox_parsed	 out;

	if (plugin_call_begin(&call, NULL, 0) == -1)
		abort();
	memset(&out, 0, sizeof(out));
	if (br->plugin->webhook_parse(&call, br->body, br->len, &out) !=
	    INBOX_OK || out.events_len < 3) {
		fprintf(stderr, "%s: the body does not parse into events\n",
		    br->plugin->name);
		exit(1);
	}
	plugin_call_end(&call);
}

/* One strict json_loadb and json_decref. */
static void
bench_jansson(const void *arg)
{
	const struct bench_run	*br = arg;
	json_error_t		 err;
	json_t			*root;

	if ((root = json_loadb(br->body, br->len, JSON_REJECT_DUPLICATES,
	    &err)) == NULL)
		abort();
	json_decref(root);
}

int
main(void)
{
	const struct bench_case		*bc;
	const struct host_plugin	*hp;
	struct plugin_registry		*reg;
	struct bench_run		 br;
	char				 path[512];
	char				*body;
	double				 tp, tj;
	size_t				 i, len;

	plugin_host_set_log(bench_log);
	if ((reg = plugin_registry_new()) == NULL)
		abort();
	printf("%-16s %6s %14s %14s %7s\n", "adapter", "bytes",
	    "webhook_parse", "jansson load", "ratio");
	for (i = 0; i < sizeof(bench_cases) / sizeof(bench_cases[0]); i++) {
		bc = &bench_cases[i];
		snprintf(path, sizeof(path), "./plugins/%s.so", bc->plugin);
		if (plugin_registry_load(reg, path) == -1 ||
		    (hp = plugin_find(reg, bc->plugin)) == NULL) {
			fprintf(stderr, "%s: cannot load\n", path);
			return (1);
		}
		body = bc->body_file != NULL ? bench_read(bc->body_file, &len) :
		    bench_golden(bc->plugin, bc->golden, &len);
		br.plugin = &hp->desc;
		br.body = body;
		br.len = len;
		tp = bench_time(bench_plugin, &br);
		tj = bench_time(bench_jansson, &br);
		printf("%-16s %6zu %11.2f us %11.2f us %7.2f\n", bc->plugin,
		    len, tp, tj, tp / tj);
		free(body);
	}
	plugin_registry_free(reg);
	return (0);
}
