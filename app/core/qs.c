/*
 * qs.c: query strings into JSON objects.
 *
 * Kore drops query arguments that are not declared with a validator in
 * the configuration, and the API's filters are many and change with each
 * endpoint; so the raw query string is parsed here once, strictly, and
 * the SQL functions validate the values they use.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "qs.h"

static int	hexval(int);
static int	qs_name_ok(const char *, size_t);

static int
hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return (ch - '0');
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return (ch - 'a' + 10);
	return (-1);
}

int
qs_decode(const char *src, size_t len, char *dst)
{
	size_t	i, o = 0;
	int	hi, lo;

	for (i = 0; i < len; i++) {
		if (src[i] == '+') {
			dst[o++] = ' ';
		} else if (src[i] == '%') {
			if (i + 2 >= len)
				return (-1);
			if ((hi = hexval((unsigned char)src[i + 1])) == -1 ||
			    (lo = hexval((unsigned char)src[i + 2])) == -1)
				return (-1);
			dst[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			dst[o++] = src[i];
		}
	}
	dst[o] = '\0';
	return ((int)o);
}

static int
qs_name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > QS_MAX_KEY)
		return (0);
	for (i = 0; i < len; i++) {
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_' && s[i] != '.')
			return (0);
	}
	return (1);
}

int
qs_parse(const char *qs, json_t *out, char *err, size_t errlen)
{
	char		 name[QS_MAX_KEY * 3 + 1], value[QS_MAX_VALUE * 3 + 1];
	const char	*p, *amp, *eq;
	size_t		 klen, vlen;
	int		 n = 0, dlen;
	json_t		*s;

	if (qs == NULL)
		return (0);
	for (p = qs; *p != '\0'; p = *amp ? amp + 1 : amp) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = p + strlen(p);
		if (amp == p)
			continue;
		if (++n > QS_MAX_ARGS) {
			snprintf(err, errlen, "at most %d query arguments",
			    QS_MAX_ARGS);
			return (-1);
		}
		if ((eq = memchr(p, '=', amp - p)) == NULL)
			eq = amp;
		klen = eq - p;
		vlen = eq < amp ? (size_t)(amp - eq - 1) : 0;
		if (klen > QS_MAX_KEY * 3 || vlen > QS_MAX_VALUE * 3 ||
		    (dlen = qs_decode(p, klen, name)) == -1 ||
		    !qs_name_ok(name, (size_t)dlen)) {
			snprintf(err, errlen, "invalid query argument name");
			return (-1);
		}
		if ((dlen = qs_decode(eq < amp ? eq + 1 : eq, vlen,
		    value)) == -1 || dlen > QS_MAX_VALUE ||
		    memchr(value, '\0', (size_t)dlen) != NULL) {
			snprintf(err, errlen, "invalid value for %s", name);
			return (-1);
		}
		if (json_object_get(out, name) != NULL) {
			snprintf(err, errlen, "%s is given twice", name);
			return (-1);
		}
		/* jansson refuses strings that are not UTF-8. */
		if ((s = json_stringn(value, (size_t)dlen)) == NULL) {
			snprintf(err, errlen, "%s is not valid UTF-8", name);
			return (-1);
		}
		json_object_set_new(out, name, s);
	}
	return (0);
}
