// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle: per-process directories follow fork, exit and exec; what an
 * open file shows when its process execs or dies; rmmod while readers are
 * busy, and loading again.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Milliseconds until @path exists (@want_exists) or not, -1 after @limit_ms. */
static double wait_path(const char *path, int want_exists, double limit_ms)
{
	double start = now_ms();

	for (;;) {
		double elapsed = now_ms() - start;

		if ((access(path, F_OK) == 0) == want_exists)
			return elapsed;
		if (elapsed > limit_ms)
			return -1;
		usleep(500);
	}
}

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

/* 0 if our maps of @pid and /proc's are both empty, as for a zombie. */
static int zombie_reads_like_proc(pid_t pid)
{
	struct buf ours, proc;
	char path[128], ppath[128];
	int ret;

	ours_path(path, sizeof(path), pid, "maps");
	proc_path(ppath, sizeof(ppath), pid, "maps");
	if (read_all(path, 4096, &ours))
		return -1;
	if (read_all(ppath, 4096, &proc))
		return -2;
	ret = ours.len || proc.len;
	buf_free(&ours);
	buf_free(&proc);
	return ret;
}

TEST(fork_appears_exit_disappears)
{
	char path[128];
	double ms;
	int status;
	pid_t pid = spawn_sleeper();

	ASSERT_GT(pid, 0);
	ours_path(path, sizeof(path), pid, "maps");
	ms = wait_path(path, 1, 2000);
	TH_LOG("directory of a new process appeared after %.1f ms", ms);
	EXPECT_GE(ms, 0);
	EXPECT_LE(ms, 100);

	/* A zombie keeps its directory, like /proc, and reads empty like /proc. */
	kill(pid, SIGKILL);
	usleep(50 * 1000);
	EXPECT_EQ(0, access(path, F_OK));
	EXPECT_EQ(0, zombie_reads_like_proc(pid));

	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ms = wait_path(path, 0, 2000);
	TH_LOG("directory of a reaped process went away after %.1f ms", ms);
	EXPECT_GE(ms, 0);
	EXPECT_LE(ms, 1000);
}

/* An fd opened before exec shows what /proc shows: the old mm, gone, so nothing. */
TEST(exec)
{
	char path[128], ppath[128];
	int pipefd[2], status, ours_fd, proc_fd;
	char c, buf[4096];
	struct buf ours, proc;
	pid_t pid;

	ASSERT_EQ(0, pipe(pipefd));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &c, 1) != 1)
			_exit(1);
		execl("/bin/busybox", "sleep", "1000", NULL);
		_exit(2);
	}
	close(pipefd[0]);
	ours_path(path, sizeof(path), pid, "maps");
	proc_path(ppath, sizeof(ppath), pid, "maps");
	ASSERT_LE(0, wait_path(path, 1, 2000));
	ours_fd = open(path, O_RDONLY);
	proc_fd = open(ppath, O_RDONLY);
	ASSERT_LE(0, ours_fd);
	ASSERT_LE(0, proc_fd);
	ASSERT_EQ(1, write(pipefd[1], "x", 1));
	usleep(300 * 1000);

	EXPECT_EQ(read(proc_fd, buf, sizeof(buf)), read(ours_fd, buf, sizeof(buf)));
	close(ours_fd);
	close(proc_fd);

	/* The directory stays, and a new open shows the new image exactly. */
	ASSERT_EQ(0, read_all(path, 4096, &ours));
	ASSERT_EQ(0, read_all(ppath, 4096, &proc));
	EXPECT_EQ(proc.len, ours.len);
	EXPECT_EQ(0, memcmp(proc.data, ours.data, proc.len));
	EXPECT_NE(NULL, strstr(ours.data, "/bin/busybox"));
	buf_free(&ours);
	buf_free(&proc);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/*
 * An fd whose process was reaped never shows anything, even if the PID is
 * reused: maps, smaps and smaps_rollup, opened before the process dies (maps
 * and smaps also read from; smaps_rollup prints all at its first read).
 */
TEST(reaped_while_open)
{
	static const char *const files[] = { "maps", "smaps", "smaps_rollup" };
	char path[3][128], buf[4096];
	int fd[3], status, i;
	pid_t pid = spawn_sleeper();

	for (i = 0; i < 3; i++)
		ours_path(path[i], sizeof(path[i]), pid, files[i]);
	ASSERT_LE(0, wait_path(path[2], 1, 2000));
	for (i = 0; i < 3; i++) {
		fd[i] = open(path[i], O_RDONLY);
		ASSERT_LE(0, fd[i]);
	}
	ASSERT_GT(read(fd[0], buf, 100), 0);
	ASSERT_GT(read(fd[1], buf, 100), 0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_LE(0, wait_path(path[0], 0, 2000));
	for (i = 0; i < 3; i++) {
		errno = 0;
		EXPECT_EQ(-1, read(fd[i], buf, sizeof(buf)));
		TH_LOG("%s: read after reap: %s", files[i], strerror(errno));
		EXPECT_EQ(0, lseek(fd[i], 0, SEEK_SET) > 0);
		EXPECT_EQ(-1, read(fd[i], buf, sizeof(buf)));
		close(fd[i]);
	}
}

static volatile int stop;


static void *busy_reader(void *arg)
{
	static const char *const files[] = { "maps", "smaps", "smaps_rollup" };
	char path[128];
	struct buf b;
	int i = 0;

	(void)arg;
	while (!stop) {
		ours_path(path, sizeof(path), 1, files[i++ % 3]);
		if (!read_all(path, 64, &b))
			buf_free(&b);
	}
	return NULL;
}


/* rmmod while readers are busy: refused while a file is open, never a crash. */
TEST(rmmod_while_reading)
{
	pthread_t threads[3];
	int i, unloaded = 0, refused = 0, fd;
	char path[128];

	ours_path(path, sizeof(path), 1, "maps");
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	/* An open file pins the module. */
	EXPECT_EQ(-EWOULDBLOCK, module_unload());
	close(fd);

	for (i = 0; i < 3; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, busy_reader, NULL));
	for (i = 0; i < 200 && !unloaded; i++) {
		if (module_unload() == 0)
			unloaded = 1;
		else
			refused++;
		usleep(5000);
	}
	stop = 1;
	for (i = 0; i < 3; i++)
		pthread_join(threads[i], NULL);
	TH_LOG("rmmod refused %d times, then %s", refused, unloaded ? "unloaded" : "never unloaded");
	if (!unloaded)
		EXPECT_EQ(0, module_unload());
	EXPECT_NE(0, access(DEBUGFS_DIR, F_OK));

	ASSERT_EQ(0, module_load(""));
	EXPECT_LE(0, wait_path(path, 1, 1000));
}

/* 100 load/unload cycles while readers keep opening and reading. */
FIXTURE(module) {
	int unused;
};

FIXTURE_SETUP(module)
{
}

FIXTURE_TEARDOWN(module)
{
}

TEST_F_TIMEOUT(module, load_unload_cycles, 600)
{
	pthread_t threads[2];
	int i, busy = 0;
	char path[128];

	ours_path(path, sizeof(path), 1, "maps");
	stop = 0;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, busy_reader, NULL));
	for (i = 0; i < 100; i++) {
		int tries = 0, err;

		while ((err = module_unload())) {
			/* A reader has a file open: the module is pinned. Retry. */
			ASSERT_EQ(-EWOULDBLOCK, err);
			ASSERT_LT(++tries, 10000);
			busy++;
			usleep(1000);
		}
		ASSERT_EQ(0, module_load(""));
	}
	stop = 1;
	for (i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	TH_LOG("100 cycles, %d unload attempts refused while files were open", busy);
	EXPECT_LE(0, wait_path(path, 1, 1000));
}

TEST_HARNESS_MAIN
