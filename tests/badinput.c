// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input: writes, mmap, ioctl, unmapped buffers, zero-length reads,
 * seeking back and forth and pread at odd offsets (which must give exactly
 * the bytes of a whole read), huge offsets, names that are not PIDs, and a
 * process that dies between open and read; for maps, smaps and smaps_rollup.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

FIXTURE(target) {
	pid_t pid;
	char path[128];
	struct buf whole;
};

FIXTURE_VARIANT(target) {
	const char *file;
};

FIXTURE_VARIANT_ADD(target, maps) {
	.file = "maps",
};

FIXTURE_VARIANT_ADD(target, smaps) {
	.file = "smaps",
};

FIXTURE_VARIANT_ADD(target, smaps_rollup) {
	.file = "smaps_rollup",
};

FIXTURE_VARIANT_ADD(target, numa_maps) {
	.file = "numa_maps",
};

FIXTURE_SETUP(target)
{
	if (!proc_has(variant->file))
		SKIP(return, "no /proc/self/%s on this kernel (numa_maps: CONFIG_NUMA)",
		     variant->file);
	self->pid = spawn_stopped(NULL);
	ASSERT_GT(self->pid, 0);
	ours_path(self->path, sizeof(self->path), self->pid, variant->file);
	ASSERT_EQ(0, read_all(self->path, 1 << 16, &self->whole));
	ASSERT_GT(self->whole.len, (size_t)100);
}

FIXTURE_TEARDOWN(target)
{
	buf_free(&self->whole);
	kill_and_reap(self->pid);
}

TEST_F(target, write_mmap_ioctl_refused)
{
	int fd = open(self->path, O_RDWR);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, "x", 1));
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0));
	EXPECT_EQ(-1, ioctl(fd, 0x1234, 0));
	EXPECT_EQ(ENOTTY, errno);
	close(fd);
}

TEST_F(target, bad_buffers)
{
	char buf[16];
	int fd = open(self->path, O_RDONLY);
	char *unmapped = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_LE(0, fd);
	ASSERT_NE(MAP_FAILED, unmapped);
	ASSERT_EQ(0, munmap(unmapped, 4096));
	EXPECT_EQ(0, read(fd, buf, 0));
	EXPECT_EQ(-1, read(fd, unmapped, 4096));
	EXPECT_EQ(EFAULT, errno);
	/* Nothing was lost: the first bytes are still there. */
	EXPECT_EQ(16, read(fd, buf, 16));
	EXPECT_EQ(0, memcmp(buf, self->whole.data, 16));
	close(fd);
}

TEST_F(target, seek_and_pread)
{
	size_t len = self->whole.len;
	size_t offsets[] = { 0, 1, 37, len / 3, len / 2, len - 1, len, 5, len / 4 };
	char *buf = malloc(len + 1);
	size_t i;
	int fd = open(self->path, O_RDONLY);

	ASSERT_LE(0, fd);
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		size_t got = 0;
		ssize_t n;

		ASSERT_EQ((off_t)offsets[i], lseek(fd, offsets[i], SEEK_SET));
		while ((n = read(fd, buf + got, 13)) > 0)
			got += n;
		EXPECT_EQ(len - offsets[i], got);
		EXPECT_EQ(0, memcmp(buf, self->whole.data + offsets[i], got));
	}
	for (i = 0; i < 200; i++) {
		size_t off = rand() % len, n = 1 + rand() % 300;
		ssize_t got = pread(fd, buf, n, off);

		ASSERT_LE(0, got);
		EXPECT_EQ(0, memcmp(buf, self->whole.data + off, got));
	}
	EXPECT_EQ((off_t)1 << 40, lseek(fd, (off_t)1 << 40, SEEK_SET));
	EXPECT_EQ(0, read(fd, buf, 100));
	EXPECT_EQ(-1, lseek(fd, -1, SEEK_SET));
	free(buf);
	close(fd);
}

TEST_F(target, huge_read)
{
	size_t size = 64 << 20;
	char *buf = malloc(size);
	int fd = open(self->path, O_RDONLY);
	ssize_t n;

	ASSERT_LE(0, fd);
	ASSERT_NE(NULL, buf);
	n = read(fd, buf, size);
	EXPECT_GT(n, 0);
	close(fd);
	free(buf);
}

TEST_F(target, dies_between_open_and_read)
{
	char buf[256];
	int fd = open(self->path, O_RDONLY);

	ASSERT_LE(0, fd);
	kill_and_reap(self->pid);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	TH_LOG("read: %s", strerror(errno));
	close(fd);
}

TEST(not_a_pid)
{
	static const char *const bad[] = { "notapid/maps", "0/maps", "-1/maps", "1/nosuchfile" };
	char path[128];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", ours_dir(), bad[i]);
		EXPECT_EQ(-1, open(path, O_RDONLY));
		EXPECT_EQ(ENOENT, errno);
	}
}

TEST_HARNESS_MAIN
