#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make rust-analyzer`: module/rust-project.json for editors, made by the
# kernel's own `rust-analyzer` target for external modules against our debug
# kernel build, with the toolchain root's paths (/build, /usr) rewritten to
# where the root is on this host, so that rust-analyzer resolves `kernel::`,
# `bindings::` and the sysroot's `core` from here.

. "$(dirname "$0")/lib.sh"

"$REPO/scripts/build-module.sh" debug >/dev/null
out=/build/module-debug
in_root make -s -C /build/obj-debug LLVM=1 M="$REPO/module" MO="$out" rust-analyzer
python3 - "$ROOT$out/rust-project.json" "$ROOT" "$REPO/module/rust-project.json" <<'PY'
import json, sys

src, root, dst = sys.argv[1:]

def host(value):
    if isinstance(value, str) and value.startswith(("/build/", "/usr/")):
        return root + value
    if isinstance(value, str) and value == "/usr":
        return root + value
    if isinstance(value, list):
        return [host(v) for v in value]
    if isinstance(value, dict):
        return {k: host(v) for k, v in value.items()}
    return value

with open(src) as f:
    project = host(json.load(f))
with open(dst, "w") as f:
    json.dump(project, f, indent=1)
print(f"{dst}: {len(project['crates'])} crates, sysroot {project['sysroot']}")
PY
