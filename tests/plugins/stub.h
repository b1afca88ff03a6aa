/*
 * stub.h: do-nothing plugin functions shared by the deliberately broken
 * test plugins in tests/plugins/<name>/, which differ only in their
 * descriptors. Never a model for a real plugin: see plugins/ and
 * docs/plugins.md.
 */
#ifndef TEST_PLUGIN_STUB_H
#define TEST_PLUGIN_STUB_H

#include <stddef.h>

#include "inbox_plugin.h"

#define STUB_UNUSED	__attribute__((unused))

static STUB_UNUSED int
stub_test_build(const struct inbox_call *call, struct inbox_http_request *r)
{
	(void)call;
	r->method = "GET";
	r->url = "https://stub.test/";
	return (INBOX_OK);
}

static STUB_UNUSED int
stub_classify(const struct inbox_call *call, int op,
    const struct inbox_http_response *resp, struct inbox_result *res)
{
	(void)call;
	(void)op;
	res->outcome = resp->status == 200 ? INBOX_OUTCOME_OK :
	    INBOX_OUTCOME_PERMANENT;
	return (INBOX_OK);
}

static STUB_UNUSED int
stub_send_build(const struct inbox_call *call, const char *msg, size_t len,
    struct inbox_http_request *r)
{
	(void)call;
	(void)msg;
	(void)len;
	(void)r;
	return (INBOX_EUNSUPPORTED);
}

static STUB_UNUSED int
stub_webhook_parse(const struct inbox_call *call, const char *body,
    size_t len, struct inbox_parsed *out)
{
	(void)call;
	(void)body;
	(void)len;
	out->events = "[]";
	out->events_len = 2;
	return (INBOX_OK);
}

static STUB_UNUSED int
stub_register_build(const struct inbox_call *call, const char *url,
    const char *hname, const char *hvalue, struct inbox_http_request *r)
{
	(void)call;
	(void)url;
	(void)hname;
	(void)hvalue;
	(void)r;
	return (INBOX_EUNSUPPORTED);
}

static STUB_UNUSED int
stub_templates_build(const struct inbox_call *call, const char *cursor,
    struct inbox_http_request *r)
{
	(void)call;
	(void)cursor;
	r->method = "GET";
	r->url = "https://stub.test/templates";
	return (INBOX_OK);
}

static STUB_UNUSED int
stub_templates_parse(const struct inbox_call *call,
    const struct inbox_http_response *resp, struct inbox_templates *out)
{
	(void)call;
	(void)resp;
	out->templates = "[]";
	out->templates_len = 2;
	return (INBOX_OK);
}

/* The functions every capability set below needs. */
#define STUB_FUNCS							\
	.test_build = stub_test_build,					\
	.classify = stub_classify,					\
	.send_build = stub_send_build

/* End of an ABI 1.0 descriptor: the least size the host accepts. */
#define STUB_SIZE_1_0							\
	(offsetof(struct inbox_plugin, send_build) +			\
	    sizeof(int (*)(void)))

#endif /* !TEST_PLUGIN_STUB_H */
