/*
 * fuzz_parse_360dialog.c: libFuzzer target for the 360dialog plugin's
 * webhook_parse (plugins/360dialog); what it checks is in fuzz_parse.inc.
 */
#define FUZZ_ADAPTER	"360dialog"
#include "fuzz_parse.inc"
