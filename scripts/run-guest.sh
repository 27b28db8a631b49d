#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel flavour in QEMU with rust_procmaps.ko and the test programs.
#   scripts/run-guest.sh demo    the README's `make run`
#   scripts/run-guest.sh check   the README's `make check`: ends with "N passed, N failed"
# TESTS=maps_race,access runs only those guest tests (for development);
# STRESS_SECS=600 makes the stress test run that long (default 20 s).

. "$(dirname "$0")/lib.sh"

mode=${1:-demo}
flavour=debug
ko=$("$REPO/scripts/build-module.sh" "$flavour")
"$REPO/scripts/build-tests.sh"

# The initramfs: busybox, the module, the tests, our /init.
stage=$ROOT/build/initramfs-$flavour
rm -rf "$stage" && mkdir -p "$stage"/{bin,proc,sys,dev,tmp,tests}
cp "$ROOT/usr/bin/busybox" "$stage/bin/"
for applet in $("$ROOT/usr/bin/busybox" --list); do
	[ "$applet" = busybox ] || ln -s busybox "$stage/bin/$applet"
done
cp "$ko" "$stage/rust_procmaps.ko"
cp "$ROOT"/build/tests/* "$stage/tests/"
install -m 755 "$REPO/tests/guest-init.sh" "$stage/init"
in_root /bin/bash -c "cd /build/initramfs-$flavour && find . | cpio -o -H newc --quiet | gzip -1 >/build/initramfs-$flavour.gz"

interactive=0
[ "$mode" = demo ] && [ -t 0 ] && [ -t 1 ] && interactive=1
append="console=ttyS0 panic=-1 rpm_mode=$mode rpm_interactive=$interactive hugepages=16"
[ -n "${TESTS:-}" ] && append="$append rpm_tests=$TESTS"
[ -n "${STRESS_SECS:-}" ] && append="$append rpm_stress_secs=$STRESS_SECS"
qemu=(qemu-system-x86_64 -accel tcg -smp 2 -m 2G -nographic -no-reboot
	-kernel /build/obj-$flavour/arch/x86/boot/bzImage
	-initrd /build/initramfs-$flavour.gz -append "$append")
log "booting the $flavour kernel under QEMU (TCG, 2 vCPUs)"

if [ $interactive = 1 ]; then
	in_root "${qemu[@]}"
	exit
fi

out=$CACHE/guest-$mode.log
timeout=${GUEST_TIMEOUT:-$((1200 + ${STRESS_SECS:-0}))}
set +e
in_root timeout --foreground "$timeout" "${qemu[@]}" </dev/null 2>&1 | tr -d '\r' | tee "$out"
status=${PIPESTATUS[0]}
set -e
[ "$status" = 124 ] && log "the guest did not finish within $timeout s"
"$REPO/scripts/check-guest-log.sh" "$out" "$mode"
