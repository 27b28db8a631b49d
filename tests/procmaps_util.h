/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the rust_procmaps tests: reading whole files in chunks of
 * a given size, writing settings, the debugfs paths, the module's stats
 * counters, stopped target processes, loading and unloading the module.
 */
#ifndef PROCMAPS_UTIL_H
#define PROCMAPS_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MODULE_FILE "/rust_procmaps.ko"

/*
 * The module's tree: /sys/kernel/debug/rust_procmaps, or where the guest's
 * init found it (RPM_TREE: /proc/rust_procmaps on a locked-down kernel, or
 * with the module parameter tree=2).
 */
static inline const char *ours_dir(void)
{
	const char *dir = getenv("RPM_TREE");

	return dir ? dir : "/sys/kernel/debug/rust_procmaps";
}

/* Whether the tree is in /proc (proc's rules for removed entries and rmmod). */
static inline int tree_in_proc(void)
{
	return !strncmp(ours_dir(), "/proc/", 6);
}

struct buf {
	char *data;
	size_t len;
};

static inline void ours_path(char *out, size_t size, int pid, const char *file)
{
	snprintf(out, size, "%s/%d/%s", ours_dir(), pid, file);
}

static inline void proc_path(char *out, size_t size, int pid, const char *file)
{
	snprintf(out, size, "/proc/%d/%s", pid, file);
}

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Milliseconds until @path exists (@want_exists) or not, -1 after @limit_ms. */
static inline double wait_path(const char *path, int want_exists, double limit_ms)
{
	double start = now_ms();

	for (;;) {
		double elapsed = now_ms() - start;

		if ((access(path, F_OK) == 0) == want_exists)
			return elapsed;
		if (elapsed > limit_ms)
			return -1;
		usleep(500);
	}
}

/*
 * Wait until @pid's directory has its files: the module creates it from a
 * work item after fork, so a new process's files appear a little later
 * (milliseconds; seconds on a loaded TCG guest). 0, or -1 after 10 s.
 */
static inline int wait_ours(int pid)
{
	char path[64];

	/* The last file the module creates in the directory (process_dirs.rs). */
	ours_path(path, sizeof(path), pid, "environ");
	return wait_path(path, 1, 10000) < 0 ? -1 : 0;
}

/*
 * Read @path to EOF with read() calls of @chunk bytes. Returns 0, or -errno
 * of the failing open()/read().
 */
static inline int read_all(const char *path, size_t chunk, struct buf *out)
{
	size_t cap = 1 << 16;
	int fd, err = 0;
	ssize_t n;

	out->len = 0;
	out->data = malloc(cap + 1);
	if (!out->data)
		return -ENOMEM;
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		err = -errno;
		free(out->data);
		out->data = NULL;
		return err;
	}
	for (;;) {
		if (out->len + chunk > cap) {
			cap = (out->len + chunk) * 2;
			out->data = realloc(out->data, cap + 1);
			if (!out->data) {
				err = -ENOMEM;
				break;
			}
		}
		n = read(fd, out->data + out->len, chunk);
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		out->len += n;
	}
	close(fd);
	if (out->data)
		out->data[out->len] = '\0';
	return err;
}

static inline void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

/*
 * The number after "@name@sep" at the start of a line of file @path (as in
 * "name value" or "Name:   value kB"), or -1.
 */
static inline long long file_value(const char *path, const char *name, char sep)
{
	struct buf b;
	long long val = -1;
	size_t nlen = strlen(name);
	char *line;

	if (read_all(path, 4096, &b))
		return -1;
	for (line = b.data; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, name, nlen) && line[nlen] == sep) {
			val = strtoll(line + nlen + 1, NULL, 10);
			break;
		}
	}
	buf_free(&b);
	return val;
}

/* Value of counter @name in the module's stats file, or -1. */
static inline long long stat_get(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/stats", ours_dir());
	return file_value(path, name, ' ');
}

/* The number a file (of sysfs) starts with, or -1. */
static inline long read_long(const char *path)
{
	struct buf b;
	long v;

	if (read_all(path, 64, &b))
		return -1;
	v = strtol(b.data, NULL, 10);
	buf_free(&b);
	return v;
}

/* First differing line of two buffers, for failure messages. */
static inline void show_first_diff(const struct buf *a, const struct buf *b)
{
	size_t i = 0, line_start = 0;

	while (i < a->len && i < b->len && a->data[i] == b->data[i]) {
		if (a->data[i] == '\n')
			line_start = i + 1;
		i++;
	}
	fprintf(stderr, "# first difference at byte %zu (sizes %zu vs %zu)\n",
		i, a->len, b->len);
	fprintf(stderr, "# proc: %.*s\n", (int)strcspn(a->data + line_start, "\n"),
		a->data + line_start);
	fprintf(stderr, "# ours: %.*s\n", (int)strcspn(b->data + line_start, "\n"),
		b->data + line_start);
}

/*
 * Compare /proc/PID/@file with ours in each of the @nchunks read sizes of
 * @chunks. /proc is read before and after ours: if the two /proc reads
 * differ (reclaim or ksmd moved a page meanwhile), the comparison is
 * repeated; if they agree, ours must agree too. Returns the number of
 * mismatches; a read of ours that needed mmap_lock counts as one, as the
 * target is stopped.
 */
static inline int compare_stable(int pid, const char *file, const size_t *chunks,
				 size_t nchunks)
{
	char p[128], o[128];
	int mismatches = 0;
	size_t i;

	proc_path(p, sizeof(p), pid, file);
	ours_path(o, sizeof(o), pid, file);
	for (i = 0; i < nchunks; i++) {
		int attempt;

		for (attempt = 0; attempt < 5; attempt++) {
			struct buf before, got, after;
			long long fallbacks = stat_get("mmap_lock_fallbacks");
			int stable, same;

			if (read_all(p, 1 << 16, &before))
				return mismatches + 1;
			if (read_all(o, chunks[i], &got)) {
				fprintf(stderr, "# %s of %d: read failed\n", o, pid);
				buf_free(&before);
				return mismatches + 1;
			}
			fallbacks = stat_get("mmap_lock_fallbacks") - fallbacks;
			if (read_all(p, 1 << 16, &after)) {
				buf_free(&before);
				buf_free(&got);
				return mismatches + 1;
			}
			stable = before.len == after.len &&
				 !memcmp(before.data, after.data, before.len);
			same = got.len == before.len && !memcmp(got.data, before.data, got.len);
			if (stable && !same) {
				fprintf(stderr, "# %s of %d, reads of %zu bytes:\n", file, pid, chunks[i]);
				show_first_diff(&before, &got);
				mismatches++;
			}
			if (stable && fallbacks) {
				fprintf(stderr, "# %s of %d: %lld mmap_lock fallbacks\n",
					file, pid, fallbacks);
				mismatches++;
			}
			buf_free(&before);
			buf_free(&got);
			buf_free(&after);
			if (stable)
				break;
		}
		if (attempt == 5) {
			fprintf(stderr, "# /proc/%d/%s never stable\n", pid, file);
			mismatches++;
		}
	}
	return mismatches;
}

/*
 * Fork a child that runs @setup (if any; a non-zero result becomes its exit
 * code) and then stops itself. Returns its PID once it is stopped and its
 * directory has had time to appear, or -1 (the reason on stderr).
 */
static inline pid_t spawn_stopped(int (*setup)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int err = setup ? setup() : 0;

		if (err)
			_exit(err);
		raise(SIGSTOP);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, WUNTRACED) != pid)
		return -1;
	if (!WIFSTOPPED(status)) {
		fprintf(stderr, "# child ended before stopping: exit %d, signal %d\n",
			WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		return -1;
	}
	if (wait_ours(pid)) {
		fprintf(stderr, "# no directory for %d after 10 s\n", pid);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/*
 * Whether @pid, just sent SIGSTOP, is one that stays as it is while it is
 * compared: stopped within a second, or a kernel thread (which ignores the
 * signal). Not one that is exiting (a SIGKILL pending: it never stops, and
 * may be reaped while it is read) or gone.
 */
static inline int settled(int pid)
{
	char path[64], buf[512], state, *p;
	unsigned long flags;
	int i, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (i = 0; i < 100; i++) {
		fd = open(path, O_RDONLY);
		n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			return 0;
		buf[n] = '\0';
		/* After the command name: state, ppid, pgrp, session, tty, tpgid, flags. */
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 1, " %c %*d %*d %*d %*d %*d %lu", &state, &flags) != 2)
			return 0;
		if (state == 'T' || (flags & 0x00200000 /* PF_KTHREAD */))
			return 1;
		usleep(10 * 1000);
	}
	return 0;
}

/*
 * Call @fn(pid, arg) for every process of the guest that has our @file, but
 * us, each stopped with SIGSTOP meanwhile (except PID 1, which cannot be);
 * one that does not stop (exiting) is left out. Returns the number of calls.
 */
static inline int for_each_process_stopped(const char *file, void (*fn)(int pid, void *arg),
					   void *arg)
{
	DIR *proc = opendir("/proc");
	int calls = 0, self = getpid();
	struct dirent *de;

	while (proc && (de = readdir(proc))) {
		int pid = atoi(de->d_name), stop;
		char path[128];

		if (pid <= 0 || pid == self)
			continue;
		ours_path(path, sizeof(path), pid, file);
		if (access(path, F_OK))
			continue; /* exited meanwhile */
		stop = pid != 1;
		if (stop && kill(pid, SIGSTOP))
			continue; /* gone */
		usleep(10 * 1000);
		if (stop && !settled(pid)) {
			kill(pid, SIGCONT);
			continue; /* exiting (a grandchild of an earlier test, say) */
		}
		fn(pid, arg);
		if (stop)
			kill(pid, SIGCONT);
		calls++;
	}
	if (proc)
		closedir(proc);
	return calls;
}

static inline void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * Load the module with @params, after those the guest's init loaded it with
 * (RPM_MODULE_PARAMS, e.g. tree=2): 0 or -errno (-EEXIST if loaded already).
 */
static inline int module_load(const char *params)
{
	int fd = open(MODULE_FILE, O_RDONLY);
	const char *base = getenv("RPM_MODULE_PARAMS");
	char all[256];
	int ret;

	if (fd < 0)
		return -errno;
	snprintf(all, sizeof(all), "%s %s", base ? base : "", params);
	ret = syscall(SYS_finit_module, fd, all, 0);
	close(fd);
	return ret ? -errno : 0;
}

/* Unload it without waiting: 0 or -errno (-EWOULDBLOCK while a file is open). */
static inline int module_unload(void)
{
	return syscall(SYS_delete_module, "rust_procmaps", O_NONBLOCK) ? -errno : 0;
}

/* Unload, then load with @params: 0 or -errno. */
static inline int reload_module(const char *params)
{
	int err = module_unload();

	return err ? err : module_load(params);
}

/* Write @val to the (sysfs, debugfs, proc) file @path: 0 or -errno. */
static inline int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Swap: zram0 as swap device, once per boot (whichever test asks first). */
static inline int swap_on(void)
{
	struct buf b;
	int on;

	if (read_all("/proc/swaps", 4096, &b))
		return -1;
	on = strstr(b.data, "/dev/zram0") != NULL;
	buf_free(&b);
	if (on)
		return 0;
	if (write_str("/sys/block/zram0/disksize", "64M") && access("/dev/zram0", F_OK))
		return -1;
	return system("mkswap /dev/zram0 >/dev/null && swapon /dev/zram0") ? -1 : 0;
}

/*
 * Whether /proc has @file for a process on this kernel (numa_maps only with
 * CONFIG_NUMA): the module serves exactly the files /proc has.
 */
static inline int proc_has(const char *file)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/%s", file);
	return access(path, F_OK) == 0;
}

/* Whether the guest is a NUMA machine with memory on a second node. */
static inline int two_nodes(void)
{
	return access("/sys/devices/system/node/node1/meminfo", F_OK) == 0;
}

/*
 * A file of @size bytes (a multiple of 64 kB) on an ext4 file system of its
 * own (busybox's mke2fs, on a new zram device mounted at @dir), written,
 * synced and dropped from the page cache: its pages come back clean, from a
 * block device whose major is not 0. Opened read-only, or the failed step,
 * negated.
 */
static inline int ext4_file(const char *dir, size_t size)
{
	static char block[64 * 1024];
	char path[96], cmd[96], num[16];
	int fd, n;
	size_t i;

	fd = open("/sys/class/zram-control/hot_add", O_RDONLY);
	n = fd < 0 ? -1 : read(fd, num, sizeof(num) - 1);
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	num[n] = '\0';
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", atoi(num));
	if (write_str(path, "32M"))
		return -2;
	snprintf(cmd, sizeof(cmd), "mke2fs -q -b 4096 /dev/zram%d", atoi(num));
	if (system(cmd))
		return -3;
	snprintf(path, sizeof(path), "/dev/zram%d", atoi(num));
	mkdir(dir, 0755);
	if (mount(path, dir, "ext4", 0, NULL))
		return -4;
	snprintf(path, sizeof(path), "%s/file", dir);
	fd = open(path, O_CREAT | O_RDWR, 0644);
	memset(block, 0x3c, sizeof(block));
	for (i = 0; i < size / sizeof(block); i++)
		if (fd < 0 || write(fd, block, sizeof(block)) != sizeof(block))
			return -5;
	if (fsync(fd) || close(fd) || write_str("/proc/sys/vm/drop_caches", "3"))
		return -6;
	fd = open(path, O_RDONLY);
	return fd < 0 ? -7 : fd;
}

/* Anonymous memory, read and write, or NULL. */
static inline char *map_anon(size_t size, int flags)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | flags, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* A grandchild that shares the child's COW and shared pages until it dies with it. */
static inline int fork_sharer(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return 0;
}

/*
 * KSM: two regions of @pages identical pages each, merged by ksmd, which is
 * stopped then (the merged pages stay merged, nothing moves during a
 * comparison). 0, or -1 if they were not merged within a minute.
 */
static inline int make_ksm_pages(size_t pages)
{
	char *a = map_anon(pages * 4096, MAP_PRIVATE), *b = map_anon(pages * 4096, MAP_PRIVATE);
	int waited;

	if (!a || !b)
		return -1;
	memset(a, 0x5a, pages * 4096);
	memset(b, 0x5a, pages * 4096);
	if (madvise(a, pages * 4096, MADV_MERGEABLE) || madvise(b, pages * 4096, MADV_MERGEABLE))
		return -1;
	write_str("/sys/kernel/mm/ksm/sleep_millisecs", "10");
	write_str("/sys/kernel/mm/ksm/pages_to_scan", "10000");
	if (write_str("/sys/kernel/mm/ksm/run", "1"))
		return -1;
	for (waited = 0; waited < 600; waited++) {
		if (read_long("/sys/kernel/mm/ksm/pages_sharing") >= (long)pages)
			break;
		usleep(100 * 1000);
	}
	write_str("/sys/kernel/mm/ksm/run", "0");
	return read_long("/sys/kernel/mm/ksm/pages_sharing") >= (long)pages ? 0 : -1;
}

/*
 * Inputs a kernel can be built without (userfaultfd, /dev/mem, memory
 * failure, ext4, soft-dirty). Our debug kernel has every one and its command
 * line says so (rpm_all_inputs=1, exported by the guest's init as
 * RPM_ALL_INPUTS): there a golden test fails when one cannot be made. On
 * another kernel (the bench kernel) the input is left out, and said so.
 */
static inline int all_inputs(void)
{
	return getenv("RPM_ALL_INPUTS") != NULL;
}

/* Whether the input @what failed (@failed) where it must not. */
static inline int input_failed(int failed, const char *what)
{
	if (failed && !all_inputs())
		fprintf(stderr, "# left out, this kernel cannot make it: %s\n", what);
	return failed && all_inputs();
}

/*
 * Configuration-dependent output, probed: whether anonymous mappings can be
 * named (CONFIG_ANON_VMA_NAME) and whether /proc shows a [vsyscall] line
 * (not with CONFIG_LEGACY_VSYSCALL_NONE). Debian's kernel has neither; ours
 * has both (and the debug kernel must: all_inputs()).
 */
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

static inline int have_anon_names(void)
{
	void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int named;

	if (p == MAP_FAILED)
		return 0;
	named = !prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, 4096, "probe");
	munmap(p, 4096);
	return named;
}

static inline int have_vsyscall(void)
{
	struct buf b;
	int found;

	if (read_all("/proc/self/maps", 4096, &b))
		return 0;
	found = strstr(b.data, "[vsyscall]\n") != NULL;
	buf_free(&b);
	return found;
}

/*
 * Whether the kernel is locked down at @level or above ("integrity" or
 * "confidentiality"; /sys/kernel/security/lockdown, which the guest's init
 * mounts): what lockdown forbids the tests themselves (tracefs, /proc/kcore).
 */
static inline int locked_down(const char *level)
{
	char line[128] = "";
	FILE *f = fopen("/sys/kernel/security/lockdown", "r");
	char *open_bracket;

	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	open_bracket = strchr(line, '[');
	if (!open_bracket || !strncmp(open_bracket, "[none]", 6))
		return 0;
	return !strcmp(level, "integrity") || !strncmp(open_bracket + 1, level, strlen(level));
}

#endif /* PROCMAPS_UTIL_H */
