// SPDX-License-Identifier: GPL-2.0
/* CPU-bound noise beside the scanners: spin 2 ms, sleep 1 ms, until STOP_FILE exists. */
#define _GNU_SOURCE
#include <unistd.h>

#include "bench_util.h"

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	while (access(argv[1], F_OK)) {
		double until = now_ms() + 2;

		while (now_ms() < until)
			;
		usleep(1000);
	}
	return 0;
}
