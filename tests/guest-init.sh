#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test guest (busybox). The kernel command line says what to do:
#   rpm_mode=demo   print our maps of PID 1 and smaps_rollup of a stopped
#                   process, with byte-compares of all three files with /proc
#   rpm_mode=check  run every test in /tests and check the module unloads cleanly
#   rpm_mode=bench  run the contention benchmark (rpm_bench=RUNS,SECS,REPS)
#   rpm_mode=profile  perf profiles of readcost (rpm_profile=FILE:N:MB,...)
#   rpm_tests=a,b   run only these tests (default: all; "kunit": the module's
#                   KUnit suites)
#   rpm_stress_secs=N  how long the stress test runs (default 20)
#   rpm_stress_proc=1  the stress test reads /proc's files instead of ours
#   rpm_all_inputs=1   the kernel has every input the golden tests make: one
#                      that cannot be made fails (RPM_ALL_INPUTS)
#   rpm_interactive=1  then give a shell on the console
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t debugfs -o mode=755 debugfs /sys/kernel/debug
mount -t tmpfs tmp /tmp
mode=$(sed -n 's/.*rpm_mode=\([a-z]*\).*/\1/p' /proc/cmdline)
only=$(sed -n 's/.*rpm_tests=\([a-z0-9_,]*\).*/\1/p' /proc/cmdline)
stress=$(sed -n 's/.*rpm_stress_secs=\([0-9]*\).*/\1/p' /proc/cmdline)
[ -n "$stress" ] && export STRESS_SECS=$stress
grep -q 'rpm_stress_proc=1' /proc/cmdline && export STRESS_PROC=1
grep -q 'rpm_all_inputs=1' /proc/cmdline && export RPM_ALL_INPUTS=1
interactive=$(sed -n 's/.*rpm_interactive=\([0-9]\).*/\1/p' /proc/cmdline)
# rpm_tree=N: load the module with tree=N (2: its tree in /proc on any kernel);
# tests that reload it pass the same (RPM_MODULE_PARAMS).
tree=$(sed -n 's/.*rpm_tree=\([0-9]\).*/\1/p' /proc/cmdline)
[ -n "$tree" ] && export RPM_MODULE_PARAMS="tree=$tree"

tap() { echo "$1 0 guest.$2"; }

mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
lockdown=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/security/lockdown 2>/dev/null)
echo "== rust_procmaps guest up: $(uname -r), $(nproc) CPUs, mode=$mode, lockdown=${lockdown:-none}"
# Forget leaks from boot so that a later scan shows only what happened since.
[ -f /sys/kernel/debug/kmemleak ] && echo clear > /sys/kernel/debug/kmemleak
# Under lockdown, as on a Secure Boot machine, only a signed module loads.
if [ -n "$lockdown" ] && [ "$lockdown" != none ] && [ -f /rust_procmaps.unsigned.ko ]; then
	if insmod /rust_procmaps.unsigned.ko 2>/dev/null; then
		tap "not ok" unsigned_module_refused
		rmmod rust_procmaps
	else
		tap ok unsigned_module_refused
	fi
fi
# shellcheck disable=SC2086 # the parameters are words
if insmod /rust_procmaps.ko $RPM_MODULE_PARAMS; then tap ok insmod; else tap "not ok" insmod; fi
# Where the module made its tree: in /proc when debugfs is locked down (or tree=2).
D=/sys/kernel/debug/rust_procmaps
[ -d /proc/rust_procmaps ] && D=/proc/rust_procmaps
export RPM_TREE=$D
echo "== the module's tree: $D"

case $mode in
demo)
	echo "== cat $D/1/maps"
	cat $D/1/maps
	# A stopped process, so that nothing changes between the two reads.
	sleep 600 &
	pid=$!
	kill -STOP $pid
	sleep 0.3
	echo "== cat $D/$pid/smaps_rollup (a stopped 'sleep')"
	cat $D/$pid/smaps_rollup
	for f in maps smaps smaps_rollup; do
		if cmp /proc/$pid/$f $D/$pid/$f; then
			echo "== $f identical to /proc/$pid/$f ($(wc -c < /proc/$pid/$f) bytes)"
		else
			echo "== $f DIFFERS from /proc/$pid/$f"
		fi
	done
	kill -KILL $pid
	echo "== $D/stats"
	cat $D/stats
	if [ "$interactive" = 1 ]; then
		echo "== guest shell: try 'cat $D/\$\$/smaps_rollup'; 'exit' powers off"
		setsid cttyhack sh
	fi
	;;
bench)
	# Timings are only worth something if the files are /proc's: the golden
	# tests first, on the kernel and module build being measured.
	for t in maps_golden smaps_golden; do
		echo "== test $t"
		/tests/$t
		echo "== exit $t $?"
	done
	# rpm_bench=RUNS,SECS,REPS
	set -- $(sed -n 's/.*rpm_bench=\([0-9]*\),\([0-9]*\),\([0-9]*\).*/\1 \2 \3/p' /proc/cmdline)
	/bench/guest-bench.sh "$1" "$2" "$3"
	;;
profile)
	# rpm_profile=FILE:N:MB,...: perf profile of readcost reading /proc's file,
	# then ours, the flat profile of each (the kernel's side of the read).
	reps=$(sed -n 's/.*rpm_bench=[0-9]*,[0-9]*,\([0-9]*\).*/\1/p' /proc/cmdline)
	echo 0 > /proc/sys/kernel/kptr_restrict
	for case in $(sed -n 's/.*rpm_profile=\([a-z_0-9:,-]*\).*/\1/p' /proc/cmdline | tr , ' '); do
		set -- $(echo "$case" | tr : ' ')
		for side in proc ours; do
			echo "== profile $side $1 N=$2 MB=$3"
			if grep -q 'rpm_profile_perf=0' /proc/cmdline; then
				# The instruction counts alone, without perf's sampling.
				READCOST_ONLY=$side /bench/readcost "$2" "$reps" "$1" "$3"
				continue
			fi
			READCOST_ONLY=$side /usr/bin/perf record -e cpu-clock -F 4000 -g \
				-o /tmp/perf.data /bench/readcost "$2" "$reps" "$1" "$3" 2>/dev/null
			/usr/bin/perf report -i /tmp/perf.data --stdio --no-children -g none -n \
				--sort sym --percent-limit 0.5 2>/dev/null | grep -v '^$' |
				grep -v '^# [^S]' | grep -v '^#$'
			# The hottest instructions of the module (symbol+offset, as in
			# objdump -d of the .ko) or of the kernel: where in a function.
			echo "== hot addresses $side $1 N=$2 MB=$3"
			/usr/bin/perf script -i /tmp/perf.data -G -F ip,sym,symoff 2>/dev/null |
				awk '{ print $2 }' | sort | uniq -c | sort -rn | head -40
		done
	done
	;;
check)
	# KUnit: the module's suites of pure logic (formatting, tables, constants),
	# run now (the kernel does not autorun them at every module load); each case
	# becomes a TAP line.
	case ",$only," in
	,,|*,kunit,*)
		echo "== test kunit"
		for suite in /sys/kernel/debug/kunit/rust_procmaps_*; do
			[ -d "$suite" ] || continue
			name=${suite##*/}
			echo 1 > "$suite/run"
			sed -n 's/^[[:space:]]*\(not ok\|ok\) [0-9]* \([a-z0-9_]*\)\( #.*\)\{0,1\}$/\1 \2\3/p' "$suite/results" |
				grep -v " $name\( #.*\)\{0,1\}$" | while read -r line; do
				case $line in
				"not ok "*) tap "not ok" "kunit.$name.${line#not ok }" ;;
				"ok "*) tap ok "kunit.$name.${line#ok }" ;;
				esac
			done
			grep -q "^[[:space:]]*ok [0-9]* $name" "$suite/results" ||
				{ tap "not ok" "kunit.$name"; cat "$suite/results"; }
		done
		if ! ls -d /sys/kernel/debug/kunit/rust_procmaps_* >/dev/null 2>&1; then
			# Debian's kernel has no KUnit; ours must (rpm_all_inputs).
			if [ -d /sys/kernel/debug/kunit ] || [ -n "${RPM_ALL_INPUTS:-}" ]; then
				tap "not ok" "kunit.no_suites"
			else
				echo "ok 0 guest.kunit # SKIP this kernel has no KUnit (CONFIG_KUNIT)"
			fi
		fi
		;;
	esac
	for t in /tests/*; do
		[ -x "$t" ] || continue
		case ",$only," in ,,|*",${t##*/},"*) ;; *) continue ;; esac
		echo "== test ${t##*/}"
		# A 32-bit program (the compat ioctl path) needs IA32_EMULATION, which
		# Debian's kernel has and our debug kernel has not: where it cannot
		# run (the shell then takes it for a script), it does not list its
		# tests (the harness's -l exits with KSFT_SKIP, 4, once it has).
		case ${t##*/} in *_m32)
			"$t" -l >/dev/null 2>&1
			if [ $? != 4 ]; then
				echo "ok 0 guest.${t##*/} # SKIP this kernel runs no 32-bit programs (CONFIG_IA32_EMULATION)"
				continue
			fi
		esac
		"$t"
		echo "== exit ${t##*/} $?"
		# A group that fails half-way through a reload leaves the module out:
		# said once, and loaded again so that the next group tests something.
		if [ ! -d /sys/module/rust_procmaps ]; then
			tap "not ok" "module_loaded_after_${t##*/}"
			# shellcheck disable=SC2086
			insmod /rust_procmaps.ko $RPM_MODULE_PARAMS
		fi
	done
	echo "== $D/stats"
	cat $D/stats
	;;
esac

# Every file closed, every reader gone: nothing may still pin the module.
refcnt=$(cat /sys/module/rust_procmaps/refcnt 2>/dev/null)
if [ "$refcnt" = 0 ]; then tap ok refcnt_zero; else tap "not ok" "refcnt_zero ($refcnt)"; fi
if rmmod rust_procmaps; then tap ok rmmod; else tap "not ok" rmmod; fi
if [ -f /sys/kernel/debug/kmemleak ]; then
	# kmemleak only reports objects older than 5 s, found on two scans.
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo scan > /sys/kernel/debug/kmemleak
	if [ -s /sys/kernel/debug/kmemleak ]; then
		tap "not ok" kmemleak
		cat /sys/kernel/debug/kmemleak
	else
		tap ok kmemleak
	fi
fi
echo "== guest done"
reboot -f
