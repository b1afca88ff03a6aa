/*
 * ingest.h: group commit of webhook deliveries (ingest.c).
 */
#ifndef INGEST_H
#define INGEST_H

#include <sys/queue.h>

/* Where a job is (ingest_job.state). */
#define INGEST_IDLE		0
#define INGEST_WAITING		1	/* in the worker's queue */
#define INGEST_RUNNING		2	/* in a statement */
#define INGEST_DONE		3	/* committed: status and answer */
#define INGEST_FAILED		4	/* nothing committed: sqlstate, errmsg */

/*
 * One delivery to store, embedded in its request's state. The caller
 * fills endpoint (borrowed: it must outlive the job) and meta, events
 * and body (kore_malloc'd, handed over: a delivery may be sent again
 * alone, so the job keeps them). After INGEST_DONE, status and answer
 * are the api function's (answer as JSON text); after INGEST_FAILED,
 * sqlstate and errmsg say why. ingest_forget() frees everything the job
 * owns.
 */
struct ingest_job {
	const char		*endpoint;
	char			*meta;
	char			*events;
	char			*body;
	size_t			 body_len;

	int			 state;
	int			 status;
	char			*answer;
	char			 sqlstate[6];
	char			*errmsg;

	/* ingest.c's own. */
	int			 alone;
	struct http_request	*req;
	struct ingest_slot	*slot;
	int			 index;
	TAILQ_ENTRY(ingest_job)	 list;
};

void	ingest_init(void);
/* Queues j for req, which sleeps until j is INGEST_DONE or FAILED. */
void	ingest_submit(struct ingest_job *, struct http_request *);
/* From req's handler when it wakes: whether j is over (else it sleeps). */
int	ingest_over(struct ingest_job *);
/* j's request is going away: out of the queue or its statement. */
void	ingest_forget(struct ingest_job *);

#endif /* !INGEST_H */
