// SPDX-License-Identifier: GPL-2.0
/*
 * A reader waiting for mmap_lock must die promptly when killed.
 *
 * The target has 1 GiB of small pages and forks again and again: fork
 * write-locks every VMA of the parent and holds its mmap_write_lock while it
 * copies all the page tables, which takes long. A reader that meets a
 * write-locked VMA cannot take its per-VMA lock and falls back to
 * mmap_read_lock_killable(). Once the reader sleeps there, SIGKILL must end
 * it in much less time than a fork holds the lock.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <time.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#define BIG (1024UL << 20)

static int waiting_for_mmap_lock(pid_t pid)
{
	char path[64], wchan[128] = "";
	int fd, n;

	snprintf(path, sizeof(path), "/proc/%d/wchan", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, wchan, sizeof(wchan) - 1);
	close(fd);
	wchan[n > 0 ? n : 0] = '\0';
	/*
	 * The rwsem slow path, or what it is inlined into: down_read_killable(),
	 * our wrapper, or mm's lock_next_vma() (its fallback).
	 */
	return strstr(wchan, "rwsem") || strstr(wchan, "down_read") ||
	       strstr(wchan, "mmap_read_lock") || strstr(wchan, "lock_next_vma");
}

/* BIG of small pages, touched. */
static int touch_big(void)
{
	char *p = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	/* Small pages, so that copying the page tables takes long. */
	if (p == MAP_FAILED || madvise(p, BIG, MADV_NOHUGEPAGE))
		return -1;
	memset(p, 1, BIG);
	return 0;
}

/* Milliseconds one fork takes; forks again and again if @forever. */
static double fork_ms(int forever)
{
	do {
		double t = now_ms();
		pid_t child = fork();

		if (child == 0)
			_exit(0);
		t = now_ms() - t;
		waitpid(child, NULL, 0);
		if (!forever)
			return t;
	} while (1);
}

FIXTURE(killable) {
	pid_t target;
	double hold_ms;
};

FIXTURE_SETUP(killable)
{
	int status;
	pid_t probe = fork();

	/* Time one fork of such a process, in a process of its own. */
	ASSERT_GE(probe, 0);
	if (probe == 0) {
		double t;

		if (touch_big())
			_exit(255);
		t = fork_ms(0);
		_exit(t > 254 ? 254 : (int)t);
	}
	ASSERT_EQ(probe, waitpid(probe, &status, 0));
	self->hold_ms = WEXITSTATUS(status);

	self->target = fork();
	ASSERT_GE(self->target, 0);
	if (self->target == 0) {
		if (touch_big())
			_exit(1);
		fork_ms(1);
	}
	usleep(200 * 1000);
	ASSERT_EQ(0, wait_ours(self->target));
}

FIXTURE_TEARDOWN(killable)
{
	kill_and_reap(self->target);
}

TEST_F_TIMEOUT(killable, reader_killed_while_waiting, 300)
{
	long long errors = stat_get("errors");
	double killed_at, took, deadline = now_ms() + 120 * 1e3;
	int caught = 0, tries = 0;

	TH_LOG("a fork of the target holds mmap_lock for about %.0f ms", self->hold_ms);
	if (self->hold_ms < 150)
		SKIP(return, "fork is too fast here to tell a killable wait from a normal one");

	while (!caught && now_ms() < deadline) {
		pid_t reader = fork();

		ASSERT_GE(reader, 0);
		if (reader == 0) {
			char path[64];
			struct buf b;

			ours_path(path, sizeof(path), self->target, "maps");
			for (;;)
				if (!read_all(path, 4096, &b))
					buf_free(&b);
		}
		tries++;
		for (int i = 0; i < 2000 && !caught; i++) {
			caught = waiting_for_mmap_lock(reader);
			if (!caught)
				usleep(1000);
		}
		killed_at = now_ms();
		kill_and_reap(reader);
		took = now_ms() - killed_at;
		if (caught) {
			TH_LOG("reader waiting for mmap_lock (try %d) died %.1f ms after SIGKILL",
			       tries, took);
			EXPECT_LT(took, self->hold_ms / 3);
		}
	}
	ASSERT_TRUE(caught) {
		TH_LOG("no reader was ever seen waiting for mmap_lock in %d tries", tries);
	}
	/* The interrupted read went through the fallback and ended in EINTR. */
	EXPECT_GT(stat_get("mmap_lock_fallbacks"), 0);
	EXPECT_GT(stat_get("errors"), errors);
}

TEST_HARNESS_MAIN
