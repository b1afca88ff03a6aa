/*
 * shared.c: the shared plugin code this plugin is built with.
 *
 * plugins/common holds helpers every plugin needs (JSON in and out of the
 * arena, request building, normalized events). It has no .c files of its
 * own, because the Makefile builds each directory with .c files into a
 * plugin; instead each plugin compiles the pieces it uses here. Copy
 * this file along with example.c and keep the lines you need.
 */
#include "../common/pjson.inc"
#include "../common/http.inc"
#include "../common/events.inc"
#include "../common/outmsg.inc"
