// SPDX-License-Identifier: GPL-2.0

//! Counters that show which locking path served each read.
//!
//! `/sys/kernel/debug/rust_procmaps/stats` prints one `name value` pair per line. The tests read
//! it to prove that the per-VMA path is really taken and that the `mmap_lock` fallback works.

use kernel::{
    bindings,
    prelude::*,
    seq_file::SeqFile,
    seq_print,
    sync::atomic::{Atomic, Relaxed},
};

use crate::{
    files::{self, FileOps},
    params::{self, LockMode},
};

/// One counter.
pub(crate) struct Counter(Atomic<u64>);

impl Counter {
    const fn new() -> Self {
        Self(Atomic::new(0))
    }

    /// Adds one.
    pub(crate) fn inc(&self) {
        self.0.add(1u64, Relaxed);
    }

    /// Adds `n` (nothing to do for 0).
    pub(crate) fn add(&self, n: u64) {
        if n != 0 {
            self.0.add(n, Relaxed);
        }
    }

    fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// All counters of the module.
pub(crate) struct Stats {
    /// Files opened.
    pub(crate) opens: Counter,
    /// Opens refused by the access check.
    pub(crate) opens_denied: Counter,
    /// `read()` chunks generated (seq_file `start` calls that found an address space).
    pub(crate) chunks: Counter,
    /// VMAs found under RCU and read-locked by mm's `lock_next_vma()`, without `mmap_lock`.
    pub(crate) vma_locked_rcu: Counter,
    /// Of those, found by continuing the iterator within one RCU section (`maps`, and
    /// `smaps_rollup` after a small anonymous VMA; with preemptible RCU).
    pub(crate) vma_iter_continued: Counter,
    /// VMAs locked under `mmap_read_lock` because the per-VMA lock could not be had
    /// (`lock_next_vma()`'s fallback), and switches of a cursor to `mmap_read_lock` after
    /// `EAGAIN`.
    pub(crate) mmap_lock_fallbacks: Counter,
    /// Cursors (read chunks, rollups, queries) that held `mmap_read_lock` for their whole life
    /// (`lock_mode=1`) or from an `EAGAIN` on.
    pub(crate) mmap_locked_chunks: Counter,
    /// VMAs walked for `smaps`/`smaps_rollup` under their per-VMA lock.
    pub(crate) smaps_walks_vma_locked: Counter,
    /// VMAs walked for `smaps`/`smaps_rollup` under `mmap_read_lock` (`lock_mode=1`).
    pub(crate) smaps_walks_mmap_locked: Counter,
    /// VMAs walked for `numa_maps` under their per-VMA lock.
    pub(crate) numa_walks_vma_locked: Counter,
    /// VMAs walked for `numa_maps` under `mmap_read_lock` (`lock_mode=1`, or a fallback).
    pub(crate) numa_walks_mmap_locked: Counter,
    /// Times a `smaps_rollup` read (`lock_mode=1`) dropped `mmap_lock` for a waiting writer.
    pub(crate) rollup_lock_drops: Counter,
    /// Chunks that ended with an error (killed while waiting, task gone, ...).
    pub(crate) errors: Counter,
    /// `PROCMAP_QUERY` lookups made with per-VMA locks only.
    pub(crate) queries_vma_locked: Counter,
    /// `PROCMAP_QUERY` lookups that took `mmap_lock` (fallback, or `lock_mode=1`).
    pub(crate) queries_mmap_locked: Counter,
    /// `PROCMAP_QUERY` ioctls that returned an error (bad input, `ENOENT`, `ESRCH`, ...).
    pub(crate) queries_failed: Counter,
    /// `read()` calls of `cmdline` and `environ`.
    pub(crate) args_reads: Counter,
    /// Their reads of the process's memory (each at most a page) served under the per-VMA
    /// lock of the VMA that holds them, pages present.
    pub(crate) args_reads_vma_locked: Counter,
    /// Those served by `access_remote_vm()` because no VMA could be locked there.
    pub(crate) args_fallbacks_no_vma_lock: Counter,
    /// ... because the VMA is one GUP reads otherwise, or the read leaves it.
    pub(crate) args_fallbacks_vma_kind: Counter,
    /// ... because a page was not present.
    pub(crate) args_fallbacks_not_present: Counter,
    /// Per-process directories created.
    pub(crate) dirs_created: Counter,
    /// Per-process directories removed.
    pub(crate) dirs_removed: Counter,
    /// Runs of the directory synchronisation work.
    pub(crate) dir_syncs: Counter,
}

/// The module's counters.
pub(crate) static STATS: Stats = Stats {
    opens: Counter::new(),
    opens_denied: Counter::new(),
    chunks: Counter::new(),
    vma_locked_rcu: Counter::new(),
    vma_iter_continued: Counter::new(),
    mmap_lock_fallbacks: Counter::new(),
    mmap_locked_chunks: Counter::new(),
    smaps_walks_vma_locked: Counter::new(),
    smaps_walks_mmap_locked: Counter::new(),
    numa_walks_vma_locked: Counter::new(),
    numa_walks_mmap_locked: Counter::new(),
    rollup_lock_drops: Counter::new(),
    errors: Counter::new(),
    queries_vma_locked: Counter::new(),
    queries_mmap_locked: Counter::new(),
    queries_failed: Counter::new(),
    args_reads: Counter::new(),
    args_reads_vma_locked: Counter::new(),
    args_fallbacks_no_vma_lock: Counter::new(),
    args_fallbacks_vma_kind: Counter::new(),
    args_fallbacks_not_present: Counter::new(),
    dirs_created: Counter::new(),
    dirs_removed: Counter::new(),
    dir_syncs: Counter::new(),
};

impl Stats {
    fn show(&self, m: &SeqFile) {
        let rows: [(&str, u64); 25] = [
            ("opens", self.opens.get()),
            ("opens_denied", self.opens_denied.get()),
            ("chunks", self.chunks.get()),
            ("vma_locked_rcu", self.vma_locked_rcu.get()),
            ("vma_iter_continued", self.vma_iter_continued.get()),
            ("mmap_lock_fallbacks", self.mmap_lock_fallbacks.get()),
            ("mmap_locked_chunks", self.mmap_locked_chunks.get()),
            ("smaps_walks_vma_locked", self.smaps_walks_vma_locked.get()),
            (
                "smaps_walks_mmap_locked",
                self.smaps_walks_mmap_locked.get(),
            ),
            ("numa_walks_vma_locked", self.numa_walks_vma_locked.get()),
            ("numa_walks_mmap_locked", self.numa_walks_mmap_locked.get()),
            // Whether processes have a `numa_maps` (only with `CONFIG_NUMA`, as in `/proc`).
            ("numa_maps", cfg!(CONFIG_NUMA).into()),
            ("rollup_lock_drops", self.rollup_lock_drops.get()),
            ("errors", self.errors.get()),
            ("queries_vma_locked", self.queries_vma_locked.get()),
            ("queries_mmap_locked", self.queries_mmap_locked.get()),
            ("queries_failed", self.queries_failed.get()),
            ("args_reads", self.args_reads.get()),
            ("args_reads_vma_locked", self.args_reads_vma_locked.get()),
            (
                "args_fallbacks_no_vma_lock",
                self.args_fallbacks_no_vma_lock.get(),
            ),
            (
                "args_fallbacks_vma_kind",
                self.args_fallbacks_vma_kind.get(),
            ),
            (
                "args_fallbacks_not_present",
                self.args_fallbacks_not_present.get(),
            ),
            ("dirs_created", self.dirs_created.get()),
            ("dirs_removed", self.dirs_removed.get()),
            ("dir_syncs", self.dir_syncs.get()),
        ];
        for (name, value) in rows {
            seq_print!(m, "{} {}\n", name, value);
        }
        seq_print!(
            m,
            "lock_mode {}\n",
            match params::lock_mode() {
                LockMode::PerVma => "per_vma",
                LockMode::Mmap => "mmap",
            }
        );
    }
}

/// `show` callback of the `stats` file (a `single_open` seq_file).
///
/// # Safety
///
/// Called by the seq_file core with a valid `seq_file`.
unsafe extern "C" fn stats_show(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: The seq_file core passes a valid seq_file that lives for this call.
    STATS.show(unsafe { SeqFile::from_raw(m) });
    0
}

/// `open` of the `stats` file.
///
/// # Safety
///
/// Called by the VFS with a valid inode and file.
unsafe extern "C" fn stats_open(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    if let Err(err) = files::opens_allowed() {
        return err.to_errno();
    }
    // SAFETY: `file` is valid; `stats_show` matches the signature `single_open` expects.
    unsafe { bindings::single_open(file, Some(stats_show), core::ptr::null_mut()) }
}

/// File operations of `stats`.
pub(crate) static STATS_FOPS: FileOps = FileOps::seq_file(stats_open, bindings::single_release);
