// SPDX-License-Identifier: GPL-2.0
/*
 * Differential tests: our smaps and smaps_rollup must equal /proc's, value
 * for value and byte for byte.
 *
 * A child builds memory that makes every smaps field non-zero but
 * FilePmdMapped (anonymous touched and untouched, clean and dirty file pages,
 * COW pages shared with two grandchildren, an anonymous and a shmem THP, mlock,
 * MADV_FREE, KSM-merged pages, private and shared hugetlb pages, swapped-out
 * private, shared and shmem pages on zram), stops itself, and both files are
 * compared. /proc is read before and after ours:
 * if the two /proc reads differ (reclaim or ksmd moved a page meanwhile), the
 * comparison is repeated; if they agree, ours must agree too.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif

#define KB 1024UL
#define MB (1024 * KB)

static const size_t chunks[] = { 1, 7, 4096, 1 << 20 };

/* /proc's file and ours, equal in every chunk size (procmaps_util.h). */
static int compare_file(int pid, const char *file)
{
	return compare_stable(pid, file, chunks, sizeof(chunks) / sizeof(chunks[0]));
}

/* Value in kB of field @name in the /proc smaps_rollup of @pid, or -1. */
static long rollup_field(int pid, const char *name)
{
	char path[64];

	proc_path(path, sizeof(path), pid, "smaps_rollup");
	return file_value(path, name, ':');
}

static void touch(char *p, size_t size, char value)
{
	size_t i;

	for (i = 0; i < size; i += 4096)
		p[i] = value + (char)(i / 4096);
}

static char file_data[4 * 4096];

/* Everything that makes a smaps field non-zero; non-zero (which step failed) on failure. */
static int make_every_field(void)
{
	char *p, *thp, *file, *two;
	int fd;

	/* Anonymous, touched and untouched (Rss vs Size), and mlocked (Locked). */
	p = map_anon(64 * 4096, MAP_PRIVATE);
	if (!p)
		return 10;
	touch(p, 32 * 4096, 1);
	if (mlock(p, 8 * 4096))
		return 11;

	/* File pages: clean (read) and dirty (written through a shared mapping). */
	fd = open("/tmp/smaps-file", O_CREAT | O_RDWR, 0644);
	if (fd < 0 || ftruncate(fd, 16 * 4096))
		return 12;
	file = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (file == MAP_FAILED)
		return 13;
	touch(file, 8 * 4096, 2);
	(void)*(volatile char *)(file + 12 * 4096);
	close(fd);

	/*
	 * Pss_File needs pages of a file that is not shmem, and the guest's
	 * rootfs and /tmp are tmpfs: a ramfs file, read through a mapping.
	 */
	mkdir("/tmp/ramfs", 0755);
	if (mount("ramfs", "/tmp/ramfs", "ramfs", 0, NULL) && errno != EBUSY)
		return 29;
	fd = open("/tmp/ramfs/file", O_CREAT | O_RDWR, 0644);
	if (fd < 0 || write(fd, file_data, sizeof(file_data)) != sizeof(file_data))
		return 30;
	file = mmap(NULL, sizeof(file_data), PROT_READ, MAP_PRIVATE, fd, 0);
	if (file == MAP_FAILED)
		return 31;
	(void)*(volatile char *)file;
	close(fd);

	/* A PMD-mapped THP (AnonHugePages): 2 MiB aligned inside a 4 MiB area. */
	thp = map_anon(4 * MB, MAP_PRIVATE);
	if (!thp)
		return 14;
	thp = (char *)(((unsigned long)thp + 2 * MB - 1) & ~(2 * MB - 1));
	madvise(thp, 2 * MB, MADV_HUGEPAGE);
	touch(thp, 2 * MB, 3);

	/* A PMD-mapped shmem THP (ShmemPmdMapped): shared anonymous memory, huge for once. */
	if (write_str("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "always"))
		return 32;
	thp = map_anon(4 * MB, MAP_SHARED);
	if (!thp)
		return 33;
	thp = (char *)(((unsigned long)thp + 2 * MB - 1) & ~(2 * MB - 1));
	touch(thp, 2 * MB, 10);
	write_str("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "never");

	/* MADV_FREE (LazyFree). */
	p = map_anon(16 * 4096, MAP_PRIVATE);
	if (!p)
		return 15;
	touch(p, 16 * 4096, 4);
	if (madvise(p, 16 * 4096, MADV_FREE))
		return 16;
	/* Written again after MADV_FREE: dirty PTEs, no longer LazyFree. */
	touch(p, 4 * 4096, 5);

	/* hugetlb: private (Private_Hugetlb) and shared with the grandchild (Shared_Hugetlb). */
	p = mmap(NULL, 2 * MB, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		return 17;
	*p = 1;
	p = mmap(NULL, 2 * MB, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		return 18;
	*p = 1;

	/* Shared anonymous memory (shmem: Pss_Shmem), touched. */
	p = map_anon(16 * 4096, MAP_SHARED);
	if (!p)
		return 19;
	touch(p, 16 * 4096, 5);

	if (make_ksm_pages(16))
		return 20;

	/*
	 * Swap. Private pages pushed out (Swap, SwapPss); pages pushed out
	 * before the grandchildren are forked, whose swap entries fork
	 * duplicates (count 3: SwapPss is a third); shmem pages pushed out (the shmem object's
	 * swap); a private writable mapping of a memfd whose pages are swapped
	 * out (the per-page hole walk). MADV_PAGEOUT skips pages mapped by two
	 * processes, hence everything is pushed out before the fork.
	 */
	if (swap_on())
		return 21;
	p = map_anon(32 * 4096, MAP_PRIVATE);
	if (!p)
		return 22;
	touch(p, 32 * 4096, 6);
	if (madvise(p, 16 * 4096, MADV_PAGEOUT))
		return 23;
	{
		char *shm = map_anon(16 * 4096, MAP_SHARED);
		char *mfd_shared, *mfd_private, *again;
		int mfd = memfd_create("smaps memfd", 0);

		if (!shm || mfd < 0 || ftruncate(mfd, 16 * 4096))
			return 24;
		touch(shm, 16 * 4096, 8);
		mfd_shared = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
		if (mfd_shared == MAP_FAILED)
			return 25;
		touch(mfd_shared, 16 * 4096, 9);
		if (madvise(shm, 8 * 4096, MADV_PAGEOUT) ||
		    madvise(mfd_shared, 16 * 4096, MADV_PAGEOUT))
			return 26;
		munmap(mfd_shared, 16 * 4096);
		mfd_private = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
		if (mfd_private == MAP_FAILED)
			return 27;
		/* One COW page of our own among the swapped object's pages. */
		mfd_private[4096] = 1;
		/*
		 * The object's page under it swapped out again (the write read
		 * it back in): the object has all 16 pages in swap, our mapping
		 * 15 of them, which only the per-page walk tells apart.
		 */
		again = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, mfd, 0);
		if (again == MAP_FAILED)
			return 34;
		(void)*(volatile char *)(again + 4096);
		if (madvise(again, 2 * 4096, MADV_PAGEOUT))
			return 35;
		munmap(again, 2 * 4096);
	}
	/*
	 * COW, swapped and shared (hugetlb, shmem) pages get a second and a
	 * third mapper: Pss and SwapPss divided by 3, not only by 2. The pages
	 * of @two stay mapped by exactly two processes (not inherited by the
	 * second grandchild): Shared_Dirty, not Private_Dirty, and Pss halved.
	 */
	two = map_anon(8 * 4096, MAP_PRIVATE);
	if (!two)
		return 36;
	touch(two, 8 * 4096, 10);
	if (fork_sharer() || madvise(two, 8 * 4096, MADV_DONTFORK) || fork_sharer())
		return 28;
	return 0;
}

TEST(every_field)
{
	static const char *const fields[] = {
		"Rss", "Pss", "Pss_Dirty", "Pss_Anon", "Pss_File", "Pss_Shmem",
		"Shared_Clean", "Shared_Dirty", "Private_Clean", "Private_Dirty",
		"Referenced", "Anonymous", "KSM", "LazyFree", "AnonHugePages",
		"ShmemPmdMapped", "Shared_Hugetlb", "Private_Hugetlb", "Swap", "SwapPss", "Locked",
	};
	long long walks = stat_get("smaps_walks_vma_locked");
	pid_t pid = spawn_stopped(make_every_field);
	size_t i;

	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_file(pid, "smaps_rollup"));
	EXPECT_EQ(0, compare_file(pid, "smaps"));
	/* The comparison is only as good as the fields it really exercised. */
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		long v = rollup_field(pid, fields[i]);

		if (v <= 0)
			TH_LOG("field %s is %ld in /proc/%d/smaps_rollup", fields[i], v, pid);
		EXPECT_GT(v, 0);
	}
	/* SwapPss below Swap: some swap entries are shared with the grandchild. */
	EXPECT_LT(rollup_field(pid, "SwapPss"), rollup_field(pid, "Swap"));
	/* Pss below Rss: some pages are shared. */
	EXPECT_LT(rollup_field(pid, "Pss"), rollup_field(pid, "Rss"));
	EXPECT_GT(stat_get("smaps_walks_vma_locked"), walks);
	kill_and_reap(pid);
}

/*
 * Inputs every_field does not make: the VmFlags mnemonics of userfaultfd
 * (um, uw, ui, ur), MAP_DROPPABLE (dp), guard regions (gu), MADV_NOHUGEPAGE
 * (nh, THPeligible 0), a VM_IO | VM_PFNMAP file mapping (io, pf: /dev/mem)
 * and soft-dirty tracking (sd); a hwpoisoned page; a PMD-mapped page-cache
 * folio (FilePmdMapped) of a file on a device with a nonzero major; a protection
 * key other than 0; the shared zero page and the huge zero page (read
 * faults: mapped, never counted); multi-size THP (64 kB folios mapped by
 * PTEs), half of each folio copied on write after a fork, so that the other
 * half stays shared with the grandchild.
 */
#define MTHP "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled"
#define MTHP_FAULTS "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/stats/anon_fault_alloc"

static int uffd_register(int uffd, void *p, size_t size, __u64 mode)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)p, .len = size },
		.mode = mode,
	};

	return ioctl(uffd, UFFDIO_REGISTER, &reg);
}

static void on_sigbus(int sig)
{
	(void)sig;
}

/*
 * A page-cache folio mapped by a PMD (FilePmdMapped): a file of ext4 (large
 * folios; busybox's mke2fs) on a zram device of its own, its cache dropped,
 * faulted through a 2 MiB-aligned MADV_HUGEPAGE mapping, so that readahead
 * brings a 2 MiB folio in. Its device has a major other than 0.
 */
static int map_file_thp(void)
{
	int fd = ext4_file("/tmp/ext4", 2 * MB);
	char *p;

	if (fd < 0)
		return -fd;
	p = map_anon(4 * MB, MAP_PRIVATE);
	if (!p)
		return 7;
	p = (char *)(((unsigned long)p + 2 * MB - 1) & ~(2 * MB - 1));
	if (mmap(p, 2 * MB, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) != p ||
	    madvise(p, 2 * MB, MADV_HUGEPAGE))
		return 8;
	(void)*(volatile char *)p;
	close(fd);
	return 0;
}

/* VMAs registered with userfaultfd in each mode (um, uw, ur, ui): 0 or a step. */
static int make_uffd_vmas(void)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_MINOR_SHMEM | UFFD_FEATURE_RWP };
	char *p, *shm;
	int uffd;

	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api))
		return 1;
	p = map_anon(4 * 4096, MAP_PRIVATE);
	shm = map_anon(4 * 4096, MAP_SHARED);
	if (!p || !shm)
		return 2;
	if (uffd_register(uffd, p, 4096, UFFDIO_REGISTER_MODE_MISSING) ||
	    uffd_register(uffd, p + 4096, 4096, UFFDIO_REGISTER_MODE_WP) ||
	    uffd_register(uffd, p + 2 * 4096, 4096, UFFDIO_REGISTER_MODE_RWP) ||
	    uffd_register(uffd, shm, 4096, UFFDIO_REGISTER_MODE_MINOR))
		return 3;
	return 0;
}

static int make_rare_inputs(void)
{
	char *p, *mthp;
	int pkey, mem;
	size_t i;

	if (input_failed(make_uffd_vmas(), "userfaultfd VMAs"))
		return 10;
	if (mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS,
		 -1, 0) == MAP_FAILED)
		return 13;
	p = map_anon(4 * 4096, MAP_PRIVATE);
	if (!p || madvise(p + 4096, 4096, MADV_GUARD_INSTALL))
		return 14;
	/* A protection key, where the CPU has them (ProtectionKey: 0 elsewhere). */
	pkey = syscall(SYS_pkey_alloc, 0, 0);
	if (pkey > 0) {
		p = map_anon(2 * 4096, MAP_PRIVATE);
		if (!p || syscall(SYS_pkey_mprotect, p, 4096, PROT_READ, pkey))
			return 15;
	}
	/*
	 * A page poisoned with MADV_HWPOISON (a hwpoison entry in its PTE). The
	 * page is dirty, so memory_failure() sends us SIGBUS for it: caught.
	 */
	p = map_anon(2 * 4096, MAP_PRIVATE);
	if (!p)
		return 22;
	touch(p, 2 * 4096, 11);
	signal(SIGBUS, on_sigbus);
	if (input_failed(madvise(p, 4096, MADV_HWPOISON), "a hwpoisoned page"))
		return 23;
	signal(SIGBUS, SIG_DFL);
	/* VM_IO | VM_PFNMAP with a file: /dev/mem's first page. */
	mem = open("/dev/mem", O_RDONLY);
	if (input_failed(mem < 0 || mmap(NULL, 4096, PROT_READ, MAP_SHARED, mem, 0) == MAP_FAILED,
			 "a mapping of /dev/mem"))
		return 24;
	if (input_failed(map_file_thp(), "a file folio mapped by a PMD (ext4 on zram)"))
		return 25;
	/* Read faults: the zero page, and in a 2 MiB-aligned THP area the huge zero page. */
	p = map_anon(16 * 4096, MAP_PRIVATE);
	if (!p)
		return 16;
	for (i = 0; i < 16 * 4096; i += 4096)
		(void)*(volatile char *)(p + i);
	/* ... in a VMA where THP is off (THPeligible 0 there). */
	if (madvise(p, 8 * 4096, MADV_NOHUGEPAGE))
		return 21;
	write_str("/sys/kernel/mm/transparent_hugepage/use_zero_page", "1");
	p = map_anon(4 * MB, MAP_PRIVATE);
	if (!p)
		return 17;
	p = (char *)(((unsigned long)p + 2 * MB - 1) & ~(2 * MB - 1));
	madvise(p, 2 * MB, MADV_HUGEPAGE);
	(void)*(volatile char *)p;
	/* 64 kB folios; half of each copied on write after the fork below. */
	if (write_str(MTHP, "always"))
		return 18;
	mthp = map_anon(512 * KB, MAP_PRIVATE);
	if (!mthp)
		return 19;
	mthp = (char *)(((unsigned long)mthp + 64 * KB - 1) & ~(64 * KB - 1));
	memset(mthp, 7, 256 * KB);
	write_str(MTHP, "never");
	if (fork_sharer())
		return 20;
	for (i = 0; i < 256 * KB; i += 64 * KB)
		memset(mthp + i, 8, 32 * KB);
	return 0;
}

TEST(rare_inputs)
{
	/* The last seven only where every input is made (input_failed()). */
	static const char *const flags[] = { " dp", " gu", " nh", " um", " uw", " ur", " ui",
					     " io", " pf", " sd" };
	size_t n = sizeof(flags) / sizeof(flags[0]) - (all_inputs() ? 0 : 7);
	long faults = read_long(MTHP_FAULTS);
	pid_t pid = spawn_stopped(make_rare_inputs);
	char path[64];
	struct buf b;
	size_t i;

	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_file(pid, "smaps"));
	EXPECT_EQ(0, compare_file(pid, "smaps_rollup"));
	/* The comparison covered what it claims: /proc shows each of them. */
	proc_path(path, sizeof(path), pid, "smaps");
	ASSERT_EQ(0, read_all(path, 1 << 16, &b));
	for (i = 0; i < n; i++) {
		EXPECT_NE(NULL, strstr(b.data, flags[i])) {
			TH_LOG("no VMA with VmFlags%s in /proc/%d/smaps", flags[i], pid);
		}
	}
	/* Where the CPU has protection keys, one VMA has key 1. */
	if (strstr(b.data, "ProtectionKey:")) {
		char *at = b.data;
		int key1 = 0;

		while ((at = strstr(at, "ProtectionKey:")))
			key1 |= strtol(at += strlen("ProtectionKey:"), NULL, 10) == 1;
		EXPECT_TRUE(key1);
	} else {
		TH_LOG("the CPU has no protection keys: no ProtectionKey line to compare");
	}
	if (all_inputs())
		EXPECT_GT(rollup_field(pid, "FilePmdMapped"), 0);
	/* The 64 kB folios were made: the child faulted them in. */
	EXPECT_GE(read_long(MTHP_FAULTS) - faults, 4);
	buf_free(&b);
	kill_and_reap(pid);
}

/*
 * 256 one-page anonymous VMAs (alternating protections), then one of 8 MiB:
 * the rollup walks the small ones inside its cursor's RCU section, finding
 * each next one by continuing the VMA iterator, and the large one (and one
 * small one in every 33, and every file-backed one) with the section closed.
 */
static int make_small_vmas(void)
{
	char *p = map_anon(256 * 4096, MAP_PRIVATE);
	char *big = map_anon(8 << 20, MAP_PRIVATE);
	int i;

	if (!p || !big)
		return 1;
	touch(p, 256 * 4096, 3);
	touch(big, 8 << 20, 4);
	for (i = 0; i < 256; i += 2)
		if (mprotect(p + i * 4096, 4096, PROT_READ))
			return 2;
	return 0;
}

TEST(small_vmas_continue)
{
	long long continued = stat_get("vma_iter_continued");
	pid_t pid = spawn_stopped(make_small_vmas);

	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_file(pid, "smaps_rollup"));
	/* Most of the 256 were found by continuing the iterator (preemptible RCU). */
	EXPECT_GT(stat_get("vma_iter_continued") - continued, 200);
	kill_and_reap(pid);
}

/* A kernel thread: empty smaps, smaps_rollup fails with ESRCH, as in /proc. */
TEST(kernel_thread)
{
	char p[64], o[64];
	struct buf a, b;

	/* PID 2 is kthreadd. */
	proc_path(p, sizeof(p), 2, "smaps_rollup");
	ours_path(o, sizeof(o), 2, "smaps_rollup");
	EXPECT_EQ(-ESRCH, read_all(p, 4096, &a));
	EXPECT_EQ(-ESRCH, read_all(o, 4096, &b));
	proc_path(p, sizeof(p), 2, "smaps");
	ours_path(o, sizeof(o), 2, "smaps");
	ASSERT_EQ(0, read_all(p, 4096, &a));
	ASSERT_EQ(0, read_all(o, 4096, &b));
	EXPECT_EQ(0U, a.len);
	EXPECT_EQ(0U, b.len);
	buf_free(&a);
	buf_free(&b);
}

static void compare_one(int pid, void *arg)
{
	struct __test_metadata *_metadata = arg;
	char path[64];
	struct buf b;

	/* Kernel threads have no smaps_rollup (ESRCH): see kernel_thread. */
	proc_path(path, sizeof(path), pid, "smaps_rollup");
	if (read_all(path, 4096, &b))
		return;
	buf_free(&b);
	EXPECT_EQ(0, compare_file(pid, "smaps_rollup"));
	EXPECT_EQ(0, compare_file(pid, "smaps"));
}

/* Every process of the guest, both files. */
TEST(all_processes)
{
	int compared = for_each_process_stopped("smaps", compare_one, _metadata);

	EXPECT_GT(compared, 10);
	TH_LOG("%d processes (kernel threads have no smaps_rollup to compare)", compared);
}

/* lock_mode=1 (mmap_read_lock, /proc's smaps_rollup locking) prints the same bytes. */
TEST(lock_mode_mmap)
{
	pid_t pid;

	ASSERT_EQ(0, reload_module("lock_mode=1"));
	pid = spawn_stopped(NULL);
	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_file(pid, "smaps_rollup"));
	EXPECT_EQ(0, compare_file(pid, "smaps"));
	EXPECT_GT(stat_get("smaps_walks_mmap_locked"), 0);
	EXPECT_EQ(0, stat_get("smaps_walks_vma_locked"));
	kill_and_reap(pid);
	ASSERT_EQ(0, reload_module(""));
}

TEST_HARNESS_MAIN
