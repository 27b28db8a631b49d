// SPDX-License-Identifier: GPL-2.0

//! Whether the running kernel has the exports of `kernel/patches/` that whole features (or,
//! for `lock_next_vma()`, the cursor's faster path) need.
//!
//! They are referenced weakly (`helpers.c`): on a kernel without the patches they resolve to
//! NULL, the module still loads, and the feature is off (said at load and in `stats`). A leaf
//! of its own so that `stats` and the directory code can ask without depending on the features.
//! (`gate.rs` and `access.rs` test their own exports: they fall back to something else.)

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
extern "C" {
    fn rust_procmaps_smaps_exports() -> bool;
    fn rust_procmaps_build_id_parse_file_exported() -> bool;
    fn rust_procmaps_lock_next_vma_exported() -> bool;
}

/// Whether every export the smaps walk needs is resolved: `smaps` and `smaps_rollup` exist.
pub(crate) fn smaps_available() -> bool {
    // SAFETY: Only tests weak symbol addresses.
    unsafe { rust_procmaps_smaps_exports() }
}

/// Whether `build_id_parse_file()` is exported: `PROCMAP_QUERY` can answer build IDs.
pub(crate) fn build_id_available() -> bool {
    // SAFETY: Only tests a weak symbol address.
    unsafe { rust_procmaps_build_id_parse_file_exported() }
}

/// Whether `lock_next_vma()` is exported: the cursor's per-VMA step is mm's own
/// ([`crate::mm_lock`]).
pub(crate) fn lock_next_vma_available() -> bool {
    // SAFETY: Only tests a weak symbol address.
    unsafe { rust_procmaps_lock_next_vma_exported() }
}
