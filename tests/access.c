// SPDX-License-Identifier: GPL-2.0
/*
 * Access control as an unprivileged user: our maps, smaps and smaps_rollup
 * are refused exactly where /proc's are (another user's process, an
 * undumpable process, a process outside the reader's Landlock domain) and
 * allowed where they are (own processes); cmdline (no check in /proc either)
 * and environ answer as /proc's in each of these cases.
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <linux/landlock.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#define USER 1000

static const char *const files[] = { "maps", "smaps", "smaps_rollup", "numa_maps" };

/* A process of USER that stops itself; undumpable if asked. */
static pid_t spawn_user_target(int undumpable)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setresgid(USER, USER, USER) || setresuid(USER, USER, USER))
			_exit(1);
		/* Changing uid made it undumpable; an ordinary process is dumpable. */
		if (prctl(PR_SET_DUMPABLE, !undumpable))
			_exit(2);
		raise(SIGSTOP);
		_exit(0);
	}
	if (pid > 0 && (waitpid(pid, &status, WUNTRACED) != pid || wait_ours(pid)))
		return -1;
	return pid;
}

/*
 * Open @pid's maps, smaps, smaps_rollup and numa_maps in /proc and ours, as the calling
 * process: 0 if /proc answers -@proc_errno and ours -@ours_errno (and equal
 * content where both read, unless @pid is the caller, whose own memory
 * changes as it reads), else a code: the file's index times 10 plus what
 * went wrong.
 */
static int compare_files(pid_t pid, int proc_errno, int ours_errno)
{
	int same = pid != getpid();
	int i, n = sizeof(files) / sizeof(files[0]);

	for (i = 0; i < n; i++) {
		char p[128], o[128];
		struct buf want, got;
		int e1, e2;

		/* A file /proc does not have here (numa_maps without NUMA): nor do we. */
		if (!proc_has(files[i]))
			continue;
		proc_path(p, sizeof(p), pid, files[i]);
		ours_path(o, sizeof(o), pid, files[i]);
		e1 = read_all(p, 4096, &want);
		e2 = read_all(o, 4096, &got);
		if (e1 != -proc_errno)
			return 10 * i + 11; /* /proc did not do what the test assumes */
		if (e2 != -ours_errno)
			return 10 * i + 12;
		if (same && !e1 && !e2 &&
		    (want.len != got.len || memcmp(want.data, got.data, got.len)))
			return 10 * i + 13;
		if (!e1)
			buf_free(&want);
		if (!e2)
			buf_free(&got);
	}
	return 0;
}

/* Exit status of a child, or 100 if it did not exit. */
static int wait_code(pid_t child)
{
	int status;

	if (child < 0 || waitpid(child, &status, 0) != child)
		return 101;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/*
 * As USER, open @pid's files in /proc and ours: returns 0 if both behave the
 * same (same errno, or both readable with equal content), else a code (see
 * compare_files()).
 */
static int compare_as_user(pid_t pid, int expect_errno)
{
	pid_t child = fork();

	if (child == 0) {
		if (setresgid(USER, USER, USER) || setresuid(USER, USER, USER))
			_exit(1);
		_exit(compare_files(pid, expect_errno, expect_errno));
	}
	return wait_code(child);
}

/*
 * cmdline and environ of @pid as the calling process: 0 if /proc's and ours
 * answer the same (the open's errno, or the same bytes), else 60 plus the
 * file's index (past compare_files()' codes).
 */
static int compare_args_files(pid_t pid)
{
	static const char *const names[] = { "cmdline", "environ" };
	int i;

	for (i = 0; i < 2; i++) {
		char p[128], o[128];
		struct buf want, got;
		int e1, e2, differ;

		proc_path(p, sizeof(p), pid, names[i]);
		ours_path(o, sizeof(o), pid, names[i]);
		e1 = read_all(p, 4096, &want);
		e2 = read_all(o, 4096, &got);
		differ = e1 != e2 ||
			 (!e1 && (want.len != got.len || memcmp(want.data, got.data, got.len)));
		if (!e1)
			buf_free(&want);
		if (!e2)
			buf_free(&got);
		if (differ) {
			fprintf(stderr, "# %s of %d as uid %d/%d: /proc %d, ours %d\n", names[i], pid,
				getuid(), geteuid(), e1, e2);
			return 60 + i;
		}
	}
	return 0;
}

/* compare_args_files() of @pid as USER: 0 or its code (see wait_code()). */
static int args_files_as_user(pid_t pid)
{
	pid_t child = fork();

	if (child == 0) {
		if (setresgid(USER, USER, USER) || setresuid(USER, USER, USER))
			_exit(1);
		_exit(compare_args_files(pid));
	}
	return wait_code(child);
}

TEST(own_process_allowed)
{
	pid_t pid = spawn_user_target(0);

	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_as_user(pid, 0));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

TEST(other_user_refused)
{
	long long denied = stat_get("opens_denied");

	EXPECT_EQ(0, compare_as_user(1, EACCES));
	EXPECT_GT(stat_get("opens_denied"), denied);
}

TEST(undumpable_refused)
{
	pid_t pid = spawn_user_target(1);

	ASSERT_GT(pid, 0);
	EXPECT_EQ(0, compare_as_user(pid, EACCES));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A setuid-root program run by USER: refused to USER, like /proc. */
TEST(setuid_refused)
{
	int status;
	pid_t pid;

	ASSERT_EQ(0, system("cp /bin/busybox /tmp/suidbox && chmod 4755 /tmp/suidbox"));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		if (setresgid(USER, USER, USER) || setresuid(USER, USER, USER))
			_exit(1);
		execl("/tmp/suidbox", "sleep", "1000", NULL);
		_exit(2);
	}
	usleep(300 * 1000);
	ASSERT_EQ(0, wait_ours(pid));
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	EXPECT_EQ(0, compare_as_user(pid, EACCES));
	/* cmdline readable, environ refused, as /proc's. */
	EXPECT_EQ(0, args_files_as_user(pid));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * The check is made with the caller's file-system uid, as /proc's
 * (PTRACE_MODE_READ_FSCREDS): a caller whose real uid is another user's but
 * whose effective, and so file-system, uid is USER may read USER's process;
 * one whose real uid is USER but whose effective uid is another's may not. A
 * check made with the real credentials would answer both the other way.
 */
TEST(fsuid_decides)
{
	static const int uids[2][3] = {
		{ USER + 1, USER, USER },	/* real other, fs USER: allowed */
		{ USER, USER + 1, USER + 1 },	/* real USER, fs other: refused */
	};
	pid_t pid = spawn_user_target(0);
	int i;

	ASSERT_GT(pid, 0);
	for (i = 0; i < 2; i++) {
		pid_t child = fork();

		ASSERT_GE(child, 0);
		if (child == 0) {
			if (setresgid(USER, USER, USER) ||
			    setresuid(uids[i][0], uids[i][1], uids[i][2]))
				_exit(1);
			_exit(compare_files(pid, i ? EACCES : 0, i ? EACCES : 0));
		}
		EXPECT_EQ(0, wait_code(child)) {
			TH_LOG("uids %d/%d/%d", uids[i][0], uids[i][1], uids[i][2]);
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Each file has /proc's permission bits (read-only for everyone: 0444). */
TEST(modes_as_proc)
{
	pid_t pid = spawn_user_target(0);
	size_t i;

	ASSERT_GT(pid, 0);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char p[128], o[128];
		struct stat sp, so;

		if (!proc_has(files[i]))
			continue;
		proc_path(p, sizeof(p), pid, files[i]);
		ours_path(o, sizeof(o), pid, files[i]);
		ASSERT_EQ(0, stat(p, &sp));
		ASSERT_EQ(0, stat(o, &so));
		EXPECT_EQ(sp.st_mode & 07777, so.st_mode & 07777) {
			TH_LOG("%s: /proc %o, ours %o", files[i], sp.st_mode & 07777,
			       so.st_mode & 07777);
		}
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* root reads everyone's, like /proc. */
TEST(root_allowed)
{
	pid_t pid = spawn_user_target(1);
	char p[128], o[128];
	struct buf want, got;

	ASSERT_GT(pid, 0);
	proc_path(p, sizeof(p), pid, "maps");
	ours_path(o, sizeof(o), pid, "maps");
	ASSERT_EQ(0, read_all(p, 4096, &want));
	ASSERT_EQ(0, read_all(o, 4096, &got));
	EXPECT_EQ(want.len, got.len);
	EXPECT_EQ(0, memcmp(want.data, got.data, got.len));
	buf_free(&want);
	buf_free(&got);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * Put the calling process in a Landlock domain of its own. The rights it
 * handles do not matter here (it handles one that reading files never
 * needs): any domain comes with Landlock's ptrace rule, which denies access
 * to every process outside the domain, whatever the uids and capabilities.
 */
static int landlock_restrict_self(void)
{
	struct landlock_ruleset_attr attr = {
		.handled_access_fs = LANDLOCK_ACCESS_FS_MAKE_SOCK,
	};
	int fd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);

	if (fd < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_landlock_restrict_self, fd, 0)) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * A Landlock-restricted process of USER reads its parent's (same uid, not in
 * its domain), an outside process's (same uid) and its own files: /proc
 * refuses the first two (EACCES) and allows the last; ours must answer the
 * same (the module calls mm_access(), which asks the LSMs).
 * A maps file opened before the domain still answers PROCMAP_QUERY, on both
 * (the check is made at open), with the same answer.
 */
TEST(landlock_domain_refused)
{
	pid_t outside = spawn_user_target(0);
	pid_t parent;

	ASSERT_GT(outside, 0);
	/* Landlock is in the test kernels: a failure to sandbox is a failure. */
	ASSERT_LE(1, syscall(SYS_landlock_create_ruleset, NULL, 0,
			     LANDLOCK_CREATE_RULESET_VERSION));
	parent = fork();
	ASSERT_LE(0, parent);
	if (parent == 0) {
		pid_t self = getpid(), child;
		int code;

		if (setresgid(USER, USER, USER) || setresuid(USER, USER, USER))
			_exit(1);
		prctl(PR_SET_DUMPABLE, 1);
		/* Without a domain, the same uid reads both: allowed, the control. */
		code = compare_files(outside, 0, 0);
		if (code)
			_exit(code);
		child = fork();
		if (child == 0) {
			struct procmap_query qp = { .size = sizeof(qp), .query_flags =
						    PROCMAP_QUERY_COVERING_OR_NEXT_VMA };
			struct procmap_query qo = qp;
			char p[64], o[64];
			int fd_proc, fd_ours;

			/* Opened before the domain: the check was made at open, as in /proc. */
			if (wait_ours(self))
				_exit(4);
			proc_path(p, sizeof(p), self, "maps");
			ours_path(o, sizeof(o), self, "maps");
			fd_proc = open(p, O_RDONLY);
			fd_ours = open(o, O_RDONLY);
			if (landlock_restrict_self())
				_exit(2);
			if (fd_proc < 0 || fd_ours < 0)
				_exit(3);
			if (ioctl(fd_proc, PROCMAP_QUERY, &qp) || ioctl(fd_ours, PROCMAP_QUERY, &qo))
				_exit(5);
			if (memcmp(&qp, &qo, sizeof(qp)))
				_exit(6);
			code = compare_files(self, EACCES, EACCES);
			if (!code)
				code = compare_files(outside, EACCES, EACCES);
			if (!code)
				code = compare_files(getpid(), 0, 0);
			_exit(code ? code + 100 : 0);
		}
		_exit(wait_code(child));
	}
	EXPECT_EQ(0, wait_code(parent));
	kill(outside, SIGKILL);
	waitpid(outside, NULL, 0);
}

/*
 * cmdline (no check) and environ (mm_access() at open) answer as /proc's for
 * USER's own process, an undumpable one and init, read as USER, as a
 * caller whose real or file-system uid is another's, and from inside a
 * Landlock domain; environ is refused in some of these and allowed in others.
 */
TEST(args_files_as_proc)
{
	static const int uids[3][3] = {
		{ USER, USER, USER },
		{ USER + 1, USER, USER },
		{ USER, USER + 1, USER + 1 },
	};
	pid_t own = spawn_user_target(0), undumpable = spawn_user_target(1);
	pid_t targets[3] = { own, undumpable, 1 };
	long long denied = stat_get("opens_denied");
	int i, t;

	ASSERT_GT(own, 0);
	ASSERT_GT(undumpable, 0);
	for (i = 0; i <= 3; i++) {
		pid_t child = fork();

		ASSERT_GE(child, 0);
		if (child == 0) {
			int code = 0;

			if (setresgid(USER, USER, USER) ||
			    setresuid(uids[i % 3][0], uids[i % 3][1], uids[i % 3][2]))
				_exit(1);
			/* The fourth round: USER inside a Landlock domain of its own. */
			if (i == 3 && landlock_restrict_self())
				_exit(2);
			for (t = 0; t < 3 && !code; t++)
				code = compare_args_files(targets[t]);
			_exit(code);
		}
		EXPECT_EQ(0, wait_code(child)) {
			TH_LOG("round %d", i);
		}
	}
	/* Some of those opens were refused (environ of init, of the undumpable one). */
	EXPECT_GT(stat_get("opens_denied"), denied);
	kill(own, SIGKILL);
	waitpid(own, NULL, 0);
	kill(undumpable, SIGKILL);
	waitpid(undumpable, NULL, 0);
}

TEST_HARNESS_MAIN
