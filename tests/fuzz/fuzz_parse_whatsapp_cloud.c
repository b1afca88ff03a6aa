/*
 * fuzz_parse_whatsapp_cloud.c: libFuzzer target for the whatsapp_cloud plugin's
 * webhook_parse (plugins/whatsapp_cloud); what it checks is in fuzz_parse.inc.
 */
#define FUZZ_ADAPTER	"whatsapp_cloud"
#include "fuzz_parse.inc"
