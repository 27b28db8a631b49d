#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel in QEMU with rust_procmaps.ko, the tests and the benchmark.
#   scripts/run-guest.sh demo          the README's `make run` (debug kernel)
#   scripts/run-guest.sh check         the README's `make check` (debug kernel):
#                                      ends with "N passed, N failed, N skipped"
#   scripts/run-guest.sh check-debian  `make check-debian`: the same tests (but
#                                      KUnit) on Debian's own configuration, the
#                                      signed module, booted without lockdown and
#                                      with lockdown=integrity and =confidentiality
#                                      (as on Secure Boot machines); one summary
#   scripts/run-guest.sh bench [--quick]  `make bench` (Debian's configuration)
#   scripts/run-guest.sh bench-inline  `make bench-inline`: our former bench
#                                      kernel (tinyconfig-based, clang 22) with
#                                      the Rust -> C helpers inlined
#                                      (results/latest-inline/)
#   scripts/run-guest.sh profile       `make profile`: perf profiles of the
#                                      reader-cost cases, /proc's and ours
#                                      (PROFILE="maps:10000:0 smaps_rollup:1:1024"),
#                                      under -icount: samples count instructions
#                                      (PROFILE_PERF=0: the rows' counts alone)
# TESTS=maps_race,access runs only those guest tests (for development);
# STRESS_SECS=600 makes the stress test run that long (default 20 s);
# STRESS_PROC=1 makes it read /proc's files instead of ours;
# BENCH_RUNS / BENCH_SECS / BENCH_REPS override the benchmark's settings;
# READCOST_BOOTS=N: a full benchmark's extra reader-cost boots (default 4);
# BENCH_RUNS=0 ... bench --quick: one boot of the reader-cost rows alone.
# GUEST_APPEND="nokaslr" adds to the guest kernel command line (experiments).
# LOCKDOWN="integrity" limits check-debian to those boots (none integrity
# confidentiality by default); RPM_TREE=2 loads the module with tree=2 (its
# tree in /proc) in any check.

. "$(dirname "$0")/lib.sh"

mode=${1:-demo}
quick=0
[ "${2:-}" = --quick ] && quick=1
case $mode in
# make bench measures on Debian's own kernel configuration (the kernel users run).
bench | profile) flavour=debian ;;
bench-inline) flavour=bench-inline mode=bench ;;
check-debian) flavour=debian mode=check ;;
*) flavour=debug ;;
esac
ko=$("$REPO/scripts/build-module.sh" "$flavour")
# make check: the lint first (rustfmt, clippy, checkpatch --strict).
[ "$mode" = check ] && "$REPO/scripts/lint.sh"
"$REPO/scripts/build-tests.sh"

# The initramfs: busybox, the module, the tests, the benchmark, our /init.
stage=$ROOT/build/initramfs-$flavour
rm -rf "$stage" && mkdir -p "$stage"/{bin,proc,sys,dev,tmp,tests,bench}
cp "$ROOT/usr/bin/busybox" "$stage/bin/"
for applet in $("$ROOT/usr/bin/busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
cp "$ko" "$stage/rust_procmaps.ko"
# A signed module's unsigned twin: lockdown must refuse it (guest-init).
[ "${ko%.signed.ko}" = "$ko" ] || cp "${ko%.signed.ko}.ko" "$stage/rust_procmaps.unsigned.ko"
cp "$(dirname "$ko")/indirect-targets.txt" "$stage/indirect-targets"
cp "$ROOT"/build/tests/* "$stage/tests/"
cp "$ROOT"/build/bench/* "$stage/bench/"
install -m 755 "$REPO/bench/guest-bench.sh" "$stage/bench/guest-bench.sh"
install -m 755 "$REPO/tests/guest-init.sh" "$stage/init"
if [ "$mode" = profile ]; then
	# perf (from the root; installed on first use) and the libraries it links.
	if [ ! -x "$ROOT/usr/bin/perf" ]; then
		log "installing linux-perf into the root"
		in_root /bin/bash -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends -t trixie-backports linux-perf' >>"$CACHE/apt.log" 2>&1 ||
			die "apt-get install linux-perf failed (see $CACHE/apt.log)"
	fi
	in_root /bin/bash -c "cd /build/initramfs-$flavour && mkdir -p usr/bin &&
		cp /usr/bin/perf usr/bin/ &&
		ldd /usr/bin/perf | grep -o '/[^ ]*' | xargs -I{} cp --parents -L {} ."
fi
in_root /bin/bash -c "cd /build/initramfs-$flavour && find . | cpio -o -H newc --quiet | gzip -1 >/build/initramfs-$flavour.gz"

interactive=0
[ "$mode" = demo ] && [ -t 0 ] && [ -t 1 ] && interactive=1
append="console=ttyS0 panic=-1 rpm_mode=$mode rpm_interactive=$interactive hugepages=16"
[ -n "${TESTS:-}" ] && append="$append rpm_tests=$TESTS"
[ -n "${STRESS_SECS:-}" ] && append="$append rpm_stress_secs=$STRESS_SECS"
[ -n "${STRESS_PROC:-}" ] && append="$append rpm_stress_proc=1"
[ -n "${RPM_TREE:-}" ] && append="$append rpm_tree=$RPM_TREE"
# Our debug kernel's configuration has every input the golden tests make
# (tests/procmaps_util.h: input_failed()); another kernel leaves some out.
[ "$flavour" = debug ] && append="$append rpm_all_inputs=1"
[ -n "${GUEST_APPEND:-}" ] && append="$append $GUEST_APPEND"
if [ "$mode" = profile ]; then
	profile=${PROFILE:-maps:10000:0 maps:10000:-1 smaps_rollup:10000:0 smaps_rollup:1:1024 query:10000:0}
	append="$append rpm_profile=$(echo $profile | tr ' ' ,) rpm_bench=0,0,${BENCH_REPS:-40}"
	# PROFILE_PERF=0: the rows' instruction counts alone (a quick A/B of a change).
	[ "${PROFILE_PERF:-1}" = 0 ] && append="$append rpm_profile_perf=0"
fi
if [ "$mode" = bench ]; then
	if [ $quick = 1 ]; then runs=2 secs=2 reps=3; else runs=8 secs=5 reps=15; fi
	runs=${BENCH_RUNS:-$runs} secs=${BENCH_SECS:-$secs} reps=${BENCH_REPS:-$reps}
	append="$append rpm_bench=$runs,$secs,$reps"
fi
qemu=(qemu-system-x86_64 -accel tcg -smp 2 -m 2G -nographic -no-reboot
	-kernel /build/obj-$flavour/arch/x86/boot/bzImage
	-initrd /build/initramfs-$flavour.gz)
# The tests' CPU has protection keys (TCG emulates them), so that smaps shows
# ProtectionKey as on the CPUs users have; the benchmarks keep the default CPU.
[ "$mode" = check ] || [ "$mode" = demo ] && qemu+=(-cpu qemu64,+pku)
# The test kernels have NUMA: the tests run on two nodes of 1 GiB and a vCPU
# each, as a two-socket machine (numa_maps shows pages on both, and pages
# move between nodes on demand); one of Debian's boots keeps one node, as a
# machine without NUMA looks on a NUMA kernel. One vCPU per socket: two
# nodes sharing a package's cache is a topology the kernel WARNs about.
one_node=("${qemu[@]}")
[ "$mode" = check ] &&
	qemu+=(-smp 2,sockets=2 -object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,cpus=0,memdev=m0
		-object memory-backend-ram,id=m1,size=1G -numa node,nodeid=1,cpus=1,memdev=m1)
# A profile samples the guest's CPU clock under -icount (one TCG thread): that
# clock advances one nanosecond per executed instruction, so the samples count
# instructions, the measure the reader-cost rows are judged by.
[ "$mode" = profile ] && qemu=("${qemu[@]/#tcg/tcg,thread=single}" -icount shift=0,sleep=off)
log "booting the $flavour kernel under QEMU (TCG, 2 vCPUs)"

if [ $interactive = 1 ]; then
	in_root "${qemu[@]}" -append "$append"
	exit
fi

timeout=${GUEST_TIMEOUT:-$((1200 + ${STRESS_SECS:-0}))}
# boot LOG APPEND: one boot of the guest, its console into LOG (and, unless
# quiet=1, onto ours too); sets status to QEMU's exit status.
boot() {
	set +e
	in_root timeout --foreground "$timeout" "${qemu[@]}" -append "$2" </dev/null 2>&1 |
		stdbuf -oL tr -d '\r' | if [ "${quiet:-0}" = 1 ]; then cat >"$1"; else tee "$1"; fi
	status=${PIPESTATUS[0]}
	set -e
	[ "$status" = 124 ] && log "the guest did not finish within $timeout s"
	return 0
}

if [ "$flavour" = debian ] && [ "$mode" = check ]; then
	# One boot per lockdown level, each log judged on its own; the last line
	# adds them up.
	sums=()
	for level in ${LOCKDOWN:-none integrity confidentiality}; do
		out=$CACHE/guest-check-debian-$level.log
		a=$append
		[ "$level" = none ] || a="$a lockdown=$level"
		nodes=2
		two_nodes=("${qemu[@]}")
		[ "$level" = confidentiality ] && nodes=1 qemu=("${one_node[@]}")
		log "check on Debian's configuration, lockdown=$level, $nodes NUMA node(s)"
		boot "$out" "$a"
		qemu=("${two_nodes[@]}")
		judged=$("$REPO/scripts/check-guest-log.sh" "$out" check) || true
		echo "$judged" >&2
		sum=$(tail -n1 <<<"$judged")
		log "lockdown=$level: $sum"
		sums+=("$sum")
	done
	printf '%s\n' "${sums[@]}" | awk '{ p += $1; f += $3; s += $5 }
		END { printf "%d passed, %d failed, %d skipped\n", p, f, s; exit f > 0 }'
	exit
fi
out=$CACHE/guest-$mode.log
boot "$out" "$append"
# Every mode's log is checked for kernel reports; a benchmark also needs numbers.
if [ "$mode" = bench ]; then
	# A full run adds READCOST_BOOTS boots that only time the reader-cost rows
	# (golden tests first, as every benchmark boot): one boot's ratios move by
	# 10-20 % from boot to boot, the median over boots much less.
	# readcost_boot LOG: one boot that only times the reader-cost rows.
	readcost_boot() {
		quiet=1 boot "$1" "${append/rpm_bench=$runs,$secs,/rpm_bench=0,0,}"
		grep -a '^BENCH,readcost' "$1" || true
	}
	extra=()
	results=latest
	[ "$flavour" = bench-inline ] && results=latest-inline
	boots=0
	[ $quick = 0 ] && boots=${READCOST_BOOTS:-4}
	for k in $(seq 1 "$boots"); do
		log "reader-cost boot $k of $boots"
		extra+=("$CACHE/guest-$mode-readcost-$k.log")
		readcost_boot "${extra[-1]}"
	done
	# Then READCOST_ICOUNT_BOOTS (default 2) boots of the same rows under
	# -icount shift=0,sleep=off with one TCG thread: the guest's clock advances
	# one nanosecond per executed instruction (both vCPUs'), so the "times"
	# readcost prints are instruction counts, the same from boot to boot.
	icount=()
	iboots=0
	[ $quick = 0 ] && iboots=${READCOST_ICOUNT_BOOTS:-2}
	timed=("${qemu[@]}")
	qemu=("${qemu[@]/#tcg/tcg,thread=single}" -icount shift=0,sleep=off)
	for k in $(seq 1 "$iboots"); do
		log "reader-cost boot $k of $iboots counting instructions (-icount)"
		icount+=("$CACHE/guest-$mode-icount-$k.log")
		readcost_boot "${icount[-1]}"
	done
	qemu=("${timed[@]}")
	report=0
	"$REPO/scripts/bench-report.sh" "$out" "$quick" \
		"$results" "${extra[@]}" --icount "${icount[@]}" || report=$?
	# The extra boots' logs are judged too (kernel reports, golden tests).
	cat "$out" "${extra[@]}" "${icount[@]}" >"$out.all"
	for f in "${extra[@]}" "${icount[@]}"; do
		grep -aq '^== guest done' "$f" ||
			echo "not ok 0 host.$(basename "$f" .log)_done" >>"$out.all"
	done
	"$REPO/scripts/check-guest-log.sh" "$out.all" "$mode"
	exit $report
fi
"$REPO/scripts/check-guest-log.sh" "$out" "$mode"
