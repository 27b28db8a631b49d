// SPDX-License-Identifier: GPL-2.0
/*
 * Race test: a mutator keeps splitting, merging, remapping, growing and
 * shrinking VMAs while readers read its maps in small chunks. Every read must
 * keep the guarantees of /proc/PID/maps under per-VMA locks:
 *  - addresses never go backwards (each line ends above the previous one);
 *  - the two anchor VMAs, which never change, are always printed;
 *  - the work area, which is always fully mapped, never shows a gap.
 * A VMA may be printed twice (before and after a change); that is allowed.
 *
 * The no-gap guarantee is checked against remaps (mmap MAP_FIXED), faults
 * and mremap only: while mprotect() splits and merges VMAs, 7.3's own
 * /proc/PID/maps (the same lock_next_vma() step) shows transient gaps in the
 * work area too (measured: 4 gaps in 100 s of three /proc readers, 1 in
 * ours, same boot; none on either side with only remaps and faults, 60 s
 * each). With mprotect on, mprotect_split_merge checks the rest and counts
 * gaps on both sides.
 * Then the stats must show the per-VMA path and the mmap_lock fallback.
 * numa_maps (the same cursor, with a page walk per VMA), which prints only
 * starts: never backwards outside the mutated area, both anchors, the
 * fallback counted.
 * PROCMAP_QUERY against the same mutator: every answer covers (or, asked for,
 * follows) its address, the anchors are always found exactly, the always
 * mapped work area is never ENOENT.
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#define PAGE 4096UL
#define WORK_PAGES 16
#define FLEX_PAGES 8
/* Layout: [lo anchor][work area][flex, 1..8 pages, then hole][hi anchor] */
#define AREA_PAGES (1 + WORK_PAGES + FLEX_PAGES + 1)

struct layout {
	unsigned long lo, work, work_end, flex, hi, end;
};

static struct layout lay;
static pid_t mutator;
static volatile int stop_readers;
/* Shared with the mutator: whether it splits and merges with mprotect(). */
static volatile int *mutate_mprotect;
/* Whether a gap in the work area is a violation; whether readers read /proc. */
static int check_gaps = 1, read_proc;
/* Whether a test reloaded the module with parameters (undone by the teardown). */
static int reloaded;
/* The file the readers read: maps, or numa_maps (a start per line, no end). */
static const char *race_file = "maps";

struct reader_result {
	long reads, lines, violations, gaps;
	char first_violation[256];
};

static void mutate_forever(void)
{
	unsigned int seed = getpid();
	unsigned long flex_pages = 1;

	for (;;) {
		unsigned long k = rand_r(&seed) % WORK_PAGES;
		unsigned long n = 1 + rand_r(&seed) % (WORK_PAGES - k);
		char *page = (char *)lay.work + k * PAGE;
		void *p;

		int op = rand_r(&seed) % 5;

		if (op <= 1 && !*mutate_mprotect)
			continue;
		switch (op) {
		case 0: /* split */
			mprotect(page, PAGE, PROT_READ);
			break;
		case 1: /* merge back */
			mprotect(page, n * PAGE, PROT_READ | PROT_WRITE);
			break;
		case 2: /* remap in place */
			mmap(page, n * PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			break;
		case 3: /* fault a page in (every page stays readable) */
			(void)*(volatile char *)page;
			break;
		case 4: /* grow or shrink the flex VMA */
			n = 1 + rand_r(&seed) % FLEX_PAGES;
			p = mremap((void *)lay.flex, flex_pages * PAGE, n * PAGE, 0);
			if (p != MAP_FAILED)
				flex_pages = n;
			break;
		}
	}
}

static int check_read(const struct buf *b, struct reader_result *r)
{
	unsigned long prev_end = 0, prev_start = 0, covered = lay.work;
	int saw_lo = 0, saw_hi = 0;
	char *line = b->data;

	while (line && *line) {
		unsigned long start, end;
		int numa = !strcmp(race_file, "numa_maps");

		/* numa_maps: a start per line, each line taken as its first byte. */
		if (numa && sscanf(line, "%lx ", &start) == 1)
			end = start + 1;
		else if (numa || sscanf(line, "%lx-%lx", &start, &end) != 2 || start >= end) {
			snprintf(r->first_violation, sizeof(r->first_violation),
				 "unparsable line: %.80s", line);
			return 1;
		}
		/*
		 * A VMA printed again after a change ends further up. numa_maps has
		 * no ends: a VMA of the mutated area that grew or merged since the
		 * previous chunk shows a start at or below the last one printed,
		 * never outside that area.
		 */
		if (numa ? start < prev_start && (start < lay.work || start >= lay.hi) :
			   end <= prev_end) {
			snprintf(r->first_violation, sizeof(r->first_violation),
				 "went backwards: %lx-%lx after %lx-%lx", start, end, prev_start,
				 prev_end);
			return 1;
		}
		prev_start = start;
		prev_end = end;
		r->lines++;
		if (start == lay.lo && (numa || end == lay.work))
			saw_lo = 1;
		if (start == lay.hi && (numa || end == lay.end))
			saw_hi = 1;
		/* Without ends, numa_maps says nothing about gaps. */
		if (numa)
			covered = lay.work_end;
		if (covered < lay.work_end && end > covered) {
			if (start > covered && check_gaps) {
				snprintf(r->first_violation, sizeof(r->first_violation),
					 "gap %lx-%lx in the work area", covered, start);
				return 1;
			}
			r->gaps += start > covered;
			covered = end;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (!saw_lo || !saw_hi || covered < lay.work_end) {
		snprintf(r->first_violation, sizeof(r->first_violation),
			 "missing: lo anchor %d, hi anchor %d, work covered to %lx of %lx",
			 saw_lo, saw_hi, covered, lay.work_end);
		return 1;
	}
	return 0;
}

static void *reader(void *arg)
{
	static const size_t chunks[] = { 64, 200, 1024, 4096 };
	struct reader_result *r = arg;
	char path[128];
	struct buf b;

	if (read_proc)
		proc_path(path, sizeof(path), mutator, race_file);
	else
		ours_path(path, sizeof(path), mutator, race_file);
	while (!stop_readers) {
		if (read_all(path, chunks[r->reads % 4], &b)) {
			snprintf(r->first_violation, sizeof(r->first_violation),
				 "read failed: %s", strerror(errno));
			r->violations++;
			break;
		}
		if (check_read(&b, r))
			r->violations++;
		buf_free(&b);
		r->reads++;
	}
	return NULL;
}

FIXTURE(race) {
	int unused;
};

FIXTURE_SETUP(race)
{
	char *area = mmap(NULL, AREA_PAGES * PAGE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, area);
	mutate_mprotect = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mutate_mprotect);
	*mutate_mprotect = 1;
	check_gaps = 1;
	read_proc = 0;
	race_file = "maps";
	lay.lo = (unsigned long)area;
	lay.work = lay.lo + PAGE;
	lay.work_end = lay.work + WORK_PAGES * PAGE;
	lay.flex = lay.work_end;
	lay.hi = lay.flex + FLEX_PAGES * PAGE;
	lay.end = lay.hi + PAGE;
	/* Anchors differ in protection from their neighbours, so they never merge. */
	ASSERT_EQ(0, mprotect((void *)lay.lo, PAGE, PROT_READ | PROT_EXEC));
	ASSERT_EQ(0, mprotect((void *)lay.hi, PAGE, PROT_READ | PROT_EXEC));
	ASSERT_EQ(0, mprotect((void *)lay.flex, FLEX_PAGES * PAGE, PROT_READ));
	ASSERT_EQ(0, munmap((void *)(lay.flex + PAGE), (FLEX_PAGES - 1) * PAGE));
	mutator = fork();
	ASSERT_GE(mutator, 0);
	if (mutator == 0)
		mutate_forever();
	usleep(200 * 1000);
	ASSERT_EQ(0, wait_ours(mutator));
}

FIXTURE_TEARDOWN(race)
{
	int status;

	kill(mutator, SIGKILL);
	waitpid(mutator, &status, 0);
	munmap((void *)mutate_mprotect, PAGE);
	if (reloaded)
		reload_module("");
	reloaded = 0;
}

static long run_readers(struct __test_metadata *_metadata, int nreaders, double secs,
			long min_reads, const char *until_stat, long long until_value)
{
	pthread_t threads[8];
	struct reader_result results[8] = { 0 };
	long reads = 0, lines = 0, violations = 0, gaps = 0;
	double end = now_ms() + secs * 1e3;
	int i;

	stop_readers = 0;
	for (i = 0; i < nreaders; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, reader, &results[i]));
	while (now_ms() < end) {
		usleep(100 * 1000);
		if (until_stat && stat_get(until_stat) > until_value)
			break;
	}
	secs -= (end - now_ms()) / 1e3;
	stop_readers = 1;
	for (i = 0; i < nreaders; i++) {
		pthread_join(threads[i], NULL);
		reads += results[i].reads;
		lines += results[i].lines;
		violations += results[i].violations;
		gaps += results[i].gaps;
		if (results[i].violations)
			TH_LOG("reader %d: %s", i, results[i].first_violation);
	}
	TH_LOG("%d %s readers, %.1f s: %ld reads, %ld lines, %ld violations, %ld gaps",
	       nreaders, read_proc ? "/proc" : "our", secs, reads, lines, violations, gaps);
	EXPECT_GE(reads, min_reads);
	EXPECT_EQ(0, violations);
	return reads;
}

TEST_F(race, no_gaps_no_backwards)
{
	const char *env = getenv("RACE_SECS");
	long long rcu_before = stat_get("vma_locked_rcu");
	long long cont_before = stat_get("vma_iter_continued");

	*mutate_mprotect = 0;
	run_readers(_metadata, 3, env ? atof(env) : 5.0, 10, NULL, 0);
	/* The per-VMA path served these reads, through mm's lock_next_vma() (patch 0004). */
	EXPECT_GT(stat_get("vma_locked_rcu"), rcu_before);
	/* maps chunks continue the iterator from VMA to VMA (preemptible RCU). */
	EXPECT_GT(stat_get("vma_iter_continued"), cont_before);
}

/*
 * mprotect() splitting and merging too: never backwards, both anchors, the
 * work area covered to its end; gaps counted (see the top), ours and /proc's.
 */
TEST_F(race, mprotect_split_merge)
{
	check_gaps = 0;
	run_readers(_metadata, 3, 5.0, 10, NULL, 0);
	read_proc = 1;
	run_readers(_metadata, 3, 5.0, 10, NULL, 0);
}

/* Under contention some VMAs are write-locked when we get to them: fallback. */
TEST_F_TIMEOUT(race, fallback_under_contention, 90)
{
	long long before = stat_get("mmap_lock_fallbacks");

	check_gaps = 0; /* mprotect on: the gaps of the top */
	run_readers(_metadata, 2, 40.0, 1, "mmap_lock_fallbacks", before);
	EXPECT_GT(stat_get("mmap_lock_fallbacks"), before);
	TH_LOG("stats: vma_locked_rcu %lld, mmap_lock_fallbacks %lld",
	       stat_get("vma_locked_rcu"), stat_get("mmap_lock_fallbacks"));
}

/*
 * numa_maps under the same mutator (mprotect on): never backwards outside
 * the mutated area, both anchors; VMAs walked under their per-VMA lock, taken under mmap_lock when
 * one is write-locked as the cursor gets to it (lock_next_vma()'s
 * fallback); and with lock_mode=1, walked under mmap_lock.
 */
TEST_F_TIMEOUT(race, numa_maps, 120)
{
	long long walks = stat_get("numa_walks_vma_locked");
	long long fallbacks = stat_get("mmap_lock_fallbacks");

	if (access("/proc/self/numa_maps", F_OK))
		SKIP(return, "no numa_maps: a kernel without CONFIG_NUMA");
	race_file = "numa_maps";
	check_gaps = 0;
	run_readers(_metadata, 2, 40.0, 1, "mmap_lock_fallbacks", fallbacks);
	EXPECT_GT(stat_get("numa_walks_vma_locked"), walks);
	EXPECT_GT(stat_get("mmap_lock_fallbacks"), fallbacks);
	reloaded = 1;
	ASSERT_EQ(0, reload_module("lock_mode=1"));
	ASSERT_EQ(0, wait_ours(mutator));
	run_readers(_metadata, 2, 3.0, 10, NULL, 0);
	EXPECT_GT(stat_get("numa_walks_mmap_locked"), 0);
}

static void *querier(void *arg)
{
	struct reader_result *r = arg;
	unsigned int seed = (unsigned long)arg;
	char path[64], name[256];
	int fd;

	ours_path(path, sizeof(path), mutator, "maps");
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		r->violations++;
		snprintf(r->first_violation, sizeof(r->first_violation), "open: %s", strerror(errno));
		return NULL;
	}
	while (!stop_readers) {
		unsigned long page = rand_r(&seed) % AREA_PAGES;
		__u64 addr = lay.lo + page * PAGE + rand_r(&seed) % PAGE;
		int next = rand_r(&seed) % 2, bad = 0;
		struct procmap_query q = {
			.size = sizeof(q),
			.query_flags = next ? PROCMAP_QUERY_COVERING_OR_NEXT_VMA : 0,
			.query_addr = addr,
			.vma_name_addr = (unsigned long)name,
			.vma_name_size = sizeof(name),
		};
		int ret = ioctl(fd, PROCMAP_QUERY, &q);

		r->reads++;
		if (ret && errno != ENOENT)
			bad = 1;
		else if (ret)
			/* Only a hole of the flex area can be empty. */
			bad = next || addr < lay.flex + PAGE || addr >= lay.hi;
		else if (q.vma_end <= addr || q.vma_start >= q.vma_end ||
			 (!next && q.vma_start > addr))
			bad = 1;
		else if (addr < lay.lo + PAGE || (addr >= lay.hi && addr < lay.end))
			/* The anchors never change. */
			bad = q.vma_start != (addr < lay.hi ? lay.lo : lay.hi) ||
			      q.vma_end != q.vma_start + PAGE ||
			      q.vma_flags != (PROCMAP_QUERY_VMA_READABLE | PROCMAP_QUERY_VMA_EXECUTABLE);
		if (!ret)
			r->lines++;
		if (bad && !r->violations++)
			snprintf(r->first_violation, sizeof(r->first_violation),
				 "addr %llx flags %llx: ret %d errno %d, %llx-%llx f%llx",
				 (unsigned long long)addr, (unsigned long long)q.query_flags, ret,
				 ret ? errno : 0, (unsigned long long)q.vma_start,
				 (unsigned long long)q.vma_end, (unsigned long long)q.vma_flags);
	}
	close(fd);
	return NULL;
}

TEST_F(race, query_under_mutation)
{
	pthread_t threads[2];
	struct reader_result results[2] = { 0 };
	long long vma_before = stat_get("queries_vma_locked");
	long long mmap_before = stat_get("queries_mmap_locked");
	double end = now_ms() + 5e3;
	int i;

	stop_readers = 0;
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&threads[i], NULL, querier, &results[i]));
	while (now_ms() < end)
		usleep(100 * 1000);
	stop_readers = 1;
	for (i = 0; i < 2; i++) {
		pthread_join(threads[i], NULL);
		TH_LOG("querier %d: %ld queries, %ld found, %ld violations%s%s", i,
		       results[i].reads, results[i].lines, results[i].violations,
		       results[i].violations ? ": " : "", results[i].first_violation);
		EXPECT_EQ(0, results[i].violations);
		EXPECT_LT(100, results[i].reads);
	}
	TH_LOG("queries on the per-VMA path %lld, with mmap_lock %lld",
	       stat_get("queries_vma_locked") - vma_before,
	       stat_get("queries_mmap_locked") - mmap_before);
	EXPECT_LT(vma_before, stat_get("queries_vma_locked"));
}

TEST_HARNESS_MAIN
