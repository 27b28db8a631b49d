// SPDX-License-Identifier: GPL-2.0

//! `/proc/PID/maps`, `smaps` and `smaps_rollup` re-implemented as debugfs files, read under
//! per-VMA locks.
//!
//! `/sys/kernel/debug/rust_procmaps/PID/{maps,smaps,smaps_rollup}` print exactly what their
//! `/proc` namesakes print, walking the VMA tree under RCU and holding one per-VMA read lock at
//! a time, so that a monitoring reader does not stall the monitored process's
//! `mmap()`/`munmap()`. `smaps` and `smaps_rollup` need the mm exports of `kernel/patches/`;
//! without them the module serves `maps` alone and says so.
//! `/sys/kernel/debug/rust_procmaps/stats` counts which locking path served the reads.
//!
//! See `Documentation/rust_procmaps.rst` for the locking scheme and its invariants.

use kernel::{prelude::*, sync::Arc};

// What the code assumes, as `Kconfig` says; checked here too because an out-of-tree build
// (`make KDIR=...`) does not read `Kconfig`.
#[cfg(not(all(
    CONFIG_X86_64,
    CONFIG_DEBUG_FS,
    CONFIG_PER_VMA_LOCK,
    CONFIG_MMU,
    CONFIG_TRACEPOINTS,
    CONFIG_PAGE_MAPCOUNT
)))]
compile_error!(
    "rust_procmaps needs CONFIG_X86_64, DEBUG_FS, PER_VMA_LOCK, MMU, TRACEPOINTS and PAGE_MAPCOUNT"
);

mod access;
mod debugfs_files;
mod gate;
mod maps_file;
mod mm_lock;
mod process_dirs;
mod smaps_file;
mod smaps_walk;
mod stats;
mod vma_format;

use process_dirs::{ProcessDirs, Tracepoints};

module! {
    type: RustProcmaps,
    name: "rust_procmaps",
    authors: ["rust_procmaps developers"],
    description: "/proc/PID/maps under per-VMA locks, as debugfs files",
    license: "GPL",
    params: {
        lock_mode: u32 {
            default: 0,
            description: "0: per-VMA locks (default); 1: mmap_read_lock for each read() chunk, as /proc did before 6.17 (for comparison)",
        },
        inject_init_failure: u32 {
            default: 0,
            description: "Testing only: make init fail at this step (1: after the directory tree, 2: after the first sync, 3: registering the second probe after the first queued a sync, 4: after everything); 0: never",
        },
    },
}

/// How reads lock the address space (the `lock_mode` parameter).
pub(crate) enum LockMode {
    /// One VMA at a time under its per-VMA lock; `mmap_read_lock` only as a fallback.
    PerVma,
    /// `mmap_read_lock` for each `read()` chunk.
    Mmap,
}

/// The `lock_mode` parameter, checked at load.
pub(crate) fn lock_mode() -> LockMode {
    if module_parameters::lock_mode.value() == 1 {
        LockMode::Mmap
    } else {
        LockMode::PerVma
    }
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

/// Whether the `inject_init_failure` parameter asks init to fail at `step`.
pub(crate) fn inject_init_failure(step: InitStep) -> bool {
    let fail = module_parameters::inject_init_failure.value() == step as u32;
    if fail {
        pr_info!("init fails at step {} (inject_init_failure)\n", step as u32);
    }
    fail
}

/// `Err(ECANCELED)` if `inject_init_failure` asks init to fail at `step`.
fn init_step(step: InitStep) -> Result {
    if inject_init_failure(step) {
        Err(ECANCELED)
    } else {
        Ok(())
    }
}

struct RustProcmaps {
    /// Dropped first: no probe runs and no sync is queued once it is gone.
    _tracepoints: Tracepoints,
    _dirs: Arc<ProcessDirs>,
}

impl kernel::Module for RustProcmaps {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if module_parameters::lock_mode.value() > 1 {
            pr_err!("lock_mode must be 0 (per-VMA) or 1 (mmap_lock)\n");
            return Err(EINVAL);
        }
        gate::init();
        access::init();
        // Every failure below unwinds what the steps before it did, in reverse: `dirs` and
        // `tracepoints` are dropped, and dropping `Tracepoints` (or a failed registration)
        // unregisters the probes and waits for a sync they queued.
        let dirs = ProcessDirs::new()?;
        init_step(InitStep::Dirs)?;
        // Before any probe can queue the work, so that syncs never overlap.
        dirs.sync()?;
        init_step(InitStep::FirstSync)?;
        let tracepoints = Tracepoints::register(&dirs)?;
        // Processes forked or reaped between the first sync and the probes.
        dirs.queue();
        init_step(InitStep::Done)?;
        if smaps_walk::available() {
            pr_info!("loaded: /sys/kernel/debug/rust_procmaps/PID/{{maps,smaps,smaps_rollup}}\n");
        } else {
            pr_info!("loaded: /sys/kernel/debug/rust_procmaps/PID/maps\n");
            pr_warn!(
                "smaps and smaps_rollup unavailable: the kernel lacks the exports of kernel/patches/\n"
            );
        }
        Ok(Self {
            _tracepoints: tracepoints,
            _dirs: dirs,
        })
    }
}
