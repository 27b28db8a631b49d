// SPDX-License-Identifier: GPL-2.0
/*
 * IBT on the booted kernel: every kernel function the module hands the
 * kernel a pointer to (the list scripts/check-ibt.py made from the module's
 * relocations, /indirect-targets) still starts with ENDBR64, and so does
 * get_gate_vma, which the module calls for the [vsyscall] line: exported by
 * kernel/patches/, it is not sealed. The first bytes are read through
 * /proc/kcore at the addresses /proc/kallsyms gives.
 *
 * QEMU's TCG does not enforce IBT, so a missing ENDBR64 would not crash
 * here; these checks are what a CPU that enforces it would trip on.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

/* Address of kernel (not module) text symbol @name, or 0. */
static uint64_t kallsyms_addr(const char *name)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	char line[512], sym[256], type;
	unsigned long long addr;
	uint64_t found = 0;

	while (f && fgets(line, sizeof(line), f)) {
		if (strchr(line, '['))
			continue; /* a module's symbol */
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) == 3 &&
		    strchr("TtWw", type) && !strcmp(sym, name)) {
			found = addr;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * Whether lockdown refuses /proc/kcore (lockdown=confidentiality refuses every
 * read of kernel memory): then the seals cannot be seen from user space.
 */
static int kcore_locked_down(void)
{
	int fd = open("/proc/kcore", O_RDONLY);

	if (fd >= 0)
		close(fd);
	return fd < 0 && errno == EPERM;
}

#define KCORE_LOCKED "lockdown=confidentiality refuses /proc/kcore"

/* Read @len bytes of kernel memory at @addr through /proc/kcore: 0 or -1. */
static int kcore_read(uint64_t addr, void *out, size_t len)
{
	int fd = open("/proc/kcore", O_RDONLY);
	Elf64_Ehdr eh;
	int i, ret = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh))
		goto out;
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		if (pread(fd, &ph, sizeof(ph), eh.e_phoff + i * sizeof(ph)) != sizeof(ph))
			goto out;
		if (ph.p_type != PT_LOAD || addr < ph.p_vaddr ||
		    addr + len > ph.p_vaddr + ph.p_memsz)
			continue;
		if (pread(fd, out, len, ph.p_offset + (addr - ph.p_vaddr)) == (ssize_t)len)
			ret = 0;
		break;
	}
out:
	close(fd);
	return ret;
}

/* 1 if kernel function @name starts with ENDBR64, 0 if not, -1 if unknown. */
static int starts_with_endbr(const char *name)
{
	uint64_t addr = kallsyms_addr(name);
	unsigned char insn[4];

	if (!addr || kcore_read(addr, insn, sizeof(insn)))
		return -1;
	fprintf(stderr, "# %s at %016llx: %02x %02x %02x %02x\n", name,
		(unsigned long long)addr, insn[0], insn[1], insn[2], insn[3]);
	return !memcmp(insn, endbr64, sizeof(insn));
}

/* The reader itself: the kcore reader tells a sealed function from an open one. */
TEST(kcore_sees_seals)
{
	if (kcore_locked_down())
		SKIP(return, KCORE_LOCKED);
	/* Exported: never sealed. Static, address never taken: sealed (issue 9). */
	EXPECT_EQ(1, starts_with_endbr("seq_read"));
	EXPECT_EQ(0, starts_with_endbr("lock_mm_and_find_vma"));
}

TEST(indirect_targets_have_endbr)
{
	FILE *f = fopen("/indirect-targets", "r");
	char name[256];
	int n = 0;

	if (kcore_locked_down())
		SKIP(return, KCORE_LOCKED);
	ASSERT_NE(NULL, f);
	while (fscanf(f, "%255s", name) == 1) {
		EXPECT_EQ(1, starts_with_endbr(name));
		n++;
	}
	fclose(f);
	/* At least the seq_file methods in our file_operations. */
	EXPECT_LE(2, n);
}

TEST(gate_vma)
{
	char path[128], ppath[128];
	struct buf ours, proc;
	const char *vsyscall;

	pid_t pid = spawn_stopped(NULL);

	ASSERT_GT(pid, 0);
	proc_path(ppath, sizeof(ppath), pid, "maps");
	ours_path(path, sizeof(path), pid, "maps");
	ASSERT_EQ(0, read_all(ppath, 4096, &proc));
	ASSERT_EQ(0, read_all(path, 4096, &ours));
	kill_and_reap(pid);
	/* Without one (CONFIG_LEGACY_VSYSCALL_NONE, Debian's), ours must have none either. */
	vsyscall = strstr(proc.data, "[vsyscall]\n");
	if (!vsyscall)
		TH_LOG("no [vsyscall] in /proc on this kernel");
	ASSERT_TRUE(vsyscall || !all_inputs());
	if (!kcore_locked_down())
		EXPECT_EQ(1, starts_with_endbr("get_gate_vma"));
	EXPECT_EQ(proc.len, ours.len);
	EXPECT_EQ(0, memcmp(proc.data, ours.data, proc.len));
	buf_free(&proc);
	buf_free(&ours);
}

TEST_HARNESS_MAIN
