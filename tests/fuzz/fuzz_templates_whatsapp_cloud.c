/*
 * fuzz_templates_whatsapp_cloud.c: libFuzzer target for the
 * whatsapp_cloud plugin's templates_parse (plugins/whatsapp_cloud), with
 * the credentials and base URL of its golden cases; what it checks is in
 * fuzz_templates.inc.
 */
#define FUZZ_ADAPTER		"whatsapp_cloud"
#define FUZZ_CREDS		{					\
	{ "phone_number_id", "106540352242922" },			\
	{ "business_account_id", "102290129340398" },			\
	{ "access_token", "EAAGm0PX4ZCpsBAKZA" },			\
}
#define FUZZ_CONFIG_NAME	"GRAPH_API_BASE"
#define FUZZ_CONFIG_VALUE	"https://graph.test/v23.0"
#include "fuzz_templates.inc"
