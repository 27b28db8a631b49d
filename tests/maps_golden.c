// SPDX-License-Identifier: GPL-2.0
/*
 * Differential tests: our maps must equal /proc/PID/maps byte for byte, and
 * the PROCMAP_QUERY ioctl on it must answer as /proc's does.
 *
 * A child creates every kind of mapping /proc names differently, stops
 * itself with SIGSTOP, and both files are read in several chunk sizes and
 * compared; both are queried at every VMA's edges and in every gap, under
 * every flag combination, with name and build-ID buffers of every size class.
 * Then every process in the guest is compared the same way.
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

static const size_t chunks[] = { 1, 7, 64, 4096, 1 << 20 };
/* Reads that fall back to mmap_lock are expected (inject_vma_lock_eagain). */
static int fallbacks_expected;

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
		if (fallbacks && !fallbacks_expected) {
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
	/* Names (CONFIG_ANON_VMA_NAME; off in Debian's kernel, where /proc prints none). */
	p = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (input_failed(prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, 2 * 4096, "golden anon"),
			 "a named anonymous mapping (CONFIG_ANON_VMA_NAME)"))
		return 16;
	p = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (have_anon_names() &&
	    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, 2 * 4096, "golden_shmem"))
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

	/* VM_IO | VM_PFNMAP of a file: /dev/mem's first page (STRICT_DEVMEM allows it). */
	fd = open("/dev/mem", O_RDONLY);
	if (input_failed(fd < 0 || mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED,
			 "a mapping of /dev/mem"))
		return 26;
	if (fd >= 0)
		close(fd);

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

	/*
	 * [heap], with a name on two of its pages: the heap's name comes
	 * first (get_vma_name() asks vma_is_initial_heap() before the
	 * anonymous name), so /proc still prints [heap] for them.
	 */
	p = sbrk(4 * 4096);
	if (p == (void *)-1)
		return 24;
	*p = 0;
	p = (char *)(((unsigned long)p + 4095) & ~4095UL);
	if (have_anon_names() &&
	    prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, 2 * 4096, "golden heap"))
		return 25;
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
		"/dev/mem", /* last: only where every input is made (input_failed()) */
	};
	size_t i, n = sizeof(kinds) / sizeof(kinds[0]) - !all_inputs();
	int missing = 0, anon_names = have_anon_names(), vsyscall = have_vsyscall();
	char path[64];
	struct buf b;

	ours_path(path, sizeof(path), pid, "maps");
	if (read_all(path, 4096, &b))
		return -1;
	for (i = 0; i < n; i++) {
		/* What this kernel's configuration has not: /proc shows none either. */
		if ((!anon_names && !strncmp(kinds[i], "[anon", 5)) ||
		    (!vsyscall && !strcmp(kinds[i], "[vsyscall]")))
			continue;
		if (!strstr(b.data, kinds[i])) {
			fprintf(stderr, "# no mapping like '%s'\n", kinds[i]);
			missing++;
		}
	}
	buf_free(&b);
	return missing;
}

/*
 * The sizes read() returns, one after the other, reading @path in @chunk
 * bytes: seq_file hands out whole records per call, so a file whose records
 * are /proc's but that ends a call at another record (the gate VMA left for
 * the next call, say) shows here. Returns the number of calls (at most @max).
 */
static int read_sizes(const char *path, size_t chunk, ssize_t *sizes, int max)
{
	char *buf = malloc(chunk);
	int fd = open(path, O_RDONLY), n = 0;

	while (buf && fd >= 0 && n < max && (sizes[n] = read(fd, buf, chunk)) > 0)
		n++;
	if (fd >= 0)
		close(fd);
	free(buf);
	return n;
}

/* /proc's and our maps of @pid end each read() at the same byte, in reads of @chunk. */
static int same_read_sizes(int pid, size_t chunk)
{
	static ssize_t want[4096], got[4096];
	char p[64], o[64];
	int nw, ng;

	proc_path(p, sizeof(p), pid, "maps");
	ours_path(o, sizeof(o), pid, "maps");
	nw = read_sizes(p, chunk, want, 4096);
	ng = read_sizes(o, chunk, got, 4096);
	if (nw == ng && !memcmp(want, got, nw * sizeof(*want)))
		return 1;
	fprintf(stderr, "# reads of %zu bytes: /proc %d calls, ours %d (last: %zd, %zd)\n",
		chunk, nw, ng, nw ? want[nw - 1] : 0, ng ? got[ng - 1] : 0);
	return 0;
}

TEST(every_mapping_kind)
{
	pid_t pid = spawn_stopped(make_every_mapping);

	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_maps(_metadata, pid));
	EXPECT_TRUE(same_read_sizes(pid, 100));
	EXPECT_TRUE(same_read_sizes(pid, 4096));
	EXPECT_TRUE(same_read_sizes(pid, 1 << 20));
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

/* One PROCMAP_QUERY answer: return value, errno, the struct, the buffers. */
struct answer {
	int ret, err;
	struct procmap_query q;
	char name[4096];
	unsigned char build_id[64];
};

/*
 * Ask @fd the query @in (its buffer fields are replaced by our own buffers
 * when their sizes are non-zero), with the buffers filled with a marker.
 */
static void ask(int fd, const struct procmap_query *in, struct answer *a)
{
	memset(a, 0xa5, sizeof(*a));
	a->q = *in;
	if (a->q.vma_name_size)
		a->q.vma_name_addr = (unsigned long)a->name;
	if (a->q.build_id_size)
		a->q.build_id_addr = (unsigned long)a->build_id;
	errno = 0;
	a->ret = ioctl(fd, PROCMAP_QUERY, &a->q);
	a->err = a->ret ? errno : 0;
	/* The addresses are ours, different for each answer. */
	a->q.vma_name_addr = a->q.build_id_addr = 0;
}

/* 0 if /proc's and our answers are the same, else 1 (the difference on stderr). */
static int same_answer(const struct answer *p, const struct answer *o, const struct procmap_query *in)
{
	if (p->ret == o->ret && p->err == o->err && !memcmp(&p->q, &o->q, sizeof(p->q)) &&
	    !memcmp(p->name, o->name, sizeof(p->name)) &&
	    !memcmp(p->build_id, o->build_id, sizeof(p->build_id)))
		return 0;
	fprintf(stderr, "# query addr %llx flags %llx name %u bid %u: /proc %d/%d %llx-%llx f%llx n%u b%u '%.40s', "
		"ours %d/%d %llx-%llx f%llx n%u b%u '%.40s'\n",
		(unsigned long long)in->query_addr, (unsigned long long)in->query_flags,
		in->vma_name_size, in->build_id_size,
		p->ret, p->err, (unsigned long long)p->q.vma_start, (unsigned long long)p->q.vma_end,
		(unsigned long long)p->q.vma_flags, p->q.vma_name_size, p->q.build_id_size, p->name,
		o->ret, o->err, (unsigned long long)o->q.vma_start, (unsigned long long)o->q.vma_end,
		(unsigned long long)o->q.vma_flags, o->q.vma_name_size, o->q.build_id_size, o->name);
	return 1;
}

/* Counters of one differential run. */
struct query_run {
	int fd_proc, fd_ours;
	long asked, differ, found, named, with_build_id, enoent;
};

static void ask_both(struct query_run *r, const struct procmap_query *in)
{
	static struct answer p, o;

	ask(r->fd_proc, in, &p);
	ask(r->fd_ours, in, &o);
	r->asked++;
	r->differ += same_answer(&p, &o, in);
	if (!p.ret) {
		r->found++;
		r->named += p.q.vma_name_size > 0;
		r->with_build_id += p.q.build_id_size > 0;
	} else if (p.err == ENOENT) {
		r->enoent++;
	}
}

/*
 * Query @pid's /proc and our maps at every VMA's start, end - 1 and end, in
 * every gap, below the first and above the last VMA and at the gate VMA,
 * under every flag combination (@all_flags) or a few; then, at every VMA's
 * start, with name and build-ID buffers of the exact size, one byte too
 * small and none. Returns the number of differing answers (-1: setup).
 */
static long compare_queries(int pid, int all_flags, struct query_run *r)
{
	static const __u64 few_flags[] = { 0, PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
		PROCMAP_QUERY_COVERING_OR_NEXT_VMA | PROCMAP_QUERY_FILE_BACKED_VMA,
		PROCMAP_QUERY_COVERING_OR_NEXT_VMA | PROCMAP_QUERY_VMA_EXECUTABLE };
	char path[64];
	struct buf maps;
	unsigned long long *addrs = NULL;
	size_t naddrs = 0, i;
	char *line;
	__u64 flags;

	memset(r, 0, sizeof(*r));
	proc_path(path, sizeof(path), pid, "maps");
	if (read_all(path, 4096, &maps))
		return -1;
	r->fd_proc = open(path, O_RDONLY);
	ours_path(path, sizeof(path), pid, "maps");
	r->fd_ours = open(path, O_RDONLY);
	addrs = calloc(6 * (maps.len / 20 + 2), sizeof(*addrs));
	if (r->fd_proc < 0 || r->fd_ours < 0 || !addrs)
		return -1;
	addrs[naddrs++] = 0;
	addrs[naddrs++] = ~0ULL;
	addrs[naddrs++] = 0xffffffffff600000ULL; /* [vsyscall]: never a query answer */
	for (line = maps.data; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		unsigned long long start, end;

		if (sscanf(line, "%llx-%llx", &start, &end) != 2)
			continue;
		addrs[naddrs++] = start;
		addrs[naddrs++] = start ? start - 1 : 0;
		addrs[naddrs++] = end - 1;
		addrs[naddrs++] = end;
	}
	for (i = 0; i < naddrs; i++) {
		size_t nflags = all_flags ? 64 : sizeof(few_flags) / sizeof(few_flags[0]);

		for (flags = 0; flags < nflags; flags++) {
			struct procmap_query in = {
				.size = sizeof(in),
				.query_flags = all_flags ? flags : few_flags[flags],
				.query_addr = addrs[i],
				.vma_name_size = 4096,
				.build_id_size = 64,
			};

			ask_both(r, &in);
		}
	}
	/* Buffer sizes, at every VMA's start: what /proc needs, then one byte less, then none. */
	for (i = 3; i < naddrs; i += 4) {
		struct procmap_query in = { .size = sizeof(in), .query_addr = addrs[i],
					    .vma_name_size = 4096, .build_id_size = 64 };
		struct answer need;

		ask(r->fd_proc, &in, &need);
		if (need.ret)
			continue;
		in.vma_name_size = need.q.vma_name_size ? need.q.vma_name_size : 1;
		in.build_id_size = need.q.build_id_size ? need.q.build_id_size : 1;
		ask_both(r, &in);
		if (need.q.vma_name_size) {
			in.vma_name_size = need.q.vma_name_size - 1;
			ask_both(r, &in);
			in.vma_name_size = need.q.vma_name_size;
		}
		if (need.q.build_id_size) {
			in.build_id_size = need.q.build_id_size - 1;
			ask_both(r, &in);
		}
		in.vma_name_size = 0;
		in.build_id_size = 0;
		ask_both(r, &in);
	}
	close(r->fd_proc);
	close(r->fd_ours);
	free(addrs);
	buf_free(&maps);
	return r->differ;
}

TEST(query_every_mapping_kind)
{
	pid_t pid = spawn_stopped(make_every_mapping);
	long queries = stat_get("queries_vma_locked");
	long long locked = stat_get("vma_locked_rcu");
	struct query_run r;

	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_queries(pid, 1, &r));
	/* Every answer found was a VMA locked per-VMA, counted once at least. */
	EXPECT_GE(stat_get("vma_locked_rcu") - locked, r.found);
	TH_LOG("%ld queries: %ld found (%ld named, %ld with a build ID), %ld ENOENT, %ld differ",
	       r.asked, r.found, r.named, r.with_build_id, r.enoent, r.differ);
	/* The run covered what it claims: answers of every kind. */
	EXPECT_GT(r.found, 1000);
	EXPECT_GT(r.named, 100);
	EXPECT_GT(r.with_build_id, 10);
	EXPECT_GT(r.enoent, 100);
	/* Stopped target: every query took the per-VMA path. */
	EXPECT_EQ(r.asked, stat_get("queries_vma_locked") - queries) {
		TH_LOG("queries_mmap_locked %lld", stat_get("queries_mmap_locked"));
	}
	kill_and_reap(pid);
	umount("/tmp/ovl/merged");
}

/*
 * Device numbers of more than 8 bits: tmpfs mounts until one gets an
 * anonymous device with a minor of 256 or more (0:256 is 256 in the old
 * 8-bit encoding's major), a file of it mapped in a stopped child.
 */
#define DEVS_DIR "/tmp/devs"
#define MAX_MOUNTS 1024
static char big_dev_file[96];

static int map_big_dev_file(void)
{
	return map_file(big_dev_file, MAP_SHARED, PROT_READ, O_RDWR) == MAP_FAILED;
}

TEST(big_device_numbers)
{
	char dir[64], line[64], path[64];
	struct query_run r;
	struct stat st;
	struct buf b;
	int mounts = 0;
	pid_t pid;

	mkdir(DEVS_DIR, 0755);
	do {
		snprintf(dir, sizeof(dir), DEVS_DIR "/%d", mounts);
		mkdir(dir, 0755);
		ASSERT_EQ(0, mount("tmpfs", dir, "tmpfs", 0, "size=64k"));
		mounts++;
		ASSERT_EQ(0, stat(dir, &st));
	} while (minor(st.st_dev) < 256 && mounts < MAX_MOUNTS);
	ASSERT_GE(minor(st.st_dev), 256U);
	snprintf(big_dev_file, sizeof(big_dev_file), "%s/file", dir);
	pid = spawn_stopped(map_big_dev_file);
	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_maps(_metadata, pid));
	EXPECT_EQ(0, compare_queries(pid, 0, &r));
	/* The file's line is there, with its device. */
	snprintf(line, sizeof(line), " %02x:%02x ", major(st.st_dev), minor(st.st_dev));
	ours_path(path, sizeof(path), pid, "maps");
	ASSERT_EQ(0, read_all(path, 4096, &b));
	EXPECT_NE(NULL, strstr(b.data, line)) {
		TH_LOG("no line with device%s", line);
	}
	buf_free(&b);
	TH_LOG("%d mounts, device %u:%u; %ld queries, %ld differ", mounts, major(st.st_dev),
	       minor(st.st_dev), r.asked, r.differ);
	kill_and_reap(pid);
	while (mounts--) {
		snprintf(dir, sizeof(dir), DEVS_DIR "/%d", mounts);
		umount2(dir, MNT_DETACH);
		rmdir(dir);
	}
}

static int same_buf(const struct buf *a, const struct buf *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/*
 * Compare /proc/@pid/@file with ours, where counts can move while the target
 * is stopped (our own writes break the COW sharing of pages the child was
 * forked with, which moves its Pss): /proc is read before and after ours, and
 * a comparison whose two /proc reads differ is made again. 0 if equal.
 */
static int compare_counts(int pid, const char *file)
{
	char p[64], o[64];
	int attempt, differ = 1, stable = 0;

	proc_path(p, sizeof(p), pid, file);
	ours_path(o, sizeof(o), pid, file);
	for (attempt = 0; attempt < 10 && !stable; attempt++) {
		struct buf before, got, after;

		if (read_all(p, 4096, &before) || read_all(o, 4096, &got) || read_all(p, 4096, &after))
			return -1;
		stable = same_buf(&before, &after);
		if (stable) {
			differ = !same_buf(&before, &got);
			if (differ)
				show_first_diff(&before, &got);
		}
		buf_free(&before);
		buf_free(&got);
		buf_free(&after);
	}
	return differ;
}

/*
 * The fallback to mmap_read_lock when a VMA cannot be locked (lock_next_vma()'s
 * EAGAIN: a VMA whose reader count would overflow, which only the module's
 * inject_vma_lock_eagain=N can make happen here: every N-th lookup of a
 * cursor): maps, smaps, smaps_rollup and PROCMAP_QUERY answer as /proc's,
 * and stats show the reads and queries that fell back.
 */
FIXTURE(injected) {};

FIXTURE_SETUP(injected)
{
}

/* The module back without the parameter, whatever the test's outcome. */
FIXTURE_TEARDOWN(injected)
{
	EXPECT_EQ(0, reload_module(""));
}

TEST_F(injected, fallback_injected)
{
	static const char *const params[] = { "inject_vma_lock_eagain=1", "inject_vma_lock_eagain=3" };
	static const char *const files[] = { "smaps", "smaps_rollup" };
	size_t i, f;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		long long fallbacks, chunks, queries;
		struct query_run r;
		pid_t pid;

		ASSERT_EQ(0, reload_module(params[i]));
		pid = spawn_stopped(make_every_mapping);
		ASSERT_GT(pid, 0);
		fallbacks = stat_get("mmap_lock_fallbacks");
		chunks = stat_get("mmap_locked_chunks");
		queries = stat_get("queries_mmap_locked");
		fallbacks_expected = 1;
		EXPECT_EQ(0, compare_maps(_metadata, pid));
		fallbacks_expected = 0;
		EXPECT_EQ(0, compare_queries(pid, 0, &r));
		for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
			EXPECT_EQ(0, compare_counts(pid, files[f])) {
				TH_LOG("%s, %s", params[i], files[f]);
			}
		}
		TH_LOG("%s: %lld fallbacks, %lld chunks under mmap_lock, %lld of %ld queries",
		       params[i], stat_get("mmap_lock_fallbacks") - fallbacks,
		       stat_get("mmap_locked_chunks") - chunks,
		       stat_get("queries_mmap_locked") - queries, r.asked);
		EXPECT_GT(stat_get("mmap_lock_fallbacks"), fallbacks);
		EXPECT_GT(stat_get("mmap_locked_chunks"), chunks);
		EXPECT_GT(stat_get("queries_mmap_locked"), queries);
		kill_and_reap(pid);
		umount("/tmp/ovl/merged");
	}
}

static void query_one(int pid, void *arg)
{
	struct __test_metadata *_metadata = arg;
	struct query_run r;

	EXPECT_EQ(0, compare_queries(pid, 0, &r)) {
		TH_LOG("pid %d", pid);
	}
}

TEST(query_all_processes)
{
	int compared = for_each_process_stopped("maps", query_one, _metadata);

	EXPECT_GT(compared, 10);
}

/* The build ID of an executable's text: /proc's and ours. */
TEST(query_build_id)
{
	pid_t pid = spawn_stopped(NULL);
	struct procmap_query in = {
		.size = sizeof(in),
		.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA | PROCMAP_QUERY_VMA_EXECUTABLE |
			       PROCMAP_QUERY_FILE_BACKED_VMA,
		.build_id_size = 64,
	};
	struct answer p, o;
	char path[64];
	int fd_proc, fd_ours;

	ASSERT_GT(pid, 0);
	proc_path(path, sizeof(path), pid, "maps");
	fd_proc = open(path, O_RDONLY);
	ours_path(path, sizeof(path), pid, "maps");
	fd_ours = open(path, O_RDONLY);
	ASSERT_LE(0, fd_proc);
	ASSERT_LE(0, fd_ours);
	ask(fd_proc, &in, &p);
	ask(fd_ours, &in, &o);
	ASSERT_EQ(0, p.ret);
	/* The test programs are linked with a GNU build ID (20 bytes). */
	EXPECT_EQ(20U, p.q.build_id_size);
	EXPECT_EQ(0, same_answer(&p, &o, &in));
	close(fd_proc);
	close(fd_ours);
	kill_and_reap(pid);
}

/*
 * [uprobes]: the execute-out-of-line page the kernel maps into a process the
 * first time one of its uprobes fires. A uprobe on a function of this very
 * program, a child that calls it and stops: maps, PROCMAP_QUERY and smaps as
 * /proc's.
 */
#define TRACING "/sys/kernel/tracing"

static __attribute__((noinline)) int uprobe_target(int x)
{
	asm volatile("" : "+r"(x));
	return x + 1;
}

static int call_uprobe_target(void)
{
	return uprobe_target(-1);
}

/* "/path:0xOFFSET" of uprobe_target in this program's file, or -1. */
static int uprobe_place(char *out, size_t size)
{
	unsigned long addr = (unsigned long)uprobe_target, start, end, offset;
	char exe[256], line[512];
	FILE *maps = fopen("/proc/self/maps", "r");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	int found = -1;

	if (!maps || n <= 0)
		return -1;
	exe[n] = '\0';
	while (found && fgets(line, sizeof(line), maps)) {
		if (sscanf(line, "%lx-%lx %*s %lx", &start, &end, &offset) == 3 &&
		    addr >= start && addr < end) {
			snprintf(out, size, "%s:0x%lx", exe, addr - start + offset);
			found = 0;
		}
	}
	fclose(maps);
	return found;
}

TEST(uprobes_area)
{
	char place[300], event[400], path[64];
	struct query_run r;
	struct buf maps;
	pid_t pid;
	int ret;

	mkdir(TRACING, 0755);
	if (access(TRACING "/uprobe_events", F_OK))
		ASSERT_EQ(0, mount("tracefs", TRACING, "tracefs", 0, NULL));
	ASSERT_EQ(0, uprobe_place(place, sizeof(place)));
	snprintf(event, sizeof(event), "p:rpm/target %s", place);
	ret = write_str(TRACING "/uprobe_events", event);
	if (ret && locked_down("confidentiality"))
		SKIP(return, "lockdown=confidentiality refuses tracefs (no uprobe to make)");
	ASSERT_EQ(0, ret);
	ASSERT_EQ(0, write_str(TRACING "/events/rpm/target/enable", "1"));
	pid = spawn_stopped(call_uprobe_target);
	write_str(TRACING "/events/rpm/target/enable", "0");
	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_maps(_metadata, pid));
	EXPECT_EQ(0, compare_queries(pid, 1, &r));
	EXPECT_EQ(0, compare_counts(pid, "smaps"));
	/* The child really has the area. */
	proc_path(path, sizeof(path), pid, "maps");
	ASSERT_EQ(0, read_all(path, 4096, &maps));
	EXPECT_NE(NULL, strstr(maps.data, "[uprobes]"));
	buf_free(&maps);
	kill_and_reap(pid);
	EXPECT_EQ(0, write_str(TRACING "/uprobe_events", "-:rpm/target"));
}

/* ioctl() on both files: 0, or -errno. */
static int both(int fd_proc, int fd_ours, unsigned long cmd, void *arg_proc, void *arg_ours,
		int *proc_ret)
{
	int p, o;

	errno = 0;
	p = ioctl(fd_proc, cmd, arg_proc) ? -errno : 0;
	errno = 0;
	o = ioctl(fd_ours, cmd, arg_ours) ? -errno : 0;
	*proc_ret = p;
	return o;
}

/*
 * Every malformed query /proc refuses, with the errno /proc gives: the size
 * protocol, flags, buffer pairing, bad pointers, an unknown command, and an
 * exited process.
 */
TEST(query_bad_input)
{
	pid_t pid = spawn_stopped(NULL);
	char ppath[64], opath[64], name[256];
	int fd_proc, fd_ours, p, o;
	long page = sysconf(_SC_PAGESIZE);
	char *big = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *unmapped = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct procmap_query q;
	struct {
		struct procmap_query q;
		__u64 tail;
	} larger;
	struct {
		struct procmap_query *q;
		__u64 size, flags, name_size, name_addr, bid_size, bid_addr;
		int expect;
	} cases[] = {
		/* size protocol */
		{ &q, page + 1, 0, 0, 0, 0, 0, -E2BIG },
		{ &q, 23, 0, 0, 0, 0, 0, -EINVAL },
		{ &q, 0, 0, 0, 0, 0, 0, -EINVAL },
		{ &q, 24, 0, 0, 0, 0, 0, 0 },
		{ &q, sizeof(q) - 8, 0, 0, 0, 0, 0, 0 },
		/* flags */
		{ &q, sizeof(q), 1 << 6, 0, 0, 0, 0, -EINVAL },
		{ &q, sizeof(q), 1ULL << 63, 0, 0, 0, 0, -EINVAL },
		/* buffers: address and size together */
		{ &q, sizeof(q), 0, 16, 0, 0, 0, -EINVAL },
		{ &q, sizeof(q), 0, 0, (unsigned long)name, 0, 0, -EINVAL },
		{ &q, sizeof(q), 0, 0, 0, 20, 0, -EINVAL },
		{ &q, sizeof(q), 0, 0, 0, 0, (unsigned long)name, -EINVAL },
		/* bad user pointers */
		{ &q, sizeof(q), 0, 64, (unsigned long)unmapped, 0, 0, -EFAULT },
		{ &q, sizeof(q), 0, 0, 0, 64, (unsigned long)unmapped, -EFAULT },
	};
	size_t i;

	ASSERT_GT(pid, 0);
	ASSERT_NE(MAP_FAILED, big);
	ASSERT_NE(MAP_FAILED, unmapped);
	proc_path(ppath, sizeof(ppath), pid, "maps");
	ours_path(opath, sizeof(opath), pid, "maps");
	fd_proc = open(ppath, O_RDONLY);
	fd_ours = open(opath, O_RDONLY);
	ASSERT_LE(0, fd_proc);
	ASSERT_LE(0, fd_ours);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&q, 0, sizeof(q));
		q.size = cases[i].size;
		q.query_flags = cases[i].flags | PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
		q.query_addr = 0;
		q.vma_name_size = cases[i].name_size;
		q.vma_name_addr = cases[i].name_addr;
		q.build_id_size = cases[i].bid_size;
		q.build_id_addr = cases[i].bid_addr;
		o = both(fd_proc, fd_ours, PROCMAP_QUERY, &q, &q, &p);
		EXPECT_EQ(cases[i].expect, p) {
			TH_LOG("case %zu: /proc answered %d", i, p);
		}
		EXPECT_EQ(p, o) {
			TH_LOG("case %zu", i);
		}
	}

	/* A larger struct: a zero tail is fine, a non-zero one is E2BIG. */
	memset(&larger, 0, sizeof(larger));
	larger.q.size = sizeof(larger);
	larger.q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
	EXPECT_EQ(0, both(fd_proc, fd_ours, PROCMAP_QUERY, &larger, &larger, &p));
	EXPECT_EQ(0, p);
	larger.tail = 1;
	EXPECT_EQ(-E2BIG, both(fd_proc, fd_ours, PROCMAP_QUERY, &larger, &larger, &p));
	EXPECT_EQ(-E2BIG, p);

	/*
	 * Shorter structs (callers built against an older one): the answer is
	 * copied back up to their size and not a byte beyond, as by /proc.
	 */
	for (i = 0; i < 4; i++) {
		static const __u64 sizes[] = { 24, 40, 72, sizeof(struct procmap_query) - 8 };
		unsigned char a[sizeof(struct procmap_query) + 8], b[sizeof(a)];

		memset(a, 0xa5, sizeof(a));
		memset(a, 0, sizes[i]);
		((struct procmap_query *)a)->size = sizes[i];
		((struct procmap_query *)a)->query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
		memcpy(b, a, sizeof(a));
		EXPECT_EQ(0, both(fd_proc, fd_ours, PROCMAP_QUERY, a, b, &p));
		EXPECT_EQ(0, p);
		EXPECT_EQ(0, memcmp(a, b, sizeof(a))) {
			TH_LOG("struct of %llu bytes: the answers differ", (unsigned long long)sizes[i]);
		}
	}

	/* Larger than a page with an all-zero tail: E2BIG all the same (the size limit first). */
	memset(big, 0, 2 * page);
	((struct procmap_query *)big)->size = page + 1;
	((struct procmap_query *)big)->query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
	EXPECT_EQ(-E2BIG, both(fd_proc, fd_ours, PROCMAP_QUERY, big, big, &p));
	EXPECT_EQ(-E2BIG, p);

	/* The struct itself unreadable, or at the end of a page and cut short. */
	EXPECT_EQ(-EFAULT, both(fd_proc, fd_ours, PROCMAP_QUERY, NULL, NULL, &p));
	EXPECT_EQ(-EFAULT, p);
	EXPECT_EQ(-EFAULT, both(fd_proc, fd_ours, PROCMAP_QUERY, unmapped, unmapped, &p));
	EXPECT_EQ(-EFAULT, p);
	memset(big, 0, 2 * page);
	ASSERT_EQ(0, mprotect(big + page, page, PROT_NONE));
	*(__u64 *)(big + page - 8) = sizeof(q);
	EXPECT_EQ(-EFAULT, both(fd_proc, fd_ours, PROCMAP_QUERY, big + page - 8, big + page - 8, &p));
	EXPECT_EQ(-EFAULT, p);

	/* Another command. */
	EXPECT_EQ(-ENOTTY, both(fd_proc, fd_ours, _IO('f', 18), &q, &q, &p));
	EXPECT_EQ(-ENOTTY, p);

	/* The process is gone: ESRCH. */
	kill_and_reap(pid);
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
	EXPECT_EQ(-ESRCH, both(fd_proc, fd_ours, PROCMAP_QUERY, &q, &q, &p));
	EXPECT_EQ(-ESRCH, p);
	close(fd_proc);
	close(fd_ours);
	EXPECT_LT(0, stat_get("queries_failed"));
}

TEST_HARNESS_MAIN
