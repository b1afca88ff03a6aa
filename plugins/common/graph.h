/*
 * graph.h: what WhatsApp Cloud API, Messenger and Instagram (all Meta
 * Graph API) have in common on the request side: a base URL from
 * configuration, an account id in the path, a Bearer token; and on the
 * answer side, the Graph error envelope and what its codes mean
 * (providers.md §1.11, §3.3, §8). 360dialog passes Meta's envelope
 * through unchanged, so it classifies with this too.
 */
#ifndef PLUGIN_GRAPH_H
#define PLUGIN_GRAPH_H

#include "inbox_plugin.h"
#include "common/pjson.h"

/* Pair rate limit 131056: about one message every 6 s to one user. */
#define GRAPH_PAIR_RATE_WAIT	6

/*
 * Where a plugin's successful answers keep what the host wants: the id
 * of a sent message, and for a connection test the account id (which
 * must equal a credential) and a name to show.
 */
struct graph_answer {
	void		(*sent)(const struct pj_value *,
			    struct inbox_result *);
	const char	*id_key;	/* the account id, or else... */
	const char	*alt_id_key;	/* ...this one (or NULL) */
	const char	*cred_field;	/* the credential it must equal */
	const char	*name_key;	/* the name, or else... */
	const char	*alt_name_key;	/* ...this one (or NULL) */
};

#pragma GCC visibility push(hidden)

int	graph_request(const struct inbox_call *, struct inbox_http_request *,
	    const char *, const char *, const char *, const char *,
	    const char *);
int	graph_classify(const struct inbox_call *, int,
	    const struct inbox_http_response *, struct inbox_result *,
	    const struct pj_value **);
int	graph_classify_answer(const struct inbox_call *, int,
	    const struct inbox_http_response *, struct inbox_result *,
	    const struct graph_answer *);

#pragma GCC visibility pop

#endif /* !PLUGIN_GRAPH_H */
