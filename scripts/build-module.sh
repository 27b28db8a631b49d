#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build rust_procmaps.ko against the cached kernel of a flavour
# (debug|bench|bench-inline|debian; debian's is signed: rust_procmaps.signed.ko).
# Output goes to the cache (MO=), never into the repo.

. "$(dirname "$0")/lib.sh"

flavour=${1:-debug}
"$REPO/scripts/build-kernel.sh" "$flavour"
obj=/build/obj-$flavour
out=/build/module-$flavour
mkdir -p "$ROOT$out"
log "building rust_procmaps.ko ($flavour)"
# CLIPPY=1: the module must stay clippy-clean; any warning fails the build.
in_root make -s -C "$obj" $(kernel_make_vars "$flavour") CLIPPY=1 M="$REPO/module" MO="$out" CONFIG_RUST_PROCMAPS=m modules \
	>"$ROOT$out/build.log" 2>&1 || { cat "$ROOT$out/build.log"; die "module build failed"; }
if grep -q 'warning' "$ROOT$out/build.log"; then
	cat "$ROOT$out/build.log" >&2
	# The objects are up to date now: make a rerun compile (and warn) again.
	rm -f "$ROOT$out"/*.o "$ROOT$out"/*.ko
	die "the module build has warnings"
fi
# Formatted as the kernel's rustfmt config wants (`make rustfmtcheck` in-tree).
in_root rustfmt --edition 2021 --config-path "$obj/source/.rustfmt.toml" \
	--check "$REPO"/module/*.rs >&2 || die "module/*.rs is not rustfmt-clean (see the diff above)"
# The constants the page-walk C and smaps_walk.rs / numa_maps.rs share (the
# kinds of PTE batch, PSS_SHIFT) are written on both sides (C macros, Rust
# consts): they must agree.
c_consts=$(sed -n 's/^#define RUST_PROCMAPS_\(BATCH_[A-Z_]*\|PSS_SHIFT\)[[:space:]]*\([0-9]*\)\([[:space:]].*\)\?$/\1 \2/p' \
	"$REPO/module/rust_procmaps.h" | sort)
rust_consts=$(sed -n 's/^\(pub(crate) \)\?const \(BATCH_[A-Z_]*\|PSS_SHIFT\): \(c_uint\|u32\) = \([0-9]*\);$/\2 \4/p' \
	"$REPO/module/smaps_walk.rs" "$REPO/module/numa_maps.rs" | sort)
[ -n "$c_consts" ] && [ "$c_consts" = "$rust_consts" ] ||
	die "RUST_PROCMAPS_* constants of rust_procmaps.h and the consts of smaps_walk.rs / numa_maps.rs differ:
$(diff <(echo "$c_consts") <(echo "$rust_consts"))"
# One kernel contract: every export of kernel/patches/ is a plain reference of
# the module (and nothing else is referenced weakly), so that a kernel without
# the patches refuses it at load with "Unknown symbol", naming each one.
undefined=$(in_root nm "$out/rust_procmaps.ko" | sed -n 's/^ *\([Uvw]\) \(.*\)$/\1 \2/p')
weak=$(echo "$undefined" | sed -n 's/^[vw] //p' | tr '\n' ' ')
[ -z "$weak" ] || die "rust_procmaps.ko references symbols weakly: $weak"
# The exports to this module by name count too, where the kernel has them
# (numa_maps' with CONFIG_NUMA only).
symvers=$(cut -f2 "$ROOT$obj/Module.symvers")
for sym in $(sed -n -e 's/^+EXPORT_SYMBOL_GPL(\(.*\));$/\1/p' \
	-e 's/^+EXPORT_SYMBOL_FOR_MODULES(\([a-z_0-9]*\), ".*rust_procmaps.*");$/\1/p' \
	"$REPO"/kernel/patches/*.patch); do
	grep -qx "$sym" <<<"$symvers" || continue
	# A here-string, not a pipe: grep -q stops at the first match, and under
	# pipefail the echo it leaves behind (SIGPIPE) would fail the check.
	grep -qx "U $sym" <<<"$undefined" ||
		die "rust_procmaps.ko does not reference $sym, which kernel/patches/ exports for it"
done
# IBT: no kernel function the module hands out a pointer to may be sealed
# (scripts/check-ibt.py); the list goes to the guest's IBT test.
in_root python3 "$REPO/scripts/check-ibt.py" "$obj/vmlinux" "$out/rust_procmaps.ko" \
	"$out/indirect-targets.txt" >&2 || die "IBT check failed"
ko=$out/rust_procmaps.ko
if [ "$flavour" = debian ]; then
	# Signed as a distribution or DKMS signs, with a key the kernel trusts: the
	# one its build generated and built in (kernel/debian.config). On a Secure
	# Boot machine it is the user's MOK key instead (README). The unsigned
	# module stays beside it: under lockdown the guest checks it is refused.
	cp "$ROOT$ko" "$ROOT$out/rust_procmaps.signed.ko"
	ko=$out/rust_procmaps.signed.ko
	in_root "$obj/scripts/sign-file" sha256 "$obj/certs/signing_key.pem" \
		"$obj/certs/signing_key.x509" "$ko" || die "sign-file failed"
fi
echo "$ROOT$ko"
