// SPDX-License-Identifier: GPL-2.0
/*
 * Differential tests: our maps must equal /proc/PID/maps byte for byte.
 *
 * A child creates every kind of mapping /proc names differently, stops
 * itself with SIGSTOP, and both files are read in several chunk sizes and
 * compared. Then every process in the guest is compared the same way.
 */
#define _GNU_SOURCE
#include <linux/io_uring.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static const size_t chunks[] = { 1, 7, 64, 4096, 1 << 20 };

/*
 * Compare /proc/PID/maps and ours for a stopped @pid in the chunk sizes from
 * chunks[first_chunk] on;
 * count a mismatch for each difference and each read that needed mmap_lock.
 */
static int compare_maps_from(struct __test_metadata *_metadata, int pid, size_t first_chunk)
{
	char p[128], o[128];
	struct buf want, got;
	size_t i;
	int mismatches = 0;

	proc_path(p, sizeof(p), pid, "maps");
	ours_path(o, sizeof(o), pid, "maps");
	ASSERT_EQ(0, read_all(p, 1 << 16, &want));
	for (i = first_chunk; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		long long fallbacks = stat_get("mmap_lock_fallbacks");

		ASSERT_EQ(0, read_all(o, chunks[i], &got));
		/* Nothing changes a stopped process: every VMA is locked per-VMA. */
		fallbacks = stat_get("mmap_lock_fallbacks") - fallbacks;
		if (fallbacks) {
			fprintf(stderr, "# pid %d, reads of %zu bytes: %lld mmap_lock fallbacks\n",
				pid, chunks[i], fallbacks);
			mismatches++;
		}
		if (got.len != want.len || memcmp(got.data, want.data, got.len)) {
			fprintf(stderr, "# pid %d, reads of %zu bytes:\n", pid, chunks[i]);
			show_first_diff(&want, &got);
			mismatches++;
		}
		buf_free(&got);
	}
	buf_free(&want);
	return mismatches;
}

static int compare_maps(struct __test_metadata *_metadata, int pid)
{
	return compare_maps_from(_metadata, pid, 0);
}

static void *map_file(const char *path, int flags, int prot, int open_flags)
{
	int fd = open(path, open_flags | O_CREAT, 0644);
	void *addr;

	if (fd < 0 || (open_flags == O_RDWR && ftruncate(fd, 3 * 4096)))
		return MAP_FAILED;
	addr = mmap(NULL, 3 * 4096, prot, flags, fd, 4096);
	close(fd);
	return addr;
}

/* One mapping of each kind; non-zero (which step failed) on failure. */
static int make_every_mapping(void)
{
	char *p;
	int fd, id;

	mkdir("/tmp/golden", 0755);
	if (map_file("/tmp/golden/plain file", MAP_PRIVATE, PROT_READ | PROT_EXEC, O_RDWR) == MAP_FAILED)
		return 10;
	if (map_file("/tmp/golden/new\nline", MAP_SHARED, PROT_READ | PROT_WRITE, O_RDWR) == MAP_FAILED)
		return 11;
	/* Read-only fd, MAP_SHARED: VM_MAYSHARE without VM_SHARED prints 's'. */
	close(open("/tmp/golden/ro", O_CREAT | O_RDWR, 0644));
	truncate("/tmp/golden/ro", 4 * 4096);
	if (map_file("/tmp/golden/ro", MAP_SHARED, PROT_READ, O_RDONLY) == MAP_FAILED)
		return 12;
	if (map_file("/tmp/golden/deleted", MAP_PRIVATE, PROT_READ, O_RDWR) == MAP_FAILED)
		return 13;
	unlink("/tmp/golden/deleted");

	/* Anonymous: private, split by mprotect, shared (/dev/zero), named. */
	p = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p + 2 * 4096, 4096, PROT_READ))
		return 14;
	if (mmap(NULL, 4096, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
		return 15;
	p = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, 2 * 4096, "golden anon"))
		return 16;
	p = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, 2 * 4096, "golden_shmem"))
		return 17;

	/* memfd, SysV shm, hugetlb. */
	fd = memfd_create("golden memfd", 0);
	if (fd < 0 || ftruncate(fd, 4096) ||
	    mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
		return 18;
	id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0 || shmat(id, NULL, SHM_RDONLY) == (void *)-1)
		return 19;
	shmctl(id, IPC_RMID, NULL);
	if (mmap(NULL, 2 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0) == MAP_FAILED)
		return 20;

	/* An anon_inode mapping: io_uring's rings print as anon_inode:[io_uring]. */
	{
		struct io_uring_params params = { 0 };
		int ring = syscall(__NR_io_uring_setup, 4, &params);

		if (ring < 0 || mmap(NULL, params.sq_off.array + 4 * sizeof(unsigned),
				     PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
				     ring, IORING_OFF_SQ_RING) == MAP_FAILED)
			return 21;
	}

	/* An overlayfs file: /proc shows the overlay inode, not the backing one. */
	mkdir("/tmp/ovl", 0755);
	mkdir("/tmp/ovl/lower", 0755);
	mkdir("/tmp/ovl/upper", 0755);
	mkdir("/tmp/ovl/work", 0755);
	mkdir("/tmp/ovl/merged", 0755);
	close(open("/tmp/ovl/lower/file", O_CREAT | O_RDWR, 0644));
	truncate("/tmp/ovl/lower/file", 4096);
	if (mount("overlay", "/tmp/ovl/merged", "overlay", 0,
		  "lowerdir=/tmp/ovl/lower,upperdir=/tmp/ovl/upper,workdir=/tmp/ovl/work"))
		return 22;
	fd = open("/tmp/ovl/merged/file", O_RDONLY);
	if (fd < 0 || mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0) == MAP_FAILED)
		return 23;

	/* [heap]. */
	p = sbrk(3 * 4096);
	if (p == (void *)-1)
		return 24;
	*p = 0;
	return 0;
}

/* How many of the expected mapping kinds are absent from our maps of @pid. */
static int missing_kinds(int pid)
{
	const char *kinds[] = {
		"/tmp/golden/plain file", "/tmp/golden/new\\012line", " (deleted)",
		"[anon:golden anon]", "[anon_shmem:golden_shmem]", "/dev/zero (deleted)",
		"/memfd:golden memfd (deleted)", "/SYSV00000000 (deleted)",
		"/anon_hugepage (deleted)", "anon_inode:[io_uring]", "/tmp/ovl/merged/file",
		"[heap]", "[stack]", "[vdso]", "[vvar]", "[vsyscall]", "r--s", "---s",
	};
	int missing = 0;
	char path[64];
	struct buf b;
	size_t i;

	ours_path(path, sizeof(path), pid, "maps");
	if (read_all(path, 4096, &b))
		return -1;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!strstr(b.data, kinds[i])) {
			fprintf(stderr, "# no mapping like '%s'\n", kinds[i]);
			missing++;
		}
	}
	buf_free(&b);
	return missing;
}

TEST(every_mapping_kind)
{
	pid_t pid = spawn_stopped(make_every_mapping);

	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_maps(_metadata, pid));
	/* The golden test is only as good as the kinds it really covered. */
	EXPECT_EQ(0, missing_kinds(pid));
	kill_and_reap(pid);
	umount("/tmp/ovl/merged");
}

/* 20 000 VMAs, alternating protections. */
static int make_many_vmas(void)
{
	char *p = mmap(NULL, 20000 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i;

	if (p == MAP_FAILED)
		return 1;
	for (i = 0; i < 20000; i += 2)
		if (mprotect(p + i * 4096, 4096, PROT_NONE))
			return 2;
	return 0;
}

FIXTURE(big) {
	int unused;
};

FIXTURE_SETUP(big)
{
}

FIXTURE_TEARDOWN(big)
{
}

/* Many VMAs: output crosses many read() chunks and seq_file buffer sizes. */
TEST_F_TIMEOUT(big, many_vmas, 300)
{
	pid_t pid = spawn_stopped(make_many_vmas);

	ASSERT_GT(pid, 0);
	/* Not in 1- and 7-byte reads: a million read() calls take minutes under TCG. */
	EXPECT_EQ(0, compare_maps_from(_metadata, pid, 2));
	kill_and_reap(pid);
}

static void compare_one(int pid, void *arg)
{
	struct __test_metadata *_metadata = arg;

	EXPECT_EQ(0, compare_maps(_metadata, pid));
}

/* Every process of the guest, kernel threads (empty files) included. */
TEST(all_processes)
{
	int compared = for_each_process_stopped("maps", compare_one, _metadata);

	EXPECT_GT(compared, 10);
	TH_LOG("compared %d processes", compared);
}

/* lock_mode=1 (mmap_read_lock per chunk, the benchmark's baseline) prints the same bytes. */
TEST(lock_mode_mmap)
{
	pid_t pid;

	ASSERT_EQ(0, reload_module("lock_mode=1"));
	pid = spawn_stopped(NULL);
	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_maps(_metadata, pid));
	EXPECT_GT(stat_get("mmap_locked_chunks"), 0);
	EXPECT_EQ(0, stat_get("vma_locked_rcu"));
	kill_and_reap(pid);
	ASSERT_EQ(0, reload_module(""));
	/* An unknown mode is refused at load. */
	EXPECT_EQ(-EINVAL, reload_module("lock_mode=2"));
	EXPECT_EQ(0, module_load(""));
}

TEST_HARNESS_MAIN
