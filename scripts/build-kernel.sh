#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (once, then incrementally) the Linux 7.3 kernel the module runs on.
#   scripts/build-kernel.sh debug     -> lockdep/KASAN/KFENCE/kmemleak test kernel
#   scripts/build-kernel.sh bench     -> the same options without debugging
#   scripts/build-kernel.sh bench-inline -> bench's options and
#                                        CONFIG_RUST_INLINE_HELPERS, with clang 22
#   scripts/build-kernel.sh debian    -> Debian's own configuration for 7.3
#                                        (linux-config-7.3), built with gcc-14 as
#                                        Debian builds it: kernel/debian.config
# The tree is unpacked from the root's linux-source package and patched with
# kernel/patches/*.patch (exports only, see Documentation/rust_procmaps.rst);
# the build dir is keyed by flavour, and a stamp of the config fragments,
# patches and toolchain versions decides whether to run make again.

. "$(dirname "$0")/lib.sh"

flavour=${1:-debug}
[ -f "$REPO/kernel/$flavour.config" ] || die "unknown kernel flavour '$flavour'"

# A flavour's fragments: base, then for bench-inline bench's, then its own.
# The debian flavour starts from Debian's file instead of tinyconfig + base.
fragments=()
[ "$flavour" = debian ] || fragments+=("$REPO/kernel/base.config")
[ "$flavour" = bench-inline ] && fragments+=("$REPO/kernel/bench.config")
fragments+=("$REPO/kernel/$flavour.config")
debian_config=/usr/src/linux-config-$KSERIES/config.amd64_none_cloud-amd64.xz
kvars=$(kernel_make_vars "$flavour")
toolchain_stamps=("$ROOT/.rust_procmaps-toolchain")
if [ "$flavour" = bench-inline ]; then
	"$REPO/scripts/setup-toolchain.sh" inline
	toolchain_stamps+=("$ROOT/.rust_procmaps-toolchain-inline")
else
	"$REPO/scripts/setup-toolchain.sh"
fi

src=/build/linux-source-$KSERIES
patch_files=("$REPO"/kernel/patches/*.patch)
obj=/build/obj-$flavour
stamp=$ROOT$obj/.rust_procmaps-stamp
# Keyed by the fragments and the compiler/kernel package versions (not by the
# rest of the root's package list, so adding a tool does not rebuild kernels).
patches=$(cat "${patch_files[@]}" /dev/null | sha256sum | cut -c1-16)
want=$( (cat "${fragments[@]}"
	echo "patches $patches"
	[ "$flavour" != debian ] || in_root dpkg-query -W -f '${Package} ${Version}\n' "linux-config-$KSERIES"
	for t in "${toolchain_stamps[@]}"; do sed 1d "$t"; done) | sha256sum | cut -c1-16)

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -f "$ROOT$obj/arch/x86/boot/bzImage" ]; then
	exit 0
fi

# The marker names the package and the patches; tar keeps the archive's file
# times, so after a re-unpack make only rebuilds what the patches touched.
tree="$(grep '^linux-source' "$ROOT/.rust_procmaps-toolchain") patches $patches"
if [ ! -f "$ROOT$src/Makefile" ] || [ "$(cat "$ROOT$src/.rust_procmaps-pkg" 2>/dev/null)" != "$tree" ]; then
	log "unpacking linux-source-$KSERIES into $src"
	rm -rf "$ROOT$src"
	mkdir -p "$ROOT$src"
	tar -C "$ROOT$src" --strip-components=1 -xf "$ROOT/usr/src/linux-source-$KSERIES.tar.xz"
	touch "$ROOT/build/.rust_procmaps-patched"
	for p in "${patch_files[@]}"; do
		log "applying $(basename "$p")"
		(cd "$ROOT$src" && git apply -p1 "$p") || die "$(basename "$p") does not apply"
		sed -n 's|^+++ b/||p' "$p" >>"$ROOT/build/.rust_procmaps-patched"
	done
	# Every file any patch ever touched is rebuilt: one that a patch no
	# longer changes has the archive's old time again, older than its object.
	if [ ${#patch_files[@]} -gt 0 ]; then
		sort -u -o "$ROOT/build/.rust_procmaps-patched" "$ROOT/build/.rust_procmaps-patched"
		(cd "$ROOT$src" && xargs -r touch <"$ROOT/build/.rust_procmaps-patched")
	fi
	echo "$tree" >"$ROOT$src/.rust_procmaps-pkg"
fi

log "configuring the $flavour kernel"
mkdir -p "$ROOT$obj"
cat "${fragments[@]}" >"$ROOT$obj/fragment.config"
if [ "$flavour" = debian ]; then
	start_config="xz -dc $debian_config >$obj/.config
	make -s $kvars O=$obj olddefconfig >/dev/null
	make -s $kvars O=$obj mod2noconfig >/dev/null"
else
	start_config="make -s $kvars O=$obj tinyconfig >/dev/null"
fi
in_root /bin/bash -c "
	set -e
	cd $src
	$start_config
	scripts/kconfig/merge_config.sh -m -O $obj $obj/.config $obj/fragment.config >/dev/null
	make -s $kvars O=$obj olddefconfig >/dev/null
	make -s $kvars O=$obj rustavailable >/dev/null
"

# Several options silently drop when a dependency is missing: check them all.
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qx -- "$line" "$ROOT$obj/.config" || { log "not set: $line"; missing=1; } ;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		! grep -q "^$opt=" "$ROOT$obj/.config" || { log "still set: $opt"; missing=1; } ;;
	esac
done <"$ROOT$obj/fragment.config"
[ $missing = 0 ] || die "the kernel config lacks options the fragments ask for"

log "building the $flavour kernel (first build 13.5 min for debug, 17 for debian on 2 cores; progress every 30 s)"
start=$(date +%s)
in_root /bin/bash -c "cd $src && make $kvars O=$obj -j$(nproc)" >"$ROOT$obj/build.log" 2>&1 &
pid=$!
while kill -0 $pid 2>/dev/null; do
	sleep 30
	kill -0 $pid 2>/dev/null || break
	log "  ... $(($(date +%s) - start)) s, $(grep -c '^  ' "$ROOT$obj/build.log" || true) steps, last: $(tail -n1 "$ROOT$obj/build.log" | cut -c1-60)"
done
wait $pid || { tail -n 40 "$ROOT$obj/build.log"; die "kernel build failed (log: $ROOT$obj/build.log)"; }
echo "$want" >"$stamp"
log "kernel built in $(($(date +%s) - start)) s: $ROOT$obj/arch/x86/boot/bzImage"
