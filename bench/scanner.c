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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	long scans = 0, errors = 0, bytes = 0;
	double start = 0;

	if (argc != 6)
		return 2;
	setpriority(PRIO_PROCESS, 0, 15);
	while (access(argv[3], F_OK)) {
		int counting = start > 0, fd;
		long got = 0;
		ssize_t n;

		if (!counting && !access(argv[2], F_OK)) {
			start = now();
			counting = 1;
		}
		fd = open(argv[1], O_RDONLY);
		if (fd < 0) {
			errors += counting;
			usleep(1000);
			continue;
		}
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			got += n;
		close(fd);
		if (!counting)
			continue;
		if (n < 0)
			errors++;
		bytes += got;
		scans++;
	}
	if (start == 0)
		start = now();
	printf("BENCH,scanner,%s,%s,%ld,%.2f,%.0f,%ld\n", argv[4], argv[5], scans,
	       scans / (now() - start), scans ? (double)bytes / scans : 0.0, errors);
	return 0;
}
