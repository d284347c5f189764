/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_store_kill: real processes, real disk. A child opens the store and writes as fast as
 * it can from several threads, sending each acknowledged write to the parent over a pipe; the
 * parent SIGKILLs it at a random moment, then reopens the store and checks that every
 * acknowledged write is there with its exact value. (SIGKILL keeps the page cache, so this
 * alone would not catch a missing fsync: test_store_crash does that; this one catches what a
 * double cannot, such as the real io_uring path and real file handling.)
 * Rounds: DROVER_KILL_ROUNDS (default 50) over one directory that accumulates across rounds,
 * with a small snapshot threshold so kills also land in snapshots and log cuts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "helpers.h"
#include "log.h"

#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define THREADS	   4
#define VAL_MAX	   600
#define SNAP_BYTES (96u << 10)

struct ack {
	uint32_t round, thread, n, pad;
	uint64_t rev;
};

struct child {
	struct store *s;
	int fd, round, thread;
	pthread_mutex_t *lock;
};

static void key_of(char *buf, size_t len, uint32_t round, uint32_t thread, uint32_t n)
{
	snprintf(buf, len, "/kill/%u/%u/%u", round, thread, n);
}

static uint64_t id_of(uint32_t round, uint32_t thread, uint32_t n)
{
	return ((uint64_t)round << 40) | ((uint64_t)thread << 32) | n;
}

static void *child_writer(void *arg)
{
	struct child *c = arg;
	uint8_t val[VAL_MAX];
	char key[64], ctr[32];
	time_t until = time(NULL) + 30;

	snprintf(ctr, sizeof(ctr), "/ctr/%d", c->thread);
	for (uint32_t n = 0; time(NULL) < until; n++) {
		struct ack a = {.round = (uint32_t)c->round, .thread = (uint32_t)c->thread, .n = n};
		size_t len;

		key_of(key, sizeof(key), a.round, a.thread, n);
		len = test_value(id_of(a.round, a.thread, n), 1, val, VAL_MAX);
		if (store_create(c->s, key, strlen(key), val, len, &a.rev))
			_exit(3);
		/* Per-thread counter: an update whose value only grows. */
		if (store_update(c->s, ctr, strlen(ctr), &a, sizeof(a), 0, NULL) == -ENOENT &&
		    store_create(c->s, ctr, strlen(ctr), &a, sizeof(a), NULL))
			_exit(4);
		pthread_mutex_lock(c->lock);
		if (write(c->fd, &a, sizeof(a)) != sizeof(a))
			_exit(5);
		pthread_mutex_unlock(c->lock);
	}
	_exit(0);
}

static void child_main(const char *d, int fd, int round)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct child c[THREADS];
	pthread_t t[THREADS];
	struct store *s;
	int err;

	s = test_open_dir(d, SNAP_BYTES, &err);
	if (!s)
		_exit(2);
	for (int i = 0; i < THREADS; i++) {
		c[i] = (struct child){.s = s, .fd = fd, .round = round, .thread = i, .lock = &lock};
		pthread_create(&t[i], NULL, child_writer, &c[i]);
	}
	for (;;)
		pause();
}

struct acks {
	struct ack *a;
	size_t n, cap;
};

static int read_acks(int fd, struct acks *acks, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct ack buf[256];
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	if (n <= 0)
		return -1;
	assert_int_equal(n % (ssize_t)sizeof(struct ack), 0);
	for (ssize_t i = 0; i < n / (ssize_t)sizeof(struct ack); i++) {
		if (acks->n == acks->cap) {
			acks->cap = acks->cap ? acks->cap * 2 : 1024;
			acks->a = realloc(acks->a, acks->cap * sizeof(struct ack));
		}
		acks->a[acks->n++] = buf[i];
	}
	return 1;
}

static void verify(const char *d, struct acks *acks, uint32_t last_n[][THREADS], int rounds)
{
	uint8_t val[VAL_MAX];
	struct store *s;
	char key[64];
	int err;

	s = test_open_dir(d, SNAP_BYTES, &err);
	if (!s)
		fail_msg("reopen after kill: %s", store_strerror(err));
	for (size_t i = 0; i < acks->n; i++) {
		struct ack *a = &acks->a[i];
		struct store_kv kv;
		size_t len = test_value(id_of(a->round, a->thread, a->n), 1, val, VAL_MAX);

		key_of(key, sizeof(key), a->round, a->thread, a->n);
		err = store_get(s, key, strlen(key), 0, &kv);
		if (err)
			fail_msg("acknowledged %s (rev %" PRIu64 ") lost: %s", key, a->rev,
				 store_strerror(err));
		assert_int_equal(kv.mod_rev, a->rev);
		assert_int_equal(kv.value_len, len);
		assert_memory_equal(kv.value, val, len);
		store_kv_release(&kv);
	}
	/* The counters hold at least the last acknowledged update of the latest round. */
	for (int t = 0; t < THREADS; t++) {
		struct store_kv kv;
		struct ack a;

		snprintf(key, sizeof(key), "/ctr/%d", t);
		if (last_n[rounds - 1][t] == UINT32_MAX)
			continue;
		assert_int_equal(store_get(s, key, strlen(key), 0, &kv), 0);
		assert_int_equal(kv.value_len, sizeof(a));
		memcpy(&a, kv.value, sizeof(a));
		assert_true(a.round > (uint32_t)rounds - 1 ||
			    (a.round == (uint32_t)rounds - 1 && a.n >= last_n[rounds - 1][t]));
		store_kv_release(&kv);
	}
	store_close(s);
}

static char *dir; /* removed by teardown, also after a failed assertion */

static int teardown(void **state)
{
	(void)state;
	test_dir_drop(&dir);
	return 0;
}

static void test_kill_rounds(void **state)
{
	const char *e = getenv("DROVER_KILL_ROUNDS");
	int rounds = e ? atoi(e) : 50;
	struct acks acks = {0};
	uint32_t(*last_n)[THREADS] = calloc((size_t)rounds, sizeof(*last_n));
	unsigned seed = (unsigned)time(NULL);
	size_t total = 0;

	(void)state;
	dir = test_tmpdir("/tmp");
	assert_non_null(dir);
	log_set_level(LOG_ERROR);
	printf("kill test: %d rounds in %s, seed %u\n", rounds, dir, seed);
	srand(seed);
	for (int r = 0; r < rounds; r++) {
		int p[2], status;
		pid_t pid;
		long delay_ms = 2 + rand() % 40;
		struct timespec start, now;

		for (int t = 0; t < THREADS; t++)
			last_n[r][t] = UINT32_MAX;
		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child_main(dir, p[1], r);
		}
		close(p[1]);
		/* Wait for the first acknowledgement, then kill at a random moment. */
		size_t before = acks.n;

		while (acks.n == before && read_acks(p[0], &acks, 30000) > 0)
			;
		clock_gettime(CLOCK_MONOTONIC, &start);
		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			long el = (now.tv_sec - start.tv_sec) * 1000 +
				  (now.tv_nsec - start.tv_nsec) / 1000000;

			if (el >= delay_ms)
				break;
			if (read_acks(p[0], &acks, (int)(delay_ms - el)) < 0)
				break;
		}
		kill(pid, SIGKILL);
		while (read_acks(p[0], &acks, 5000) > 0)
			;
		close(p[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSIGNALED(status))
			fail_msg("round %d: child exited with %d before the kill", r,
				 WEXITSTATUS(status));
		assert_true(acks.n > before);
		for (size_t i = before; i < acks.n; i++)
			last_n[r][acks.a[i].thread] = acks.a[i].n;
		total += acks.n - before;
		verify(dir, &acks, last_n, r + 1);
	}
	printf("kill test: %d rounds, %zu acknowledged writes, all recovered\n", rounds, total);
	free(acks.a);
	free(last_n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_kill_rounds, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
