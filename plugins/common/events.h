/*
 * events.h: building the normalized events webhook_parse returns (the
 * schema is in docs/plugins.md), shared by every plugin's parser so all
 * channels emit the same keys with the same types.
 *
 * A parser walks the provider's payload and adds events to an evlist;
 * the evlist drops repeats within the delivery (providers re-batch
 * redeliveries, so one POST can carry the same message twice), collects
 * the distinct routing keys in first-seen order, and finally serialises
 * everything into the call's arena. Everything lives in the arena, and
 * allocation failures are sticky (ev->b.rc), so a parser adds events
 * without checking each one.
 */
#ifndef PLUGIN_EVENTS_H
#define PLUGIN_EVENTS_H

#include <stdint.h>

#include "inbox_plugin.h"
#include "common/pjson.h"

struct evlist {
	struct pj_build	 b;		/* the call, the first failure */
	struct pj_value	*events;	/* the array returned */
	const char	**keys;		/* distinct routing keys, in order */
	size_t		  nkeys;
	size_t		  keycap;
	const char	**seen;		/* dedupe keys of events and routing
					   keys: a hash set, half full at most */
	size_t		  nseen;
	size_t		  seencap;
};

struct ev_contact {
	const char	*external_id;	/* required */
	const char	*user_id;
	const char	*name;
	const char	*username;
};

/* Every string must last the call: the parsed body's, the arena's, or
 * static. */
struct ev_message {
	const char		*routing_key;	/* required */
	const char		*id;		/* required */
	int			 echo;		/* sent by the business */
	const char		*echo_app_id;
	const char		*echo_metadata;
	int64_t			 timestamp;	/* epoch seconds */
	struct ev_contact	 contact;
	const char		*type;		/* required */
	const char		*text;
	struct pj_value		*content;	/* required, an object */
	const struct pj_value	*referral;	/* added to content */
	const char		*reply_to;
};

/* A walker: look at the root object and add events. */
typedef void	(*ev_walk_fn)(struct evlist *, const struct pj_value *);

#pragma GCC visibility push(hidden)

int		 ev_parse(const struct inbox_call *, const char *, size_t,
		    ev_walk_fn, struct inbox_parsed *);
void		 ev_message(struct evlist *, const struct ev_message *);
void		 ev_status(struct evlist *, const char *, const char *,
		    const char *, int64_t, const char *, const char *,
		    const char *, const char *);
void		 ev_watermark(struct evlist *, const char *, const char *,
		    int64_t, const char *, int64_t);
void		 ev_error(struct evlist *, const char *, const char *,
		    const char *, int64_t);
struct pj_value	*ev_media(struct pj_build *, const char *, const char *,
		    const char *, const char *, const char *, const char *,
		    int);
struct pj_value	*ev_location(struct pj_build *, const struct pj_value *,
		    const struct pj_value *, const char *, const char *,
		    const char *);
struct pj_value	*ev_reaction(struct pj_build *, const char *, const char *,
		    const char *);
struct pj_value	*ev_interactive(struct pj_build *, const char *,
		    const char *, const char *, const char *);
struct pj_value	*ev_unsupported(struct pj_build *, const char *,
		    const char *);

#pragma GCC visibility pop

#endif /* !PLUGIN_EVENTS_H */
