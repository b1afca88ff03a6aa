/*
 * fuzz_templates_360dialog.c: libFuzzer target for the 360dialog
 * plugin's templates_parse (plugins/360dialog), with the credentials and
 * base URL of its golden cases; what it checks is in fuzz_templates.inc.
 */
#define FUZZ_ADAPTER		"360dialog"
#define FUZZ_CREDS		{					\
	{ "api_key", "Kd8Qy2Vn0wqXc1SAK" },				\
}
#define FUZZ_CONFIG_NAME	"D360_API_BASE"
#define FUZZ_CONFIG_VALUE	"https://waba-v2.360dialog.test"
#include "fuzz_templates.inc"
