/*
 * jsonscan.c: the value of one top-level string member of a JSON object
 * (a webhook's "object"), without building a tree or allocating.
 *
 * The webhook host needs nothing of a delivery but its top-level "object"
 * to pick the adapter plugin, and the plugin parses the body strictly
 * anyway (pj_load: duplicates rejected, an object root). Parsing it with
 * jansson a second time only for that string cost ~18% of kore's CPU per
 * delivery (docs/performance.md). This scanner walks the text once,
 * iteratively, and answers one of three things:
 *
 *   JSONSCAN_FOUND   the member exists once at the top level and its
 *                    value is a string without backslash escapes; *val
 *                    points at its bytes in buf (between the quotes, not
 *                    NUL-terminated), *vlen is their count;
 *   JSONSCAN_ABSENT  the text looks like one well-formed object and no
 *                    top-level member has that name;
 *   JSONSCAN_UNSURE  anything else: the root is not an object, a
 *                    top-level key has an escape (it might decode to the
 *                    name), the member's value is not a string or has an
 *                    escape, the member comes twice, nesting deeper than
 *                    JSONSCAN_MAXDEPTH, truncation, a byte the grammar
 *                    does not allow (NUL and other control characters
 *                    included), text after the root.
 *
 * UNSURE is always safe: the caller parses the text with jansson instead.
 * FOUND and ABSENT never contradict what json_loadb(JSON_REJECT_DUPLICATES)
 * makes of a text it accepts: for such a text the scanner follows the
 * same grammar, skips strings exactly as jansson's lexer delimits them
 * (a backslash always takes the next byte with it), and an unescaped
 * JSON string's value is its raw bytes. What the scanner does not check
 * is what jansson checks beyond the structure (UTF-8, number syntax in
 * detail, duplicate keys below the top level), so a FOUND or ABSENT text
 * may still be refused by the strict parse that must follow; the caller
 * may use the answer only together with that parse's verdict.
 *
 * Linear in len, no recursion: containers are tracked in a bit stack,
 * one bit per level (object or array).
 */
#include <stdint.h>
#include <string.h>

#include "jsonscan.h"

/* What the next token may be. */
#define JS_KEY_OR_CLOSE		0	/* after '{' */
#define JS_KEY			1	/* after ',' in an object */
#define JS_COLON		2	/* after a key */
#define JS_VALUE_OR_CLOSE	3	/* after '[' */
#define JS_VALUE		4	/* after ':', or ',' in an array */
#define JS_NEXT			5	/* after a value: ',' or a close */

static int	jsonscan_ws(unsigned char);
static int	jsonscan_hex(unsigned char);
static size_t	jsonscan_string(const unsigned char *, size_t, size_t, int *);
static size_t	jsonscan_scalar(const unsigned char *, size_t, size_t);

/*
 * Finds the top-level member name (a NUL-terminated string that needs no
 * escaping in JSON) in the len bytes at buf, which need no NUL. See the
 * comment at the top of the file for the answers. *val and *vlen are
 * NULL and 0 unless the answer is JSONSCAN_FOUND.
 */
int
jsonscan_top_string(const char *buf, size_t len, const char *name,
    const char **val, size_t *vlen)
{
	const unsigned char	*p = (const unsigned char *)buf;
	const char		*found = NULL;
	uint64_t		 objs;	/* bit d - 1: level d is an object */
	size_t			 i, end, d, nlen, flen = 0;
	int			 state, escaped, member = 0;
	unsigned char		 c;

	*val = NULL;
	*vlen = 0;
	if (buf == NULL || name == NULL)
		return (JSONSCAN_UNSURE);
	nlen = strlen(name);

	for (i = 0; i < len && jsonscan_ws(p[i]); i++)
		;
	if (i == len || p[i] != '{')
		return (JSONSCAN_UNSURE);
	i++;
	d = 1;
	objs = 1;
	state = JS_KEY_OR_CLOSE;

	while (d > 0) {
		while (i < len && jsonscan_ws(p[i]))
			i++;
		if (i == len)
			return (JSONSCAN_UNSURE);
		c = p[i];

		switch (state) {
		case JS_KEY_OR_CLOSE:
		case JS_KEY:
			if (c == '}' && state == JS_KEY_OR_CLOSE)
				goto close;
			if (c != '"' ||
			    (end = jsonscan_string(p, len, i, &escaped)) == 0)
				return (JSONSCAN_UNSURE);
			if (d == 1) {
				/* An escaped key might decode to name. */
				if (escaped)
					return (JSONSCAN_UNSURE);
				member = end - i - 2 == nlen &&
				    memcmp(p + i + 1, name, nlen) == 0;
			}
			i = end;
			state = JS_COLON;
			continue;
		case JS_COLON:
			if (c != ':')
				return (JSONSCAN_UNSURE);
			i++;
			state = JS_VALUE;
			continue;
		case JS_VALUE_OR_CLOSE:
		case JS_VALUE:
			if (c == ']' && state == JS_VALUE_OR_CLOSE)
				goto close;
			if (member) {
				/* Only ever set at level 1, for this value. */
				member = 0;
				if (c != '"' || found != NULL ||
				    (end = jsonscan_string(p, len, i,
				    &escaped)) == 0 || escaped)
					return (JSONSCAN_UNSURE);
				found = buf + i + 1;
				flen = end - i - 2;
			} else if (c == '{' || c == '[') {
				if (d == JSONSCAN_MAXDEPTH)
					return (JSONSCAN_UNSURE);
				if (c == '{')
					objs |= (uint64_t)1 << d;
				else
					objs &= ~((uint64_t)1 << d);
				d++;
				i++;
				state = c == '{' ? JS_KEY_OR_CLOSE :
				    JS_VALUE_OR_CLOSE;
				continue;
			} else if (c == '"') {
				if ((end = jsonscan_string(p, len, i,
				    &escaped)) == 0)
					return (JSONSCAN_UNSURE);
			} else if ((end = jsonscan_scalar(p, len, i)) == 0)
				return (JSONSCAN_UNSURE);
			i = end;
			state = JS_NEXT;
			continue;
		case JS_NEXT:
			if (c == ',') {
				i++;
				state = (objs >> (d - 1) & 1) ? JS_KEY :
				    JS_VALUE;
				continue;
			}
			if (c == '}' || c == ']')
				goto close;
			return (JSONSCAN_UNSURE);
		}
		return (JSONSCAN_UNSURE);
close:
		/* The bracket must close the container it belongs to. */
		if ((c == '}') != (int)(objs >> (d - 1) & 1))
			return (JSONSCAN_UNSURE);
		d--;
		i++;
		state = JS_NEXT;
	}

	/* Nothing but whitespace after the root, as jansson requires. */
	while (i < len && jsonscan_ws(p[i]))
		i++;
	if (i != len)
		return (JSONSCAN_UNSURE);
	if (found == NULL)
		return (JSONSCAN_ABSENT);
	*val = found;
	*vlen = flen;
	return (JSONSCAN_FOUND);
}

/* JSON's whitespace, which is also all jansson skips. */
static int
jsonscan_ws(unsigned char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

static int
jsonscan_hex(unsigned char c)
{
	return ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F'));
}

/*
 * The string starting with the quote at p[i]: the index just past its
 * closing quote, or 0 when it is unterminated or holds a byte JSON does
 * not allow there (control characters, NUL included; a bad escape).
 * *escaped tells whether it had any backslash.
 */
static size_t
jsonscan_string(const unsigned char *p, size_t len, size_t i, int *escaped)
{
	size_t	k;

	*escaped = 0;
	for (i++; i < len; i++) {
		if (p[i] == '"')
			return (i + 1);
		if (p[i] < 0x20)
			return (0);
		if (p[i] != '\\')
			continue;
		*escaped = 1;
		if (++i == len)
			return (0);
		switch (p[i]) {
		case '"':
		case '\\':
		case '/':
		case 'b':
		case 'f':
		case 'n':
		case 'r':
		case 't':
			break;
		case 'u':
			if (len - i <= 4)
				return (0);
			for (k = 1; k <= 4; k++)
				if (!jsonscan_hex(p[i + k]))
					return (0);
			i += 4;
			break;
		default:
			return (0);
		}
	}
	return (0);
}

/*
 * A number or literal starting at p[i]: the index just past it, or 0.
 * Numbers are only delimited here (jansson checks their syntax); the
 * literals must be exact.
 */
static size_t
jsonscan_scalar(const unsigned char *p, size_t len, size_t i)
{
	static const char *const	 lits[] = { "true", "false", "null" };
	size_t				 k, n;

	if (p[i] == '-' || (p[i] >= '0' && p[i] <= '9')) {
		for (i++; i < len && ((p[i] >= '0' && p[i] <= '9') ||
		    p[i] == '.' || p[i] == 'e' || p[i] == 'E' ||
		    p[i] == '+' || p[i] == '-'); i++)
			;
		return (i);
	}
	for (k = 0; k < sizeof(lits) / sizeof(lits[0]); k++) {
		n = strlen(lits[k]);
		if (len - i >= n && memcmp(p + i, lits[k], n) == 0)
			return (i + n);
	}
	return (0);
}
