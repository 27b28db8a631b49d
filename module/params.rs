// SPDX-License-Identifier: GPL-2.0

//! The module parameters, as the rest of the module reads them.
//!
//! The crate root copies them here once at load, before anything else runs, so that no other
//! file needs to reach back into the crate root (where `module!` puts them): data flows from
//! the root down.

use kernel::{
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

/// How reads lock the address space (the `lock_mode` parameter).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    /// One VMA at a time under its per-VMA lock; `mmap_read_lock` only as a fallback.
    PerVma,
    /// `mmap_read_lock` for each `read()` chunk (and for the whole `smaps_rollup` walk).
    Mmap,
}

/// The steps of module init at which `inject_init_failure` can make it fail.
#[derive(Clone, Copy)]
pub(crate) enum InitStep {
    /// The directory tree exists, nothing is registered.
    Dirs = 1,
    /// The first synchronisation created the per-process directories.
    FirstSync = 2,
    /// The second tracepoint probe is registered (the first one has queued a sync).
    SecondProbe = 3,
    /// Everything is registered and a sync is queued.
    Done = 4,
}

static LOCK_MODE_MMAP: Atomic<bool> = Atomic::new(false);
static INJECT_INIT_FAILURE: Atomic<u32> = Atomic::new(0);
static INJECT_VMA_LOCK_EAGAIN: Atomic<u32> = Atomic::new(0);
static INJECT_SYNC_DELAY_MS: Atomic<u32> = Atomic::new(0);

/// Records the parameters; called once by module init, first. `lock_mode` must be 0 or 1.
pub(crate) fn set(
    lock_mode: u32,
    inject_init_failure: u32,
    inject_vma_lock_eagain: u32,
    inject_sync_delay_ms: u32,
) {
    LOCK_MODE_MMAP.store(lock_mode == 1, Relaxed);
    INJECT_INIT_FAILURE.store(inject_init_failure, Relaxed);
    INJECT_VMA_LOCK_EAGAIN.store(inject_vma_lock_eagain, Relaxed);
    INJECT_SYNC_DELAY_MS.store(inject_sync_delay_ms, Relaxed);
}

/// The `inject_sync_delay_ms` parameter (testing only): how long each queued directory sync
/// sleeps before it runs; 0: not at all.
pub(crate) fn inject_sync_delay_ms() -> u32 {
    INJECT_SYNC_DELAY_MS.load(Relaxed)
}

/// The `inject_vma_lock_eagain` parameter (testing only): every how many per-VMA lookups of a
/// cursor one answers `EAGAIN`; 0: none.
pub(crate) fn inject_vma_lock_eagain() -> u32 {
    INJECT_VMA_LOCK_EAGAIN.load(Relaxed)
}

/// The `lock_mode` parameter.
pub(crate) fn lock_mode() -> LockMode {
    if LOCK_MODE_MMAP.load(Relaxed) {
        LockMode::Mmap
    } else {
        LockMode::PerVma
    }
}

/// Whether the `inject_init_failure` parameter asks init to fail at `step`.
pub(crate) fn inject_init_failure(step: InitStep) -> bool {
    let fail = INJECT_INIT_FAILURE.load(Relaxed) == step as u32;
    if fail {
        pr_info!("init fails at step {} (inject_init_failure)\n", step as u32);
    }
    fail
}

/// `Err(ECANCELED)` if `inject_init_failure` asks init to fail at `step`.
pub(crate) fn init_step(step: InitStep) -> Result {
    if inject_init_failure(step) {
        Err(ECANCELED)
    } else {
        Ok(())
    }
}
