#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Turn a benchmark guest log into results: raw CSV, table.md, max_latency.png.
# A full run also updates results/latest/ in the repo (what the README shows;
# results/latest-inline/ for make bench-inline); a --quick run (CI smoke) only
# checks that every arm produced numbers.
#   scripts/bench-report.sh GUEST_LOG QUICK(0|1) [RESULTS_DIR [READCOST_LOG...]
#                           [--icount ICOUNT_LOG...]]
# READCOST_LOGs are the logs of further boots that only timed the reader-cost
# rows: table.md then also gives each row's ratio per boot and their median.
# ICOUNT_LOGs: such boots under -icount, their times instruction counts.

. "$(dirname "$0")/lib.sh"

log_file=$1 quick=${2:-0} dir=${3:-latest}
shift $(($# < 3 ? $# : 3))
stamp=$(date -u +%Y%m%d-%H%M%S)
out=$ROOT/build/bench-results/$stamp
mkdir -p "$out"
cp "$log_file" "$out/guest.log"
extra=()
k=0
kind=readcost
for f in "$@"; do
	if [ "$f" = --icount ]; then
		kind=icount k=0
		extra+=(--icount)
		continue
	fi
	k=$((k + 1))
	cp "$f" "$out/$kind-boot-$k.log"
	extra+=("/build/bench-results/$stamp/$kind-boot-$k.log")
done
set +e
in_root python3 bench/summarize.py "/build/bench-results/$stamp/guest.log" "/build/bench-results/$stamp" \
	"${extra[@]}"
status=$?
set -e
in_root gnuplot -e "dir='/build/bench-results/$stamp'; title='rust_procmaps contention benchmark, $stamp UTC'" bench/plot.gp ||
	log "plot failed"
log "results in $out"
if [ "$quick" = 0 ] && [ $status = 0 ]; then
	mkdir -p "$REPO/results/$dir"
	cp "$out"/{table.md,victim_runs.csv,scanner_runs.csv,readcost.csv,max_latency.png} "$REPO/results/$dir/"
	for f in readcost_boots.csv readcost_icount.csv readlat_runs.csv hogvictim_runs.csv; do
		if [ -f "$out/$f" ]; then
			cp "$out/$f" "$REPO/results/$dir/"
		fi
	done
	log "updated results/$dir/"
fi
exit $status
