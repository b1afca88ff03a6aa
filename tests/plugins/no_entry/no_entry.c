/* no_entry: a shared object without inbox_plugin_entry; refused. */
#include "../stub.h"

int	not_a_plugin(void);

int
not_a_plugin(void)
{
	return (0);
}
