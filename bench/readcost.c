// SPDX-License-Identifier: GPL-2.0
/*
 * Reader cost: a child with N VMAs (adjacent, alternating protections; or,
 * with MB = -1, separated by one-page holes, as in the contention victim),
 * and optionally MB more MiB of touched anonymous memory (4 KiB pages, no
 * THP), stopped; time reading /proc/PID/FILE and ours whole, interleaved,
 * REPS times each. FILE "query" walks the maps file with PROCMAP_QUERY
 * instead (one query per VMA, COVERING_OR_NEXT from the end of the last one,
 * asking for the name and the build ID, as a symbolizer does); its "bytes"
 * are the number of VMAs found.
 *   readcost N REPS FILE [MB]
 * Prints BENCH,readcost,FILE,N,MB,REPS,bytes,proc_ms_median,ours_ms_median
 * READCOST_ONLY=proc or =ours in the environment reads only that side (for
 * `make profile`; the other side's median is then printed as 0).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

static double read_ms(const char *path, long *bytes)
{
	double t0 = now_ms();
	int failed;

	*bytes = read_whole(path, &failed);
	if (*bytes < 0) {
		*bytes = 0;
		return -1;
	}
	return now_ms() - t0;
}

/* Every VMA of the maps file @path, one PROCMAP_QUERY each; *@found of them. */
static double query_ms(const char *path, long *found)
{
	static char name[4096];
	static unsigned char build_id[64];
	struct procmap_query q;
	double t0 = now_ms();
	int fd = open(path, O_RDONLY);
	__u64 addr = 0;

	*found = 0;
	if (fd < 0)
		return -1;
	for (;;) {
		memset(&q, 0, sizeof(q));
		q.size = sizeof(q);
		q.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA;
		q.query_addr = addr;
		q.vma_name_addr = (unsigned long)name;
		q.vma_name_size = sizeof(name);
		q.build_id_addr = (unsigned long)build_id;
		q.build_id_size = sizeof(build_id);
		if (ioctl(fd, PROCMAP_QUERY, &q))
			break;
		(*found)++;
		addr = q.vma_end;
	}
	close(fd);
	return now_ms() - t0;
}

int main(int argc, char **argv)
{
	int nvmas = argc > 1 ? atoi(argv[1]) : 1000, reps = argc > 2 ? atoi(argv[2]) : 20;
	const char *file = argc > 3 ? argv[3] : "maps";
	long mb = argc > 4 ? atol(argv[4]) : 0;
	double *proc_ms = calloc(reps, sizeof(double)), *ours_ms = calloc(reps, sizeof(double));
	char ppath[128], opath[128];
	long pbytes = 0, obytes = 0;
	const char *only = getenv("READCOST_ONLY");
	int i, status, query;
	pid_t pid = fork();

	if (pid == 0) {
		char *p = mmap(NULL, (size_t)nvmas * 4096, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		for (i = 0; p != MAP_FAILED && i < nvmas && mb >= 0; i += 2)
			mprotect(p + (size_t)i * 4096, 4096, PROT_NONE);
		if (mb < 0) {
			/* N one-page VMAs, each followed by a hole. */
			p = mmap(NULL, (size_t)nvmas * 2 * 4096, PROT_READ,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			for (i = 0; p != MAP_FAILED && i < nvmas; i++)
				munmap(p + (size_t)(2 * i + 1) * 4096, 4096);
		}
		if (mb > 0) {
			size_t size = (size_t)mb << 20, off;
			char *q = mmap(NULL, size, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (q == MAP_FAILED || madvise(q, size, MADV_NOHUGEPAGE))
				_exit(1);
			for (off = 0; off < size; off += 4096)
				q[off] = 1;
		}
		raise(SIGSTOP);
		_exit(0);
	}
	waitpid(pid, &status, WUNTRACED);
	usleep(200 * 1000);
	query = !strcmp(file, "query");
	snprintf(ppath, sizeof(ppath), "/proc/%d/%s", pid, query ? "maps" : file);
	snprintf(opath, sizeof(opath), "/sys/kernel/debug/rust_procmaps/%d/%s", pid,
		 query ? "maps" : file);
	for (i = 0; i < reps; i++) {
		if (!only || !strcmp(only, "proc"))
			proc_ms[i] = (query ? query_ms : read_ms)(ppath, &pbytes);
		if (!only || !strcmp(only, "ours"))
			ours_ms[i] = (query ? query_ms : read_ms)(opath, &obytes);
	}
	qsort(proc_ms, reps, sizeof(double), cmp_double);
	qsort(ours_ms, reps, sizeof(double), cmp_double);
	printf("BENCH,readcost,%s,%d,%ld,%d,%ld,%.3f,%.3f%s\n", file, nvmas, mb, reps, pbytes,
	       proc_ms[reps / 2], ours_ms[reps / 2],
	       only || pbytes == obytes ? "" : ",SIZE_MISMATCH");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 0;
}
