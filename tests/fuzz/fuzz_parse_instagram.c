/*
 * fuzz_parse_instagram.c: libFuzzer target for the instagram plugin's
 * webhook_parse (plugins/instagram); what it checks is in fuzz_parse.inc.
 */
#define FUZZ_ADAPTER	"instagram"
#include "fuzz_parse.inc"
