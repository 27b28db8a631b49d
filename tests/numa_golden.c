// SPDX-License-Identifier: GPL-2.0
/*
 * Differential tests: our numa_maps must equal /proc's, byte for byte.
 *
 * A child sets every memory policy mpol_to_str() prints on VMAs of its own
 * (mbind()), a task policy (set_mempolicy()) and a shared policy of shmem,
 * over every mapping kind numa_maps tells apart (anonymous, private and
 * shared file, shmem, heap, stack, hugetlb, THP, KSM-merged pages, a page in
 * the swap cache, pages mapped by three processes, pages of a FUSE file
 * under writeback), with pages placed on both nodes of the guest, stops
 * itself, and both files are compared in every read size; then every
 * process of the guest. The fields the child was meant to make are checked
 * to be there in /proc's file, so that the comparison is only as good as
 * what it really exercised.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "fuse_hold.h"
#include "kselftest_harness.h"
#include "procmaps_util.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
/* include/uapi/linux/mempolicy.h */
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_LOCAL 4
#define MPOL_PREFERRED_MANY 5
#define MPOL_WEIGHTED_INTERLEAVE 6
#define MPOL_F_NUMA_BALANCING (1 << 13)
#define MPOL_F_RELATIVE_NODES (1 << 14)
#define MPOL_F_STATIC_NODES (1 << 15)

#define KB 1024UL
#define MB (1024 * KB)
#define PAGE 4096UL
#define FUSE_DIR "/tmp/fuse-numa"

static const size_t chunks[] = { 1, 7, 64, 4096, 1 << 20 };

static long mbind_nodes(void *p, size_t size, int mode, unsigned long nodes)
{
	return syscall(SYS_mbind, p, size, mode, nodes ? &nodes : NULL,
		       nodes ? 8 * sizeof(nodes) : 0, 0);
}

static void touch(char *p, size_t size, char value)
{
	size_t i;

	for (i = 0; i < size; i += PAGE)
		p[i] = value;
}

/* Anonymous memory with policy @mode over @nodes, its pages allocated under it. */
static int policy_area(int mode, unsigned long nodes, size_t pages)
{
	char *p = map_anon(pages * PAGE, MAP_PRIVATE);

	if (!p || mbind_nodes(p, pages * PAGE, mode, nodes))
		return -1;
	touch(p, pages * PAGE, 1);
	return 0;
}

/* Every policy and mapping kind; non-zero (which step failed) on failure. */
static int make_every_kind(void)
{
	unsigned long both = two_nodes() ? 3 : 1, last = two_nodes() ? 2 : 1;
	char *p, *file;
	int fd;

	/* VMA policies, each on a VMA of its own, with pages. */
	if (policy_area(MPOL_BIND, 1, 4))
		return 10;
	if (policy_area(MPOL_BIND | MPOL_F_STATIC_NODES, both, 4))
		return 11;
	if (policy_area(MPOL_INTERLEAVE, both, 8))
		return 12;
	if (policy_area(MPOL_INTERLEAVE | MPOL_F_RELATIVE_NODES, both, 8))
		return 13;
	if (policy_area(MPOL_PREFERRED, last, 4))
		return 14;
	if (policy_area(MPOL_PREFERRED | MPOL_F_STATIC_NODES, last, 4))
		return 15;
	if (policy_area(MPOL_LOCAL, 0, 4))
		return 16;
	if (policy_area(MPOL_PREFERRED_MANY, both, 4))
		return 17;
	if (policy_area(MPOL_WEIGHTED_INTERLEAVE, both, 8))
		return 18;
	if (policy_area(MPOL_BIND | MPOL_F_NUMA_BALANCING, both, 4) && errno != EINVAL)
		return 19;

	/*
	 * A shared file written (dirty=) and a private one read, both on /tmp's
	 * tmpfs, its name with characters file= escapes.
	 */
	fd = open("/tmp/numa file=\t1", O_CREAT | O_RDWR, 0644);
	if (fd < 0 || ftruncate(fd, 16 * PAGE))
		return 20;
	file = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (file == MAP_FAILED)
		return 21;
	touch(file, 8 * PAGE, 2);
	file = mmap(NULL, 16 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	if (file == MAP_FAILED)
		return 22;
	(void)*(volatile char *)(file + 3 * PAGE);
	close(fd);
	/*
	 * Clean page-cache pages (tmpfs' are dirty), and a copy on write among
	 * them: neither all anonymous nor all dirty (mapped=).
	 */
	fd = ext4_file("/tmp/ext4-numa", 64 * KB);
	if (fd < 0)
		return 40 - fd;
	file = mmap(NULL, 64 * KB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (file == MAP_FAILED)
		return 39;
	(void)*(volatile char *)file;
	(void)*(volatile char *)(file + PAGE);
	file[2 * PAGE] = 1;
	close(fd);

	/* shmem with a shared policy of its own, set on the object through the mapping. */
	p = map_anon(16 * PAGE, MAP_SHARED);
	if (!p || mbind_nodes(p, 16 * PAGE, MPOL_INTERLEAVE | MPOL_F_STATIC_NODES, both))
		return 23;
	touch(p, 16 * PAGE, 3);

	/* The heap. */
	p = sbrk(8 * PAGE);
	if (p == (void *)-1)
		return 24;
	touch(p, 8 * PAGE, 4);

	/* hugetlb, private (huge, kernelpagesize_kB=2048), bound to the last node. */
	p = mmap(NULL, 2 * MB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		return 25;
	if (mbind_nodes(p, 2 * MB, MPOL_BIND, last))
		return 26;
	*p = 1;

	/* A PMD-mapped THP: 2 MiB aligned inside a 4 MiB area. */
	p = map_anon(4 * MB, MAP_PRIVATE);
	if (!p)
		return 27;
	p = (char *)(((unsigned long)p + 2 * MB - 1) & ~(2 * MB - 1));
	madvise(p, 2 * MB, MADV_HUGEPAGE);
	touch(p, 2 * MB, 5);

	if (make_ksm_pages(8))
		return 28;

	/*
	 * A page in the swap cache (swapcache=): pushed out to zram before the
	 * fork below (two mappers of the swap entry: a swap-in then goes through
	 * the swap cache, even on a synchronous device), read back after it.
	 */
	if (swap_on())
		return 29;
	p = map_anon(4 * PAGE, MAP_PRIVATE);
	if (!p)
		return 30;
	touch(p, 4 * PAGE, 6);
	if (madvise(p, 4 * PAGE, MADV_PAGEOUT))
		return 31;

	/* COW pages mapped by three processes (mapmax=3). */
	if (fork_sharer() || fork_sharer())
		return 32;
	(void)*(volatile char *)p;

	/*
	 * Pages under writeback (writeback=): a shared mapping of the test's
	 * FUSE file written and sent to writeback, whose WRITEs its server holds
	 * until the comparison is over. The file stays open: closing it would
	 * wait for them.
	 */
	fd = open(FUSE_DIR "/f", O_RDWR);
	if (fd < 0)
		return 34;
	file = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (file == MAP_FAILED)
		return 35;
	touch(file, 4 * PAGE, 7);
	if (sync_file_range(fd, 0, 4 * PAGE, SYNC_FILE_RANGE_WRITE))
		return 36;

	/* The task policy, which every VMA without its own shows. */
	if (syscall(SYS_set_mempolicy, MPOL_INTERLEAVE, &both, 8 * sizeof(both)))
		return 33;
	return 0;
}

TEST(every_kind)
{
	static const char *const two_node_tokens[] = {
		"bind=static:0-1", "interleave:0-1", "interleave=static:0-1", "interleave=relative:0-1",
		"prefer:1", "prefer=static:1", "prefer (many):0-1", "weighted interleave:0-1",
		" N0=", " N1=",
	};
	static const char *const tokens[] = {
		"local", "bind:0", " file=/tmp/numa\\040file\\075\\0111", " heap", " stack", " huge",
		" anon=", " dirty=", " mapped=", " mapmax=", " swapcache=", " active=",
		" writeback=", "kernelpagesize_kB=4", "kernelpagesize_kB=2048",
	};
	long long walks = stat_get("numa_walks_vma_locked");
	struct fuse_hold fuse;
	char path[64];
	struct buf b;
	pid_t pid;
	size_t i;

	if (!proc_has("numa_maps"))
		SKIP(return, "no /proc/self/numa_maps: a kernel without CONFIG_NUMA");
	ASSERT_EQ(0, fuse_hold_start(&fuse, FUSE_DIR));
	pid = spawn_stopped(make_every_kind);
	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_stable(pid, "numa_maps", chunks, sizeof(chunks) / sizeof(chunks[0])));
	EXPECT_GT(stat_get("numa_walks_vma_locked"), walks);
	proc_path(path, sizeof(path), pid, "numa_maps");
	ASSERT_EQ(0, read_all(path, 4096, &b));
	fuse_hold_release(&fuse);
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		if (!strstr(b.data, tokens[i]))
			TH_LOG("no \"%s\" in /proc/%d/numa_maps", tokens[i], pid);
		EXPECT_NE(NULL, strstr(b.data, tokens[i]));
	}
	for (i = 0; two_nodes() && i < sizeof(two_node_tokens) / sizeof(two_node_tokens[0]); i++) {
		if (!strstr(b.data, two_node_tokens[i]))
			TH_LOG("no \"%s\" in /proc/%d/numa_maps", two_node_tokens[i], pid);
		EXPECT_NE(NULL, strstr(b.data, two_node_tokens[i]));
	}
	if (!two_nodes())
		TH_LOG("one node: the policies over two nodes were left out");
	buf_free(&b);
	kill_and_reap(pid);
	fuse_hold_stop(&fuse);
}

static void compare_one(int pid, void *arg)
{
	int *mismatches = arg;

	*mismatches += compare_stable(pid, "numa_maps", chunks + 3, 1);
}

/* Every process of the guest (kernel threads have an empty file). */
TEST(every_process)
{
	int mismatches = 0;

	if (!proc_has("numa_maps"))
		SKIP(return, "no /proc/self/numa_maps: a kernel without CONFIG_NUMA");
	EXPECT_LT(0, for_each_process_stopped("numa_maps", compare_one, &mismatches));
	EXPECT_EQ(0, mismatches);
}

/* Without CONFIG_NUMA there is no file, and stats says so. */
TEST(file_iff_numa)
{
	char path[128];

	ASSERT_EQ(0, wait_ours(getpid()));
	ours_path(path, sizeof(path), getpid(), "numa_maps");
	EXPECT_EQ(proc_has("numa_maps"), access(path, F_OK) == 0);
	EXPECT_EQ(proc_has("numa_maps"), stat_get("numa_maps"));
}

TEST_HARNESS_MAIN
