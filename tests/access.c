// SPDX-License-Identifier: GPL-2.0
/*
 * Access control as an unprivileged user: our maps, smaps and smaps_rollup
 * are refused exactly where /proc's are (another user's process, an
 * undumpable process) and allowed where they are (own processes).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

#define USER 1000

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
	if (pid > 0 && waitpid(pid, &status, WUNTRACED) != pid)
		return -1;
	usleep(200 * 1000);
	return pid;
}

/*
 * As USER, open @pid's maps, smaps and smaps_rollup in /proc and ours:
 * returns 0 if both behave the same (same errno, or both readable with equal
 * content), else a code (the file's index times 10 plus what went wrong).
 */
static int compare_as_user(pid_t pid, int expect_errno)
{
	static const char *const files[] = { "maps", "smaps", "smaps_rollup" };
	int status;
	pid_t child = fork();

	if (child == 0) {
		char p[128], o[128];
		struct buf want, got;
		int e1, e2, i;

		if (setresgid(USER, USER, USER) || setresuid(USER, USER, USER))
			_exit(1);
		for (i = 0; i < 3; i++) {
			proc_path(p, sizeof(p), pid, files[i]);
			ours_path(o, sizeof(o), pid, files[i]);
			e1 = read_all(p, 4096, &want);
			e2 = read_all(o, 4096, &got);
			if (e1 != -expect_errno)
				_exit(10 * i + 11); /* /proc did not do what the test assumes */
			if (e2 != e1)
				_exit(10 * i + 12);
			if (!e1 && (want.len != got.len || memcmp(want.data, got.data, got.len)))
				_exit(10 * i + 13);
		}
		_exit(0);
	}
	waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
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
	ASSERT_EQ(0, waitpid(pid, &status, WNOHANG));
	EXPECT_EQ(0, compare_as_user(pid, EACCES));
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

TEST_HARNESS_MAIN
