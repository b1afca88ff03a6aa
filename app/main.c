/*
 * main.c: the module's life: what the parent sets up once before the
 * workers fork, and what each worker sets up for itself.
 *
 * The parent reads the configuration, opens the vault (the master key in
 * guarded memory), makes the dummy password hash and loads the channel
 * plugins, so every worker inherits them; a worker registers its own
 * database pool. A mistake in configuration stops the server here, with
 * a message, rather than crash-looping workers (see the kore field guide
 * on restart storms).
 */
#include <curl/curl.h>
#include <sodium.h>

#include "app.h"
#include "ingest.h"

void	kore_parent_configure(int, char **);
void	kore_worker_configure(void);

void
kore_parent_configure(int argc, char **argv)
{
	(void)argc;
	(void)argv;

	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	config_load();
	keys_init();
	password_init();
	plugins_init();
}

void
kore_worker_configure(void)
{
}

int
init(int state)
{
	if (state == KORE_MODULE_LOAD) {
		kore_pgsql_register(DB_NAME, app_config.database_url);
		ingest_init();
		stream_init();
	}
	return (KORE_RESULT_OK);
}
