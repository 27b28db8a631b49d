// SPDX-License-Identifier: GPL-2.0
/*
 * The target of the reader-side benchmark: a process whose mmap_lock is
 * held for long stretches with writers queued behind it, the case where a
 * reader that needs mmap_read_lock waits (a fair rwsem queues new readers
 * behind a waiting writer). With MODE "busy", one thread maps 64 MiB with
 * MAP_POPULATE (populated under mmap_read_lock) and unmaps it (mmap_lock
 * held for writing while 16384 pages are freed), in a loop; another maps and
 * unmaps one 4 KiB page, pausing 10 us, timing every call. With MODE "idle"
 * only the second thread runs: the no-contention baseline.
 *
 *   hog MODE SECS READY_FILE GO_FILE STOP_FILE LABEL RUN
 * Writes READY_FILE (its PID) when set up, waits for GO_FILE, creates
 * STOP_FILE when done, and prints the 4 KiB thread's latencies:
 *   BENCH,hogvictim,LABEL,RUN,ops,mean_ms,p50_ms,p99_ms,p999_ms,max_ms
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define HOG_SIZE (64UL << 20)
#define MAX_OPS (4 << 20)

static volatile int stop;

static void *hog(void *arg)
{
	(void)arg;
	while (!stop) {
		void *p = mmap(NULL, HOG_SIZE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

		if (p != MAP_FAILED)
			munmap(p, HOG_SIZE);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec pause = { 0, 10000 };
	double secs, end, sum = 0, *lat;
	int busy;
	pthread_t thread;
	long ops = 0;
	FILE *f;

	if (argc != 8)
		return 2;
	busy = !strcmp(argv[1], "busy");
	secs = atof(argv[2]);
	lat = malloc(MAX_OPS * sizeof(*lat));
	if (!lat)
		return 1;
	memset(lat, 0, MAX_OPS * sizeof(*lat));
	f = fopen(argv[3], "w");
	if (!f)
		return 1;
	fprintf(f, "%d\n", getpid());
	fclose(f);
	while (access(argv[4], F_OK))
		usleep(1000);
	if (busy && pthread_create(&thread, NULL, hog, NULL))
		return 1;
	end = now_ms() + secs * 1e3;
	while (ops < MAX_OPS) {
		double t0 = now_ms(), t1;
		void *p;

		if (t0 > end)
			break;
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p != MAP_FAILED)
			munmap(p, 4096);
		t1 = now_ms();
		lat[ops++] = t1 - t0;
		sum += t1 - t0;
		nanosleep(&pause, NULL);
	}
	stop = 1;
	if (busy)
		pthread_join(thread, NULL);
	f = fopen(argv[5], "w");
	if (f)
		fclose(f);
	print_latencies("hogvictim", argv[6], argv[7], lat, ops, sum);
	return 0;
}
