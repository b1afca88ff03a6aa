/*
 * dispatcher.h: what the dispatcher's files share.
 *
 * The dispatcher (app/inbox-dispatcher) is the one process that talks
 * to providers' send APIs. It claims queued messages from PostgreSQL
 * (api.outbox_claim, migrations/007), holds each until its slot in the
 * channel's pacing, builds the request with the channel's plugin,
 * sends it with libcurl's multi interface beside the database socket,
 * asks the plugin what the answer means and reports the outcome
 * (api.outbox_report). docs/dispatcher.md describes it for operators.
 *
 *   main.c  configuration, start-up, signals and the event loop
 *   db.c    the database connection: LISTEN, claim, report, reconnect
 *   send.c  one message: credentials, request, transfer, classification
 */
#ifndef DISPATCHER_H
#define DISPATCHER_H

#include <sys/queue.h>

#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "http_client.h"
#include "plugin_host.h"

struct vault;

/* Settings, from the environment (docs/dispatcher.md). */
struct disp_config {
	const char	*database_url;
	char		 worker[128];	/* names our leases */
	const char	*plugin_dir;
	const char	*plugins;
	long		 max_inflight;	/* held plus in flight */
	long		 max_host_connections;
	long		 batch;		/* most messages one claim takes */
	long		 horizon_ms;	/* claim slots this far ahead */
	long		 lead_ms;	/* every slot this much later */
	long		 http_timeout_ms;
	long		 lease_ms;	/* beyond a message's slot */
	long		 max_attempts;
	long		 max_age_s;
	long		 backoff_ms;
	long		 backoff_max_ms;
	double		 rate_factor;	/* pace at this share of send_rate */
	long		 idle_ms;	/* longest sleep without a NOTIFY */
	int		 verbose;
};

extern struct disp_config	 disp;
extern struct vault		*disp_vault;
extern struct plugin_registry	*disp_plugins;

/*
 * One claimed channel: what its messages need to decrypt its
 * credentials (sealed, as the database holds them). Shared by its jobs,
 * freed with the last (refs).
 */
struct lane {
	int				 refs;
	char				 org[40];
	char				 channel[40];
	const struct host_plugin	*plugin;	/* NULL: not loaded */
	json_t				*claim;		/* the claim's lane
							   object (owned) */
};

#define JOB_HELD	1	/* claimed, waiting for its slot */
#define JOB_INFLIGHT	2	/* transfer running */

/* One claimed message, from its claim until its result is queued. */
struct job {
	TAILQ_ENTRY(job)	 entry;
	int			 state;
	struct lane		*lane;		/* a reference */
	char			 message_id[40];
	long long		 attempt;
	int64_t			 due_ms;	/* monotonic: start no sooner */
	char			*payload;	/* normalized message (owned) */
	CURL			*curl;
	struct http_result	 res;
	int64_t			 started_ms;
};

TAILQ_HEAD(jobq, job);

/* main.c */
int64_t		 disp_now_ms(void);
void		 disp_log(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 disp_debug(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/* db.c */
#define DB_CLAIM	1
#define DB_REPORT	2

/* A statement that finished (db_read). */
struct db_done {
	int		 kind;		/* 0 (none), DB_CLAIM or DB_REPORT */
	int		 ok;
	int		 claimed;	/* a claim: messages now held */
	long		 next_ms;	/* a claim: when a lane next wakes, -1
					   if none is known to */
};

int		 db_connected(void);
/* Connected and no statement running. */
int		 db_idle(void);
int		 db_connect(void);
/* A report in flight goes back into results (may be NULL). */
void		 db_close(json_t *);
int		 db_socket(void);
int		 db_claim_start(long);
/* Takes every result out of the array until the report is over. */
int		 db_report_start(json_t *);
/* Reads the socket: 1 if a NOTIFY came, -1 if the connection broke;
 * fills done when a statement finished. */
int		 db_read(struct jobq *, json_t *, struct db_done *);

/* send.c */
void		 send_init(CURLM *);
void		 lane_release(struct lane *);
void		 job_free(struct job *);
/* Starts job's transfer; on failure its result is queued at once. */
void		 job_start(struct job *, json_t *);
/* Finishes a transfer curl reports done; queues its result. */
void		 job_done(struct job *, CURLcode, json_t *);
/* Queues "release" for a job that will not be sent. */
void		 job_release(struct job *, json_t *);

#endif /* !DISPATCHER_H */
