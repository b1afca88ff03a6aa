/*
 * test_arena.c: the per-call arena behind the plugin host table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"

static void	test_alloc_zeroed_aligned(void **);
static void	test_growth_and_large(void **);
static void	test_limit(void **);
static void	test_strndup(void **);
static void	test_printf(void **);
static void	test_reset_wipes(void **);

static void
test_alloc_zeroed_aligned(void **state)
{
	struct inbox_arena	*a;
	unsigned char		*p, *q;
	size_t			 i;

	(void)state;
	assert_non_null(a = arena_new(0));
	assert_non_null(p = arena_alloc(a, 3));
	assert_non_null(q = arena_alloc(a, 0));
	assert_ptr_not_equal(p, q);
	assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
	assert_int_equal((uintptr_t)q % _Alignof(max_align_t), 0);
	for (i = 0; i < 100; i++) {
		assert_non_null(p = arena_alloc(a, 77));
		assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
		assert_true(p[0] == 0 && p[76] == 0);
		memset(p, 0xa5, 77);
	}
	arena_free(a);
	arena_free(NULL);
}

static void
test_growth_and_large(void **state)
{
	struct inbox_arena	*a;
	unsigned char		*big, *small;
	size_t			 i, n;

	(void)state;
	assert_non_null(a = arena_new(0));
	n = 3 * 1024 * 1024;
	assert_non_null(big = arena_alloc(a, n));
	for (i = 0; i < n; i += 4096)
		assert_int_equal(big[i], 0);
	big[n - 1] = 1;
	assert_non_null(small = arena_alloc(a, 10));
	assert_true(arena_used(a) >= n + 10);
	arena_free(a);
}

static void
test_limit(void **state)
{
	struct inbox_arena	*a;
	int			 i, got;

	(void)state;
	assert_non_null(a = arena_new(10000));
	assert_null(arena_alloc(a, 10001));
	for (got = 0, i = 0; i < 100; i++)
		if (arena_alloc(a, 1000) != NULL)
			got++;
	assert_true(got >= 5 && got <= 10);
	assert_null(arena_alloc(a, 1000));
	assert_null(arena_alloc(a, SIZE_MAX));
	assert_null(arena_alloc(a, SIZE_MAX - 3));
	/* After a reset the whole budget is there again. */
	arena_reset(a);
	assert_non_null(arena_alloc(a, 1000));
	arena_free(a);
}

static void
test_strndup(void **state)
{
	struct inbox_arena	*a;
	char			*s;

	(void)state;
	assert_non_null(a = arena_new(0));
	assert_non_null(s = arena_strndup(a, "hello world", 5));
	assert_string_equal(s, "hello");
	/* Stops at a NUL like strndup(3): never reads past it. */
	assert_non_null(s = arena_strndup(a, "ab", 1000));
	assert_string_equal(s, "ab");
	assert_non_null(s = arena_strndup(a, "", 0));
	assert_string_equal(s, "");
	arena_free(a);
}

static void
test_printf(void **state)
{
	struct inbox_arena	*a;
	char			*s, longer[5000];

	(void)state;
	assert_non_null(a = arena_new(0));
	assert_non_null(s = arena_printf(a, "%s/%d", "x", 42));
	assert_string_equal(s, "x/42");
	memset(longer, 'z', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_non_null(s = arena_printf(a, "<%s>", longer));
	assert_int_equal(strlen(s), sizeof(longer) + 1);
	assert_int_equal(s[0], '<');
	assert_int_equal(s[sizeof(longer)], '>');
	arena_free(a);
}

static void
test_reset_wipes(void **state)
{
	struct inbox_arena	*a;
	char			*s, *t;

	(void)state;
	assert_non_null(a = arena_new(0));
	assert_non_null(s = arena_printf(a, "%s", "secret-token"));
	assert_true(arena_used(a) > 0);
	arena_reset(a);
	assert_int_equal(arena_used(a), 0);
	/* The first chunk is kept: the same address comes back, zeroed. */
	assert_non_null(t = arena_alloc(a, 16));
	assert_ptr_equal(s, t);
	assert_int_equal(memcmp(t, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16), 0);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_zeroed_aligned),
		cmocka_unit_test(test_growth_and_large),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_strndup),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_reset_wipes),
	};

	return (cmocka_run_group_tests_name("arena", tests, NULL, NULL));
}
