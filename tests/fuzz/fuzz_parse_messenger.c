/*
 * fuzz_parse_messenger.c: libFuzzer target for the messenger plugin's
 * webhook_parse (plugins/messenger); what it checks is in fuzz_parse.inc.
 */
#define FUZZ_ADAPTER	"messenger"
#include "fuzz_parse.inc"
