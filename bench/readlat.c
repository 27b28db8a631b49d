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

#include "bench_util.h"

#define MAX_READS (1 << 20)

int main(int argc, char **argv)
{
	double sum = 0, *lat = malloc(MAX_READS * sizeof(double));
	long reads = 0, errors = 0, bytes = 0;

	if (argc != 6 || !lat)
		return 2;
	while (access(argv[3], F_OK) && reads < MAX_READS) {
		int counting = !access(argv[2], F_OK), failed;
		double t0 = now_ms(), t;
		long got = read_whole(argv[1], &failed);

		t = now_ms() - t0;
		if (got < 0) {
			errors += counting;
			usleep(1000);
			continue;
		}
		if (!counting)
			continue;
		errors += failed;
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
