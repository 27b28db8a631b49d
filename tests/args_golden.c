// SPDX-License-Identifier: GPL-2.0
/*
 * cmdline and environ against /proc's, byte for byte and errno for errno:
 * stopped processes whose argument and environment areas take every shape
 * get_mm_cmdline() and environ_read() handle (large, empty, rewritten by
 * setproctitle() within the arguments and past them with and without a
 * NUL, moved with PR_SET_MM onto another buffer, partly never touched,
 * onto a file mapping, swapped out), a kernel thread, a zombie, a process
 * that execs between open and read, one that keeps rewriting its arguments
 * while they are read, and every process of the guest; reads
 * of 1, 7, 64, 4096 and 65536 bytes, pread() at offsets around every
 * boundary, and a buffer that faults half-way. The stats show which reads
 * were served under the per-VMA lock and which fell back, and why.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

static const size_t chunks[] = { 1, 7, 64, 4096, 65536 };

/* One read of @path: return value, errno and bytes, as a user sees them. */
struct outcome {
	ssize_t ret;
	int err;
	char data[8192];
};

static void pread_one(int fd, size_t size, off_t off, char *buf, struct outcome *o)
{
	o->ret = pread(fd, buf, size, off);
	o->err = o->ret < 0 ? errno : 0;
	if (o->ret > 0 && buf != o->data)
		memcpy(o->data, buf, o->ret);
}

static int same_outcome(const struct outcome *a, const struct outcome *b)
{
	return a->ret == b->ret && a->err == b->err &&
	       (a->ret <= 0 || !memcmp(a->data, b->data, a->ret));
}

/*
 * read_all() in reads of @chunk bytes, but for chunks under 64 bytes only the
 * first 4200 bytes (across the first page boundary): byte-sized reads of a
 * file of tens of KiB take longer than a test may on the debug kernel.
 */
static int read_upto(const char *path, size_t chunk, struct buf *out)
{
	size_t limit = chunk < 64 ? 4200 : (size_t)-1;
	int fd = open(path, O_RDONLY), err = 0;
	ssize_t n;

	out->len = 0;
	out->data = malloc(1 << 20);
	if (fd < 0 || !out->data) {
		err = fd < 0 ? -errno : -ENOMEM;
		free(out->data);
		if (fd >= 0)
			close(fd);
		return err;
	}
	while (out->len < limit && out->len + chunk <= 1 << 20) {
		n = read(fd, out->data + out->len, chunk);
		if (n <= 0) {
			err = n < 0 ? -errno : 0;
			break;
		}
		out->len += n;
	}
	close(fd);
	if (err) {
		free(out->data);
		out->data = NULL;
	}
	return err;
}

/*
 * Mismatches between /proc's @file of @pid and ours: whole reads in every
 * chunk size (read_upto()), then pread() of 1, 100 and 4096 bytes at
 * offsets around 0, a page, two pages and the end.
 */
static int compare_args(int pid, const char *file)
{
	static const size_t sizes[] = { 1, 100, 4096 };
	static struct outcome p, o;
	char pp[128], op[128];
	int mismatches = 0, fdp, fdo;
	size_t i, j;
	long long end;
	struct buf bp, bo;

	proc_path(pp, sizeof(pp), pid, file);
	ours_path(op, sizeof(op), pid, file);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		int ep = read_upto(pp, chunks[i], &bp), eo = read_upto(op, chunks[i], &bo);

		if (ep != eo || (!ep && (bp.len != bo.len || memcmp(bp.data, bo.data, bp.len)))) {
			fprintf(stderr, "# %s of %d, reads of %zu: /proc %d, %zu bytes; ours %d, %zu\n",
				file, pid, chunks[i], ep, ep ? 0 : bp.len, eo, eo ? 0 : bo.len);
			if (!ep && !eo)
				show_first_diff(&bp, &bo);
			mismatches++;
		}
		if (!ep)
			buf_free(&bp);
		if (!eo)
			buf_free(&bo);
	}
	fdp = open(pp, O_RDONLY);
	fdo = open(op, O_RDONLY);
	if ((fdp < 0) != (fdo < 0))
		mismatches++;
	if (fdp < 0 || fdo < 0)
		goto out;
	end = lseek(fdp, 0, SEEK_END);
	if (end != lseek(fdo, 0, SEEK_END))
		mismatches++;
	if (read_all(pp, 65536, &bp))
		goto out;
	end = bp.len;
	buf_free(&bp);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const long long offs[] = { 0, 1, 4095, 4096, 4097, 8191, 8192, end - 1, end, end + 5 };

		for (j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			if (offs[j] < 0)
				continue;
			pread_one(fdp, sizes[i], offs[j], p.data, &p);
			pread_one(fdo, sizes[i], offs[j], o.data, &o);
			if (!same_outcome(&p, &o)) {
				fprintf(stderr, "# %s of %d, pread(%zu, %lld): /proc %zd (%d), ours %zd (%d)\n",
					file, pid, sizes[i], offs[j], p.ret, p.err, o.ret, o.err);
				mismatches++;
			}
		}
	}
out:
	if (fdp >= 0)
		close(fdp);
	if (fdo >= 0)
		close(fdo);
	return mismatches;
}

/* Both files of @pid compared; the open's errno too (environ checks access there). */
static int compare_both(int pid)
{
	static const char *const files[] = { "cmdline", "environ" };
	int mismatches = 0;
	size_t i;

	for (i = 0; i < 2; i++) {
		char pp[128], op[128];
		int fp, fo, ep, eo;

		proc_path(pp, sizeof(pp), pid, files[i]);
		ours_path(op, sizeof(op), pid, files[i]);
		fp = open(pp, O_RDONLY);
		ep = fp < 0 ? errno : 0;
		fo = open(op, O_RDONLY);
		eo = fo < 0 ? errno : 0;
		if (ep != eo) {
			fprintf(stderr, "# open of %s of %d: /proc %d, ours %d\n", files[i], pid, ep, eo);
			mismatches++;
		}
		if (fp >= 0)
			close(fp);
		if (fo >= 0)
			close(fo);
		if (!ep && !eo)
			mismatches += compare_args(pid, files[i]);
	}
	return mismatches;
}

/* A stopped child that exec'd busybox sh with @argv and @envp; sh stops itself. */
static pid_t spawn_exec_stopped(char *const argv[], char *const envp[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execve("/bin/sh", argv, envp);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, WUNTRACED) != pid || !WIFSTOPPED(status))
		return -1;
	return wait_ours(pid) ? -1 : pid;
}

/* Our own argument and environment bounds: fields 48 to 51 of /proc/self/stat. */
static int own_area(unsigned long v[4])
{
	struct buf b;
	char *at;
	int field;

	if (read_all("/proc/self/stat", 4096, &b))
		return -1;
	at = strrchr(b.data, ')');
	/* Each step moves to the space before the next field, from field 3 to 48. */
	for (field = 3; at && field <= 48; field++)
		at = strchr(at + 1, ' ');
	if (!at || sscanf(at, " %lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4) {
		buf_free(&b);
		return -1;
	}
	buf_free(&b);
	return 0;
}

static long long stat_delta(const char *name, long long before)
{
	return stat_get(name) - before;
}

/* A large argv (3 x 3000 bytes: crossing pages) and environment (12 KiB). */
TEST(large)
{
	static char a1[3000], a2[3000], a3[3000], e1[6000], e2[6000];
	char *argv[] = { "sh", "-c", "kill -STOP $$", "large", a1, a2, a3, NULL };
	char *envp[] = { e1, e2, "LAST=1", NULL };
	long long locked = stat_get("args_reads_vma_locked");
	double ms;
	pid_t pid;

	memset(a1, 'a', sizeof(a1) - 1);
	memset(a2, 'b', sizeof(a2) - 1);
	memset(a3, 'c', sizeof(a3) - 1);
	memcpy(e1, "E1=", 3);
	memset(e1 + 3, 'x', sizeof(e1) - 4);
	memcpy(e2, "E2=", 3);
	memset(e2 + 3, 'y', sizeof(e2) - 4);
	pid = spawn_exec_stopped(argv, envp);
	ASSERT_GT(pid, 0);
	ms = now_ms();
	EXPECT_EQ(0, compare_both(pid));
	TH_LOG("compared in %.0f ms", now_ms() - ms);
	/* Every page of it was present: served under the per-VMA lock. */
	EXPECT_GT(stat_delta("args_reads_vma_locked", locked), 20);
	kill_and_reap(pid);
}

/* An empty environment, and an argv of one empty string. */
TEST(empty)
{
	char *argv[] = { "sh", "-c", "kill -STOP $$", "", NULL };
	char *envp[] = { NULL };
	pid_t pid = spawn_exec_stopped(argv, envp);

	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_both(pid));
	kill_and_reap(pid);
}

/* setproctitle() within argv: a shorter title, the rest NUL (the strict path). */
static int title_within(void)
{
	unsigned long v[4];

	if (own_area(v))
		return 1;
	memset((char *)v[0], 0, v[1] - v[0]);
	strcpy((char *)v[0], "title within");
	return 0;
}

/* setproctitle() past argv into the environment, ending with a NUL. */
static int title_overflow_nul(void)
{
	unsigned long v[4], n;

	if (own_area(v) || v[3] - v[1] < 2)
		return 1;
	n = v[1] - v[0] + (v[3] - v[1]) / 2;
	memset((char *)v[0], 'T', n);
	((char *)v[0])[n] = '\0';
	return 0;
}

/* setproctitle() over the whole area without a NUL. */
static int title_overflow_no_nul(void)
{
	unsigned long v[4];

	if (own_area(v))
		return 1;
	memset((char *)v[0], 'U', v[3] - v[0]);
	return 0;
}

TEST(setproctitle)
{
	int (*const setups[])(void) = { title_within, title_overflow_nul, title_overflow_no_nul };
	size_t i;

	for (i = 0; i < sizeof(setups) / sizeof(setups[0]); i++) {
		pid_t pid = spawn_stopped(setups[i]);

		ASSERT_GT(pid, 0);
		EXPECT_EQ(0, compare_both(pid)) {
			TH_LOG("setup %zu", i);
		}
		kill_and_reap(pid);
	}
}

#define ARGS_PAGES 3

/*
 * PR_SET_MM: the argument area moved onto a buffer of its own (so that the
 * environment no longer follows it: the strict path), whose last page was
 * never touched (not present: read by the fallback).
 */
static int moved_untouched(void)
{
	char *b = mmap(NULL, ARGS_PAGES * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (b == MAP_FAILED)
		return 1;
	memcpy(b, "moved\0args\0", 11);
	memset(b + 4096, 'm', 4096);
	if (prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)b, 0, 0) ||
	    prctl(PR_SET_MM, PR_SET_MM_ARG_END, (unsigned long)b + 2 * 4096 + 100, 0, 0))
		return 2;
	return 0;
}

/*
 * PR_SET_MM: the argument area on a buffer of its own whose last byte is not
 * NUL (setproctitle()'s path), the string running on past arg_end: as the
 * environment does not follow the arguments, nothing past arg_end is shown.
 */
static int moved_no_nul(void)
{
	char *b = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (b == MAP_FAILED)
		return 1;
	memset(b, 'p', 100);
	memset(b + 100, 'q', 200);
	if (prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)b, 0, 0) ||
	    prctl(PR_SET_MM, PR_SET_MM_ARG_END, (unsigned long)b + 100, 0, 0))
		return 2;
	return 0;
}

/* PR_SET_MM: the argument area on a file mapping (FOLL_ANON refuses it). */
static int moved_to_file(void)
{
	int fd = open("/tmp/args_file", O_CREAT | O_RDWR | O_TRUNC, 0600);
	char *b;

	if (fd < 0 || write(fd, "file\0args\0", 10) != 10)
		return 1;
	b = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (b == MAP_FAILED)
		return 2;
	if (prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)b, 0, 0) ||
	    prctl(PR_SET_MM, PR_SET_MM_ARG_END, (unsigned long)b + 10, 0, 0))
		return 3;
	return 0;
}

/* PR_SET_MM: arg_end == arg_start (no command line at all). */
static int moved_empty(void)
{
	unsigned long v[4];

	if (own_area(v))
		return 1;
	return prctl(PR_SET_MM, PR_SET_MM_ARG_END, v[0], 0, 0) ? 2 : 0;
}

TEST(set_mm)
{
	struct {
		int (*setup)(void);
		const char *counter;
	} cases[] = {
		{ moved_untouched, "args_fallbacks_not_present" },
		{ moved_to_file, "args_fallbacks_vma_kind" },
		{ moved_empty, NULL },
		{ moved_no_nul, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long long before = cases[i].counter ? stat_get(cases[i].counter) : 0;
		pid_t pid = spawn_stopped(cases[i].setup);
		char path[128];
		struct buf b;

		ASSERT_GT(pid, 0);
		/* Ours first: the fallback's GUP faults the untouched page in for /proc's. */
		ours_path(path, sizeof(path), pid, "cmdline");
		ASSERT_EQ(0, read_all(path, 65536, &b));
		buf_free(&b);
		if (cases[i].counter)
			EXPECT_GT(stat_delta(cases[i].counter, before), 0) {
				TH_LOG("case %zu: no read counted in %s", i, cases[i].counter);
			}
		EXPECT_EQ(0, compare_both(pid)) {
			TH_LOG("case %zu", i);
		}
		kill_and_reap(pid);
	}
}

/*
 * The argument and environment areas moved (PR_SET_MM) onto a buffer of the
 * child's own, then swapped out: the fallback reads them. Not the stack's
 * own pages: the child's deepest frames may share the first of them, and
 * bring it back in as soon as it runs on.
 */
static int swapped_out(void)
{
	char *b = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char vec[3];
	cpu_set_t cpu;
	int tries, i;

	/*
	 * On one CPU: the pages written below wait in that CPU's LRU batch, which
	 * MADV_PAGEOUT drains (lru_add_drain()) before it isolates them.
	 */
	CPU_ZERO(&cpu);
	CPU_SET(0, &cpu);
	if (b == MAP_FAILED || sched_setaffinity(0, sizeof(cpu), &cpu))
		return 1;
	memset(b, 's', 2 * 4096 - 1);
	b[100] = '\0';
	memcpy(b + 2 * 4096, "SWAPPED=1", 9);
	memset(b + 2 * 4096 + 10, 'e', 100);
	if (prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)b, 0, 0) ||
	    prctl(PR_SET_MM, PR_SET_MM_ARG_END, (unsigned long)b + 2 * 4096, 0, 0) ||
	    prctl(PR_SET_MM, PR_SET_MM_ENV_START, (unsigned long)b + 2 * 4096, 0, 0) ||
	    prctl(PR_SET_MM, PR_SET_MM_ENV_END, (unsigned long)b + 2 * 4096 + 200, 0, 0))
		return 2;
	/* Out when none is resident any more; a page reclaim could not isolate is tried again. */
	for (tries = 0; tries < 20; tries++) {
		if (madvise(b, 3 * 4096, MADV_PAGEOUT) || mincore(b, 3 * 4096, vec))
			return 3;
		for (i = 0; i < 3 && !(vec[i] & 1); i++)
			;
		if (i == 3)
			return 0;
		usleep(10000);
	}
	return 4;
}

TEST(swapped)
{
	long long before = stat_get("args_fallbacks_not_present");
	char path[128];
	struct buf b;
	pid_t pid;

	if (swap_on())
		SKIP(return, "no swap device (zram) in this kernel");
	pid = spawn_stopped(swapped_out);
	ASSERT_GT(pid, 0);
	/* Ours first: /proc's GUP would swap the pages in. */
	ours_path(path, sizeof(path), pid, "environ");
	ASSERT_EQ(0, read_all(path, 65536, &b));
	buf_free(&b);
	ours_path(path, sizeof(path), pid, "cmdline");
	ASSERT_EQ(0, read_all(path, 65536, &b));
	buf_free(&b);
	/* The environment's page, and the last argument page (its last byte asked first). */
	EXPECT_GE(stat_delta("args_fallbacks_not_present", before), 2);
	EXPECT_EQ(0, compare_both(pid));
	kill_and_reap(pid);
}

/* A kernel thread (kthreadd) and a zombie: empty cmdline, environ refused at open. */
TEST(kthread_and_zombie)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(0);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(0, wait_ours(pid));
	/* A zombie once its exit is seen, not reaped. */
	ASSERT_EQ(0, waitid(P_PID, pid, NULL, WEXITED | WNOWAIT));
	EXPECT_EQ(0, compare_both(pid));
	EXPECT_EQ(0, compare_both(2));
	kill_and_reap(pid);
}

/*
 * Opened, then the process execs: cmdline shows the new program, environ
 * reads the address space of the open (gone: nothing), as /proc's do.
 */
TEST(exec_between_open_and_read)
{
	static const char *const files[] = { "cmdline", "environ" };
	char pp[128], op[128], bp[256], bo[256];
	int pfd[2], fds[4], i, status;
	pid_t pid;

	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	if (pid == 0) {
		char c;

		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			_exit(1);
		execl("/bin/sh", "sh", "-c", "kill -STOP $$", "after-exec", NULL);
		_exit(127);
	}
	ASSERT_GT(pid, 0);
	close(pfd[0]);
	ASSERT_EQ(0, wait_ours(pid));
	for (i = 0; i < 2; i++) {
		proc_path(pp, sizeof(pp), pid, files[i]);
		ours_path(op, sizeof(op), pid, files[i]);
		fds[2 * i] = open(pp, O_RDONLY);
		fds[2 * i + 1] = open(op, O_RDONLY);
		ASSERT_LE(0, fds[2 * i]);
		ASSERT_LE(0, fds[2 * i + 1]);
	}
	ASSERT_EQ(1, write(pfd[1], "x", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, WUNTRACED));
	ASSERT_TRUE(WIFSTOPPED(status));
	for (i = 0; i < 2; i++) {
		ssize_t np = read(fds[2 * i], bp, sizeof(bp));
		ssize_t no = read(fds[2 * i + 1], bo, sizeof(bo));

		EXPECT_EQ(np, no) {
			TH_LOG("%s: /proc %zd, ours %zd", files[i], np, no);
		}
		if (np == no && np > 0)
			EXPECT_EQ(0, memcmp(bp, bo, np));
		close(fds[2 * i]);
		close(fds[2 * i + 1]);
	}
	close(pfd[1]);
	kill_and_reap(pid);
}

/* A read into a buffer whose second page is not mapped. */
TEST(faulting_buffer)
{
	static const char *const files[] = { "cmdline", "environ" };
	static char a1[6000];
	char *argv[] = { "sh", "-c", "kill -STOP $$", a1, NULL };
	char *envp[] = { a1, NULL };
	char *buf = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	size_t i, off;
	pid_t pid;

	ASSERT_NE(MAP_FAILED, buf);
	ASSERT_EQ(0, munmap(buf + 4096, 4096));
	memcpy(a1, "A=", 2);
	memset(a1 + 2, 'f', sizeof(a1) - 3);
	pid = spawn_exec_stopped(argv, envp);
	ASSERT_GT(pid, 0);
	for (i = 0; i < 2; i++) {
		for (off = 0; off <= 4096; off += 2048) {
			struct outcome p, o;
			char pp[128], op[128];
			int fp, fo;

			proc_path(pp, sizeof(pp), pid, files[i]);
			ours_path(op, sizeof(op), pid, files[i]);
			fp = open(pp, O_RDONLY);
			fo = open(op, O_RDONLY);
			ASSERT_LE(0, fp);
			ASSERT_LE(0, fo);
			/* 8 KiB from 2 KiB before the hole's start, at every offset. */
			p.ret = pread(fp, buf + 2048, 8192, off);
			p.err = p.ret < 0 ? errno : 0;
			o.ret = pread(fo, buf + 2048, 8192, off);
			o.err = o.ret < 0 ? errno : 0;
			EXPECT_TRUE(p.ret == o.ret && p.err == o.err) {
				TH_LOG("%s at %zu: /proc %zd (%d), ours %zd (%d)", files[i], off,
				       p.ret, p.err, o.ret, o.err);
			}
			close(fp);
			close(fo);
		}
	}
	kill_and_reap(pid);
}

/* environ of a process of another user: refused at open as /proc's. */
TEST(other_user)
{
	pid_t reader, target = spawn_stopped(NULL);
	int status;

	ASSERT_GT(target, 0);
	reader = fork();
	if (reader == 0) {
		char pp[128], op[128];
		int ep, eo;

		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(10);
		proc_path(pp, sizeof(pp), target, "environ");
		ours_path(op, sizeof(op), target, "environ");
		ep = open(pp, O_RDONLY) < 0 ? errno : 0;
		eo = open(op, O_RDONLY) < 0 ? errno : 0;
		if (!ep || ep != eo)
			_exit(11);
		/* cmdline has no check: both readable, the same bytes. */
		_exit(compare_args(target, "cmdline") ? 12 : 0);
	}
	ASSERT_GT(reader, 0);
	ASSERT_EQ(reader, waitpid(reader, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		TH_LOG("reader: status %#x", status);
	}
	kill_and_reap(target);
}

/* Rewrites its own arguments, all 'a' then all 'b' (the last NUL kept), forever. */
static void rewrite_forever(void)
{
	unsigned long v[4];
	char c = 'a';

	if (own_area(v))
		_exit(1);
	for (;;) {
		memset((char *)v[0], c, v[1] - v[0] - 1);
		c = c == 'a' ? 'b' : 'a';
	}
}

/* 0 if @b is a rewritten command line of @len bytes: a's and b's, then a NUL. */
static int rewritten_shape(const struct buf *b, size_t len)
{
	size_t i;

	if (b->len != len || b->data[len - 1])
		return 1;
	for (i = 0; i + 1 < len; i++)
		if (b->data[i] != 'a' && b->data[i] != 'b')
			return 1;
	return 0;
}

/*
 * A process rewriting its arguments while they are read: each read, ours and
 * /proc's, sees some mix of the old and the new bytes (a copy races with the
 * stores, in both), never anything else, and never a wrong length.
 */
TEST(rewritten_while_read)
{
	long long bad[2] = { 0, 0 }, reads = 0;
	char paths[2][128];
	double end;
	size_t len;
	pid_t pid;
	struct buf b;
	int i;

	pid = fork();
	if (pid == 0)
		rewrite_forever();
	ASSERT_GT(pid, 0);
	ASSERT_EQ(0, wait_ours(pid));
	proc_path(paths[0], sizeof(paths[0]), pid, "cmdline");
	ours_path(paths[1], sizeof(paths[1]), pid, "cmdline");
	usleep(100 * 1000);
	ASSERT_EQ(0, read_all(paths[0], 65536, &b));
	len = b.len;
	buf_free(&b);
	ASSERT_GT(len, 1UL);
	for (end = now_ms() + 2000; now_ms() < end; reads++) {
		for (i = 0; i < 2; i++) {
			ASSERT_EQ(0, read_all(paths[i], 1 + reads % 4096, &b));
			bad[i] += rewritten_shape(&b, len);
			buf_free(&b);
		}
	}
	TH_LOG("%lld reads each of %zu bytes; not a's and b's: /proc %lld, ours %lld",
	       reads, len, bad[0], bad[1]);
	EXPECT_EQ(0, bad[0]);
	EXPECT_EQ(0, bad[1]);
	kill_and_reap(pid);
}

static void compare_one(int pid, void *arg)
{
	struct __test_metadata *_metadata = arg;

	EXPECT_EQ(0, compare_both(pid)) {
		TH_LOG("pid %d", pid);
	}
}

TEST(all_processes)
{
	EXPECT_GT(for_each_process_stopped("cmdline", compare_one, _metadata), 10);
}

TEST_HARNESS_MAIN
