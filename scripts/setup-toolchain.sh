#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build (once) a Debian 13 root with rustc + rust-src from trixie-backports,
# bindgen, clang/lld, QEMU, busybox and the linux-source-7.3 package.
# Idempotent: a stamp records the package set; a changed set rebuilds.
# `setup-toolchain.sh inline` also installs what the bench-inline kernel needs
# (kernel_make_vars in lib.sh): clang/lld/llvm 22 from trixie, and bindgen
# $INLINE_BINDGEN built with the host's `cargo install`.

. "$(dirname "$0")/lib.sh"

PKGS_BPO="rustc rust-src rust-clippy rust-analyzer linux-source-$KSERIES linux-config-$KSERIES"
PKGS="bindgen clang lld llvm make flex bison bc libelf-dev libssl-dev cpio kmod
python3 busybox-static xz-utils libc6-dev gcc qemu-system-x86 rustfmt gnuplot-nox
ca-certificates perl zstd gcc-multilib"
want="v1 $PKGS_BPO $PKGS"
stamp=$ROOT/.rust_procmaps-toolchain

setup_inline() {
	local istamp=$ROOT/.rust_procmaps-toolchain-inline
	local iwant="v1 clang-22 lld-22 llvm-22 libclang1-22 bindgen-cli $INLINE_BINDGEN"
	[ -f "$istamp" ] && [ "$(head -n1 "$istamp")" = "$iwant" ] && return
	log "installing clang 22 into the root and building bindgen $INLINE_BINDGEN (about 2 min)"
	in_root /bin/bash -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends clang-22 lld-22 llvm-22 libclang1-22' >>"$CACHE/apt.log" 2>&1 ||
		die "apt-get install clang-22 failed (see $CACHE/apt.log)"
	command -v cargo >/dev/null || die "bench-inline needs the host's cargo to build bindgen"
	cargo install --locked --quiet bindgen-cli --version "=$INLINE_BINDGEN" \
		--root "$ROOT/opt/bindgen-$INLINE_BINDGEN" || die "cargo install bindgen-cli failed"
	{
		echo "$iwant"
		in_root dpkg-query -W -f '${Package} ${Version}\n' clang-22 lld-22 llvm-22
		in_root "/opt/bindgen-$INLINE_BINDGEN/bin/bindgen" --version
	} >"$istamp"
}

if [ -f "$stamp" ] && [ "$(head -n1 "$stamp")" = "$(echo $want)" ]; then
	[ "${1:-}" = inline ] && setup_inline
	exit 0
fi

mirror=$(host_mirror)
mkdir -p "$CACHE"

if ! command -v debootstrap >/dev/null; then
	log "installing debootstrap on the host"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
	log "debootstrap trixie into $ROOT (about 30 s)"
	rm -rf "$ROOT"
	debootstrap --variant=minbase trixie "$ROOT" "$mirror" >"$CACHE/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$CACHE/debootstrap.log"; die "debootstrap failed"; }
fi

cat >"$ROOT/etc/apt/sources.list.d/debian.sources" <<SRC
Types: deb
URIs: $mirror
Suites: trixie trixie-updates trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
rm -f "$ROOT/etc/apt/sources.list"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true

log "installing the toolchain inside the root (about 2 min)"
in_root /bin/bash -c "
	set -e
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends -t trixie-backports $PKGS_BPO
	apt-get install -y -qq --no-install-recommends $(echo $PKGS)
	apt-get clean
" >"$CACHE/apt.log" 2>&1 || { tail -n 30 "$CACHE/apt.log"; die "apt-get in the root failed"; }

{
	echo $want
	in_root dpkg-query -W -f '${Package} ${Version}\n' rustc rust-src bindgen clang lld \
		"linux-source-$KSERIES" qemu-system-x86
} >"$stamp"
log "toolchain ready:"
sed 1d "$stamp" >&2
[ "${1:-}" = inline ] && setup_inline
exit 0
