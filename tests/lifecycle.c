// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle: per-process directories follow fork, exit and exec, even while
 * a reader is stuck in copy_to_user(); what an open file shows when its
 * process execs or dies; rmmod while readers are busy, and loading again;
 * module init failing at each step.
 */
#define _GNU_SOURCE
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

/*
 * In a /proc tree a reaped process's directory goes at the first directory
 * sync after its last file is closed: make one (a fork and an exit) and wait
 * for @dir to go. 0, or -1 if it stays.
 */
static int gone_after_next_sync(const char *dir)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	waitpid(pid, NULL, 0);
	return wait_path(dir, 0, 2000) < 0 ? -1 : 0;
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

struct stuck_read {
	int fd;
	char *buf;
	size_t len;
	ssize_t ret;
};

static void *stuck_reader(void *arg)
{
	struct stuck_read *r = arg;

	r->ret = read(r->fd, r->buf, r->len);
	return NULL;
}

/*
 * A reader stuck in copy_to_user() on a userfaultfd page that nobody
 * resolves, while its target is reaped: the target's directory still goes,
 * new processes still get theirs within 100 ms, and no task hangs (the
 * hung-task detector runs with a 2 s timeout meanwhile, and the reader stays
 * stuck for 5 s); then the page is resolved and the read completes.
 */
TEST(stuck_reader_blocks_nothing)
{
	long page = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct uffdio_zeropage zero = { 0 };
	struct uffd_msg msg;
	struct stuck_read r = { 0 };
	struct pollfd pfd;
	char path[128], dir[128], old_timeout[32] = "120";
	pthread_t thread;
	double ms, worst = 0;
	pid_t target;
	int uffd, fd, i;

	/* As root the fault of a kernel access waits too (no UFFD_USER_MODE_ONLY). */
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC);
	ASSERT_LE(0, uffd);
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	r.len = page;
	r.buf = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, r.buf);
	reg.range.start = (unsigned long)r.buf;
	reg.range.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	target = spawn_sleeper();
	ASSERT_GT(target, 0);
	ours_path(path, sizeof(path), target, "maps");
	snprintf(dir, sizeof(dir), "%s/%d", ours_dir(), target);
	ASSERT_LE(0, wait_path(path, 1, 2000));
	r.fd = open(path, O_RDONLY);
	ASSERT_LE(0, r.fd);
	ASSERT_EQ(0, pthread_create(&thread, NULL, stuck_reader, &r));
	/* The reader's copy_to_user() has faulted and waits for us. */
	pfd.fd = uffd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 5000));

	fd = open("/proc/sys/kernel/hung_task_timeout_secs", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, old_timeout, sizeof(old_timeout) - 1);

		old_timeout[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	ASSERT_EQ(0, write_str("/proc/sys/kernel/hung_task_timeout_secs", "2"));

	kill_and_reap(target);
	ms = wait_path(dir, 0, 2000);
	if (tree_in_proc()) {
		/* proc would wait for the read: the directory stays while its file is open. */
		TH_LOG("directory of the reaped target (its maps open, read stuck): %s",
		       ms < 0 ? "stays" : "went");
		EXPECT_LT(ms, 0);
	} else {
		TH_LOG("directory of the reaped target (its maps open, read stuck) went after %.1f ms",
		       ms);
		EXPECT_GE(ms, 0);
		EXPECT_LE(ms, 1000);
	}
	for (i = 0; i < 5; i++) {
		pid_t pid = spawn_sleeper();

		ASSERT_GT(pid, 0);
		ours_path(path, sizeof(path), pid, "maps");
		ms = wait_path(path, 1, 2000);
		EXPECT_GE(ms, 0);
		if (ms > worst)
			worst = ms;
		kill_and_reap(pid);
		usleep(1000 * 1000);
	}
	TH_LOG("while the reader was stuck: new directories within %.1f ms at worst", worst);
	EXPECT_LE(worst, 100);
	EXPECT_EQ(0, write_str("/proc/sys/kernel/hung_task_timeout_secs", old_timeout));

	/* Resolve the fault: the read completes with the chunk it had made. */
	TH_LOG("resolving the fault");
	ASSERT_EQ((ssize_t)sizeof(msg), read(uffd, &msg, sizeof(msg)));
	EXPECT_EQ(UFFD_EVENT_PAGEFAULT, msg.event);
	zero.range.start = (unsigned long)r.buf;
	zero.range.len = page;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_ZEROPAGE, &zero));
	TH_LOG("fault resolved; joining the reader");
	pthread_join(thread, NULL);
	TH_LOG("reader done: %zd", r.ret);
	EXPECT_LT(0, r.ret);
	EXPECT_EQ('\n', r.buf[r.ret > 0 ? r.ret - 1 : 0]);
	/* The process is gone: reading again says so, as /proc's would. */
	EXPECT_EQ(0, lseek(r.fd, 0, SEEK_SET));
	EXPECT_EQ(-1, read(r.fd, r.buf, page));
	EXPECT_EQ(ESRCH, errno);
	close(r.fd);
	munmap(r.buf, page);
	close(uffd);
	if (tree_in_proc())
		EXPECT_EQ(0, gone_after_next_sync(dir));
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
 * An fd whose process was reaped behaves as /proc's: what was generated
 * before the reap and not yet read comes out, then nothing new, even after a
 * seek to 0 and if the PID is reused (ESRCH): maps, smaps and smaps_rollup,
 * opened before the process dies (maps and smaps also read from;
 * smaps_rollup prints all at its first read).
 */
TEST(reaped_while_open)
{
	static const char *const files[] = { "maps", "smaps", "smaps_rollup" };
	char path[3][128], ppath[3][128], buf[2][4096];
	int fd[3], pfd[3], i, j;
	pid_t pid = spawn_sleeper();

	for (i = 0; i < 3; i++) {
		ours_path(path[i], sizeof(path[i]), pid, files[i]);
		proc_path(ppath[i], sizeof(ppath[i]), pid, files[i]);
	}
	ASSERT_LE(0, wait_path(path[2], 1, 2000));
	for (i = 0; i < 3; i++) {
		fd[i] = open(path[i], O_RDONLY);
		pfd[i] = open(ppath[i], O_RDONLY);
		ASSERT_LE(0, fd[i]);
		ASSERT_LE(0, pfd[i]);
	}
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(100, read(fd[i], buf[0], 100));
		ASSERT_EQ(100, read(pfd[i], buf[1], 100));
	}
	kill_and_reap(pid);
	/* In /proc the directory stays while its files are open (files.rs). */
	if (tree_in_proc())
		usleep(300 * 1000);
	else
		ASSERT_LE(0, wait_path(path[0], 0, 2000));
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++) {
			ssize_t want, got;
			int want_errno, got_errno;

			if (j == 2) {
				EXPECT_EQ(0, lseek(fd[i], 0, SEEK_SET));
				EXPECT_EQ(0, lseek(pfd[i], 0, SEEK_SET));
			}
			errno = 0;
			want = read(pfd[i], buf[1], sizeof(buf[1]));
			want_errno = errno;
			errno = 0;
			got = read(fd[i], buf[0], sizeof(buf[0]));
			got_errno = errno;
			TH_LOG("%s: read %d after reap: /proc %zd (%s), ours %zd (%s)", files[i], j,
			       want, strerror(want_errno), got, strerror(got_errno));
			EXPECT_EQ(want, got);
			EXPECT_EQ(want_errno, got_errno);
			if (want > 0 && want == got)
				EXPECT_EQ(0, memcmp(buf[0], buf[1], got));
		}
		EXPECT_EQ(-1, read(fd[i], buf[0], sizeof(buf[0])));
		close(fd[i]);
		close(pfd[i]);
	}
	if (tree_in_proc()) {
		char dir[128];

		snprintf(dir, sizeof(dir), "%s/%d", ours_dir(), pid);
		EXPECT_EQ(0, gone_after_next_sync(dir));
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
	if (tree_in_proc()) {
		/* proc pins no module: the unload releases the open file, which then says EIO. */
		char c;

		EXPECT_EQ(0, module_unload());
		EXPECT_EQ(-1, read(fd, &c, 1));
		EXPECT_EQ(EIO, errno);
		close(fd);
		ASSERT_EQ(0, module_load(""));
		ASSERT_LE(0, wait_path(path, 1, 1000));
		fd = open(path, O_RDONLY);
		ASSERT_LE(0, fd);
	}
	/* An open debugfs file pins the module. */
	if (!tree_in_proc())
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
	EXPECT_NE(0, access(ours_dir(), F_OK));

	ASSERT_EQ(0, module_load(""));
	EXPECT_LE(0, wait_path(path, 1, 1000));
}

static void *forker(void *arg)
{
	(void)arg;
	while (!stop) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}
	return NULL;
}

/*
 * Module init fails at each step (inject_init_failure=N) while processes
 * fork and exit, so the probes fire and queue directory syncs: the load
 * fails with the injected error, leaves no directory behind, the guest log
 * stays clean (KASAN: no sync may run after the module is freed), and a
 * later load works.
 */
TEST(init_failure_unwinds)
{
	char params[64], path[128];
	pthread_t thread;
	int step;

	ours_path(path, sizeof(path), 1, "maps");
	ASSERT_EQ(0, module_unload());
	stop = 0;
	ASSERT_EQ(0, pthread_create(&thread, NULL, forker, NULL));
	for (step = 1; step <= 4; step++) {
		snprintf(params, sizeof(params), "inject_init_failure=%d", step);
		EXPECT_EQ(-ECANCELED, module_load(params));
		EXPECT_NE(0, access(ours_dir(), F_OK));
	}
	stop = 1;
	pthread_join(thread, NULL);
	ASSERT_EQ(0, module_load(""));
	EXPECT_LE(0, wait_path(path, 1, 1000));
}

/*
 * Files opened while a load is in progress, held by opener(): the module's
 * directory tree exists before its init has finished, and a module whose
 * init fails is freed whatever its reference count, so a file opened in that
 * window would run freed code at its next read() or close().
 */
#define MAX_HELD 64
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static int held[MAX_HELD], nheld, opened_early;

static void *opener(void *arg)
{
	static const char *const files[] = { "stats", "1/maps", "1/smaps", "1/smaps_rollup" };
	unsigned int i = 0;
	char path[128];

	(void)arg;
	while (!stop) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", ours_dir(), files[i++ % 4]);
		fd = open(path, O_RDONLY);

		if (fd < 0)
			continue;
		pthread_mutex_lock(&held_lock);
		opened_early++;
		if (nheld < MAX_HELD)
			held[nheld++] = fd;
		else
			close(fd);
		pthread_mutex_unlock(&held_lock);
	}
	return NULL;
}

/* Read and close what opener() holds: the number of files. */
static int read_and_close_held(void)
{
	char buf[256];
	int i, n;

	pthread_mutex_lock(&held_lock);
	n = nheld;
	for (i = 0; i < nheld; i++) {
		if (read(held[i], buf, sizeof(buf)) < 0)
			fprintf(stderr, "# read of a file opened during a failed load: %s\n",
				strerror(errno));
		close(held[i]);
	}
	nheld = 0;
	pthread_mutex_unlock(&held_lock);
	return n;
}

/* Tests that load and unload the module many times: more than the default 30 s. */
FIXTURE(module) {
	int unused;
};

FIXTURE_SETUP(module)
{
}

FIXTURE_TEARDOWN(module)
{
}

/*
 * Module init fails at each step, five times, while a thread keeps opening
 * our files: no open succeeds before init has finished (so no file outlives
 * the freed module); whatever was opened is read and closed after the
 * failure, which on a module that let it open runs freed code (an oops or a
 * KASAN report in the guest log). A later load works.
 */
TEST_F_TIMEOUT(module, init_failure_with_files_open, 120)
{
	char params[64], path[128];
	int step, round, left = 0;
	pthread_t thread;

	ours_path(path, sizeof(path), 1, "maps");
	ASSERT_EQ(0, module_unload());
	stop = 0;
	opened_early = 0;
	ASSERT_EQ(0, pthread_create(&thread, NULL, opener, NULL));
	for (step = 1; step <= 4; step++) {
		for (round = 0; round < 5; round++) {
			snprintf(params, sizeof(params), "inject_init_failure=%d", step);
			EXPECT_EQ(-ECANCELED, module_load(params));
			left += read_and_close_held();
		}
	}
	stop = 1;
	pthread_join(thread, NULL);
	left += read_and_close_held();
	TH_LOG("%d opens succeeded during failing loads, %d files read and closed after",
	       opened_early, left);
	EXPECT_EQ(0, opened_early);
	ASSERT_EQ(0, module_load(""));
	EXPECT_LE(0, wait_path(path, 1, 1000));
}

/*
 * rmmod while a directory sync is queued: every sync first sleeps 300 ms
 * (inject_sync_delay_ms), a fork queues one, the module is unloaded right
 * after. The unload waits for that sync (a module that let it run later would
 * run freed code: an oops or a KASAN report in the guest log), and a later
 * load works.
 */
TEST(rmmod_with_sync_queued)
{
	char path[128];
	double ms = 0;
	int round;

	ours_path(path, sizeof(path), 1, "maps");
	for (round = 0; round < 3; round++) {
		pid_t pid;
		double t;

		ASSERT_EQ(0, reload_module("inject_sync_delay_ms=300"));
		pid = spawn_sleeper();
		ASSERT_GT(pid, 0);
		t = now_ms();
		ASSERT_EQ(0, module_unload());
		t = now_ms() - t;
		ms = t > ms ? t : ms;
		/* Its queued sync ran in full before the unload returned. */
		EXPECT_GE(t, 200) {
			TH_LOG("round %d: unloaded in %.1f ms with a sync queued", round, t);
		}
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		ASSERT_EQ(0, module_load(""));
	}
	TH_LOG("3 unloads with a sync queued, the longest %.0f ms", ms);
	EXPECT_LE(0, wait_path(path, 1, 1000));
}

/* 100 load/unload cycles while readers keep opening and reading. */
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
