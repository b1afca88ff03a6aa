/*
 * events.h: building the normalized events webhook_parse returns (the
 * schema is in docs/plugins.md), shared by every plugin's parser so all
 * channels emit the same keys with the same types.
 *
 * A parser walks the provider's payload and adds events to an evlist;
 * the evlist drops repeats within the delivery (providers re-batch
 * redeliveries, so one POST can carry the same message twice), collects
 * the distinct routing keys in first-seen order, and finally serialises
 * everything into the call's arena. Allocation failures are sticky, so
 * a parser adds events without checking each one.
 */
#ifndef PLUGIN_EVENTS_H
#define PLUGIN_EVENTS_H

#include <jansson.h>

#include "inbox_plugin.h"

struct evlist {
	json_t	*events;	/* the array returned */
	json_t	*keys;		/* distinct routing keys, in order */
	json_t	*seen;		/* dedupe keys of events and routing keys */
	int	 nomem;		/* an allocation failed */
};

struct ev_contact {
	const char	*external_id;	/* required */
	const char	*user_id;
	const char	*name;
	const char	*username;
};

struct ev_message {
	const char		*routing_key;	/* required */
	const char		*id;		/* required */
	int			 echo;		/* sent by the business */
	const char		*echo_app_id;
	const char		*echo_metadata;
	json_int_t		 timestamp;	/* epoch seconds */
	struct ev_contact	 contact;
	const char		*type;		/* required */
	const char		*text;
	json_t			*content;	/* required, reference stolen */
	const json_t		*referral;	/* added to content */
	const char		*reply_to;
};

/* A walker: look at the root object and add events. */
typedef void	(*ev_walk_fn)(struct evlist *, json_t *);

#pragma GCC visibility push(hidden)

int	 ev_parse(const struct inbox_call *, const char *, size_t,
	    ev_walk_fn, struct inbox_parsed *);
void	 ev_message(struct evlist *, const struct ev_message *);
void	 ev_status(struct evlist *, const char *, const char *, const char *,
	    json_int_t, const char *, const char *, const char *,
	    const char *);
void	 ev_watermark(struct evlist *, const char *, const char *,
	    json_int_t, const char *, json_int_t);
void	 ev_error(struct evlist *, const char *, const char *, const char *,
	    json_int_t);
json_t	*ev_media(const char *, const char *, const char *, const char *,
	    const char *, const char *, int);
json_t	*ev_location(const json_t *, const json_t *, const char *,
	    const char *, const char *);
json_t	*ev_reaction(const char *, const char *, const char *);
json_t	*ev_interactive(const char *, const char *, const char *,
	    const char *);
json_t	*ev_unsupported(const char *, const char *);

#pragma GCC visibility pop

#endif /* !PLUGIN_EVENTS_H */
