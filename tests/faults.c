// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures (failslab, fail_page_alloc) injected into one task
 * while it reads our maps and loads and unloads the module: every read
 * either fails cleanly or returns exactly what /proc returns, loading either
 * works or fails cleanly, and nothing breaks (the host checks the log, the
 * guest runs kmemleak at the end).
 *
 * While loading and unloading, only allocations with module code on their
 * call stack fail (the stacktrace filter, as in
 * Documentation/fault-injection/fault-injection.rst): our init and exit, not
 * load_module()'s own. 7.3's execmem does not survive failures there: after a
 * failed kasan_alloc_module_shadow() in execmem_vmalloc(), later loads hit
 * "CPA: called for zero pte" in execmem_force_rw() and every module load
 * fails with ENOMEM from then on (seen once in CI, with all the tests after
 * this one failing).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#define FAULT_DIR "/sys/kernel/debug/"
#define BUF_SIZE (1 << 20)
/* x86_64's module mapping space (Documentation/arch/x86/x86_64/mm.rst). */
#define MODULES_START "0xffffffffa0000000"
#define MODULES_END "0xffffffffff000000"
#define ANY_START "0"
#define ANY_END "0xffffffffffffffff"

static int configure(const char *attr, const char *probability)
{
	char path[128];
	const char *settings[][2] = {
		{ "probability", probability }, { "interval", "1" }, { "times", "-1" },
		{ "task-filter", "Y" }, { "verbose", "0" }, { "ignore-gfp-wait", "N" },
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		snprintf(path, sizeof(path), FAULT_DIR "%s/%s", attr, settings[i][0]);
		err = write_str(path, settings[i][1]);
		if (err)
			return err;
	}
	if (!strcmp(attr, "fail_page_alloc")) {
		write_str(FAULT_DIR "fail_page_alloc/ignore-gfp-highmem", "N");
		write_str(FAULT_DIR "fail_page_alloc/min-order", "0");
	}
	return 0;
}

/*
 * Fail only allocations whose call stack passes through [@start, @end):
 * 0 or -errno.
 */
static int require_caller(const char *attr, const char *start, const char *end)
{
	char path[128];
	int err;

	snprintf(path, sizeof(path), FAULT_DIR "%s/stacktrace-depth", attr);
	err = write_str(path, "32");
	snprintf(path, sizeof(path), FAULT_DIR "%s/require-start", attr);
	err = err ? err : write_str(path, start);
	snprintf(path, sizeof(path), FAULT_DIR "%s/require-end", attr);
	return err ? err : write_str(path, end);
}

/* Load the module unless it is loaded: 0 or -errno. */
static int ensure_loaded(void)
{
	int err = module_load("");

	return err == -EEXIST ? 0 : err;
}

/*
 * In a child that fails allocations: read @path 200 times and compare with
 * @want; then unload and load the module 20 times, failing only the module's
 * own allocations. Exit code: 0 fine, 1 a read returned wrong bytes,
 * 2 unexpected errno, 3 fault injection could not be set up, 4 no load failed
 * (the failures never reached the module's init).
 */
static void faulty_child(const char *attr, const char *load_probability,
			 const char *path, const char *want, size_t want_len)
{
	static char buf[BUF_SIZE];
	long ok = 0, failed = 0, loads = 0, load_failed = 0;
	int i;

	memset(buf, 0, sizeof(buf)); /* fault the buffer in before failures start */
	if (write_str("/proc/self/make-it-fail", "1"))
		_exit(3);
	for (i = 0; i < 200; i++) {
		size_t len = 0;
		ssize_t n = 0;
		int fd = open(path, O_RDONLY);

		if (fd < 0) {
			failed++;
			continue;
		}
		while (len < BUF_SIZE && (n = read(fd, buf + len, 1 + i * 37 % 4096)) > 0)
			len += n;
		close(fd);
		if (n < 0) {
			if (errno != ENOMEM && errno != EFAULT && errno != EINTR)
				_exit(2);
			failed++;
			continue;
		}
		if (len != want_len || memcmp(buf, want, len))
			_exit(1);
		ok++;
	}
	/* The write itself may fail while this task fails allocations. */
	for (i = 0; i < 1000 && write_str("/proc/self/make-it-fail", "0"); i++)
		;
	if (configure(attr, load_probability) ||
	    require_caller(attr, MODULES_START, MODULES_END) ||
	    write_str("/proc/self/make-it-fail", "1"))
		_exit(3);
	for (i = 0; i < 20; i++) {
		module_unload();
		if (ensure_loaded())
			load_failed++;
		loads++;
	}
	write_str("/proc/self/make-it-fail", "0");
	printf("# reads: %ld exact, %ld failed cleanly; loads: %ld, %ld failed cleanly\n",
	       ok, failed, loads, load_failed);
	_exit(load_failed ? 0 : 4);
}

static void run_faults(struct __test_metadata *_metadata, const char *attr,
		       const char *load_probability)
{
	char path[128], ppath[128];
	struct buf want, again;
	int status;
	pid_t target, child;

	target = spawn_stopped(NULL);
	ASSERT_GT(target, 0);
	ours_path(path, sizeof(path), target, "maps");
	proc_path(ppath, sizeof(ppath), target, "maps");
	ASSERT_EQ(0, read_all(ppath, 4096, &want));

	ASSERT_EQ(0, configure(attr, "10"));
	ASSERT_EQ(0, require_caller(attr, ANY_START, ANY_END)) {
		TH_LOG("no %s/require-start: CONFIG_FAULT_INJECTION_STACKTRACE_FILTER off", attr);
	}
	child = fork();
	ASSERT_GE(child, 0);
	if (child == 0)
		faulty_child(attr, load_probability, path, want.data, want.len);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	configure(attr, "0");
	require_caller(attr, ANY_START, ANY_END);
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));

	/* Afterwards the module is there (loaded again if the last load failed) and exact. */
	ASSERT_EQ(0, ensure_loaded());
	ASSERT_EQ(0, wait_ours(target));
	ASSERT_EQ(0, read_all(path, 4096, &again));
	EXPECT_EQ(want.len, again.len);
	EXPECT_EQ(0, memcmp(want.data, again.data, want.len));
	buf_free(&want);
	buf_free(&again);
	kill_and_reap(target);
}

/*
 * Both tests load and unload the module 20 times under injected failures,
 * which can take longer than the default 30 s on the debug kernel; whatever
 * their outcome (a timeout kills the test), injection is turned off after
 * them, in the harness's own process, or every later test would fail.
 */
FIXTURE(inject) {
	int unused;
};

FIXTURE_SETUP(inject)
{
}

FIXTURE_TEARDOWN_PARENT(inject)
{
	configure("failslab", "0");
	configure("fail_page_alloc", "0");
}

TEST_F_TIMEOUT(inject, failslab, 120)
{
	if (access(FAULT_DIR "failslab", F_OK))
		SKIP(return, "kernel without CONFIG_FAILSLAB");
	/* At 1% every one of 20 loads failed already: init allocates a lot. */
	run_faults(_metadata, "failslab", "10");
}

TEST_F_TIMEOUT(inject, fail_page_alloc, 120)
{
	if (access(FAULT_DIR "fail_page_alloc", F_OK))
		SKIP(return, "kernel without CONFIG_FAIL_PAGE_ALLOC");
	/* Measured: at 100% every load failed, at 50% 3 of 20 did. */
	run_faults(_metadata, "fail_page_alloc", "80");
}

TEST_HARNESS_MAIN
