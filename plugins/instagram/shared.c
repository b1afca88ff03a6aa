/*
 * shared.c: the shared plugin code this plugin is built with (see
 * plugins/common/pjson.h for why it is included rather than linked).
 */
#include "../common/pjson.inc"
#include "../common/http.inc"
#include "../common/graph.inc"
#include "../common/events.inc"
#include "../common/outmsg.inc"
#include "../common/meta_webhook.inc"
#include "../common/meta_send.inc"
