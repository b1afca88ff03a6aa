/*
 * fuzz_parse_example.c: libFuzzer target for the example plugin's
 * webhook_parse (plugins/example); what it checks is in fuzz_parse.inc.
 */
#define FUZZ_ADAPTER	"example"
#include "fuzz_parse.inc"
