/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the benchmark programs share: a clock, an order for qsort(), a whole
 * read of a file, and the latency line of a timed process.
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static inline int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Open @path, read it to EOF in 64 KiB reads, close it: the bytes read, or -1
 * if it does not open; *@failed whether a read() failed.
 */
static inline long read_whole(const char *path, int *failed)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	long got = 0;
	ssize_t n;

	*failed = 0;
	if (fd < 0)
		return -1;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		got += n;
	close(fd);
	*failed = n < 0;
	return got;
}

/*
 * Sort the @n (> 0) latencies @lat, which sum to @sum, and print
 *   BENCH,KIND,LABEL,RUN,ops,mean_ms,p50_ms,p99_ms,p999_ms,max_ms
 */
static inline void print_latencies(const char *kind, const char *label, const char *run,
				   double *lat, long n, double sum)
{
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("BENCH,%s,%s,%s,%ld,%.4f,%.4f,%.4f,%.4f,%.4f\n", kind, label, run, n, sum / n,
	       lat[n / 2], lat[n * 99 / 100], lat[n * 999 / 1000], lat[n - 1]);
}

#endif /* BENCH_UTIL_H */
