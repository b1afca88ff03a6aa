/*
 * sandbox.c: the system calls a worker needs beyond kore's own filter.
 *
 * Kore's worker filter predates glibc 2.33+, which implements stat() with
 * newfstatat and tries clone3 before clone; without these rules the first
 * libpq connection, plugin dlopen, filemap request or task thread kills
 * the worker (kore field guide, section 2). Every rule names what needs
 * it; anything else still dies with SIGSYS.
 */
#include <kore/kore.h>
#include <kore/seccomp.h>	/* after kore.h: it needs its types */

KORE_SECCOMP_FILTER("app",
	/* stat()/fstat() in glibc: libpq, dlopen, filemap, libcurl CA file */
	KORE_SYSCALL_ALLOW(newfstatat),
	/* realpath() in filemap for paths with ".." or a trailing "/" */
	KORE_SYSCALL_ALLOW(faccessat2),
	/* pthread_create for task threads: ENOSYS makes glibc use clone,
	 * which kore's task filter allows */
	KORE_SYSCALL_DENY(clone3, ENOSYS),
	KORE_SYSCALL_ALLOW(rseq),
	/* libcurl after connect, the resolver, libpq over TCP */
	KORE_SYSCALL_ALLOW(getpeername),
	KORE_SYSCALL_ALLOW(sendmmsg),
	KORE_SYSCALL_ALLOW(uname),
	KORE_SYSCALL_ALLOW(getdents64),
	/* realloc() of a block glibc mapped on its own (past 128 KiB: the
	 * ingest statement's parameter buffers for a large delivery) */
	KORE_SYSCALL_ALLOW(mremap),
);
