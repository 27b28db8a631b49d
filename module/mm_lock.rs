// SPDX-License-Identifier: GPL-2.0

//! Finding and locking the next VMA of an address space: all the delicate locking lives here.
//!
//! # The scheme
//!
//! A reader asks for "the first VMA that ends above `from`" ([`lock_next_vma`]), where `from`
//! is the end of the last VMA it printed. The answer comes back read-locked with its per-VMA
//! lock ([`LockedVma`]); the reader prints it and drops the lock before asking again, so at
//! most one VMA lock is held at a time and never across `read()` calls.
//!
//! 1. Sample the mm's write sequence with `mmap_lock_speculate_try_begin()`. It fails (odd
//!    count) when a writer holds `mmap_lock` right now. If the caller expects the next VMA to
//!    be adjacent to the last one (it was so for the last lookup), first try
//!    `lock_vma_under_rcu(mm, from)`: a VMA that contains `from` is the first VMA ending above
//!    `from`, with no gap before it: done, in one tree walk instead of two. Otherwise:
//! 2. Under `rcu_read_lock()`, look the VMA up in the maple tree and note its start.
//! 3. Lock it with the exported `lock_vma_under_rcu(mm, addr)` at `addr = max(start, from)`.
//!    That re-walks the tree under RCU, calls `vma_start_read()` and checks that the VMA it
//!    locked still contains `addr`; it fails when the VMA is write-locked (a writer is
//!    changing it) or is gone.
//! 4. The locked VMA contains `addr >= from`, so it ends above `from`: output never goes
//!    backwards. If it starts at or below `from` there is no gap to check. If it starts above
//!    `from`, the space `[from, vm_start)` is printed as a gap, which is only true if no VMA
//!    was installed there meanwhile (the seed's "VMA A shrank and VMA B appeared before it"):
//!    when the sequence count shows no writer since step 1, the tree we searched in step 2 is
//!    the tree of now and the gap is real; otherwise search again under RCU and keep the VMA
//!    only if it is still the first one above `from` (it is locked, so it cannot move now).
//! 5. Whenever the per-VMA lock cannot be had (step 3 fails or step 4 finds a newer VMA in
//!    the gap), fall back: take `mmap_read_lock_killable()`, find the VMA under it, take its
//!    per-VMA lock with `vma_start_read_locked()` (which cannot fail against writers, as none
//!    can hold `mmap_lock` now) and drop `mmap_lock` at once. The writer waits at most for one
//!    lookup, and the reader always makes progress.
//!
//! # What a reader may see
//!
//! As with `/proc/PID/maps` since 6.17: a VMA that changed between two records can be
//! printed twice (once before and once after the change), but a gap is only printed if it
//! existed at the moment the VMA after it was locked, and a VMA that exists for the whole read
//! is always printed.

use core::ptr::NonNull;
use kernel::{
    bindings,
    error::to_result,
    mm::{virt::VmaRef, MmWithUser},
    prelude::*,
    sync::{aref::ARef, rcu},
};

use crate::stats::STATS;

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "mm_struct is only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_vma_next(
        mm: *mut bindings::mm_struct,
        addr: usize,
    ) -> *mut bindings::vm_area_struct;
    fn rust_procmaps_speculate_try_begin(mm: *mut bindings::mm_struct, seq: *mut u32) -> bool;
    fn rust_procmaps_speculate_retry(mm: *mut bindings::mm_struct, seq: u32) -> bool;
    fn rust_procmaps_mmap_read_lock_killable(mm: *mut bindings::mm_struct) -> c_int;
    fn rust_procmaps_vma_start_read_locked(vma: *mut bindings::vm_area_struct) -> bool;
}

/// A VMA whose per-VMA read lock we hold; the lock is released on drop.
///
/// It does not borrow its address space: whoever owns a `LockedVma` must also keep an `mmget`
/// reference to the VMA's mm until the `LockedVma` is dropped.
///
/// # Invariants
///
/// `vma` points to a VMA attached to an mm with non-zero `mm_users`, and this value owns one
/// read lock on it (taken by `vma_start_read()` or `vma_start_read_locked()`).
pub(crate) struct LockedVma {
    vma: NonNull<bindings::vm_area_struct>,
}

impl LockedVma {
    /// The locked VMA.
    pub(crate) fn vma(&self) -> &VmaRef {
        // SAFETY: The VMA is read-locked (invariant), so it stays valid and stable while `self`
        // lives.
        unsafe { VmaRef::from_raw(self.vma.as_ptr()) }
    }

    /// The raw pointer (for comparisons and seq_file's `void *` cursor).
    pub(crate) fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        self.vma.as_ptr()
    }
}

impl Drop for LockedVma {
    fn drop(&mut self) {
        // SAFETY: We own one read lock on this VMA (invariant).
        unsafe { bindings::vma_end_read(self.vma.as_ptr()) };
    }
}

/// The first VMA that ends above `from`, as seen by an RCU walk of the maple tree.
///
/// The pointer is only good for comparisons and racy reads until `_rcu` is dropped.
fn vma_next_rcu(mm: &MmWithUser, from: usize, _rcu: &rcu::Guard) -> *mut bindings::vm_area_struct {
    // SAFETY: `mm` has users, and the RCU read lock (`_rcu`) is the protection the maple tree
    // requires for a lookup without `mmap_lock`.
    unsafe { rust_procmaps_vma_next(mm.as_raw(), from) }
}

/// Locks the VMA containing `addr` with `lock_vma_under_rcu()`.
fn lock_vma_at(mm: &MmWithUser, addr: usize) -> Option<LockedVma> {
    // SAFETY: `mm` has users, which is all `lock_vma_under_rcu()` requires.
    let vma = unsafe { bindings::lock_vma_under_rcu(mm.as_raw(), addr) };
    // INVARIANT: A non-null result is attached to `mm` and read-locked for us.
    NonNull::new(vma).map(|vma| LockedVma { vma })
}

/// A sample of the mm's write sequence count (`mm_lock_seq`).
struct WriteSeq {
    seq: u32,
    /// `false` if a writer held `mmap_lock` when sampled: assume a change.
    unlocked: bool,
}

impl WriteSeq {
    fn sample(mm: &MmWithUser) -> Self {
        let mut seq = 0;
        // SAFETY: `mm` has users; `seq` is a valid out-pointer.
        let unlocked = unsafe { rust_procmaps_speculate_try_begin(mm.as_raw(), &mut seq) };
        Self { seq, unlocked }
    }

    /// Whether the address space may have been modified since the sample.
    fn changed_since(&self, mm: &MmWithUser) -> bool {
        // SAFETY: `mm` has users.
        !self.unlocked || unsafe { rust_procmaps_speculate_retry(mm.as_raw(), self.seq) }
    }
}

/// Finds the first VMA of `mm` that ends above `from` and read-locks it.
///
/// Returns `Ok(None)` when there is no such VMA, and `EINTR` if a fatal signal arrives while
/// waiting for `mmap_lock`. The caller must keep its `mmget` reference on `mm` until the
/// returned [`LockedVma`] is dropped, and must not hold another VMA lock or `mmap_lock`.
/// `expect_adjacent` only chooses the order of the lookups (see step 1), never the result.
pub(crate) fn lock_next_vma(
    mm: &MmWithUser,
    from: usize,
    expect_adjacent: bool,
) -> Result<Option<LockedVma>> {
    // Step 1 of the module documentation.
    let seq = WriteSeq::sample(mm);
    if expect_adjacent {
        if let Some(locked) = lock_vma_at(mm, from) {
            STATS.vma_locked_rcu.inc();
            return Ok(Some(locked));
        }
    }
    // Step 2.
    let start = {
        let rcu = rcu::read_lock();
        let vma = vma_next_rcu(mm, from, &rcu);
        if vma.is_null() {
            return Ok(None);
        }
        // SAFETY: Under RCU the VMA's memory stays valid; a writer may change the field, so it
        // is read through a raw pointer (no reference to it is made), and the value may be
        // stale, which step 4 accounts for.
        unsafe {
            core::ptr::read_volatile(&raw const (*vma).__bindgen_anon_1.__bindgen_anon_1.vm_start)
        }
    };

    // Step 3.
    if let Some(locked) = lock_vma_at(mm, start.max(from)) {
        // Step 4.
        if locked.vma().start() <= from || !seq.changed_since(mm) {
            STATS.vma_locked_rcu.inc();
            return Ok(Some(locked));
        }
        let first = {
            let rcu = rcu::read_lock();
            vma_next_rcu(mm, from, &rcu)
        };
        if first == locked.as_ptr() {
            STATS.vma_locked_rcu.inc();
            return Ok(Some(locked));
        }
        STATS.gap_retries.inc();
    }

    // Step 5.
    STATS.mmap_lock_fallbacks.inc();
    lock_next_vma_under_mmap_lock(mm, from)
}

/// Step 5: find the VMA under `mmap_read_lock`, read-lock it, and drop `mmap_lock` again.
fn lock_next_vma_under_mmap_lock(mm: &MmWithUser, from: usize) -> Result<Option<LockedVma>> {
    // SAFETY: `mm` has users.
    to_result(unsafe { rust_procmaps_mmap_read_lock_killable(mm.as_raw()) })?;
    // SAFETY: We hold the mmap read lock, which keeps the tree and its VMAs stable.
    let vma = unsafe { rust_procmaps_vma_next(mm.as_raw(), from) };
    let result = match NonNull::new(vma) {
        None => Ok(None),
        // SAFETY: The VMA is attached and we hold the mmap read lock, as required.
        Some(vma) if unsafe { rust_procmaps_vma_start_read_locked(vma.as_ptr()) } => {
            // INVARIANT: We just took its read lock.
            Ok(Some(LockedVma { vma }))
        }
        // Only a `vm_refcnt` overflow makes this fail; the caller reports `EAGAIN`.
        Some(_) => Err(EAGAIN),
    };
    // SAFETY: Taken above.
    unsafe { bindings::mmap_read_unlock(mm.as_raw()) };
    result
}

/// The whole address space read-locked for one `read()` chunk: the `lock_mode=1` baseline,
/// how `/proc/PID/maps` worked before per-VMA locks (Linux 6.16 and older). Only for
/// comparison (the benchmark): it stalls writers for the whole chunk.
///
/// # Invariants
///
/// We hold the mmap read lock of `mm`.
pub(crate) struct MmapLocked {
    mm: ARef<MmWithUser>,
}

impl MmapLocked {
    /// Takes `mmap_read_lock_killable()`; `EINTR` on a fatal signal.
    pub(crate) fn lock(mm: ARef<MmWithUser>) -> Result<Self> {
        // SAFETY: `mm` has users.
        to_result(unsafe { rust_procmaps_mmap_read_lock_killable(mm.as_raw()) })?;
        STATS.mmap_locked_chunks.inc();
        // INVARIANT: Just locked.
        Ok(Self { mm })
    }

    /// The address space.
    pub(crate) fn mm(&self) -> &MmWithUser {
        &self.mm
    }

    /// The first VMA that ends above `from`; stable while `self` lives.
    pub(crate) fn next_vma(&self, from: usize) -> Option<&VmaRef> {
        // SAFETY: We hold the mmap read lock (invariant), which the lookup requires.
        let vma = unsafe { rust_procmaps_vma_next(self.mm.as_raw(), from) };
        // SAFETY: A VMA found under the mmap read lock stays valid until it is released, and
        // the borrow of `self` ends before that.
        (!vma.is_null()).then(|| unsafe { VmaRef::from_raw(vma) })
    }
}

impl Drop for MmapLocked {
    fn drop(&mut self) {
        // SAFETY: We hold the lock (invariant).
        unsafe { bindings::mmap_read_unlock(self.mm.as_raw()) };
    }
}
