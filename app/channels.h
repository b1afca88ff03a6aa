/*
 * channels.h: what app/channels.c shares with app/templates.c.
 *
 * A request that uses a channel's credentials holds them in a chan_job:
 * the database hands over the sealed fields and the organization's
 * wrapped data key (chan_begin_result opens them in the worker), then a
 * task thread asks the provider through the channel's plugin
 * (chan_exchange) and leaves what it found out in the job. The job is
 * wiped when the request ends (chan_free).
 */
#ifndef CHANNELS_H
#define CHANNELS_H

#include "http_client.h"
#include "plugin_host.h"
#include "vault.h"

struct call;

/* A BLAKE2b-256 of a channel's stored credentials (templates.c). */
#define CHAN_DIGEST_LEN		32

/* One request to a provider, from the worker's task threads. */
#define CHANNEL_HTTP_TIMEOUT_MS	10000

/* Everything the task thread needs, and what it found out. */
struct chan_job {
	const struct host_plugin	*plugin;
	struct inbox_cred		 creds[PLUGIN_FIELDS_MAX];
	size_t				 ncreds;
	int				 do_register;
	char				 webhook_url[512];
	char				 webhook_secret[VAULT_TOKEN_LEN + 1];

	int				 outcome;	/* INBOX_OUTCOME_* */
	char				 kind[16];
	char				 message[300];
	char				 routing_key[128];
	char				 account_name[128];
	uint32_t			 retry_after;	/* seconds, 0: none */

	/* Listing message templates (templates.c). */
	json_t				*templates;
	int				 truncated;
	int				 busy;		/* holds a listing slot */
	u_int8_t			 creds_digest[CHAN_DIGEST_LEN];
};

/* The step's own state, kept across steps in c->task_arg. */
struct chan_call {
	struct chan_job		*job;
	struct vault_datakey	 dk;
	int			 have_dk;
	int			 disconnected;	/* the channel, as it was */
	char			 org[40];
	char			 channel[40];
};

void	chan_free(void *);
int	chan_begin_result(struct call *, const char *);
int	chan_begin_body(struct call *, json_t *, const char *);
int	chan_exchange(struct chan_job *, struct inbox_call *, int, int,
	    const struct inbox_http_request *, long, struct http_result *,
	    struct inbox_result *);

#endif /* !CHANNELS_H */
