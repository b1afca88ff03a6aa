/*
 * plugins.c: the channel plugins this server runs with.
 */
#include "app.h"

void
plugins_init(void)
{
}

json_t *
plugins_names(void)
{
	return (json_array());
}
