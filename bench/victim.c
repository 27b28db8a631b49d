// SPDX-License-Identifier: GPL-2.0
/*
 * The monitored process of the contention benchmark: maps 128 MiB of
 * anonymous memory, touches it, then for SECS seconds picks a random 4 KiB
 * page and munmap()s it, or mmap(MAP_FIXED)s it back if it is unmapped
 * (50/50 overall), sleeping 10 us between operations and timing each call.
 *
 *   victim SECS READY_FILE GO_FILE STOP_FILE LABEL RUN
 * Writes READY_FILE (its PID) when set up, waits for GO_FILE, creates
 * STOP_FILE when done (readers stop while it still exists), and prints
 *   BENCH,victim,LABEL,RUN,ops,mean_ms,p50_ms,p99_ms,p999_ms,max_ms
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define REGION (128UL << 20)
#define PAGE 4096UL
#define PAGES (REGION / PAGE)
#define MAX_OPS (4 << 20)

int main(int argc, char **argv)
{
	static unsigned char mapped[PAGES];
	double secs, end, sum = 0, *lat;
	struct timespec pause = { 0, 10000 };
	unsigned int seed = getpid();
	char *region;
	long ops = 0;
	FILE *f;

	if (argc != 7)
		return 2;
	secs = atof(argv[1]);
	lat = malloc(MAX_OPS * sizeof(*lat));
	region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!lat || region == MAP_FAILED)
		return 1;
	memset(region, 1, REGION);
	memset(mapped, 1, sizeof(mapped));
	memset(lat, 0, MAX_OPS * sizeof(*lat));

	f = fopen(argv[2], "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	while (access(argv[3], F_OK))
		usleep(1000);

	end = now_ms() + secs * 1e3;
	while (ops < MAX_OPS) {
		unsigned long page = rand_r(&seed) % PAGES;
		char *addr = region + page * PAGE;
		double t0 = now_ms(), t1;

		if (t0 > end)
			break;
		if (mapped[page])
			munmap(addr, PAGE);
		else
			mmap(addr, PAGE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		t1 = now_ms();
		mapped[page] ^= 1;
		lat[ops++] = t1 - t0;
		sum += t1 - t0;
		nanosleep(&pause, NULL);
	}
	f = fopen(argv[4], "w");
	if (f)
		fclose(f);
	print_latencies("victim", argv[5], argv[6], lat, ops, sum);
	return 0;
}
