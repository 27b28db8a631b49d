// SPDX-License-Identifier: GPL-2.0
/*
 * Stress: several target processes keep changing their address spaces
 * (mmap, munmap, mprotect, mremap, madvise DONTNEED/FREE/PAGEOUT, threads,
 * fork+exit, exec) and are killed and restarted, while reader threads and
 * reader processes read their maps every way a user can: whole files in
 * random chunk sizes, pread at random offsets, seeking back and forth; and
 * their smaps and numa_maps (random chunk sizes) and smaps_rollup whole; and their cmdline
 * and environ (random chunk sizes). Two of the targets keep their command line
 * (PR_SET_MM) on two pages of their own that they drop (MADV_DONTNEED), page
 * out and write again, so that the cmdline reader takes both of its paths,
 * per-VMA and access_remote_vm(), under the same chaos; both are counted.
 *
 * Every whole read of maps is checked: lines well formed and never going backwards;
 * for a target that was alive during the whole read, its two anchor VMAs
 * are present. smaps and numa_maps reads must end in a newline, smaps_rollup must have its
 * header, cmdline and environ reads must end in a NUL. Errors are allowed
 * only for a target that went away.
 * STRESS_SECS sets the duration (default 20). A table of what ran is printed.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#define PAGE 4096UL
#define TARGETS 4
#define AREA_PAGES 64
#define READER_THREADS 3
#define READER_PROCS 2
#define ANCHOR_PROT (PROT_READ | PROT_EXEC)

/* What every process of the test shares. */
struct shared {
	volatile int stop;
	volatile pid_t pids[TARGETS];
	volatile unsigned long anchor_lo[TARGETS], anchor_hi[TARGETS];
	/* Execs of each slot's target so far: an exec ends what an open file shows. */
	volatile unsigned long generation[TARGETS];
	long reads, preads, seeks, smaps_reads, args_reads, bytes, lines, errors_gone;
	long mutations, forks, execs, threads, restarts;
	long violations;
	char first_violation[256];
};

static struct shared *sh;
static char *self_exe;

/* The shared state lives in a tmpfs file, so that exec'd targets find it. */
static struct shared *map_shared(int create)
{
	int fd = open("/tmp/stress.shared", O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0600);
	void *p;

	if (fd < 0 || (create && ftruncate(fd, sizeof(struct shared))))
		return NULL;
	p = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static void violation(const char *fmt, const char *detail, long a, long b)
{
	if (__atomic_fetch_add(&sh->violations, 1, __ATOMIC_RELAXED) == 0)
		snprintf(sh->first_violation, sizeof(sh->first_violation), fmt, detail, a, b);
}

/* ---- targets ---- */

static void *mutator_thread(void *arg)
{
	unsigned int seed = (unsigned long)arg ^ getpid();
	/*
	 * PROT_NONE guard pages on both sides, never touched: holes the mutator
	 * punches stay smaller than anything else this process maps (thread
	 * stacks), so nothing else can land in them and be clobbered.
	 */
	char *base = mmap(NULL, (AREA_PAGES + 2) * PAGE, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *area = base + PAGE;

	if (base == MAP_FAILED ||
	    mmap(area, AREA_PAGES * PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		return NULL;
	for (;;) {
		unsigned long k = rand_r(&seed) % AREA_PAGES;
		unsigned long n = 1 + rand_r(&seed) % (AREA_PAGES - k);
		char *p = area + k * PAGE;

		switch (rand_r(&seed) % 9) {
		case 0:
			mprotect(p, n * PAGE, PROT_READ);
			break;
		case 1:
			mprotect(p, n * PAGE, PROT_READ | PROT_WRITE);
			break;
		case 2:
			mmap(p, n * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		case 3:
			munmap(p, n * PAGE);
			break;
		case 4:
			mremap(p, n * PAGE, (1 + rand_r(&seed) % n) * PAGE, 0);
			break;
		case 5:
			madvise(p, n * PAGE, MADV_DONTNEED);
			break;
		case 6:
			madvise(p, n * PAGE, MADV_FREE);
			break;
		case 7:
			madvise(p, n * PAGE, MADV_PAGEOUT);
			break;
		case 8:
			/* Fault in what is mapped writable; ignore the rest. */
			if (mprotect(p, PAGE, PROT_READ | PROT_WRITE) == 0)
				memset(p, 1, PAGE);
			break;
		}
		__atomic_fetch_add(&sh->mutations, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void *short_thread(void *arg)
{
	return arg;
}

#define ARGS_TEXT "stress\0target\0"

/*
 * The argument area moved onto [args + PAGE - 8, args + PAGE + 6), across a
 * page boundary of a mapping of its own; 0 if it could not be moved.
 */
static char *move_args(void)
{
	char *args = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (args == MAP_FAILED)
		return NULL;
	memcpy(args + PAGE - 8, ARGS_TEXT, sizeof(ARGS_TEXT) - 1);
	if (prctl(PR_SET_MM, PR_SET_MM_ARG_START, (unsigned long)args + PAGE - 8, 0, 0) ||
	    prctl(PR_SET_MM, PR_SET_MM_ARG_END,
		  (unsigned long)args + PAGE - 8 + sizeof(ARGS_TEXT) - 1, 0, 0))
		return NULL;
	return args;
}

/* The moved argument pages dropped or paged out, and written again or not. */
static void churn_args(char *args, unsigned int *seed)
{
	madvise(args, 2 * PAGE, rand_r(seed) % 2 ? MADV_DONTNEED : MADV_PAGEOUT);
	if (rand_r(seed) % 2)
		memcpy(args + PAGE - 8, ARGS_TEXT, sizeof(ARGS_TEXT) - 1);
}

/* A target: anchors, two mutator threads, and a main loop of threads, forks and execs. */
static void run_target(int slot, int may_exec)
{
	unsigned int seed = getpid();
	char *lo = mmap(NULL, PAGE, ANCHOR_PROT, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *hi = mmap(NULL, PAGE, ANCHOR_PROT, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *args = slot >= 2 ? move_args() : NULL;
	pthread_t t;
	long i;

	if (lo == MAP_FAILED || hi == MAP_FAILED || (slot >= 2 && !args))
		_exit(1);
	/*
	 * The exec that started this image (if any) is over: a read that began
	 * after the increment before execl() may have opened the old mm, which
	 * is gone now (ESRCH, as /proc's), so it must see a new generation too,
	 * before the anchors say the target is back.
	 */
	__atomic_fetch_add(&sh->generation[slot], 1, __ATOMIC_RELEASE);
	sh->anchor_hi[slot] = (unsigned long)hi;
	__atomic_store_n(&sh->anchor_lo[slot], (unsigned long)lo, __ATOMIC_RELEASE);
	/* Readers may only expect our directory once it exists. */
	{
		char path[128];

		ours_path(path, sizeof(path), getpid(), "maps");
		while (access(path, F_OK))
			usleep(1000);
	}
	__atomic_store_n(&sh->pids[slot], getpid(), __ATOMIC_RELEASE);
	for (i = 0; i < 2; i++)
		pthread_create(&t, NULL, mutator_thread, (void *)i);
	for (;;) {
		usleep(2000);
		if (args)
			churn_args(args, &seed);
		switch (rand_r(&seed) % 4) {
		case 0:
			if (pthread_create(&t, NULL, short_thread, NULL) == 0) {
				pthread_join(t, NULL);
				__atomic_fetch_add(&sh->threads, 1, __ATOMIC_RELAXED);
			}
			break;
		case 1:
			if (fork() == 0)
				_exit(0);
			wait(NULL);
			__atomic_fetch_add(&sh->forks, 1, __ATOMIC_RELAXED);
			break;
		case 2:
			if (may_exec && rand_r(&seed) % 8 == 0) {
				char arg[16];

				snprintf(arg, sizeof(arg), "%d", slot);
				__atomic_fetch_add(&sh->execs, 1, __ATOMIC_RELAXED);
				/* The new image sets up new anchors; until then none are checked. */
				sh->anchor_lo[slot] = 0;
				__atomic_fetch_add(&sh->generation[slot], 1, __ATOMIC_RELEASE);
				execl(self_exe, self_exe, "--target", arg, NULL);
				_exit(2);
			}
			break;
		}
	}
}

static pid_t start_target(int slot)
{
	pid_t pid = fork();

	if (pid == 0)
		run_target(slot, slot % 2);
	return pid;
}

/* ---- readers ---- */

/* Check one whole read of target @slot, read while it was @pid. */
static void check_whole(const struct buf *b, int slot, pid_t pid,
			unsigned long lo, unsigned long hi)
{
	unsigned long prev_end = 0;
	int saw_lo = 0, saw_hi = 0;
	char *line = b->data;
	long lines = 0;

	if (b->len && b->data[b->len - 1] != '\n')
		violation("%s: read ends in the middle of a line (%ld bytes)", "whole read", b->len, 0);
	while (line && *line) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx", &start, &end) != 2 || start >= end) {
			violation("unparsable line: %.60s%ld%ld", line, 0, 0);
			return;
		}
		if (end <= prev_end) {
			violation("%s: went backwards, %lx after %lx", "order", end, prev_end);
			return;
		}
		prev_end = end;
		/* Anchors may merge with neighbours of the same kind: look for containment. */
		saw_lo |= start <= lo && lo < end;
		saw_hi |= start <= hi && hi < end;
		lines++;
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	__atomic_fetch_add(&sh->lines, lines, __ATOMIC_RELAXED);
	/* Anchors must be there if the same image lived through the whole read. */
	if (lo && sh->pids[slot] == pid && sh->anchor_lo[slot] == lo && !kill(pid, 0) &&
	    (!saw_lo || !saw_hi))
		violation("%s: anchors missing (lo %ld, hi %ld)", "anchors", saw_lo, saw_hi);
}

/*
 * Whether the target a read began on (@pid, in its @gen-th image) is gone:
 * killed, a zombie, or replaced by an exec since (a file opened before an exec
 * reads nothing or fails with ESRCH, as /proc's).
 */
static int target_gone(int slot, pid_t pid, unsigned long gen)
{
	char path[64];

	/*
	 * The anchor before the generation: a read that failed because an exec
	 * dropped the old mm finds the anchor still 0, or set by the new image,
	 * which bumped the generation before setting it. Read the other way
	 * round, the generation could be read just before that bump and the
	 * anchor just after (seen once in CI).
	 */
	if (__atomic_load_n(&sh->anchor_lo[slot], __ATOMIC_ACQUIRE) == 0)
		return 1;
	if (sh->pids[slot] != pid || __atomic_load_n(&sh->generation[slot], __ATOMIC_ACQUIRE) != gen)
		return 1;
	/* A zombie also ends what an open file can show. */
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	return access(path, F_OK) != 0;
}

/*
 * Read @path whole in chunks of @chunk bytes into @b: 1 on success; on failure
 * 0, counted as expected if the target went away and as a violation if not.
 */
static int read_whole(const char *path, size_t chunk, int slot, pid_t pid, unsigned long gen,
		      struct buf *b)
{
	int err = read_all(path, chunk, b);

	if (!err)
		return 1;
	if (target_gone(slot, pid, gen))
		__atomic_fetch_add(&sh->errors_gone, 1, __ATOMIC_RELAXED);
	else
		violation("%s: read of a live target failed (%ld)%ld", path, err, 0);
	return 0;
}

static void read_once(unsigned int *seed)
{
	int slot = rand_r(seed) % TARGETS;
	unsigned long gen = __atomic_load_n(&sh->generation[slot], __ATOMIC_ACQUIRE);
	pid_t pid = sh->pids[slot];
	unsigned long lo = sh->anchor_lo[slot], hi = sh->anchor_hi[slot];
	char path[128], buf[4096];
	static const char *const names[9] = { "maps", "maps", "maps", "maps",
					      "smaps_rollup", "smaps", "cmdline", "environ",
					      "numa_maps" };
	/* numa_maps where the kernel has it (CONFIG_NUMA). */
	static int modes;
	int mode, fd, i;
	struct buf b;

	if (!modes)
		modes = access("/proc/self/numa_maps", F_OK) ? 8 : 9;
	mode = rand_r(seed) % modes;
	if (pid <= 0)
		return;
	ours_path(path, sizeof(path), pid, names[mode]);
	/* STRESS_PROC=1: the same reads of /proc's files (is a hang ours or the kernel's?). */
	if (getenv("STRESS_PROC"))
		proc_path(path, sizeof(path), pid, names[mode]);
	switch (mode) {
	case 6: /* cmdline and environ in random chunks: each page under its VMA's lock */
	case 7:
		if (!read_whole(path, 1 + rand_r(seed) % 8192, slot, pid, gen, &b))
			return;
		/*
		 * environ reads the mm taken at open: after an exec it reads
		 * nothing more (EOF, as /proc's), so a read in small chunks
		 * across an exec ends where it was.
		 */
		if (b.len && b.data[b.len - 1] != '\0') {
			if (mode == 7 && target_gone(slot, pid, gen))
				__atomic_fetch_add(&sh->errors_gone, 1, __ATOMIC_RELAXED);
			else
				violation("%s: does not end in a NUL (%ld bytes)%ld", path, b.len, 0);
		}
		__atomic_fetch_add(&sh->bytes, b.len, __ATOMIC_RELAXED);
		__atomic_fetch_add(&sh->args_reads, 1, __ATOMIC_RELAXED);
		buf_free(&b);
		return;
	case 4: /* smaps_rollup, or smaps or numa_maps in random chunks: page walks amid the chaos */
	case 5:
	case 8:
		if (!read_whole(path, mode == 4 ? 4096 : 1 + rand_r(seed) % 65536, slot, pid, gen, &b))
			return;
		if (b.len && (b.data[b.len - 1] != '\n' ||
			      (mode == 4 && !strstr(b.data, "[rollup]\n"))))
			violation("%s: malformed (%ld bytes)%ld", path, b.len, 0);
		__atomic_fetch_add(&sh->bytes, b.len, __ATOMIC_RELAXED);
		__atomic_fetch_add(&sh->smaps_reads, 1, __ATOMIC_RELAXED);
		buf_free(&b);
		return;
	case 0: /* whole file, random chunk size */
		if (!read_whole(path, 1 + rand_r(seed) % 65536, slot, pid, gen, &b))
			return;
		check_whole(&b, slot, pid, lo, hi);
		__atomic_fetch_add(&sh->bytes, b.len, __ATOMIC_RELAXED);
		__atomic_fetch_add(&sh->reads, 1, __ATOMIC_RELAXED);
		buf_free(&b);
		return;
	case 1: /* pread at random offsets */
	case 2: /* seek back and forth */
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			if (!target_gone(slot, pid, gen))
				violation("%s: open of a live target failed (%ld)%ld", path, errno, 0);
			return;
		}
		for (i = 0; i < 8; i++) {
			off_t off = rand_r(seed) % 8192;
			ssize_t n;

			if (mode == 1) {
				n = pread(fd, buf, 1 + rand_r(seed) % sizeof(buf), off);
			} else {
				lseek(fd, i % 2 ? off : 0, SEEK_SET);
				n = read(fd, buf, 1 + rand_r(seed) % sizeof(buf));
			}
			if (n < 0 && !target_gone(slot, pid, gen))
				violation("%s: pread/seek read failed (%ld)%ld", path, errno, 0);
			if (n < 0)
				break;
			__atomic_fetch_add(&sh->bytes, n, __ATOMIC_RELAXED);
		}
		__atomic_fetch_add(mode == 1 ? &sh->preads : &sh->seeks, 1, __ATOMIC_RELAXED);
		close(fd);
		return;
	case 3: /* open and close without reading */
		fd = open(path, O_RDONLY);
		if (fd >= 0)
			close(fd);
		return;
	}
}

static void *reader_thread(void *arg)
{
	unsigned int seed = (unsigned long)arg * 7919 + getpid();

	while (!sh->stop)
		read_once(&seed);
	return NULL;
}

FIXTURE(stress) {
	int unused;
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
}

TEST_F_TIMEOUT(stress, readers_x_mutators, 3600)
{
	const char *env = getenv("STRESS_SECS");
	double secs = env ? atof(env) : 20, end;
	pthread_t threads[READER_THREADS];
	pid_t readers[READER_PROCS], targets[TARGETS];
	long long per_vma = stat_get("args_reads_vma_locked");
	long long fallbacks = stat_get("args_fallbacks_not_present");
	long i;

	sh = map_shared(1);
	ASSERT_NE(NULL, sh);
	for (i = 0; i < TARGETS; i++) {
		targets[i] = start_target(i);
		ASSERT_GT(targets[i], 0);
	}
	usleep(300 * 1000);
	for (i = 0; i < TARGETS; i++)
		ASSERT_EQ(0, wait_ours(targets[i]));
	for (i = 0; i < READER_PROCS; i++) {
		readers[i] = fork();
		ASSERT_GE(readers[i], 0);
		if (readers[i] == 0) {
			reader_thread((void *)(100 + i));
			_exit(0);
		}
	}
	for (i = 0; i < READER_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, reader_thread, (void *)i));

	/* Kill and restart a random target now and then: exits in the middle of reads. */
	end = now_ms() + secs * 1e3;
	while (now_ms() < end) {
		int slot = rand() % TARGETS, status;

		usleep(500 * 1000);
		sh->pids[slot] = 0;
		kill(targets[slot], SIGKILL);
		waitpid(targets[slot], &status, 0);
		targets[slot] = start_target(slot);
		ASSERT_GT(targets[slot], 0);
		sh->restarts++;
	}

	sh->stop = 1;
	for (i = 0; i < READER_THREADS; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; i < READER_PROCS; i++)
		waitpid(readers[i], NULL, 0);
	for (i = 0; i < TARGETS; i++) {
		kill(targets[i], SIGKILL);
		waitpid(targets[i], NULL, 0);
	}

	printf("# stress results (%.0f s, %d targets, %d reader threads + %d reader processes)\n",
	       secs, TARGETS, READER_THREADS, READER_PROCS);
	printf("# | whole reads | preads | seek reads | smaps/rollup/numa_maps reads | cmdline/environ reads | bytes | lines | mutations | forks | execs | threads | target restarts | errors (target gone) | violations |\n");
	printf("# | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %ld | %ld |\n",
	       sh->reads, sh->preads, sh->seeks, sh->smaps_reads, sh->args_reads, sh->bytes, sh->lines, sh->mutations,
	       sh->forks, sh->execs, sh->threads, sh->restarts, sh->errors_gone, sh->violations);
	if (sh->violations)
		TH_LOG("first violation: %s", sh->first_violation);
	EXPECT_GT(sh->reads, 10);
	EXPECT_GT(sh->smaps_reads, 10);
	EXPECT_GT(sh->args_reads, 10);
	EXPECT_GT(sh->mutations, 1000);
	EXPECT_EQ(0, sh->violations);
	/* Both of the cmdline reader's paths ran (ours only: /proc has no stats). */
	if (!getenv("STRESS_PROC")) {
		long long per_vma_now = stat_get("args_reads_vma_locked");
		long long fallbacks_now = stat_get("args_fallbacks_not_present");

		printf("# cmdline/environ reads per-VMA %lld, fallbacks for a page not present %lld\n",
		       per_vma_now - per_vma, fallbacks_now - fallbacks);
		EXPECT_GT(per_vma_now, per_vma);
		EXPECT_GT(fallbacks_now, fallbacks);
	}
}

int main(int argc, char **argv)
{
	self_exe = argv[0];
	if (argc == 3 && !strcmp(argv[1], "--target")) {
		/* An exec'd target maps the shared state again. */
		sh = map_shared(0);
		if (!sh)
			return 1;
		run_target(atoi(argv[2]), 1);
	}
	return test_harness_run(argc, argv);
}
