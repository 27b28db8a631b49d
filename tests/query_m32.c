// SPDX-License-Identifier: GPL-2.0
/*
 * PROCMAP_QUERY from a 32-bit program (built with -m32: the ioctl reaches
 * the module through compat_ioctl, compat_ptr_ioctl, as /proc's maps is
 * reached): every answer, walking every VMA of this process, of a stopped
 * 32-bit child and of init (a 64-bit process), with a name and a build-ID
 * buffer, must be /proc's; so must the errors (a bad buffer, a bad size).
 * A kernel without CONFIG_IA32_EMULATION cannot run this program at all:
 * the guest's init says so as a skip.
 */
#define _GNU_SOURCE
#include <linux/fs.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "procmaps_util.h"

struct answer {
	int ret, err;
	struct procmap_query q;
	char name[4096];
	unsigned char build_id[64];
};

static void ask(int fd, unsigned long long addr, unsigned long long flags,
		unsigned long long name_addr, struct answer *a)
{
	memset(a, 0xa5, sizeof(*a));
	memset(&a->q, 0, sizeof(a->q));
	a->q.size = sizeof(a->q);
	a->q.query_addr = addr;
	a->q.query_flags = flags;
	a->q.vma_name_size = sizeof(a->name);
	a->q.vma_name_addr = name_addr ? name_addr : (unsigned long)a->name;
	a->q.build_id_size = sizeof(a->build_id);
	a->q.build_id_addr = (unsigned long)a->build_id;
	errno = 0;
	a->ret = ioctl(fd, PROCMAP_QUERY, &a->q);
	a->err = a->ret ? errno : 0;
	a->q.vma_name_addr = a->q.build_id_addr = 0;
}

static int same(const struct answer *p, const struct answer *o)
{
	if (p->ret == o->ret && p->err == o->err && !memcmp(&p->q, &o->q, sizeof(p->q)) &&
	    (p->ret || (!memcmp(p->name, o->name, sizeof(p->name)) &&
			!memcmp(p->build_id, o->build_id, sizeof(p->build_id)))))
		return 1;
	fprintf(stderr, "# /proc %d/%d %llx-%llx '%.40s', ours %d/%d %llx-%llx '%.40s'\n",
		p->ret, p->err, (unsigned long long)p->q.vma_start,
		(unsigned long long)p->q.vma_end, p->name, o->ret, o->err,
		(unsigned long long)o->q.vma_start, (unsigned long long)o->q.vma_end, o->name);
	return 0;
}

/* Walk every VMA of @pid through both files; the number found, -1 if any differ. */
static long walk(int pid)
{
	static struct answer p, o;
	unsigned long long addr = 0;
	char path[128];
	int fd_proc, fd_ours;
	long found = 0, differ = 0;

	proc_path(path, sizeof(path), pid, "maps");
	fd_proc = open(path, O_RDONLY);
	ours_path(path, sizeof(path), pid, "maps");
	fd_ours = open(path, O_RDONLY);
	if (fd_proc < 0 || fd_ours < 0)
		return -1;
	for (;;) {
		ask(fd_proc, addr, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, 0, &p);
		ask(fd_ours, addr, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, 0, &o);
		differ += !same(&p, &o);
		if (p.ret || o.ret)
			break;
		found++;
		addr = p.q.vma_end;
	}
	/* Errors: a name buffer at a bad address; a size below the first fields. */
	ask(fd_proc, 0, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, 1, &p);
	ask(fd_ours, 0, PROCMAP_QUERY_COVERING_OR_NEXT_VMA, 1, &o);
	differ += !same(&p, &o);
	p.q.size = o.q.size = 8;
	p.ret = ioctl(fd_proc, PROCMAP_QUERY, &p.q);
	p.err = errno;
	o.ret = ioctl(fd_ours, PROCMAP_QUERY, &o.q);
	o.err = errno;
	differ += p.ret != o.ret || p.err != o.err;
	close(fd_proc);
	close(fd_ours);
	return differ ? -1 : found;
}

TEST(is_32_bit)
{
	ASSERT_EQ(4U, sizeof(long));
}

TEST(own_vmas)
{
	EXPECT_LT(5, walk(getpid()));
}

TEST(stopped_32_bit_child)
{
	pid_t pid = spawn_stopped(NULL);

	ASSERT_GT(pid, 0);
	EXPECT_LT(5, walk(pid));
	kill_and_reap(pid);
}

TEST(init_64_bit)
{
	EXPECT_LT(3, walk(1));
}

TEST_HARNESS_MAIN
