// SPDX-License-Identifier: GPL-2.0
/*
 * Task states: open() and read() of maps, smaps, smaps_rollup, cmdline and
 * environ, and the PROCMAP_QUERY ioctl on maps, fail (or not) exactly where and how /proc's
 * do, for every state a target can be in: running, stopped, a zombie, a
 * kernel thread, a task that exits between open() and read() (read while it
 * is a zombie, then after it was reaped), and a task that execs between
 * open() and read(); and that nothing of a target is kept after it exits.
 *
 * These are the paths where /proc answers from what the task has, or no
 * longer has, rather than from VMAs: a task without an mm opens maps and smaps
 * but reads nothing, smaps_rollup refuses to open, an open file whose mm is
 * gone reads nothing or fails, and a reaped task fails differently again. A
 * file that reads the same bytes for a live process can still get any of
 * these wrong, so every outcome is compared with /proc's (never with a value
 * of our own): the result of open() (success or -errno), of the first read()
 * of 4096 bytes (the byte count or -errno, and the bytes themselves where the
 * target cannot change) and of one PROCMAP_QUERY (0 or -errno, and the answer
 * where the target cannot change).
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#define NFILES 6
#define READ_SIZE 4096
#define PF_KTHREAD 0x00200000	/* include/linux/sched.h */

static const char *const files[NFILES] = {
	"maps", "smaps", "smaps_rollup", "cmdline", "environ", "numa_maps",
};

/* How /proc's and our results must agree. */
enum how {
	/* The target cannot change: the same results, the same bytes. */
	SAME_BYTES,
	/* It runs: the same errors, but any two positive byte counts agree. */
	SAME_OUTCOME,
};

/* Each file of one process opened twice: fd[0] /proc's, fd[1] ours (an fd or -errno). */
struct opened {
	int fd[NFILES][2];
};

static void open_files(int pid, struct opened *o)
{
	char path[128];
	int i;

	for (i = 0; i < NFILES; i++) {
		proc_path(path, sizeof(path), pid, files[i]);
		o->fd[i][0] = open(path, O_RDONLY);
		if (o->fd[i][0] < 0)
			o->fd[i][0] = -errno;
		ours_path(path, sizeof(path), pid, files[i]);
		o->fd[i][1] = open(path, O_RDONLY);
		if (o->fd[i][1] < 0)
			o->fd[i][1] = -errno;
	}
}

static void close_files(struct opened *o)
{
	int i, side;

	for (i = 0; i < NFILES; i++) {
		for (side = 0; side < 2; side++) {
			if (o->fd[i][side] >= 0)
				close(o->fd[i][side]);
			o->fd[i][side] = -EBADF;
		}
	}
}

/* Whether /proc's result @p and ours @o agree (byte counts, 0 or -errno). */
static int agree(long p, long o, enum how how)
{
	if (how == SAME_OUTCOME && p > 0 && o > 0)
		return 1;
	return p == o;
}

/* Append to the summary line of one state (what /proc answered). */
static void __attribute__((format(printf, 3, 4)))
note(char *summary, size_t size, const char *fmt, ...)
{
	size_t len = strlen(summary);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(summary + len, size - len, fmt, ap);
	va_end(ap);
}

/* open(): both succeed, or both fail with the same errno. */
static int compare_open(struct __test_metadata *_metadata, const char *state,
			const struct opened *o, char *summary, size_t size)
{
	int i, mismatches = 0;

	for (i = 0; i < NFILES; i++) {
		long p = o->fd[i][0] < 0 ? o->fd[i][0] : 0;
		long u = o->fd[i][1] < 0 ? o->fd[i][1] : 0;

		note(summary, size, " %s open %ld", files[i], p);
		if (p != u) {
			TH_LOG("%s %s open: proc %d ours %d", files[i], state,
			       o->fd[i][0], o->fd[i][1]);
			mismatches++;
		}
	}
	return mismatches;
}

/* One read() of READ_SIZE bytes: the byte count or -errno. */
static long read_once(int fd, char *buf)
{
	ssize_t n = read(fd, buf, READ_SIZE);

	return n < 0 ? -errno : n;
}

/*
 * The next read() of each file that both sides opened: the same byte count or
 * error (@how), and with SAME_BYTES the same bytes.
 */
static int compare_reads(struct __test_metadata *_metadata, const char *state,
			 const struct opened *o, enum how how, char *summary, size_t size)
{
	static char pbuf[READ_SIZE + 1], obuf[READ_SIZE + 1];
	int i, mismatches = 0;

	for (i = 0; i < NFILES; i++) {
		long p, u;

		if (o->fd[i][0] < 0 || o->fd[i][1] < 0)
			continue; /* an open() that did not agree is reported already */
		p = read_once(o->fd[i][0], pbuf);
		u = read_once(o->fd[i][1], obuf);
		if (how == SAME_BYTES || p <= 0)
			note(summary, size, " %s read %ld", files[i], p);
		else
			note(summary, size, " %s read >0", files[i]);
		if (!agree(p, u, how)) {
			TH_LOG("%s %s read: proc %ld ours %ld", files[i], state, p, u);
			mismatches++;
		} else if (how == SAME_BYTES && p > 0 && memcmp(pbuf, obuf, p)) {
			struct buf a = { pbuf, p }, b = { obuf, u };

			pbuf[p] = obuf[u] = '\0';
			TH_LOG("%s %s read: %ld bytes, not the same", files[i], state, p);
			show_first_diff(&a, &b);
			mismatches++;
		}
	}
	return mismatches;
}

/* A PROCMAP_QUERY of the first VMA at or above address 0: 0 or -errno. */
static long query_once(int fd, struct procmap_query *q)
{
	memset(q, 0, sizeof(*q));
	q->size = sizeof(*q);
	q->query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
	q->query_addr = 0;
	return ioctl(fd, PROCMAP_QUERY, q) ? -errno : 0;
}

/* The query on both maps files, if both opened: the same result (and answer, @how). */
static int compare_query(struct __test_metadata *_metadata, const char *state,
			 const struct opened *o, enum how how, char *summary, size_t size)
{
	struct procmap_query pq, oq;
	long p, u;

	if (o->fd[0][0] < 0 || o->fd[0][1] < 0)
		return 0;
	p = query_once(o->fd[0][0], &pq);
	u = query_once(o->fd[0][1], &oq);
	note(summary, size, " maps query %ld", p);
	if (p != u) {
		TH_LOG("maps %s query: proc %ld ours %ld", state, p, u);
		return 1;
	}
	if (how == SAME_BYTES && !p && memcmp(&pq, &oq, sizeof(pq))) {
		TH_LOG("maps %s query: proc %llx-%llx flags %llx, ours %llx-%llx flags %llx",
		       state, (unsigned long long)pq.vma_start, (unsigned long long)pq.vma_end,
		       (unsigned long long)pq.vma_flags, (unsigned long long)oq.vma_start,
		       (unsigned long long)oq.vma_end, (unsigned long long)oq.vma_flags);
		return 1;
	}
	return 0;
}

/*
 * Read and query the files in @o (opened earlier) in @state: the number of
 * results that differ from /proc's, each one logged.
 */
static int compare_opened(struct __test_metadata *_metadata, const char *state,
			  const struct opened *o, enum how how)
{
	char summary[512] = "";
	int mismatches;

	mismatches = compare_reads(_metadata, state, o, how, summary, sizeof(summary));
	mismatches += compare_query(_metadata, state, o, how, summary, sizeof(summary));
	TH_LOG("%s: /proc's results:%s", state, summary);
	return mismatches;
}

/* Open, read and query every file of @pid in @state, as above. */
static int compare_state(struct __test_metadata *_metadata, int pid, const char *state,
			 enum how how)
{
	char summary[512] = "";
	struct opened o;
	int mismatches;

	open_files(pid, &o);
	mismatches = compare_open(_metadata, state, &o, summary, sizeof(summary));
	TH_LOG("%s: /proc's results:%s", state, summary);
	mismatches += compare_opened(_metadata, state, &o, how);
	close_files(&o);
	return mismatches;
}

/*
 * /proc/PID/stat of @pid: its state letter and flags, and its name in @comm.
 * 0, or -1 if it is gone or unreadable.
 */
static int task_stat(int pid, char *state, unsigned long *flags, char *comm, size_t size)
{
	char path[64], text[1024], *open_paren, *close_paren;
	int fd, len;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	len = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	text[len] = '\0';
	open_paren = strchr(text, '(');
	close_paren = strrchr(text, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -1;
	/* state ppid pgrp session tty_nr tpgid flags */
	if (sscanf(close_paren + 2, "%c %*d %*d %*d %*d %*d %lu", state, flags) != 2)
		return -1;
	snprintf(comm, size, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	return 0;
}

/* The length of /proc/PID/cmdline, or -1. */
static long cmdline_len(int pid)
{
	char path[64];
	struct buf b;
	long len;

	proc_path(path, sizeof(path), pid, "cmdline");
	if (read_all(path, 4096, &b))
		return -1;
	len = b.len;
	buf_free(&b);
	return len;
}

/* Wait until @pid has exited, without reaping it: 0 once it is a zombie. */
static int wait_zombie(pid_t pid)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	return waitid(P_PID, pid, &info, WEXITED | WNOWAIT) ? -errno : 0;
}

/* Reap @pid: 0, or -1 if it was not ours to reap. */
static int reap(pid_t pid)
{
	return waitpid(pid, NULL, 0) == pid ? 0 : -1;
}

FIXTURE(task) {
	pid_t pid;		/* the target child, 0 once reaped */
	struct opened early;	/* files opened before the target changed */
	struct opened late;	/* more of them, read only after it was reaped */
};

FIXTURE_SETUP(task)
{
	self->pid = 0;
	memset(&self->early, 0xff, sizeof(self->early));
	memset(&self->late, 0xff, sizeof(self->late));
}

FIXTURE_TEARDOWN(task)
{
	close_files(&self->early);
	close_files(&self->late);
	if (self->pid > 0)
		kill_and_reap(self->pid);
}

/* A running process (busy in user space): the same outcomes, not the same bytes. */
TEST_F(task, running)
{
	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (self->pid == 0) {
		volatile unsigned long spin = 0;

		for (;;)
			spin++;
	}
	ASSERT_EQ(0, wait_ours(self->pid));
	EXPECT_EQ(0, compare_state(_metadata, self->pid, "running", SAME_OUTCOME));
}

TEST_F(task, stopped)
{
	self->pid = spawn_stopped(NULL);
	ASSERT_GT(self->pid, 0);
	EXPECT_EQ(0, compare_state(_metadata, self->pid, "stopped", SAME_BYTES));
}

/* A child that exited and was not waited for: both directories are still there. */
TEST_F(task, zombie)
{
	unsigned long flags;
	char state, comm[64];

	self->pid = spawn_stopped(NULL);
	ASSERT_GT(self->pid, 0);
	/* spawn_stopped()'s child exits when continued. */
	ASSERT_EQ(0, kill(self->pid, SIGCONT));
	ASSERT_EQ(0, wait_zombie(self->pid));
	ASSERT_EQ(0, task_stat(self->pid, &state, &flags, comm, sizeof(comm)));
	ASSERT_EQ('Z', state);
	EXPECT_EQ(0, compare_state(_metadata, self->pid, "zombie", SAME_BYTES));
	ASSERT_EQ(0, reap(self->pid));
	self->pid = 0;
}

/*
 * A kernel thread other than kthreadd, found in /proc: PF_KTHREAD, an empty
 * cmdline, not a zombie, preferably not a kworker (those come and go). Its
 * PID, or 0 if there is none.
 */
static int other_kthread(char *comm, size_t size)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	int found = 0;

	while (proc && (de = readdir(proc))) {
		int pid = atoi(de->d_name);
		unsigned long flags;
		char state, name[64];

		if (pid <= 2 || task_stat(pid, &state, &flags, name, sizeof(name)))
			continue;
		if (!(flags & PF_KTHREAD) || state == 'Z' || cmdline_len(pid) != 0)
			continue;
		if (!found || !strncmp(comm, "kworker", 7)) {
			found = pid;
			snprintf(comm, size, "%s", name);
		}
		if (strncmp(name, "kworker", 7))
			break;
	}
	if (proc)
		closedir(proc);
	return found;
}

TEST_F(task, kernel_threads)
{
	char comm[64], state[96];
	int pid;

	EXPECT_EQ(0, compare_state(_metadata, 2, "kthread 2 (kthreadd)", SAME_BYTES));
	pid = other_kthread(comm, sizeof(comm));
	if (!pid) {
		TH_LOG("no other kernel thread found");
		return;
	}
	snprintf(state, sizeof(state), "kthread %d (%s)", pid, comm);
	EXPECT_EQ(0, wait_ours(pid)) {
		TH_LOG("no directory for %s", state);
	}
	EXPECT_EQ(0, compare_state(_metadata, pid, state, SAME_BYTES));
}

/*
 * Files opened while the target is stopped, read after it was killed: while
 * it is a zombie, then (files never read before, and the ones read then
 * again) after it was reaped.
 */
TEST_F(task, exit_between_open_and_read)
{
	char summary[512] = "";
	unsigned long flags;
	char state, comm[64];
	int pid;

	self->pid = spawn_stopped(NULL);
	ASSERT_GT(self->pid, 0);
	pid = self->pid;
	open_files(pid, &self->early);
	open_files(pid, &self->late);
	EXPECT_EQ(0, compare_open(_metadata, "stopped", &self->early, summary, sizeof(summary)));
	EXPECT_EQ(0, compare_open(_metadata, "stopped", &self->late, summary, sizeof(summary)));

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(0, wait_zombie(pid));
	ASSERT_EQ(0, task_stat(pid, &state, &flags, comm, sizeof(comm)));
	ASSERT_EQ('Z', state);
	EXPECT_EQ(0, compare_opened(_metadata, "opened, now zombie", &self->early, SAME_BYTES));

	ASSERT_EQ(0, reap(pid));
	self->pid = 0;
	EXPECT_EQ(0, compare_opened(_metadata, "opened, now reaped", &self->late, SAME_BYTES));
	EXPECT_EQ(0, compare_opened(_metadata, "opened, read as zombie, now reaped",
				    &self->early, SAME_BYTES));
	close_files(&self->early);
	close_files(&self->late);
}

/* The name /proc/PID/comm shows, without the newline, or "" if it is gone. */
static void task_comm(int pid, char *comm, size_t size)
{
	char path[64];
	struct buf b;

	comm[0] = '\0';
	proc_path(path, sizeof(path), pid, "comm");
	if (read_all(path, 4096, &b))
		return;
	snprintf(comm, size, "%.*s", (int)strcspn(b.data, "\n"), b.data);
	buf_free(&b);
}

/*
 * Files opened while the target is stopped, read after it exec'd another
 * program (their mm is not the task's any more); then files opened after
 * the exec, with the new program stopped.
 */
TEST_F(task, exec_between_open_and_read)
{
	char summary[512] = "", comm[64] = "";
	double start;
	int status;

	self->pid = fork();
	ASSERT_LE(0, self->pid);
	if (self->pid == 0) {
		raise(SIGSTOP);
		execl("/bin/sleep", "sleep", "1000", (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(self->pid, waitpid(self->pid, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	ASSERT_EQ(0, wait_ours(self->pid));
	open_files(self->pid, &self->early);
	EXPECT_EQ(0, compare_open(_metadata, "stopped before exec", &self->early, summary,
				  sizeof(summary)));

	ASSERT_EQ(0, kill(self->pid, SIGCONT));
	/* The name changes after the old mm was released (begin_new_exec()). */
	for (start = now_ms(); now_ms() - start < 10000; usleep(1000)) {
		task_comm(self->pid, comm, sizeof(comm));
		if (!strcmp(comm, "sleep"))
			break;
		if (waitpid(self->pid, &status, WNOHANG) == self->pid) {
			self->pid = 0; /* exec failed: reaped already */
			break;
		}
	}
	ASSERT_STREQ("sleep", comm) {
		TH_LOG("the child did not exec /bin/sleep");
	}
	EXPECT_EQ(0, compare_opened(_metadata, "opened, then exec", &self->early, SAME_BYTES));
	close_files(&self->early);

	/* The new program, stopped: its files are like any stopped process's. */
	ASSERT_EQ(0, kill(self->pid, SIGSTOP));
	ASSERT_EQ(self->pid, waitpid(self->pid, &status, WUNTRACED));
	EXPECT_EQ(0, wait_ours(self->pid));
	EXPECT_EQ(0, compare_state(_metadata, self->pid, "exec'd, stopped", SAME_BYTES));
}

/*
 * Nothing of a target is kept past its exit: a child with 128 MiB touched,
 * each of our files opened, read and closed and a PROCMAP_QUERY asked; the
 * child killed and reaped: MemFree comes back (a reference to its address
 * space left behind, an mm_users one say, would keep all of its memory).
 */
#define BIG (128UL << 20)

static int touch_big(void)
{
	char *p = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 1;
	memset(p, 1, BIG);
	return 0;
}

static long long mem_free_kb(void)
{
	return file_value("/proc/meminfo", "MemFree", ':');
}

TEST(memory_freed_after_exit)
{
	long long before = mem_free_kb(), during, after = 0;
	struct procmap_query q = { .size = sizeof(q),
				   .query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA };
	pid_t pid = spawn_stopped(touch_big);
	char path[64];
	struct buf b;
	int i, fd;

	ASSERT_GT(pid, 0);
	for (i = 0; i < NFILES; i++) {
		if (!proc_has(files[i]))
			continue;
		ours_path(path, sizeof(path), pid, files[i]);
		ASSERT_EQ(0, read_all(path, 4096, &b));
		buf_free(&b);
	}
	ours_path(path, sizeof(path), pid, "maps");
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, ioctl(fd, PROCMAP_QUERY, &q));
	close(fd);
	during = mem_free_kb();
	kill_and_reap(pid);
	for (i = 0; i < 20; i++) {
		after = mem_free_kb();
		if (after > before - (long long)(BIG >> 10) / 4)
			break;
		usleep(100 * 1000);
	}
	TH_LOG("MemFree: %lld kB before, %lld with the child, %lld after it", before, during,
	       after);
	/* The child really held its memory, and it came back. */
	EXPECT_LT(during, before - (long long)(BIG >> 10) * 3 / 4);
	EXPECT_GT(after, before - (long long)(BIG >> 10) / 4);
}

TEST_HARNESS_MAIN
