#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Compile the guest programs, static: the tests (with the kernel tree's
# kselftest harness) into the root's /build/tests, the benchmark's into
# /build/bench.

. "$(dirname "$0")/lib.sh"

"$REPO/scripts/setup-toolchain.sh"
mkdir -p "$ROOT/build/tests" "$ROOT/build/bench"
rm -f "$ROOT"/build/tests/* "$ROOT"/build/bench/*
log "compiling the guest tests and benchmark programs"
in_root /bin/bash -c '
	set -e
	for src in tests/*.c bench/*.c; do
		name=$(basename "$src" .c)
		# *_m32.c: a 32-bit program (the compat ioctl path).
		case $name in *_m32) bits=-m32 ;; *) bits= ;; esac
		gcc $bits -static -O2 -Wall -Wextra -Werror -pthread \
			-I /build/linux-source-'"$KSERIES"'/tools/testing/selftests \
			-o /build/$(dirname "$src")/$name "$src"
	done
'
