// SPDX-License-Identifier: GPL-2.0

//! Finding and locking the next VMA of an address space: every locking decision of the module
//! lives here, behind one type, [`VmaCursor`].
//!
//! A reader (one `read()` chunk of `maps`/`smaps`, or one whole `smaps_rollup`) makes a cursor
//! over an address space it holds an `mmget` reference on, and asks it again and again for
//! "the first VMA that ends above `from`" ([`VmaCursor::advance`]), where `from` is the end of
//! the last VMA it used. The answer is a [`LockedVma`], a view that borrows the cursor: it
//! cannot outlive the lock that holds the VMA, nor the `mmget` reference the cursor owns, and
//! asking for the next VMA (which releases this one) ends the borrow. The cursor decides once,
//! from `lock_mode`, how VMAs are held:
//!
//! * per-VMA locks (the default): each VMA read-locked on its own by the scheme below, at most
//!   one at a time, released before the next one is looked up;
//! * `mmap_read_lock` for the cursor's whole life (`lock_mode=1`, what `/proc` did before 6.17
//!   and still does for `smaps_rollup`), which [`VmaCursor::relax`] drops and takes again when
//!   a writer waits.
//!
//! A [`LockedVma`] says which of the two holds it ([`WalkLock`]), which is what the page-table
//! walker must be told. Cursors never live across `read()` calls.
//!
//! The cursor is also told once whether its user sleeps while it holds a VMA ([`Context`]):
//! page-table walks, allocations and copies to user space do; formatting a `maps` line into
//! the seq_file buffer, or walking a small anonymous VMA without rescheduling
//! (`smaps_walk::gather_atomic`, what `smaps_rollup` does for such VMAs), does not. Only a
//! [`SleepableVma`] can be walked with callbacks that sleep: a [`Context::MaySleep`] cursor
//! hands one out, and any cursor does when asked with [`VmaCursor::current_sleepable`], which
//! closes its RCU section first.
//!
//! # The per-VMA step
//!
//! When the kernel exports mm's own step, `lock_next_vma()` (`kernel/patches/0004`, the step
//! `/proc/PID/maps` takes since 6.17), the cursor uses it: under `rcu_read_lock()` it continues
//! a VMA iterator to the next VMA, takes its read lock, checks with the `mmap_lock` sequence
//! count that no VMA appeared in a gap before it, and otherwise falls back to
//! `mmap_read_lock()` itself: steps 1 to 5 below, in one tree walk. A [`Context::Atomic`]
//! cursor keeps the RCU read-side section open from one VMA to the next, as `/proc` does
//! within one `read()` chunk, so the iterator continues from the last VMA without walking the
//! tree again; a [`Context::MaySleep`] cursor closes it before handing the VMA out, and the
//! next lookup starts at the root: when the last VMA began where the one before it ended, it
//! first tries `lock_vma_under_rcu(from)` (step 1 below), a cheaper walk than setting up the
//! iterator. Whether mm fell back is seen from the iterator: only the fallback leaves it reset
//! (`ma_start`). The iterator is only continued with preemptible RCU (`CONFIG_PREEMPT_RCU`):
//! without it, continuing readers can livelock behind a preempted tree writer, which 7.3's own
//! `/proc/PID/maps` does (`Documentation/`); then every lookup starts at the root.
//!
//! Without the export, the cursor takes the same steps itself, with two tree walks:
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
//! # What a reader may see (the algorithm's invariants)
//!
//! As with `/proc/PID/maps` since 6.17, for a reader that passes the end of each VMA it was
//! given as the next `from`:
//!
//! * output never goes backwards: every VMA handed out ends above `from`;
//! * a VMA that changed between two records can be handed out twice (once before and once
//!   after the change), but no byte of the address space twice from the same `from` on
//!   (`smaps_rollup` counts a VMA that starts below `from` only from `from`);
//! * a gap is only implied (a VMA handed out starts above `from`) if it existed at the moment
//!   that VMA was locked;
//! * a VMA that exists for the whole read is always handed out;
//! * the reader makes progress: the `mmap_lock` fallback cannot fail against writers, and a
//!   writer waits for it at most one lookup.

use core::{marker::PhantomData, ops::Deref, ptr::NonNull};
use kernel::{
    bindings,
    error::to_result,
    mm::{virt::VmaRef, MmWithUser},
    prelude::*,
    sync::{aref::ARef, rcu},
    types::NotThreadSafe,
};

use crate::{
    exports,
    params::{self, LockMode},
    stats::STATS,
};

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
    fn rust_procmaps_mmap_lock_is_contended(mm: *mut bindings::mm_struct) -> bool;
    fn rust_procmaps_lock_next_vma(
        mm: *mut bindings::mm_struct,
        vmi: *mut bindings::vma_iterator,
        addr: usize,
        reset: bool,
        vma: *mut *mut bindings::vm_area_struct,
        fell_back: *mut bool,
    ) -> c_int;
    fn rust_procmaps_lock_next_vma_rcu(
        mm: *mut bindings::mm_struct,
        addr: usize,
        vma: *mut *mut bindings::vm_area_struct,
        fell_back: *mut bool,
    ) -> c_int;
}

/// Whether the user of a cursor sleeps while it holds a VMA (module documentation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// It does not: the cursor may keep an RCU read-side section open while a VMA is out
    /// (until [`VmaCursor::current_sleepable`] closes it).
    Atomic,
    /// It does (page-table walks, allocations, copies to user space): no RCU section is open
    /// while a VMA is out, which [`SleepableVma`] proves.
    MaySleep,
}

/// Which lock holds a [`LockedVma`]: what the page-table walker must be told to assert.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum WalkLock {
    /// Its per-VMA read lock (`PGWALK_VMA_RDLOCK_VERIFY`).
    Vma,
    /// `mmap_read_lock` (`PGWALK_RDLOCK`).
    Mmap,
}

/// One per-VMA read lock, released on drop.
///
/// # Invariants
///
/// `vma` points to a VMA attached to an mm with non-zero `mm_users`, and this value owns one
/// read lock on it (taken by `vma_start_read()` or `vma_start_read_locked()`). Only a
/// [`VmaCursor`] holds one, and it keeps the `mmget` reference until the lock is released.
struct VmaReadLock {
    vma: NonNull<bindings::vm_area_struct>,
}

impl Drop for VmaReadLock {
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
fn lock_vma_at(mm: &MmWithUser, addr: usize) -> Option<VmaReadLock> {
    // SAFETY: `mm` has users, which is all `lock_vma_under_rcu()` requires.
    let vma = unsafe { bindings::lock_vma_under_rcu(mm.as_raw(), addr) };
    // INVARIANT: A non-null result is attached to `mm` and read-locked for us.
    NonNull::new(vma).map(|vma| VmaReadLock { vma })
}

/// Step 1's guess, for both steps: the VMA containing `from`, locked with
/// `lock_vma_under_rcu()` in one walk, is the first VMA ending above `from`, with no gap
/// before it to check.
fn lock_covering(mm: &MmWithUser, from: usize, counts: &mut Counts) -> Option<VmaReadLock> {
    let locked = lock_vma_at(mm, from)?;
    counts.locked_own += 1;
    Some(locked)
}

impl VmaReadLock {
    fn start(&self) -> usize {
        // SAFETY: The VMA is read-locked (invariant), so it is valid and its bounds stable.
        unsafe { VmaRef::from_raw(self.vma.as_ptr()) }.start()
    }

    fn end(&self) -> usize {
        // SAFETY: As in `start`.
        unsafe { VmaRef::from_raw(self.vma.as_ptr()) }.end()
    }
}

/// What the lookups of one cursor took, added to [`STATS`] when the cursor is dropped (one
/// atomic add per counter and cursor instead of one or two per VMA).
#[derive(Default)]
struct Counts {
    /// Locked under RCU by the module's own lookups (`lock_vma_under_rcu()`).
    locked_own: u64,
    /// Locked under RCU by `lock_next_vma()`.
    locked_next: u64,
    /// Of those, found by continuing the iterator of the last lookup (no walk from the root).
    continued: u64,
    /// Locked under `mmap_lock` (ours, or `lock_next_vma()`'s own fallback).
    fallbacks: u64,
    gap_retries: u64,
}

impl Counts {
    #[inline]
    fn flush(&self) {
        STATS.vma_locked_own.add(self.locked_own);
        STATS.vma_locked_next.add(self.locked_next);
        STATS.vma_iter_continued.add(self.continued);
        STATS.mmap_lock_fallbacks.add(self.fallbacks);
        STATS.gap_retries.add(self.gap_retries);
    }
}

/// How cursors lock, fixed while the module is loaded: the `lock_mode` parameter (copied at
/// load) and whether the kernel exports `lock_next_vma()` (a weak reference, resolved at load).
/// Read once per open file and handed to each cursor, so that a cursor, made per
/// `PROCMAP_QUERY`, does not ask again: two calls per query fewer (with the build ID check so
/// moved, the query rows went from 1.28-1.33x to 1.19-1.29x `/proc`'s time, 3 + 3 interleaved
/// readcost boots).
#[derive(Clone, Copy)]
pub(crate) struct Locking {
    mode: LockMode,
    /// `lock_next_vma()` is exported.
    mm_step: bool,
}

impl Locking {
    /// What the module was loaded with.
    pub(crate) fn of_module() -> Self {
        Self {
            mode: params::lock_mode(),
            mm_step: exports::lock_next_vma_available(),
        }
    }
}

/// How a per-VMA cursor finds and locks its next VMA (module documentation), decided at its
/// creation.
enum Step {
    /// The module's own step ([`own_step`]): the kernel does not export `lock_next_vma()`.
    Own,
    /// `lock_next_vma()` from the root for every lookup ([`mm_step`]): a
    /// [`Context::MaySleep`] cursor, or a kernel without preemptible RCU.
    Mm,
    /// `lock_next_vma()` continuing its iterator within an RCU section kept open from one VMA
    /// to the next ([`MmIter`]): a [`Context::Atomic`] cursor with preemptible RCU.
    MmIter(MmIter),
}

impl Step {
    fn new(context: Context, mm_step: bool) -> Self {
        if !mm_step {
            Step::Own
        } else if context == Context::Atomic && cfg!(CONFIG_PREEMPT_RCU) {
            // Only with preemptible RCU: without it, readers that continue an iterator can
            // spin forever behind a preempted tree writer (`Documentation/`, /proc's livelock).
            // INVARIANT: `rcu` is `None`, so `vmi` is set up before its first use.
            Step::MmIter(MmIter {
                vmi: bindings::vma_iterator::default(),
                rcu: None,
            })
        } else {
            Step::Mm
        }
    }
}

/// What `lock_next_vma()` answered: counts it and makes the lock.
///
/// # Safety
///
/// `ret`, `vma` and `fell_back` are what one `lock_next_vma()` call on the cursor's mm returned.
unsafe fn mm_step_result(
    ret: c_int,
    vma: *mut bindings::vm_area_struct,
    fell_back: bool,
    counts: &mut Counts,
) -> Result<Option<VmaReadLock>> {
    if fell_back {
        counts.fallbacks += 1;
    }
    // `to_result()`, inlined (the kernel crate's is a call, per VMA here).
    if ret < 0 {
        return Err(Error::from_errno(ret));
    }
    let Some(vma) = NonNull::new(vma) else {
        return Ok(None);
    };
    if !fell_back {
        counts.locked_next += 1;
    }
    // INVARIANT: `lock_next_vma()` returned it read-locked, attached to the cursor's mm (the
    // function's safety requirement).
    Ok(Some(VmaReadLock { vma }))
}

/// Finds the first VMA of `mm` that ends above `from` and read-locks it with
/// `lock_next_vma()` from the root, in one helper call that opens and closes its own RCU
/// section (module documentation). Same contract as [`own_step`].
fn mm_step(
    mm: &MmWithUser,
    from: usize,
    expect_adjacent: bool,
    counts: &mut Counts,
) -> Result<Option<VmaReadLock>> {
    // If the next VMA is probably adjacent, step 1's guess is a cheaper walk (`mas_walk()`, no
    // iterator set up).
    if expect_adjacent {
        if let Some(locked) = lock_covering(mm, from, counts) {
            return Ok(Some(locked));
        }
    }
    let mut vma = core::ptr::null_mut();
    let mut fell_back = false;
    // SAFETY: `mm` has users; no RCU section is needed around the call; the caller holds no
    // other VMA lock.
    let ret =
        unsafe { rust_procmaps_lock_next_vma_rcu(mm.as_raw(), from, &mut vma, &mut fell_back) };
    // SAFETY: What the call above returned for `mm`.
    unsafe { mm_step_result(ret, vma, fell_back, counts) }
}

/// mm's own step, `lock_next_vma()`, and the VMA iterator it continues within one RCU
/// section.
///
/// # Invariants
///
/// `vmi` was set up for the cursor's mm by `vma_iter_init()` (or is about to be, with `rcu`
/// `None`). While `rcu` is `Some((_, end))`,
/// the RCU read-side section in which `vmi` last moved is still open and `vmi` stands at the
/// VMA that ends at `end`; otherwise `vmi` must be set again before its next use.
struct MmIter {
    vmi: bindings::vma_iterator,
    rcu: Option<(rcu::Guard, usize)>,
}

impl MmIter {
    /// Finds the first VMA of `mm` that ends above `from` and read-locks it, with
    /// `lock_next_vma()`, continuing the iterator if it stopped at `from` in the RCU section
    /// still open. Same contract as [`own_step`]; the RCU section stays open for the next call.
    fn lock_next(
        &mut self,
        mm: &MmWithUser,
        from: usize,
        counts: &mut Counts,
    ) -> Result<Option<VmaReadLock>> {
        let (rcu, reset) = match self.rcu.take() {
            // Still in the section where `vmi` stopped at the VMA ending at `from`.
            Some((rcu, end)) if end == from => (rcu, false),
            held => (held.map_or_else(rcu::read_lock, |(rcu, _)| rcu), true),
        };
        let mut vma = core::ptr::null_mut();
        let mut fell_back = false;
        // SAFETY: `mm` has users, `rcu` holds the RCU read lock that `lock_next_vma()` needs
        // (it may drop and retake it, and returns with it held), and `vmi` is set for `mm` in
        // this section (invariant), or `reset` has the helper set it first. The caller holds
        // no other VMA lock.
        let ret = unsafe {
            rust_procmaps_lock_next_vma(
                mm.as_raw(),
                &mut self.vmi,
                from,
                reset,
                &mut vma,
                &mut fell_back,
            )
        };
        // SAFETY: What the call above returned for `mm`.
        let locked = unsafe { mm_step_result(ret, vma, fell_back, counts) }?;
        if let Some(locked) = &locked {
            if !fell_back && !reset {
                counts.continued += 1;
            }
            // INVARIANT: `rcu` is the section `vmi` just moved in; it stands at `locked`.
            self.rcu = Some((rcu, locked.end()));
        }
        Ok(locked)
    }
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

/// The module's own step, for kernels without the export of `lock_next_vma()`: finds the
/// first VMA of `mm` that ends above `from` and read-locks it.
///
/// Returns `Ok(None)` when there is no such VMA, and `EINTR` if a fatal signal arrives while
/// waiting for `mmap_lock`. The caller must keep its `mmget` reference on `mm` until the
/// returned lock is dropped, and must not hold another VMA lock or `mmap_lock`.
/// `expect_adjacent` only chooses the order of the lookups (see step 1), never the result.
fn own_step(
    mm: &MmWithUser,
    from: usize,
    expect_adjacent: bool,
    counts: &mut Counts,
) -> Result<Option<VmaReadLock>> {
    // Step 1 of the module documentation.
    let seq = WriteSeq::sample(mm);
    if expect_adjacent {
        if let Some(locked) = lock_covering(mm, from, counts) {
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
        if locked.start() <= from || !seq.changed_since(mm) {
            counts.locked_own += 1;
            return Ok(Some(locked));
        }
        let first = {
            let rcu = rcu::read_lock();
            vma_next_rcu(mm, from, &rcu)
        };
        if first == locked.vma.as_ptr() {
            counts.locked_own += 1;
            return Ok(Some(locked));
        }
        counts.gap_retries += 1;
    }

    // Step 5.
    counts.fallbacks += 1;
    own_step_under_mmap_lock(mm, from)
}

/// Step 5: find the VMA under `mmap_read_lock`, read-lock it, and drop `mmap_lock` again.
fn own_step_under_mmap_lock(mm: &MmWithUser, from: usize) -> Result<Option<VmaReadLock>> {
    // SAFETY: `mm` has users.
    to_result(unsafe { rust_procmaps_mmap_read_lock_killable(mm.as_raw()) })?;
    // SAFETY: We hold the mmap read lock, which keeps the tree and its VMAs stable.
    let vma = unsafe { rust_procmaps_vma_next(mm.as_raw(), from) };
    let result = match NonNull::new(vma) {
        None => Ok(None),
        // SAFETY: The VMA is attached and we hold the mmap read lock, as required.
        Some(vma) if unsafe { rust_procmaps_vma_start_read_locked(vma.as_ptr()) } => {
            // INVARIANT: We just took its read lock.
            Ok(Some(VmaReadLock { vma }))
        }
        // Only a `vm_refcnt` overflow makes this fail; the caller reports `EAGAIN`.
        Some(_) => Err(EAGAIN),
    };
    // SAFETY: Taken above.
    unsafe { bindings::mmap_read_unlock(mm.as_raw()) };
    result
}

/// What a [`VmaCursor`] holds.
enum Held {
    /// Per-VMA mode; the VMA handed out last, if any, read-locked.
    PerVma {
        vma: Option<VmaReadLock>,
        step: Step,
        /// The last VMA began where the one before it ended: guess the next one does too.
        adjacent: bool,
        /// What the lookups took, for `stats`.
        counts: Counts,
    },
    /// `lock_mode=1`. While `locked`, we hold `mmap_read_lock` and `vma` (the VMA handed out
    /// last, if any) is stable; `vma` is `None` whenever `locked` is false.
    Mmap {
        locked: bool,
        vma: Option<NonNull<bindings::vm_area_struct>>,
    },
}

/// Walks the VMAs of one address space, holding each as `lock_mode` says (module docs).
///
/// # Invariants
///
/// `mm` is an `mmget` reference; every lock in `held` is on `mm` and is released in `drop`
/// before `mm` is put.
pub(crate) struct VmaCursor {
    mm: ARef<MmWithUser>,
    held: Held,
    context: Context,
    /// Locks belong to the task that took them.
    _not_send: NotThreadSafe,
}

impl VmaCursor {
    /// A cursor over `mm` for a user that sleeps or not while it holds a VMA, locking as
    /// `locking` says; with `lock_mode=1` it takes `mmap_read_lock_killable()` now (`EINTR` on a
    /// fatal signal).
    // Always inlined: a cursor is built in its caller's frame, not returned in a `Result` and
    // copied out with `memcpy` (measured: 1.55x -> 1.39-1.45x `/proc`'s time for the query rows).
    #[inline(always)]
    pub(crate) fn new(mm: ARef<MmWithUser>, context: Context, locking: Locking) -> Result<Self> {
        let held = match locking.mode {
            LockMode::PerVma => Held::PerVma {
                vma: None,
                step: Step::new(context, locking.mm_step),
                adjacent: false,
                counts: Counts::default(),
            },
            LockMode::Mmap => {
                // SAFETY: `mm` has users.
                to_result(unsafe { rust_procmaps_mmap_read_lock_killable(mm.as_raw()) })?;
                STATS.mmap_locked_chunks.inc();
                Held::Mmap {
                    locked: true,
                    vma: None,
                }
            }
        };
        // INVARIANT: `mm` is the `mmget` reference; the lock taken above is on it.
        Ok(Self {
            mm,
            held,
            context,
            _not_send: NotThreadSafe,
        })
    }

    /// The address space.
    pub(crate) fn mm(&self) -> &MmWithUser {
        &self.mm
    }

    /// Releases the VMA handed out last and hands out the first VMA that ends above `from`,
    /// held until the next call (or the cursor's drop). `Ok(None)` past the last VMA; `EINTR`
    /// on a fatal signal while waiting for `mmap_lock`, `EAGAIN` if the lock cannot be taken.
    pub(crate) fn advance(&mut self, from: usize) -> Result<Option<LockedVma<'_>>> {
        match &mut self.held {
            Held::PerVma {
                vma,
                step,
                adjacent,
                counts,
            } => {
                // At most one VMA lock at a time: drop the previous one before the lookup.
                *vma = None;
                *vma = match step {
                    Step::Own => own_step(&self.mm, from, *adjacent, counts)?,
                    Step::Mm => mm_step(&self.mm, from, *adjacent, counts)?,
                    Step::MmIter(iter) => iter.lock_next(&self.mm, from, counts)?,
                };
                *adjacent = vma.as_ref().is_some_and(|v| v.start() <= from);
            }
            Held::Mmap { locked, vma } => {
                if !*locked {
                    return Err(EINTR);
                }
                // SAFETY: We hold the mmap read lock (`locked`), which the lookup requires.
                *vma = NonNull::new(unsafe { rust_procmaps_vma_next(self.mm.as_raw(), from) });
            }
        }
        Ok(self.current())
    }

    /// Hint for the next [`VmaCursor::advance`]: its `from` is probably inside a VMA (a
    /// `PROCMAP_QUERY` for an address, which is mostly a mapped one). Per-VMA mode then tries
    /// the covering VMA first (step 1), one tree walk instead of two; the answer is the same.
    /// With mm's step (`lock_next_vma()`, one walk anyway) the hint saves its iterator setup.
    pub(crate) fn expect_covering(&mut self) {
        if let Held::PerVma { adjacent, .. } = &mut self.held {
            *adjacent = true;
        }
    }

    /// Whether a lookup so far took `mmap_lock`: the fallback of per-VMA mode, or
    /// `lock_mode=1`.
    pub(crate) fn took_mmap_lock(&self) -> bool {
        match &self.held {
            Held::PerVma { counts, .. } => counts.fallbacks > 0,
            Held::Mmap { .. } => true,
        }
    }

    /// The VMA handed out by the last [`VmaCursor::advance`], if any.
    pub(crate) fn current(&self) -> Option<LockedVma<'_>> {
        let (vma, lock) = match &self.held {
            Held::PerVma { vma, .. } => (vma.as_ref()?.vma, WalkLock::Vma),
            Held::Mmap { vma, .. } => ((*vma)?, WalkLock::Mmap),
        };
        // SAFETY: The VMA is held by its read lock or by `mmap_lock` until the cursor changes
        // or is dropped, which the borrow of `self` excludes.
        let vma = unsafe { VmaRef::from_raw(vma.as_ptr()) };
        Some(LockedVma {
            vma,
            lock,
            may_sleep: self.context == Context::MaySleep,
            _cursor: PhantomData,
        })
    }

    /// The VMA handed out by the last [`VmaCursor::advance`], if any, as one its user may sleep
    /// with: the RCU read-side section a [`Context::Atomic`] cursor keeps open is closed first.
    /// The VMA stays locked; the next lookup walks the tree from its root.
    pub(crate) fn current_sleepable(&mut self) -> Option<SleepableVma<'_>> {
        if let Held::PerVma {
            step: Step::MmIter(iter),
            ..
        } = &mut self.held
        {
            // INVARIANT: `rcu` is `None`: `vmi` is set again before its next use.
            iter.rcu = None;
        }
        // INVARIANT: The cursor has no RCU section open now (only `MmIter` keeps one), and
        // cannot open one while the returned value borrows it.
        self.current().map(SleepableVma)
    }

    /// `smaps_rollup`'s courtesy to writers: with `mmap_lock` held (`lock_mode=1`) and a writer
    /// waiting for it, drop it and take it again, as `/proc` does after each VMA. The VMA
    /// handed out last is released. Per-VMA mode has nothing to drop.
    pub(crate) fn relax(&mut self) -> Result {
        let Held::Mmap { locked, vma } = &mut self.held else {
            return Ok(());
        };
        // SAFETY: `mm` has users.
        if !*locked || !unsafe { rust_procmaps_mmap_lock_is_contended(self.mm.as_raw()) } {
            return Ok(());
        }
        STATS.rollup_lock_drops.inc();
        *vma = None;
        *locked = false;
        // SAFETY: We held the lock (`locked` was true).
        unsafe { bindings::mmap_read_unlock(self.mm.as_raw()) };
        // SAFETY: `mm` has users.
        to_result(unsafe { rust_procmaps_mmap_read_lock_killable(self.mm.as_raw()) })?;
        *locked = true;
        Ok(())
    }
}

impl Drop for VmaCursor {
    // Inlined into the cursor's drop glue: one call less per `PROCMAP_QUERY`.
    #[inline]
    fn drop(&mut self) {
        // Every lock before the `mmget` reference (invariant): `mm` is put after this body.
        match &mut self.held {
            // The VMA lock, then (in `step`) the RCU section, if open.
            Held::PerVma {
                vma, step, counts, ..
            } => {
                *vma = None;
                if let Step::MmIter(iter) = step {
                    iter.rcu = None;
                }
                counts.flush();
            }
            Held::Mmap { locked, vma } => {
                *vma = None;
                if *locked {
                    // SAFETY: We hold the lock (`locked`).
                    unsafe { bindings::mmap_read_unlock(self.mm.as_raw()) };
                }
            }
        }
    }
}

/// A VMA a [`VmaCursor`] holds: valid and stable while this view lives, which the borrow of
/// the cursor guarantees (the cursor also keeps the `mmget` reference on its mm).
#[derive(Clone, Copy)]
pub(crate) struct LockedVma<'c> {
    vma: &'c VmaRef,
    lock: WalkLock,
    /// From a [`Context::MaySleep`] cursor.
    may_sleep: bool,
    _cursor: PhantomData<&'c VmaCursor>,
}

impl<'c> LockedVma<'c> {
    /// Which lock holds the VMA.
    pub(crate) fn walk_lock(&self) -> WalkLock {
        self.lock
    }

    /// The VMA as one its user may sleep with: `None` from a [`Context::Atomic`] cursor.
    pub(crate) fn sleepable(self) -> Option<SleepableVma<'c>> {
        // INVARIANT: A `MaySleep` cursor never has an RCU section open while a VMA is out.
        self.may_sleep.then_some(SleepableVma(self))
    }
}

/// A [`LockedVma`] held without any RCU read-side section open: what may be walked.
///
/// # Invariants
///
/// No RCU read-side section of the cursor is open while this value lives.
#[derive(Clone, Copy)]
pub(crate) struct SleepableVma<'c>(LockedVma<'c>);

impl<'c> Deref for SleepableVma<'c> {
    type Target = LockedVma<'c>;

    fn deref(&self) -> &LockedVma<'c> {
        &self.0
    }
}

impl Deref for LockedVma<'_> {
    type Target = VmaRef;

    fn deref(&self) -> &VmaRef {
        self.vma
    }
}
