// SPDX-License-Identifier: GPL-2.0
/*
 * The reader of the reader-side benchmark: opens PATH, reads it to EOF,
 * closes it, again and again until STOP_FILE exists, timing every whole
 * read once GO_FILE exists (a process list reading cmdline, an agent reading
 * maps or smaps_rollup). Then prints
 *   BENCH,readlat,LABEL,RUN,reads,mean_ms,p50_ms,p99_ms,max_ms,bytes,errors
 *   readlat PATH GO_FILE STOP_FILE LABEL RUN
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_READS (1 << 20)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	double sum = 0, *lat = malloc(MAX_READS * sizeof(double));
	long reads = 0, errors = 0, bytes = 0;

	if (argc != 6 || !lat)
		return 2;
	while (access(argv[3], F_OK) && reads < MAX_READS) {
		int counting = !access(argv[2], F_OK), fd;
		double t0 = now_ms(), t;
		long got = 0;
		ssize_t n;

		fd = open(argv[1], O_RDONLY);
		if (fd < 0) {
			errors += counting;
			usleep(1000);
			continue;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			got += n;
		close(fd);
		t = now_ms() - t0;
		if (!counting)
			continue;
		errors += n < 0;
		bytes = got;
		lat[reads++] = t;
		sum += t;
	}
	if (!reads) {
		printf("BENCH,readlat,%s,%s,0,0,0,0,0,0,%ld\n", argv[4], argv[5], errors);
		return 0;
	}
	qsort(lat, reads, sizeof(*lat), cmp_double);
	printf("BENCH,readlat,%s,%s,%ld,%.4f,%.4f,%.4f,%.4f,%ld,%ld\n", argv[4], argv[5], reads,
	       sum / reads, lat[reads / 2], lat[reads * 99 / 100], lat[reads - 1], bytes, errors);
	return 0;
}
