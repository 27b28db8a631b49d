// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/vmstat: our readers leave no trace there that /proc's readers would
 * not leave.
 *
 * With CONFIG_PER_VMA_LOCK_STATS (the debug kernel has it) /proc/vmstat
 * counts per-VMA lock events: vma_lock_success, vma_lock_abort,
 * vma_lock_retry and vma_lock_miss. They are meant to tell how well page
 * faults do under per-VMA locks, and lock_vma_under_rcu() moves some of them
 * for whoever calls it (abort when there is no VMA at the address or it
 * cannot be locked, miss when it was detached meanwhile), while /proc's
 * readers, which step with lock_next_vma(), move none. A reader of ours that
 * looked VMAs up at addresses in holes (or any other way /proc's do not)
 * would make these counters lie about page faults, which /proc's readers
 * never do.
 *
 * The target is a stopped child with many VMAs separated by holes, and
 * triples of adjacent VMAs followed by a hole (a reader that guesses "the
 * next VMA starts where this one ends" guesses wrong at every hole). For a
 * whole read of maps (in 4 KiB and 1 MiB reads), of smaps (the same), of
 * smaps_rollup, for PROCMAP_QUERY lookups of exact addresses in holes and in
 * VMAs, and for a walk over every VMA with PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
 * the change of each counter over /proc's operation must equal its change
 * over ours. The counters are system-wide and also count every page fault in
 * the guest: the test's buffers are faulted in beforehand, one run of each
 * side warms everything up, and the smallest change of five runs (or more,
 * while they differ, up to 25) of each side is compared, which filters out
 * faults of other processes.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#define NCOUNTERS 4
#define SLOTS 200		/* slots of 4 pages: PROT_NONE, r--, rw-, hole */
#define RUNS 5			/* runs of each side at least, */
#define MAX_RUNS 25		/* and at most, until the least changes agree */
#define BUF_SIZE (4 << 20)	/* a whole smaps of the target, and then some */

/* include/linux/vm_event_item.h, names from mm/vmstat.c */
static const char *const counters[NCOUNTERS] = {
	"vma_lock_success", "vma_lock_abort", "vma_lock_retry", "vma_lock_miss",
};

/* The text of /proc/vmstat, faulted in before any measurement. */
static char vmstat_text[1 << 16];

/*
 * The counters now, in @val: 0, or -1 if /proc/vmstat cannot be read or has
 * not one of them (its name in *@missing).
 */
static int read_counters(long long val[NCOUNTERS], const char **missing)
{
	int fd = open("/proc/vmstat", O_RDONLY);
	size_t len = 0;
	ssize_t n;
	int i;

	*missing = NULL;
	if (fd < 0)
		return -1;
	while (len < sizeof(vmstat_text) - 1 &&
	       (n = read(fd, vmstat_text + len, sizeof(vmstat_text) - 1 - len)) > 0)
		len += n;
	close(fd);
	vmstat_text[len] = '\0';
	for (i = 0; i < NCOUNTERS; i++) {
		char key[64], *at;

		/* Never the first line (nr_free_pages). */
		snprintf(key, sizeof(key), "\n%s ", counters[i]);
		at = strstr(vmstat_text, key);
		if (!at) {
			*missing = counters[i];
			return -1;
		}
		val[i] = strtoll(at + strlen(key), NULL, 10);
	}
	return 0;
}

/* Debian's kernel (and most): a debugging option. Ours must have it (all_inputs()). */
#define NO_COUNTERS "no vma_lock_* counters in /proc/vmstat (CONFIG_PER_VMA_LOCK_STATS, a debugging option)"

TEST(counters_exist)
{
	long long val[NCOUNTERS];
	const char *missing;

	if (read_counters(val, &missing) && !all_inputs())
		SKIP(return, NO_COUNTERS);
	ASSERT_EQ(0, read_counters(val, &missing)) {
		TH_LOG("/proc/vmstat has no %s: the test kernel must be built with CONFIG_PER_VMA_LOCK_STATS",
		       missing ? missing : "(unreadable)");
	}
}

static long page;
/* Reserved by the test before fork(), laid out by the child (same address). */
static char *region;

/* The target's layout: in each slot, PROT_NONE, r--, rw- (three VMAs), then a hole. */
static int make_holes(void)
{
	int i;

	for (i = 0; i < SLOTS; i++) {
		char *slot = region + i * 4 * page;

		if (mprotect(slot + page, page, PROT_READ))
			return 1;
		if (mprotect(slot + 2 * page, page, PROT_READ | PROT_WRITE))
			return 2;
		if (munmap(slot + 3 * page, page))
			return 3;
	}
	return 0;
}

enum op {
	WHOLE_READ,	/* read the whole file in reads of variant->chunk bytes */
	QUERY_POINTS,	/* PROCMAP_QUERY exact addresses in VMAs and holes */
	QUERY_WALK,	/* PROCMAP_QUERY_COVERING_OR_NEXT_VMA from 0 to the end */
};

FIXTURE(holes) {
	pid_t pid;
	char *buf;
};

FIXTURE_VARIANT(holes) {
	enum op op;
	const char *file;
	size_t chunk;
};

FIXTURE_VARIANT_ADD(holes, maps_4k) {
	.op = WHOLE_READ, .file = "maps", .chunk = 4096,
};

FIXTURE_VARIANT_ADD(holes, maps_1m) {
	.op = WHOLE_READ, .file = "maps", .chunk = 1 << 20,
};

FIXTURE_VARIANT_ADD(holes, smaps_4k) {
	.op = WHOLE_READ, .file = "smaps", .chunk = 4096,
};

FIXTURE_VARIANT_ADD(holes, smaps_1m) {
	.op = WHOLE_READ, .file = "smaps", .chunk = 1 << 20,
};

FIXTURE_VARIANT_ADD(holes, smaps_rollup) {
	.op = WHOLE_READ, .file = "smaps_rollup", .chunk = 4096,
};

FIXTURE_VARIANT_ADD(holes, query_points) {
	.op = QUERY_POINTS, .file = "maps",
};

FIXTURE_VARIANT_ADD(holes, query_walk) {
	.op = QUERY_WALK, .file = "maps",
};

FIXTURE_SETUP(holes)
{
	long long val[NCOUNTERS];
	const char *missing;

	self->pid = 0;
	if (read_counters(val, &missing) && !all_inputs())
		SKIP(return, NO_COUNTERS);
	ASSERT_EQ(0, read_counters(val, &missing)) {
		TH_LOG("/proc/vmstat has no %s: the test kernel must be built with CONFIG_PER_VMA_LOCK_STATS",
		       missing ? missing : "(unreadable)");
	}
	page = sysconf(_SC_PAGESIZE);
	region = mmap(NULL, SLOTS * 4 * page, PROT_NONE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, region);
	/* Untouched until after fork(): no copy-on-write faults in it later. */
	self->buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
	self->pid = spawn_stopped(make_holes);
	ASSERT_GT(self->pid, 0);
	/* Only the child needs the region; its addresses stay valid in it. */
	munmap(region, SLOTS * 4 * page);
	/*
	 * Fault in (and out of copy-on-write: fork() write-protected what was
	 * written before it) everything the measurements write to.
	 */
	memset(self->buf, 0x5a, BUF_SIZE);
	memset(vmstat_text, 0x5a, sizeof(vmstat_text));
}

FIXTURE_TEARDOWN(holes)
{
	if (self->pid > 0)
		kill_and_reap(self->pid);
	munmap(self->buf, BUF_SIZE);
}

/* Read @path to its end in reads of @chunk bytes into @buf: the size, or -errno. */
static long whole_read(const char *path, size_t chunk, char *buf)
{
	int fd = open(path, O_RDONLY), err = 0;
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (len + chunk > BUF_SIZE) {
			err = -ENOSPC;
			break;
		}
		n = read(fd, buf + len, chunk);
		if (n < 0)
			err = -errno;
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	return err ? err : (long)len;
}

/* One PROCMAP_QUERY of @addr: 0 or -errno, the VMA's end in *@end. */
static int query(int fd, unsigned long addr, __u64 flags, unsigned long *end)
{
	struct procmap_query q;

	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_flags = flags;
	q.query_addr = addr;
	if (ioctl(fd, PROCMAP_QUERY, &q))
		return -errno;
	*end = q.vma_end;
	return 0;
}

/* An exact lookup of @addr: 1 if a VMA covers it, 0 if none (ENOENT), or -errno. */
static int query_point(int fd, unsigned long addr)
{
	unsigned long end;
	int ret = query(fd, addr, 0, &end);

	return ret == -ENOENT ? 0 : ret ? ret : 1;
}

/*
 * Exact lookups, in each slot, of the first byte of the PROT_NONE page, a
 * byte in the r-- page, the last byte of the rw- page and a byte in the hole;
 * then below and above every VMA: the number of VMAs found, or -errno (not
 * ENOENT).
 */
static long query_points(int fd)
{
	long found = 0;
	int i, j, ret;

	for (i = 0; i < SLOTS; i++) {
		unsigned long slot = (unsigned long)region + i * 4 * page;
		unsigned long addrs[] = {
			slot, slot + page + 100, slot + 3 * page - 1, slot + 3 * page + page / 2,
		};

		for (j = 0; j < 4; j++) {
			ret = query_point(fd, addrs[j]);
			if (ret < 0)
				return ret;
			found += ret;
		}
	}
	for (j = 0; j < 2; j++) {
		ret = query_point(fd, j ? ~0UL : 0);
		if (ret < 0)
			return ret;
		found += ret;
	}
	return found;
}

/* Every VMA, each found as the one covering or following the last one's end: how many. */
static long query_walk(int fd)
{
	unsigned long addr = 0, end;
	long found = 0;
	int ret;

	for (;;) {
		ret = query(fd, addr, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, &end);
		if (ret)
			return ret == -ENOENT ? found : ret;
		found++;
		addr = end;
	}
}

/* The operation of @variant on /proc's file (@ours 0) or ours: its size or count, or -errno. */
static long run_op(FIXTURE_DATA(holes) *self, const FIXTURE_VARIANT(holes) *variant, int ours)
{
	char path[128];
	long ret;
	int fd;

	if (ours)
		ours_path(path, sizeof(path), self->pid, variant->file);
	else
		proc_path(path, sizeof(path), self->pid, variant->file);
	if (variant->op == WHOLE_READ)
		return whole_read(path, variant->chunk, self->buf);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	ret = variant->op == QUERY_POINTS ? query_points(fd) : query_walk(fd);
	close(fd);
	return ret;
}

/* Run the operation on one side: its result, the counters' changes over it in @delta. */
static long measure(FIXTURE_DATA(holes) *self, const FIXTURE_VARIANT(holes) *variant,
		    int ours, long long delta[NCOUNTERS])
{
	long long before[NCOUNTERS], after[NCOUNTERS];
	const char *missing;
	long ret;
	int i;

	if (read_counters(before, &missing))
		return -EIO;
	ret = run_op(self, variant, ours);
	if (read_counters(after, &missing))
		return -EIO;
	for (i = 0; i < NCOUNTERS; i++)
		delta[i] = after[i] - before[i];
	return ret;
}

TEST_F_TIMEOUT(holes, vma_lock_events_like_proc, 120)
{
	static const char *const side_name[2] = { "/proc", "ours" };
	long long delta[NCOUNTERS], least[2][NCOUNTERS];
	long want, got;
	int run, side, i;

	/* Warm up both sides (code, stack, the kernel's caches); check they agree. */
	want = measure(self, variant, 0, delta);
	ASSERT_LT(0, want) {
		TH_LOG("/proc's %s: %ld", variant->file, want);
	}
	got = measure(self, variant, 1, delta);
	ASSERT_EQ(want, got);
	/* The target is what the test means it to be: every VMA, every hole. */
	if (variant->op == QUERY_POINTS) {
		ASSERT_EQ(3 * SLOTS, want);
	} else if (variant->op == QUERY_WALK) {
		ASSERT_LT(3 * SLOTS, want);
	}

	for (side = 0; side < 2; side++)
		for (i = 0; i < NCOUNTERS; i++)
			least[side][i] = LLONG_MAX;
	/*
	 * The target is stopped, so each side changes the counters by the same
	 * amount in every run, plus whatever the rest of the guest did
	 * meanwhile. The least change of several runs is that amount: after
	 * RUNS runs, more runs (up to MAX_RUNS) only while the least changes
	 * differ, which noise can explain and more runs remove, while a
	 * difference of the readers' own stays in every run.
	 */
	for (run = 0; run < MAX_RUNS; run++) {
		for (side = 0; side < 2; side++) {
			got = measure(self, variant, side, delta);
			EXPECT_EQ(want, got) {
				TH_LOG("%s, run %d", side_name[side], run);
			}
			for (i = 0; i < NCOUNTERS; i++)
				if (delta[i] < least[side][i])
					least[side][i] = delta[i];
		}
		if (run + 1 >= RUNS && !memcmp(least[0], least[1], sizeof(least[0])))
			break;
	}
	for (i = 0; i < NCOUNTERS; i++) {
		TH_LOG("%s %s: %s +%lld, ours +%lld (least of %d runs)", variant->file,
		       counters[i], side_name[0], least[0][i], least[1][i],
		       run < MAX_RUNS ? run + 1 : run);
		EXPECT_EQ(least[0][i], least[1][i]);
	}
}

TEST_HARNESS_MAIN
