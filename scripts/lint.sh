#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make lint`: the module builds clippy-clean and rustfmt-clean (build-module.sh
# enforces both), and checkpatch.pl --strict finds nothing in the C shims, their
# header and the kernel patches. The one exception: the patches carry no
# Signed-off-by (--no-signoff), which whoever sends them adds (DCO). And every
# mutant of tests/mutants.txt still applies to the module (its text found once).

. "$(dirname "$0")/lib.sh"

"$REPO/scripts/build-module.sh" debug >/dev/null
checkpatch=/build/linux-source-$KSERIES/scripts/checkpatch.pl
failed=0
for f in module/helpers.c module/rust_procmaps.h; do
	out=$(in_root "$checkpatch" --strict --no-tree --terse --show-types -f "$f" 2>&1) ||
		{ echo "$out"; failed=1; }
done
for p in "$REPO"/kernel/patches/*.patch; do
	out=$(in_root /bin/bash -c "$checkpatch --strict --no-tree --terse --show-types --no-signoff -" <"$p" 2>&1) ||
		{ echo "$(basename "$p"): $out"; failed=1; }
done
[ $failed = 0 ] || die "checkpatch.pl --strict found problems (above)"
if [ -n "${RPM_MUTANT:-}" ]; then
	log "mutant $RPM_MUTANT applied: tests/mutants.txt not checked against it"
elif command -v python3 >/dev/null; then
	python3 "$REPO/scripts/mutants.py" --check || die "update tests/mutants.txt (above)"
else
	log "no python3 on the host: tests/mutants.txt not checked against the module"
fi
log "lint: rustfmt, clippy, checkpatch --strict clean; every mutant applies"
