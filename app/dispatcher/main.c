/*
 * inbox-dispatcher: sends what the API queued (docs/dispatcher.md).
 *
 * One event loop: curl_multi_poll() waits on every transfer, on the
 * database socket (LISTEN outbox) and on a pipe the signal handler
 * writes to, with a timeout that is the nearest of: a held message's
 * slot, the next lane the claim said will wake, a reconnect. Each turn
 * it reports finished results, claims when there is room and a reason
 * (a NOTIFY, a lane waking, results that may have unblocked a
 * recipient), starts what is due and lets curl work. Nothing polls
 * fast: without a NOTIFY or a known wake-up it sleeps DISPATCH_IDLE_MS.
 *
 * SIGTERM or SIGINT: stop claiming, give back what is held but not
 * started, finish the transfers in flight, report, exit. Any number of
 * dispatchers can run against one database.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "dispatcher.h"
#include "vault.h"

/* The server's provider defaults (app/config.c), for the plugins. */
static const struct {
	const char	*name;
	const char	*def;
} config_names[] = {
	{ "GRAPH_API_BASE",	"https://graph.facebook.com/v23.0" },
	{ "INSTAGRAM_API_BASE",	"https://graph.instagram.com/v23.0" },
	{ "D360_API_BASE",	"https://waba-v2.360dialog.io" },
	{ "EXAMPLE_API_BASE",	"http://127.0.0.1:9100/example" },
	{ "PUBLIC_URL",		"http://127.0.0.1:8888" },
};

/* How long a stopping dispatcher keeps trying to report. */
#define STOP_REPORT_MS		15000
#define RECONNECT_MIN_MS	250
#define RECONNECT_MAX_MS	10000
/* A claim that found nothing is not repeated sooner than this. */
#define CLAIM_EMPTY_MS		20
#define REPORT_RETRY_MS		500

struct disp_config	 disp;
struct vault		*disp_vault;
struct plugin_registry	*disp_plugins;

static volatile sig_atomic_t	 stopping;
static int			 sigpipe[2] = { -1, -1 };

static void	 disp_vlog(const char *, va_list)
		    __attribute__((format(printf, 1, 0)));
static long	 env_long(const char *, long);
static void	 config_read(void);
static const char *config_lookup(const char *);
static void	 on_signal(int);
static void	 plugin_log(int, const char *);
static int	 startup(void);
static int	 run(void);

struct loop;
static void	 loop_start_due(struct loop *);
static void	 loop_transfer(struct loop *);
static void	 loop_release_held(struct loop *);
static void	 loop_done(struct loop *, const struct db_done *);
static void	 loop_db(struct loop *);
static int64_t	 loop_wake(struct loop *);

int64_t
disp_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
disp_vlog(const char *fmt, va_list ap)
{
	char		stamp[32];
	time_t		now = time(NULL);
	struct tm	tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s inbox-dispatcher[%d]: ", stamp, (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
disp_log(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	disp_vlog(fmt, ap);
	va_end(ap);
}

void
disp_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!disp.verbose)
		return;
	va_start(ap, fmt);
	disp_vlog(fmt, ap);
	va_end(ap);
}

static void
plugin_log(int level, const char *line)
{
	(void)level;
	disp_log("%s", line);
}

static long
env_long(const char *name, long def)
{
	const char	*v = getenv(name);
	char		*end;
	long		 n;

	if (v == NULL || *v == '\0')
		return (def);
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0) {
		disp_log("%s=%s is not a number; using %ld", name, v, def);
		return (def);
	}
	return (n);
}

static const char *
config_lookup(const char *name)
{
	const char	*v;
	size_t		 i;

	for (i = 0; i < sizeof(config_names) / sizeof(config_names[0]); i++) {
		if (strcmp(config_names[i].name, name) != 0)
			continue;
		v = getenv(name);
		return (v != NULL && *v != '\0' ? v : config_names[i].def);
	}
	return (NULL);
}

static void
config_read(void)
{
	const char	*v;
	char		 host[64];

	disp.database_url = getenv("DISPATCHER_DATABASE_URL");
	if (disp.database_url == NULL || *disp.database_url == '\0')
		disp.database_url = getenv("DATABASE_URL");
	disp.plugin_dir = (v = getenv("PLUGIN_DIR")) && *v ? v : "plugins";
	disp.plugins = (v = getenv("PLUGINS")) && *v ? v :
	    "whatsapp_cloud,360dialog,messenger,instagram";
	if ((v = getenv("DISPATCH_ID")) != NULL && *v != '\0') {
		snprintf(disp.worker, sizeof(disp.worker), "%s", v);
	} else {
		if (gethostname(host, sizeof(host)) == -1)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(disp.worker, sizeof(disp.worker), "%s:%d", host,
		    (int)getpid());
	}
	disp.max_inflight = env_long("DISPATCH_MAX_INFLIGHT", 128);
	disp.max_host_connections = env_long("DISPATCH_MAX_HOST_CONNECTIONS",
	    32);
	disp.batch = env_long("DISPATCH_BATCH", 100);
	disp.horizon_ms = env_long("DISPATCH_HORIZON_MS", 250);
	disp.lead_ms = env_long("DISPATCH_LEAD_MS", 50);
	disp.http_timeout_ms = env_long("DISPATCH_HTTP_TIMEOUT_MS", 15000);
	disp.lease_ms = env_long("DISPATCH_LEASE_MS", 30000);
	disp.max_attempts = env_long("DISPATCH_MAX_ATTEMPTS", 8);
	disp.max_age_s = env_long("DISPATCH_MAX_AGE_S", 86400);
	disp.backoff_ms = env_long("DISPATCH_BACKOFF_MS", 1000);
	disp.backoff_max_ms = env_long("DISPATCH_BACKOFF_MAX_MS", 300000);
	disp.rate_factor = env_long("DISPATCH_RATE_PERCENT", 95) / 100.0;
	disp.idle_ms = env_long("DISPATCH_IDLE_MS", 10000);
	disp.verbose = env_long("DISPATCH_VERBOSE", 0) != 0;
	if (disp.max_inflight < 1)
		disp.max_inflight = 1;
	if (disp.batch < 1)
		disp.batch = 1;
	if (disp.rate_factor <= 0 || disp.rate_factor > 1)
		disp.rate_factor = 1;
	if (disp.idle_ms < 100)
		disp.idle_ms = 100;
}

static void
on_signal(int sig)
{
	int	saved = errno;
	char	c = (char)sig;
	ssize_t	n;

	stopping = 1;
	if (sigpipe[1] != -1) {
		n = write(sigpipe[1], &c, 1);
		(void)n;	/* full: a wake-up is pending anyway */
	}
	errno = saved;
}

/* The master key, the plugins, the signal pipe. 0 or -1 (logged). */
static int
startup(void)
{
	struct sigaction	sa;
	int			rc, i;

	if (disp.database_url == NULL) {
		disp_log("set DISPATCHER_DATABASE_URL or DATABASE_URL");
		return (-1);
	}
	if (sodium_init() == -1) {
		disp_log("libsodium cannot start");
		return (-1);
	}
	if ((rc = vault_open_env(&disp_vault)) != VAULT_OK) {
		disp_log("master key: %s (set MASTER_KEY_FILE)",
		    vault_strerror(rc));
		return (-1);
	}
	plugin_host_set_log(plugin_log);
	plugin_host_set_config(config_lookup);
	if ((disp_plugins = plugin_registry_new()) == NULL ||
	    plugin_registry_load_list(disp_plugins, disp.plugin_dir,
	    disp.plugins) == -1) {
		disp_log("plugins: out of memory");
		return (-1);
	}
	if (pipe(sigpipe) == -1) {
		disp_log("pipe: %s", strerror(errno));
		return (-1);
	}
	for (i = 0; i < 2; i++)
		(void)fcntl(sigpipe[i], F_SETFL, O_NONBLOCK |
		    fcntl(sigpipe[i], F_GETFL));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		disp_log("curl cannot start");
		return (-1);
	}
	disp_log("%s: %zu plugins, up to %ld in flight, vault key %s",
	    disp.worker, plugin_count(disp_plugins), disp.max_inflight,
	    vault_key_id(disp_vault));
	return (0);
}

/* The event loop's state. */
struct loop {
	struct jobq	 held;		/* claimed, waiting for their slot */
	struct jobq	 inflight;	/* transfers running */
	int		 nheld;
	int		 ninflight;
	json_t		*results;	/* to report (api.outbox_report) */
	CURLM		*multi;
	int		 want_claim;	/* a NOTIFY, a report, a full claim */
	long		 asked;		/* the last claim's size */
	int64_t		 claim_at;	/* when a lane wakes, or idle_ms */
	int64_t		 connect_at;
	int64_t		 report_at;
};

/* Starts every held job whose slot has come. */
static void
loop_start_due(struct loop *lp)
{
	struct job	*j, *next;
	int64_t		 now = disp_now_ms();

	for (j = TAILQ_FIRST(&lp->held); j != NULL; j = next) {
		next = TAILQ_NEXT(j, entry);
		if (j->due_ms > now)
			continue;
		TAILQ_REMOVE(&lp->held, j, entry);
		lp->nheld--;
		job_start(j, lp->results);
		if (j->state == JOB_INFLIGHT) {
			TAILQ_INSERT_TAIL(&lp->inflight, j, entry);
			lp->ninflight++;
		} else {
			job_free(j);
		}
	}
}

/* Lets curl work, and turns finished transfers into results. */
static void
loop_transfer(struct loop *lp)
{
	struct job	*j;
	CURLMsg		*msg;
	int		 running, left;

	curl_multi_perform(lp->multi, &running);
	while ((msg = curl_multi_info_read(lp->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&j);
		TAILQ_REMOVE(&lp->inflight, j, entry);
		lp->ninflight--;
		job_done(j, msg->data.result, lp->results);
		job_free(j);
	}
}

/* Gives back every held job: stopping. */
static void
loop_release_held(struct loop *lp)
{
	struct job	*j;

	while ((j = TAILQ_FIRST(&lp->held)) != NULL) {
		TAILQ_REMOVE(&lp->held, j, entry);
		job_release(j, lp->results);
		job_free(j);
	}
	lp->nheld = 0;
}

/* A finished claim or report, for the loop's timers. */
static void
loop_done(struct loop *lp, const struct db_done *d)
{
	int64_t	now = disp_now_ms();

	if (d->kind == DB_REPORT) {
		if (d->ok)
			lp->want_claim = 1;	/* a recipient may be free */
		else
			lp->report_at = now + REPORT_RETRY_MS;
		return;
	}
	lp->want_claim = 0;
	if (!d->ok) {
		lp->claim_at = now + REPORT_RETRY_MS;
		return;
	}
	lp->nheld += d->claimed;
	lp->claim_at = now + (d->next_ms < 0 || d->next_ms > disp.idle_ms ?
	    disp.idle_ms : d->next_ms);
	if (d->claimed == 0 && lp->claim_at < now + CLAIM_EMPTY_MS)
		lp->claim_at = now + CLAIM_EMPTY_MS;
	/* A full claim: more may be waiting. */
	if (d->claimed >= lp->asked)
		lp->want_claim = 1;
}

/*
 * The next statement, when the connection is free: results first (after
 * a reconnect they must be in before anything is claimed again), then a
 * claim when there is room and a reason.
 */
static void
loop_db(struct loop *lp)
{
	int64_t	now = disp_now_ms();
	long	room;

	if (!db_idle())
		return;
	if (json_array_size(lp->results) > 0) {
		if (now >= lp->report_at &&
		    db_report_start(lp->results) == -1)
			lp->report_at = now + REPORT_RETRY_MS;
		return;
	}
	room = disp.max_inflight - lp->nheld - lp->ninflight;
	if (room > disp.batch)
		room = disp.batch;
	if (stopping || room <= 0 || (!lp->want_claim && now < lp->claim_at))
		return;
	lp->asked = room;
	if (db_claim_start(room) == -1) {
		lp->claim_at = now + REPORT_RETRY_MS;
		lp->want_claim = 0;
	}
}

/* When the loop must look again, at the latest. */
static int64_t
loop_wake(struct loop *lp)
{
	struct job	*j;
	int64_t		 now = disp_now_ms(), wake;
	long		 room;

	wake = now + (stopping ? 1000 : disp.idle_ms);
	/* A statement in flight wakes us through the socket. */
	if (db_idle()) {
		room = disp.max_inflight - lp->nheld - lp->ninflight;
		if (json_array_size(lp->results) > 0) {
			if (lp->report_at < wake)
				wake = lp->report_at;
		} else if (!stopping && room > 0) {
			if (lp->want_claim)
				wake = now;
			else if (lp->claim_at < wake)
				wake = lp->claim_at;
		}
	}
	if (!db_connected() && lp->connect_at < wake)
		wake = lp->connect_at;
	TAILQ_FOREACH(j, &lp->held, entry) {
		if (j->due_ms < wake)
			wake = j->due_ms;
	}
	return (wake);
}

/*
 * The event loop, until stopped and drained. Nothing in it waits for
 * the database, so sends start on their slot and answers are collected
 * while a claim or a report is running.
 */
static int
run(void)
{
	struct loop		 lp;
	struct job		*j;
	struct db_done		 done;
	struct curl_waitfd	 fds[2];
	int64_t			 now, wake, stop_deadline = 0;
	long			 backoff = RECONNECT_MIN_MS;
	int			 nfds;
	char			 drain[64];

	memset(&lp, 0, sizeof(lp));
	TAILQ_INIT(&lp.held);
	TAILQ_INIT(&lp.inflight);
	if ((lp.multi = curl_multi_init()) == NULL ||
	    (lp.results = json_array()) == NULL) {
		disp_log("out of memory");
		return (1);
	}
	curl_multi_setopt(lp.multi, CURLMOPT_MAXCONNECTS, disp.max_inflight);
	/* Beyond this, transfers to one host wait for a free connection
	 * (HTTP/2 multiplexes over the ones there are). */
	curl_multi_setopt(lp.multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    disp.max_host_connections);
	send_init(lp.multi);
	lp.want_claim = 1;
	lp.claim_at = lp.connect_at = lp.report_at = disp_now_ms();

	for (;;) {
		now = disp_now_ms();
		if (stopping && stop_deadline == 0) {
			disp_log("stopping: %d in flight, %d held given back",
			    lp.ninflight, lp.nheld);
			stop_deadline = now + disp.http_timeout_ms +
			    STOP_REPORT_MS;
		}
		/* Including what a claim running at the signal brings. */
		if (stopping)
			loop_release_held(&lp);
		if (stopping && lp.ninflight == 0 && (db_idle() ||
		    !db_connected()) && json_array_size(lp.results) == 0)
			break;
		if (stopping && now >= stop_deadline)
			break;

		if (!db_connected() && now >= lp.connect_at) {
			if (db_connect() == 0) {
				backoff = RECONNECT_MIN_MS;
				lp.want_claim = 1;
				lp.report_at = now;
			} else {
				lp.connect_at = now + backoff;
				backoff = backoff * 2 > RECONNECT_MAX_MS ?
				    RECONNECT_MAX_MS : backoff * 2;
			}
		}
		loop_start_due(&lp);
		loop_transfer(&lp);
		loop_db(&lp);

		wake = loop_wake(&lp);
		now = disp_now_ms();
		nfds = 0;
		fds[nfds].fd = sigpipe[0];
		fds[nfds].events = CURL_WAIT_POLLIN;
		fds[nfds++].revents = 0;
		if (db_connected()) {
			fds[nfds].fd = db_socket();
			fds[nfds].events = CURL_WAIT_POLLIN;
			fds[nfds++].revents = 0;
		}
		curl_multi_poll(lp.multi, fds, nfds, wake > now ?
		    (int)(wake - now) : 0, NULL);
		if (fds[0].revents)
			while (read(sigpipe[0], drain, sizeof(drain)) > 0)
				;
		if (nfds > 1 && fds[1].revents) {
			switch (db_read(&lp.held, lp.results, &done)) {
			case -1:
				lp.connect_at = disp_now_ms();
				break;
			case 1:
				lp.want_claim = 1;
				break;
			}
			if (done.kind != 0)
				loop_done(&lp, &done);
		}
	}

	if (json_array_size(lp.results) > 0 || lp.ninflight > 0)
		disp_log("stopped with %zu results unreported and %d sends "
		    "unfinished: their leases will run out and they will be "
		    "sent again", json_array_size(lp.results), lp.ninflight);
	while ((j = TAILQ_FIRST(&lp.inflight)) != NULL) {
		TAILQ_REMOVE(&lp.inflight, j, entry);
		job_free(j);
	}
	db_close(NULL);
	json_decref(lp.results);
	curl_multi_cleanup(lp.multi);
	disp_log("stopped");
	return (0);
}

int
main(int argc, char *argv[])
{
	int	rc;

	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: inbox-dispatcher (configured by the "
		    "environment, see docs/dispatcher.md)\n");
		return (2);
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	config_read();
	if (startup() == -1)
		return (1);
	rc = run();
	plugin_registry_free(disp_plugins);
	vault_close(disp_vault);
	curl_global_cleanup();
	return (rc);
}
