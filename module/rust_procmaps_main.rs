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
        let dirs = ProcessDirs::new()?;
        let tracepoints = Tracepoints::register(&dirs)?;
        // Processes that existed before the probes: the probes cover everything after.
        dirs.sync()?;
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
