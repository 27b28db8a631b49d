# SPDX-License-Identifier: GPL-2.0
# Shared settings for the build scripts. Sourced, not run.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${RUST_PROCMAPS_CACHE:-$HOME/.cache/rust_procmaps}
# The Debian 13 root that holds the kernel toolchain and QEMU.
ROOT=$CACHE/trixie-root
# Kernel series we build against; the exact package version is recorded.
KSERIES=7.3

# The bindgen that bench-inline builds with (libclang 22 needs >= 0.72.1;
# trixie's is 0.71.1): built by `cargo install` in setup-toolchain.sh inline.
INLINE_BINDGEN=0.72.1

# The make variables of a kernel flavour's toolchain: the root's clang, except
# for bench-inline, whose CONFIG_RUST_INLINE_HELPERS needs a clang of rustc's
# LLVM major (22) and a bindgen that works with its libclang, and for debian,
# built with gcc-14 as Debian builds it (bindgen still reads the headers with
# libclang; the kernel's rust/Makefile filters gcc's flags for it).
kernel_make_vars() {
	case $1 in
	bench-inline)
		echo "LLVM=-22 BINDGEN=/opt/bindgen-$INLINE_BINDGEN/bin/bindgen LIBCLANG_PATH=/usr/lib/llvm-22/lib" ;;
	debian) echo "CC=gcc-14 HOSTCC=gcc-14" ;;
	*) echo "LLVM=1" ;;
	esac
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The Debian mirror the host already uses (first URIs: line, else sources.list).
host_mirror() {
	local uri
	uri=$(grep -h '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '{print $2}' | grep -v -- '-security' | grep '/debian/\?$' | head -n1 || true)
	if [ -z "$uri" ]; then
		uri=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null |
			awk '{print $2}' | grep '/debian/\?$' | head -n1 || true)
	fi
	[ -n "$uri" ] || die "no Debian mirror found in the host's apt configuration"
	printf '%s\n' "${uri%/}"
}

# Run a command inside the root, in a private mount namespace so that the
# bind mounts vanish with the command. The repo is visible at its own path.
in_root() {
	# The script is an argument, not stdin: QEMU's console needs the terminal.
	unshare -m --propagation private /bin/bash -c '
		set -e
		root=$1 repo=$2
		shift 2
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mount -t sysfs sysfs "$root/sys" 2>/dev/null || mount --rbind /sys "$root/sys"
		mkdir -p "$root$repo"
		mount --bind "$repo" "$root$repo"
		exec chroot "$root" /usr/bin/env -i HOME=/root TERM="${TERM:-dumb}" \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			LANG=C.UTF-8 CI="${CI:-}" /bin/bash -c "cd \"\$0\" && exec \"\$@\"" "$repo" "$@"
	' in_root "$ROOT" "$REPO" "$@"
}
