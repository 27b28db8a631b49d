#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Judge a guest's serial log: count the TAP results, fail on any kernel splat,
# and print the summary line "N passed, N failed, N skipped".
set -uo pipefail
log=$1 mode=${2:-check}

passed=$(grep -aE '^ok [0-9]+ ' "$log" | grep -avc '# SKIP' || true)
skipped=$(grep -aE '^ok [0-9]+ ' "$log" | grep -ac '# SKIP' || true)
failed=$(grep -acE '^not ok [0-9]+ ' "$log" || true)

# Kernel reports that fail the run whatever the tests said.
splat='(WARNING:|BUG:|Oops|general protection fault|INFO: possible|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|lock held when returning|KASAN:|KFENCE:|UBSAN:|unreferenced object|detected stall|blocked for more than|Kernel panic|Call Trace:|buggy .* function)'
# Allocation-failure reports (warn_alloc: "page allocation failure",
# "vmalloc error", with their stack dump) are what the fault-injection test
# asks for; drop exactly those blocks, through the end of their stack trace.
filtered=$(mktemp)
trap 'rm -f "$filtered"' EXIT
# And debugfs' WARN "debugfs file owner did not clean up at exit" for our
# module while it is being unloaded ("rust_procmaps(O-)"): a race of 7.3's
# open_proxy_open() with rmmod, not a leak (Documentation/rust_procmaps.rst,
# "An open racing rmmod"); only that block, through its stack trace's end.
awk '/(page allocation failure|vmalloc error): /{skip=1}
	/debugfs file owner did not clean up at exit: /{buf=""; held=1; going=0}
	held {buf = buf $0 "\n"; if (/Modules linked in:.*rust_procmaps\([A-Z]*-\)/) going=1
		if (/<\/TASK>/) {if (!going) printf "%s", buf; held=0}
		next}
	!skip{print} skip && /<\/TASK>/{skip=0}
	END {if (held) printf "%s", buf}' \
	"$log" >"$filtered"
if grep -aE "$splat" "$filtered" >/dev/null; then
	echo "guest log has kernel reports:"
	grep -naE "$splat" "$filtered" | head -n 20
	echo "not ok 0 host.guest_log_clean"
	failed=$((failed + 1))
else
	passed=$((passed + 1))
fi
if grep -aq '^== guest done' "$log"; then
	passed=$((passed + 1))
else
	echo "not ok 0 host.guest_finished (crash, hang or timeout)"
	failed=$((failed + 1))
fi
if [ "$mode" = check ] && [ "$passed" -lt 3 ]; then
	echo "not ok 0 host.tests_ran"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
