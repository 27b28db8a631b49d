// SPDX-License-Identifier: GPL-2.0

//! `/proc/PID/maps`, `smaps`, `smaps_rollup`, `cmdline` and `environ` re-implemented as
//! debugfs files, read under per-VMA locks.
//!
//! On a kernel that is locked down (Secure Boot), debugfs refuses files with an `ioctl`, and
//! the same tree is served as `/proc/rust_procmaps/PID/...` instead ([`files`]; parameter
//! `tree`).
//!
//! `/sys/kernel/debug/rust_procmaps/PID/{maps,smaps,smaps_rollup}` print exactly what their
//! `/proc` namesakes print, walking the VMA tree under RCU and holding one per-VMA read lock at
//! a time, so that a monitoring reader does not stall the monitored process's
//! `mmap()`/`munmap()`. `cmdline` and `environ` read the process's pages under the lock of the
//! VMA that holds them ([`remote_mem`]). It needs the exports of `kernel/patches/`: a kernel without them
//! refuses to load it ("Unknown symbol", naming each one).
//! `/sys/kernel/debug/rust_procmaps/stats` counts which locking path served the reads.
//!
//! See `Documentation/rust_procmaps.rst` for the locking scheme and its invariants.
//!
//! # Layout
//!
//! One file per concern; data flows one way, from the files down to the locks:
//!
//! ```text
//! process_dirs ─> maps_file ─┬─> query ───┐      (views: format only)
//!   (the tree,     smaps_file ┼─> vma_seq ─┼─> target ─> access   (pid, mmget, /proc's check)
//!    files)                   │  (seq_file │
//!                             │   adapter) └─> mm_lock ─> params, stats
//!                             ├─> vma_format ─> seq_out  (VmaCursor: every locking decision)
//!                             └─> smaps_walk ─> mm_lock
//! ```
//!
//! `gate`, `access`, `params`, `seq_out` and `files` are leaves; `stats`
//! only reads leaves. No file imports the crate root, but for the `LocalModule` type that
//! `module!` generates there (`files`, for `file_operations::owner`); the root
//! copies the parameters into `params` at load.

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
mod args_files;
mod files;
mod gate;
mod maps_file;
mod mm_lock;
#[cfg(CONFIG_NUMA)]
mod numa_maps;
mod params;
mod process_dirs;
mod query;
mod remote_mem;
mod seq_out;
mod smaps_file;
mod smaps_walk;
mod stats;
mod target;
mod vma_fields;
mod vma_format;
mod vma_seq;

use files::Fs;
use params::{init_step, InitStep};
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
        inject_vma_lock_eagain: u32 {
            default: 0,
            description: "Testing only: every N-th per-VMA lookup of a read or query answers EAGAIN, as for a VMA whose lock count would overflow, so that it falls back to mmap_read_lock as /proc does",
        },
        tree: u32 {
            default: 0,
            description: "Where the files are: 0: /sys/kernel/debug/rust_procmaps, or /proc/rust_procmaps when the kernel is locked down (debugfs then refuses maps' PROCMAP_QUERY ioctl); 1: debugfs; 2: /proc",
        },
        inject_sync_delay_ms: u32 {
            default: 0,
            description: "Testing only: each queued directory sync (after a fork or a reaped process) first sleeps this many milliseconds, so that unloading finds one pending; 0: none",
        },
    },
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
        let fs = match module_parameters::tree.value() {
            0 if files::debugfs_locked_down() => Fs::Proc,
            0 | 1 => Fs::Debugfs,
            2 => Fs::Proc,
            _ => {
                pr_err!("tree must be 0 (debugfs unless locked down), 1 (debugfs) or 2 (/proc)\n");
                return Err(EINVAL);
            }
        };
        params::set(
            module_parameters::lock_mode.value(),
            module_parameters::inject_init_failure.value(),
            module_parameters::inject_vma_lock_eagain.value(),
            module_parameters::inject_sync_delay_ms.value(),
        );
        // Every failure below unwinds what the steps before it did, in reverse: `dirs` and
        // `tracepoints` are dropped, and dropping `Tracepoints` (or a failed registration)
        // unregisters the probes and waits for a sync they queued.
        let dirs = ProcessDirs::new(fs)?;
        init_step(InitStep::Dirs)?;
        // Before any probe can queue the work, so that syncs never overlap.
        dirs.sync()?;
        init_step(InitStep::FirstSync)?;
        let tracepoints = Tracepoints::register(&dirs)?;
        // Processes forked or reaped between the first sync and the probes.
        dirs.queue();
        init_step(InitStep::Done)?;
        // Last: from here on init cannot fail, so an open file cannot outlive the module.
        files::allow_opens();
        pr_info!(
            "loaded: {}/PID/{{maps,smaps,smaps_rollup,{}cmdline,environ}}\n",
            fs.path(),
            if cfg!(CONFIG_NUMA) { "numa_maps," } else { "" }
        );
        Ok(Self {
            _tracepoints: tracepoints,
            _dirs: dirs,
        })
    }
}
