#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Compile the guest test programs (static, with the kernel tree's kselftest
# harness) into the root's /build/tests.

. "$(dirname "$0")/lib.sh"

"$REPO/scripts/setup-toolchain.sh"
mkdir -p "$ROOT/build/tests"
rm -f "$ROOT"/build/tests/*
log "compiling the guest tests"
in_root /bin/bash -c '
	set -e
	for src in tests/*.c; do
		name=$(basename "$src" .c)
		gcc -static -O2 -Wall -Wextra -Werror -pthread \
			-I /build/linux-source-'"$KSERIES"'/tools/testing/selftests \
			-o /build/tests/$name "$src"
	done
'
