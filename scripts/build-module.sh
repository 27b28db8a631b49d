#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build rust_procmaps.ko against the cached kernel of a flavour (debug|bench).
# Output goes to the cache (MO=), never into the repo.

. "$(dirname "$0")/lib.sh"

flavour=${1:-debug}
"$REPO/scripts/build-kernel.sh" "$flavour"
obj=/build/obj-$flavour
out=/build/module-$flavour
mkdir -p "$ROOT$out"
log "building rust_procmaps.ko ($flavour)"
# CLIPPY=1: the module must stay clippy-clean; any warning fails the build.
in_root make -s -C "$obj" LLVM=1 CLIPPY=1 M="$REPO/module" MO="$out" CONFIG_RUST_PROCMAPS=m modules \
	>"$ROOT$out/build.log" 2>&1 || { cat "$ROOT$out/build.log"; die "module build failed"; }
if grep -q 'warning' "$ROOT$out/build.log"; then
	cat "$ROOT$out/build.log" >&2
	die "the module build has warnings"
fi
echo "$ROOT$out/rust_procmaps.ko"
