#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Runs inside the benchmark guest (see scripts/run-bench.sh). Every arm runs
# RUNS times for SECS seconds each, interleaved (the arm order rotates every
# round), all in this one boot. Output: BENCH,... CSV lines on the console.
#   guest-bench.sh RUNS SECS READCOST_REPS
RUNS=$1 SECS=$2 REPS=$3
D=/sys/kernel/debug/rust_procmaps
ARMS="none proc_maps ours_maps ours_mmap proc_rollup ours_rollup"
# numa_maps, where the kernel has it (CONFIG_NUMA).
[ -e /proc/self/numa_maps ] && ARMS="$ARMS proc_numa ours_numa"
NARMS=$(echo $ARMS | wc -w)

mode=
load() {
	[ "$mode" = "$1" ] && return
	rmmod rust_procmaps 2>/dev/null
	insmod /rust_procmaps.ko lock_mode=$1 || echo "BENCH,error,insmod lock_mode=$1"
	mode=$1
}

# rotate K A B C ...: the list started at its K-th element.
rotate() {
	k=$1
	shift
	i=0
	for a; do [ $i -ge "$k" ] && printf '%s ' "$a"; i=$((i + 1)); done
	i=0
	for a; do [ $i -lt "$k" ] && printf '%s ' "$a"; i=$((i + 1)); done
}

counters() {
	echo $(sed -n 's/^\(vma_locked_rcu\|mmap_lock_fallbacks\) //p' $D/stats)
}

path_of() {
	case $1 in
	proc_maps) echo /proc/$2/maps ;;
	ours_maps|ours_mmap) echo $D/$2/maps ;;
	proc_rollup) echo /proc/$2/smaps_rollup ;;
	ours_rollup) echo $D/$2/smaps_rollup ;;
	proc_numa) echo /proc/$2/numa_maps ;;
	ours_numa) echo $D/$2/numa_maps ;;
	esac
}

echo "BENCH,settings,runs=$RUNS,secs=$SECS,cpus=$(nproc),kernel=$(uname -r),arms=$(echo $ARMS | tr ' ' ';')"
round=0
while [ $round -lt "$RUNS" ]; do
	round=$((round + 1))
	# Rotate the order so that no arm always runs first or last in a round.
	order=$(rotate $(((round - 1) % NARMS)) $ARMS)
	for arm in $order; do
		case $arm in ours_mmap) load 1 ;; *) load 0 ;; esac
		rm -f /tmp/ready /tmp/go /tmp/stop
		taskset -c 0 /bench/victim "$SECS" /tmp/ready /tmp/go /tmp/stop "$arm" "$round" >/tmp/victim.out &
		victim=$!
		while [ ! -s /tmp/ready ]; do sleep 0.05; done
		pid=$(cat /tmp/ready)
		if [ "$arm" != none ]; then
			path=$(path_of "$arm" "$pid")
			while [ ! -e "$path" ]; do sleep 0.01; done
			taskset -c 1 /bench/scanner "$path" /tmp/go /tmp/stop "$arm" "$round" >/tmp/scan1.out &
			taskset -c 1 /bench/scanner "$path" /tmp/go /tmp/stop "$arm" "$round" >/tmp/scan2.out &
		fi
		taskset -c 1 /bench/busywait /tmp/stop &
		sleep 0.3
		before=$(counters)
		touch /tmp/go
		wait
		case $arm in ours_maps|ours_rollup)
			# What the module did during this arm: locked per-VMA, fallbacks.
			set -- $before $(counters)
			echo "BENCH,armstats,$arm,$round,$(($3 - $1)),$(($4 - $2))"
		esac
		cat /tmp/victim.out
		[ "$arm" != none ] && cat /tmp/scan1.out /tmp/scan2.out
	done
done

# The reader's side: a target whose mmap_lock is held for long stretches with
# writers queued behind it (bench/hog.c, "busy"), or not ("idle"); one reader
# times every whole read of one file. Half as many rounds as above.
RARMS="busy_none idle_proc_cmdline idle_ours_cmdline proc_cmdline ours_cmdline proc_maps ours_maps proc_rollup ours_rollup"
args_counters() {
	echo $(sed -n 's/^\(args_reads_vma_locked\|args_fallbacks_[a-z_]*\) //p' $D/stats)
}
rpath_of() {
	case $1 in
	*proc_cmdline) echo /proc/$2/cmdline ;;
	*ours_cmdline) echo $D/$2/cmdline ;;
	*) path_of "$1" "$2" ;;
	esac
}
load 0
rruns=$(((RUNS + 1) / 2))
round=0
while [ $round -lt "$rruns" ]; do
	round=$((round + 1))
	for arm in $(rotate $(((round - 1) % 9)) $RARMS); do
		rm -f /tmp/ready /tmp/go /tmp/stop
		case $arm in idle_*) how=idle ;; *) how=busy ;; esac
		taskset -c 0 /bench/hog $how "$SECS" /tmp/ready /tmp/go /tmp/stop "$arm" "$round" >/tmp/hog.out &
		while [ ! -s /tmp/ready ]; do sleep 0.05; done
		pid=$(cat /tmp/ready)
		: >/tmp/readlat.out
		if [ "$arm" != busy_none ]; then
			path=$(rpath_of "$arm" "$pid")
			while [ ! -e "$path" ]; do sleep 0.01; done
			taskset -c 1 /bench/readlat "$path" /tmp/go /tmp/stop "$arm" "$round" >/tmp/readlat.out &
		fi
		sleep 0.3
		before=$(args_counters)
		touch /tmp/go
		wait
		case $arm in *ours_cmdline)
			# Per-VMA reads and fallbacks (no VMA lock, VMA kind, not present).
			set -- $before $(args_counters)
			echo "BENCH,argsstats,$arm,$round,$(($5 - $1)),$(($6 - $2)),$(($7 - $3)),$(($8 - $4))"
		esac
		cat /tmp/hog.out /tmp/readlat.out
	done
done

for n in 1000 10000 60000; do
	/bench/readcost $n "$REPS" maps
done
# VMAs separated by holes, like the victim's.
/bench/readcost 10000 "$REPS" maps -1
for n in 1000 10000 60000; do
	/bench/readcost $n "$REPS" smaps_rollup
done
# One VMA of 1 GiB, every 4 KiB page touched (no THP).
/bench/readcost 1 "$REPS" smaps_rollup 1024
# smaps: 7.3's /proc reads it under per-VMA locks too (drop_rcu()/reacquire_rcu()
# around each VMA's walk), so here our per-VMA reader meets the kernel's own.
/bench/readcost 10000 "$REPS" smaps
/bench/readcost 1 "$REPS" smaps 1024
# numa_maps: read under per-VMA locks by 7.3's /proc too.
if [ -e /proc/self/numa_maps ]; then
	/bench/readcost 10000 "$REPS" numa_maps
	/bench/readcost 1 "$REPS" numa_maps 1024
fi
# PROCMAP_QUERY: every VMA, one query each (name and build ID asked for).
/bench/readcost 10000 "$REPS" query
/bench/readcost 10000 "$REPS" query -1
