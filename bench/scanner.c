// SPDX-License-Identifier: GPL-2.0
/*
 * A monitoring reader: at nice 15, opens PATH, reads it to EOF, closes it,
 * again and again until STOP_FILE exists. Scans count only once GO_FILE
 * exists (the victim's timed part). Then prints
 *   BENCH,scanner,LABEL,RUN,scans,scans_per_s,bytes_per_scan,errors
 * so that a reader that fails fast cannot flatter the victim.
 *   scanner PATH GO_FILE STOP_FILE LABEL RUN
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

int main(int argc, char **argv)
{
	long scans = 0, errors = 0, bytes = 0;
	double start = 0;

	if (argc != 6)
		return 2;
	setpriority(PRIO_PROCESS, 0, 15);
	while (access(argv[3], F_OK)) {
		int counting = start > 0, failed;
		long got;

		if (!counting && !access(argv[2], F_OK)) {
			start = now_ms();
			counting = 1;
		}
		got = read_whole(argv[1], &failed);
		if (got < 0) {
			errors += counting;
			usleep(1000);
			continue;
		}
		if (!counting)
			continue;
		errors += failed;
		bytes += got;
		scans++;
	}
	if (start == 0)
		start = now_ms();
	printf("BENCH,scanner,%s,%s,%ld,%.2f,%.0f,%ld\n", argv[4], argv[5], scans,
	       scans / ((now_ms() - start) / 1e3), scans ? (double)bytes / scans : 0.0, errors);
	return 0;
}
