// SPDX-License-Identifier: GPL-2.0

//! Whether the running kernel has the exports `smaps` and `smaps_rollup` need.
//!
//! They come from `kernel/patches/` and are referenced weakly (`helpers.c`): on a kernel
//! without the patch they resolve to NULL, the module still loads, and only `maps` is served.
//! A leaf of its own so that `stats` and the directory code can ask without depending on the
//! page walk.

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
extern "C" {
    fn rust_procmaps_smaps_exports() -> bool;
}

/// Whether every export the smaps walk needs is resolved.
pub(crate) fn available() -> bool {
    // SAFETY: Only tests weak symbol addresses.
    unsafe { rust_procmaps_smaps_exports() }
}
