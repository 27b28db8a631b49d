// SPDX-License-Identifier: GPL-2.0

//! Finding and locking the next VMA of an address space: every locking decision of the module
//! lives here, behind one type, [`VmaCursor`].
//!
//! A reader (one `read()` chunk of `maps`/`smaps`, one whole `smaps_rollup`, or one
//! `PROCMAP_QUERY`) makes a cursor that borrows an address space it holds an `mmget` reference
//! on (`&MmWithUser`), and asks it again and again for "the first VMA that ends above `from`"
//! ([`VmaCursor::advance`]), where `from` is the end of the last VMA it used. The answer is a
//! [`LockedVma`], a view that borrows the cursor: it cannot outlive the lock that holds the
//! VMA, nor the address space, and asking for the next VMA (which releases this one) ends the
//! borrow. The locks are guards of the shape of `rust/kernel/mm.rs`'s `VmaReadGuard` and
//! `MmapReadGuard`, for what the kernel crate lacks: a VMA locked by `lock_next_vma()`
//! ([`VmaReadLock`]) and a killable `mmap_read_lock` ([`MmapReadLock`]). The cursor decides
//! once, from `lock_mode`, how VMAs are held:
//!
//! * per-VMA locks (the default): each VMA read-locked on its own by mm's `lock_next_vma()`
//!   (`kernel/patches/0004`, the step `/proc/PID/maps` takes since 6.17), at most one at a
//!   time, released before the next one is looked up;
//! * `mmap_read_lock` for the cursor's whole life (`lock_mode=1`, what `/proc` did before 6.17
//!   and still does for `smaps_rollup`), which [`VmaCursor::relax`] drops and takes again when
//!   a writer waits.
//!
//! A [`LockedVma`] says which of the two holds it ([`WalkLock`]), which is what the page-table
//! walker must be told. Cursors never live across `read()` calls.
//!
//! # The per-VMA step
//!
//! Under `rcu_read_lock()`, `lock_next_vma()` continues a VMA iterator to the next VMA, takes
//! its read lock, checks with the `mmap_lock` sequence count that no VMA appeared in a gap
//! before it, and otherwise takes `mmap_read_lock()` for that one lookup (its own fallback:
//! the VMA is read-locked under it, and `mmap_lock` dropped again). When the VMA's lock count
//! would overflow, `lock_next_vma()` fails with `EAGAIN`; the cursor then does what `/proc`'s
//! `fallback_to_mmap_lock()` does: it holds `mmap_read_lock` for the rest of its life, as with
//! `lock_mode=1`, and answers (`EAGAIN` never reaches user space).
//!
//! The cursor is told once whether its user sleeps while it holds a VMA ([`Context`]). A
//! [`Context::NoSleep`] cursor (formatting a `maps` line into the seq_file buffer, or
//! `smaps_rollup` walking a small anonymous VMA) keeps the RCU read-side section open from one
//! VMA to the next, as `/proc` does within one `read()` chunk, so the iterator continues from
//! the last VMA without walking the tree again. A [`Context::MaySleep`] cursor closes the
//! section before handing the VMA out, and the next lookup starts at the root. The types say
//! which is which: only a VMA found in the section the cursor still keeps open is an
//! [`RcuVma`] ([`LockedVma::in_rcu`]), what may be used without sleeping, and a VMA becomes a
//! [`SleepableVma`], what may be walked with callbacks that sleep, only with the section closed
//! ([`LockedVma::sleepable`] closes it; the VMA stays locked, and the next lookup starts at the
//! root). The iterator is only continued with preemptible RCU (`CONFIG_PREEMPT_RCU`): without
//! it, continuing readers can livelock behind a preempted tree writer, which 7.3's own
//! `/proc/PID/maps` does (`Documentation/`); then every lookup starts at the root.
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
//!   that VMA was locked (`lock_next_vma()`'s sequence-count check);
//! * a VMA that exists for the whole read is always handed out;
//! * the reader makes progress: the `mmap_lock` fallback cannot fail against writers, and a
//!   writer waits for it at most one lookup (for the rest of the cursor's life after `EAGAIN`,
//!   as with `/proc`'s reader then);
//! * the reader moves no system counter that `/proc`'s reader does not: it never asks
//!   `lock_vma_under_rcu()` (which counts a `vma_lock_abort` in `/proc/vmstat` for every
//!   address that lies in a gap).

use core::{cell::Cell, ops::Deref, ptr::NonNull};
use kernel::{
    bindings,
    error::to_result,
    mm::{virt::VmaRef, MmWithUser},
    prelude::*,
    sync::rcu,
    types::NotThreadSafe,
};

use crate::{
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
    fn rust_procmaps_mmap_read_lock_killable(mm: *mut bindings::mm_struct) -> c_int;
    fn rust_procmaps_mmap_lock_is_contended(mm: *mut bindings::mm_struct) -> bool;
    fn rust_procmaps_lock_next_vma(
        mm: *mut bindings::mm_struct,
        vmi: *mut bindings::vma_iterator,
        addr: usize,
        reset: bool,
        vma: *mut *mut bindings::vm_area_struct,
        fell_back: *mut bool,
    ) -> c_int;
    fn rust_procmaps_lock_next_vma_at(
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
    /// (until [`LockedVma::sleepable`] closes it).
    NoSleep,
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

/// A VMA read-locked by `lock_next_vma()`, unlocked on drop: `VmaReadGuard` of
/// `rust/kernel/mm.rs`, which only `lock_vma_under_rcu()` makes there.
///
/// # Invariants
///
/// `vma` is a VMA of an mm that the cursor borrows (with non-zero `mm_users` for `'mm`), and
/// this value owns one read lock on it.
struct VmaReadLock<'mm> {
    vma: &'mm VmaRef,
    /// `vma_end_read()` must be called on the thread that took the lock.
    _nts: NotThreadSafe,
}

impl Drop for VmaReadLock<'_> {
    fn drop(&mut self) {
        // SAFETY: We own one read lock on this VMA (invariant).
        unsafe { bindings::vma_end_read(self.vma.as_ptr()) };
    }
}

/// `mmap_read_lock_killable()`, unlocked on drop: `MmapReadGuard` of `rust/kernel/mm.rs`,
/// which only the non-killable `mmap_read_lock()` makes there (`/proc` takes the killable one
/// for a `read()` chunk).
///
/// # Invariants
///
/// This value holds the mmap read lock of `mm`.
struct MmapReadLock<'mm> {
    mm: &'mm MmWithUser,
    /// `mmap_read_unlock()` must be called on the thread that took the lock.
    _nts: NotThreadSafe,
}

impl<'mm> MmapReadLock<'mm> {
    /// Takes the lock; `EINTR` if a fatal signal arrives while waiting.
    fn lock_killable(mm: &'mm MmWithUser) -> Result<Self> {
        // SAFETY: `mm` has users.
        to_result(unsafe { rust_procmaps_mmap_read_lock_killable(mm.as_raw()) })?;
        // INVARIANT: Just taken.
        Ok(Self {
            mm,
            _nts: NotThreadSafe,
        })
    }

    /// The first VMA that ends above `from`, stable while the lock is held.
    fn vma_next(&self, from: usize) -> Option<NonNull<bindings::vm_area_struct>> {
        // SAFETY: We hold the mmap read lock (invariant), which the lookup requires.
        NonNull::new(unsafe { rust_procmaps_vma_next(self.mm.as_raw(), from) })
    }

    /// Whether a writer waits for the lock.
    fn is_contended(&self) -> bool {
        // SAFETY: `mm` has users.
        unsafe { rust_procmaps_mmap_lock_is_contended(self.mm.as_raw()) }
    }
}

impl Drop for MmapReadLock<'_> {
    fn drop(&mut self) {
        // SAFETY: We hold the lock (invariant).
        unsafe { bindings::mmap_read_unlock(self.mm.as_raw()) };
    }
}

/// What the lookups of one cursor took, added to [`STATS`] when dropped (one atomic add per
/// counter and cursor instead of one per VMA).
#[derive(Default)]
struct Counts {
    /// Locked under RCU by `lock_next_vma()`.
    locked_rcu: u64,
    /// Of those, found by continuing the iterator of the last lookup (no walk from the root).
    continued: u64,
    /// Locked under `mmap_lock` (`lock_next_vma()`'s own fallback, or the cursor's after
    /// `EAGAIN`).
    fallbacks: u64,
}

impl Drop for Counts {
    #[inline]
    fn drop(&mut self) {
        STATS.vma_locked_rcu.add(self.locked_rcu);
        STATS.vma_iter_continued.add(self.continued);
        STATS.mmap_lock_fallbacks.add(self.fallbacks);
    }
}

/// How cursors lock, fixed while the module is loaded (the `lock_mode` parameter, copied at
/// load): read once per open file and handed to each cursor, so that a cursor made per
/// `PROCMAP_QUERY` does not ask again.
#[derive(Clone, Copy)]
pub(crate) struct Locking {
    mode: LockMode,
    /// `inject_vma_lock_eagain` (testing only).
    eagain_every: u32,
}

impl Locking {
    /// What the module was loaded with.
    pub(crate) fn of_module() -> Self {
        Self {
            mode: params::lock_mode(),
            eagain_every: params::inject_vma_lock_eagain(),
        }
    }
}

/// `inject_vma_lock_eagain=N` (testing only): every `N`-th per-VMA lookup of a cursor answers
/// `EAGAIN`, as `lock_next_vma()` does when the VMA's reader count would overflow (about 2^30
/// readers of one VMA: nothing else makes it happen), so that tests see the fallback to
/// `mmap_read_lock` run.
struct InjectedEagain {
    every: u32,
    lookups: u32,
}

impl InjectedEagain {
    /// Whether this lookup answers `EAGAIN`.
    #[inline(always)]
    fn fires(&mut self) -> bool {
        if self.every == 0 {
            return false;
        }
        self.lookups = self.lookups.wrapping_add(1);
        self.lookups % self.every == 0
    }
}

/// What one `lock_next_vma()` call answered: counts it and makes the lock.
///
/// # Safety
///
/// `ret`, `vma` and `fell_back` are what one `lock_next_vma()` call on the cursor's mm returned.
unsafe fn step_result<'mm>(
    ret: c_int,
    vma: *mut bindings::vm_area_struct,
    fell_back: bool,
    counts: &mut Counts,
) -> Result<Option<VmaReadLock<'mm>>> {
    // Counted even when it failed: a fallback interrupted by a fatal signal took `mmap_lock`'s
    // slow path too.
    if fell_back {
        counts.fallbacks += 1;
    }
    // `to_result()`, inlined (the kernel crate's is a call, per VMA here).
    if ret < 0 {
        return Err(Error::from_errno(ret));
    }
    if vma.is_null() {
        return Ok(None);
    }
    if !fell_back {
        counts.locked_rcu += 1;
    }
    // INVARIANT: `lock_next_vma()` returned it read-locked, attached to the cursor's mm (the
    // function's safety requirement), which the cursor borrows for `'mm`.
    Ok(Some(VmaReadLock {
        // SAFETY: A VMA read-locked for us: valid until the lock is released.
        vma: unsafe { VmaRef::from_raw(vma) },
        _nts: NotThreadSafe,
    }))
}

/// A VMA iterator continued from one lookup to the next within one RCU read-side section.
///
/// # Invariants
///
/// While `rcu` holds a guard, the section it holds is open, and `vmi` was set up for the
/// cursor's mm and last moved inside that section, to the VMA that ends at `end`; without a
/// guard, `vmi` must be set up again before its next use. (The iterator stays in place rather
/// than in an `Option` with its guard: moving its 100-odd bytes in and out at every VMA showed
/// in the `maps` reader's cost.) The guard is in a `Cell` so that [`LockedVma::sleepable`]
/// can close the section through a shared reference.
struct ContinuedIter {
    vmi: bindings::vma_iterator,
    end: usize,
    rcu: Cell<Option<rcu::Guard>>,
}

/// How a per-VMA cursor finds and locks its next VMA, decided at its creation.
enum Step {
    /// `lock_next_vma()` from the root for every lookup, in an RCU section of its own: a
    /// [`Context::MaySleep`] cursor, or a kernel without preemptible RCU.
    FromRoot,
    /// `lock_next_vma()` continuing its iterator within an RCU section kept open from one VMA
    /// to the next: a [`Context::NoSleep`] cursor with preemptible RCU.
    Continue(ContinuedIter),
}

impl Step {
    fn new(context: Context) -> Self {
        // Only with preemptible RCU: without it, readers that continue an iterator can spin
        // forever behind a preempted tree writer (`Documentation/`, /proc's livelock).
        if context == Context::NoSleep && cfg!(CONFIG_PREEMPT_RCU) {
            // INVARIANT: No guard: `vmi` is set up before its first use.
            Step::Continue(ContinuedIter {
                vmi: bindings::vma_iterator::default(),
                end: 0,
                rcu: Cell::new(None),
            })
        } else {
            Step::FromRoot
        }
    }

    /// Finds the first VMA of `mm` that ends above `from` and read-locks it.
    ///
    /// Returns `Ok(None)` past the last VMA, `EINTR` if a fatal signal arrives while waiting
    /// for `mmap_lock`, `EAGAIN` if the VMA's lock count would overflow. The caller must keep
    /// its `mmget` reference on `mm` until the returned lock is dropped, and must not hold
    /// another VMA lock or `mmap_lock`.
    fn lock_next<'mm>(
        &mut self,
        mm: &'mm MmWithUser,
        from: usize,
        counts: &mut Counts,
    ) -> Result<Option<VmaReadLock<'mm>>> {
        let mut vma = core::ptr::null_mut();
        let mut fell_back = false;
        let Step::Continue(iter) = self else {
            // SAFETY: `mm` has users; the helper opens and closes its own RCU section; the
            // caller holds no other VMA lock.
            let ret = unsafe {
                rust_procmaps_lock_next_vma_at(mm.as_raw(), from, &mut vma, &mut fell_back)
            };
            // SAFETY: What the call above returned for `mm`.
            return unsafe { step_result(ret, vma, fell_back, counts) };
        };
        let rcu = iter.rcu.get_mut();
        let reset = match rcu {
            // Still in the section where `vmi` stopped at the VMA ending at `from`.
            Some(_) => iter.end != from,
            None => {
                *rcu = Some(rcu::read_lock());
                true
            }
        };
        // SAFETY: `mm` has users, the guard in `iter.rcu` holds the RCU read lock that
        // `lock_next_vma()` needs (it may drop and retake it, and returns with it held), and
        // `vmi` is set for `mm` in this section (invariant), or `reset` has the helper set it
        // first. The caller holds no other VMA lock.
        let ret = unsafe {
            rust_procmaps_lock_next_vma(
                mm.as_raw(),
                &mut iter.vmi,
                from,
                reset,
                &mut vma,
                &mut fell_back,
            )
        };
        // SAFETY: What the call above returned for `mm`.
        match unsafe { step_result(ret, vma, fell_back, counts) } {
            Ok(Some(locked)) => {
                if !fell_back && !reset {
                    counts.continued += 1;
                }
                // INVARIANT: `vmi` just moved in the open section, to `locked`.
                iter.end = locked.vma.end();
                Ok(Some(locked))
            }
            // Nothing to continue from: close the section.
            other => {
                *iter.rcu.get_mut() = None;
                other
            }
        }
    }
}

/// What a [`VmaCursor`] holds.
enum Held<'mm> {
    /// Per-VMA mode; the VMA handed out last, if any, read-locked. Declared first: the VMA
    /// lock is released before the RCU section `step` may hold.
    PerVma {
        vma: Option<VmaReadLock<'mm>>,
        step: Step,
        /// What the lookups took, for `stats` (when dropped).
        counts: Counts,
        /// `inject_vma_lock_eagain`.
        eagain: InjectedEagain,
    },
    /// `lock_mode=1`, or per-VMA mode after `EAGAIN`: `mmap_read_lock` (`None` only after a
    /// fatal signal interrupted taking it again), and the VMA handed out last, if any, stable
    /// while the lock is held (`None` whenever `lock` is).
    Mmap {
        lock: Option<MmapReadLock<'mm>>,
        vma: Option<NonNull<bindings::vm_area_struct>>,
    },
}

/// Walks the VMAs of one address space, holding each as `lock_mode` says (module docs).
///
/// It borrows the address space, on which its user holds an `mmget` reference for `'mm`; every
/// lock it holds is a guard in `held`, released when the cursor is dropped, so before the
/// borrow ends.
pub(crate) struct VmaCursor<'mm> {
    held: Held<'mm>,
    mm: &'mm MmWithUser,
}

impl<'mm> VmaCursor<'mm> {
    /// A cursor over `mm` for a user that sleeps or not while it holds a VMA, locking as
    /// `locking` says; with `lock_mode=1` it takes `mmap_read_lock_killable()` now (`EINTR` on a
    /// fatal signal).
    // Always inlined: a cursor is built in its caller's frame, not returned in a `Result` and
    // copied out with `memcpy`.
    #[inline(always)]
    pub(crate) fn new(mm: &'mm MmWithUser, context: Context, locking: Locking) -> Result<Self> {
        let held = match locking.mode {
            LockMode::PerVma => Held::PerVma {
                vma: None,
                step: Step::new(context),
                counts: Counts::default(),
                eagain: InjectedEagain {
                    every: locking.eagain_every,
                    lookups: 0,
                },
            },
            LockMode::Mmap => {
                let lock = MmapReadLock::lock_killable(mm)?;
                STATS.mmap_locked_chunks.inc();
                Held::Mmap {
                    lock: Some(lock),
                    vma: None,
                }
            }
        };
        Ok(Self { held, mm })
    }

    /// Releases the VMA handed out last and hands out the first VMA that ends above `from`,
    /// held until the next call (or the cursor's drop). `Ok(None)` past the last VMA; `EINTR`
    /// on a fatal signal while waiting for `mmap_lock`.
    pub(crate) fn advance(&mut self, from: usize) -> Result<Option<LockedVma<'_>>> {
        if let Held::PerVma {
            vma,
            step,
            counts,
            eagain,
        } = &mut self.held
        {
            // At most one VMA lock at a time: drop the previous one before the lookup.
            *vma = None;
            let next = if eagain.fires() {
                Err(EAGAIN)
            } else {
                step.lock_next(self.mm, from, counts)
            };
            match next {
                Ok(next) => {
                    *vma = next;
                    return Ok(self.current());
                }
                Err(err) if err != EAGAIN => return Err(err),
                // The VMA's lock count would overflow: fall through to `mmap_lock`.
                Err(_) => counts.fallbacks += 1,
            }
            self.fall_back_to_mmap_lock()?;
        }
        let Held::Mmap { lock, vma } = &mut self.held else {
            return Err(EINVAL);
        };
        let Some(lock) = lock else {
            return Err(EINTR);
        };
        *vma = lock.vma_next(from);
        Ok(self.current())
    }

    /// `/proc`'s `fallback_to_mmap_lock()`: from now on the cursor holds `mmap_read_lock`, as
    /// with `lock_mode=1`. The per-VMA state (no VMA is locked, the RCU section if open, the
    /// counts) is dropped first.
    fn fall_back_to_mmap_lock(&mut self) -> Result {
        self.held = Held::Mmap {
            lock: None,
            vma: None,
        };
        let lock = MmapReadLock::lock_killable(self.mm)?;
        STATS.mmap_locked_chunks.inc();
        self.held = Held::Mmap {
            lock: Some(lock),
            vma: None,
        };
        Ok(())
    }

    /// Whether a lookup so far took `mmap_lock`: a fallback of per-VMA mode, or `lock_mode=1`.
    pub(crate) fn took_mmap_lock(&self) -> bool {
        match &self.held {
            Held::PerVma { counts, .. } => counts.fallbacks > 0,
            Held::Mmap { .. } => true,
        }
    }

    /// The VMA handed out by the last [`VmaCursor::advance`], if any. It borrows the cursor
    /// mutably, so that no other view of the same VMA exists while it lives (an [`RcuVma`]
    /// relies on it: nothing else can close the section).
    pub(crate) fn current(&mut self) -> Option<LockedVma<'_>> {
        let (vma, lock) = match &self.held {
            Held::PerVma { vma, .. } => (vma.as_ref()?.vma, WalkLock::Vma),
            Held::Mmap { vma, .. } => {
                // SAFETY: The VMA is held by `mmap_lock` until the cursor changes or is
                // dropped, which the borrow of `self` excludes.
                (
                    unsafe { VmaRef::from_raw((*vma)?.as_ptr()) },
                    WalkLock::Mmap,
                )
            }
        };
        Some(LockedVma {
            vma,
            lock,
            cursor: self,
        })
    }

    /// Whether the cursor keeps an RCU read-side section open, the one it found its current VMA
    /// in.
    fn in_rcu(&self) -> bool {
        match &self.held {
            Held::PerVma {
                step: Step::Continue(iter),
                ..
            } => {
                let guard = iter.rcu.take();
                let in_rcu = guard.is_some();
                iter.rcu.set(guard);
                in_rcu
            }
            _ => false,
        }
    }

    /// Closes the RCU read-side section the cursor keeps open, if any. The VMA it holds stays
    /// locked; the next lookup walks the tree from its root.
    fn close_rcu(&self) {
        if let Held::PerVma {
            step: Step::Continue(iter),
            ..
        } = &self.held
        {
            // INVARIANT: Without a guard, `vmi` is set up again before its next use.
            iter.rcu.set(None);
        }
    }

    /// `smaps_rollup`'s courtesy to writers: with `mmap_lock` held (`lock_mode=1`) and a writer
    /// waiting for it, drop it and take it again, as `/proc` does after each VMA. The VMA
    /// handed out last is released. Per-VMA mode has nothing to drop.
    pub(crate) fn relax(&mut self) -> Result {
        let Held::Mmap { lock, vma } = &mut self.held else {
            return Ok(());
        };
        if !lock.as_ref().is_some_and(|lock| lock.is_contended()) {
            return Ok(());
        }
        STATS.rollup_lock_drops.inc();
        *vma = None;
        *lock = None;
        *lock = Some(MmapReadLock::lock_killable(self.mm)?);
        Ok(())
    }
}

/// A VMA a [`VmaCursor`] holds: valid and stable while this view lives, which the borrow of
/// the cursor guarantees (the cursor also keeps the `mmget` reference on its mm). Not `Copy`:
/// [`LockedVma::sleepable`] and [`LockedVma::in_rcu`] consume it.
pub(crate) struct LockedVma<'c> {
    vma: &'c VmaRef,
    lock: WalkLock,
    cursor: &'c VmaCursor<'c>,
}

impl<'c> LockedVma<'c> {
    /// Which lock holds the VMA.
    pub(crate) fn walk_lock(&self) -> WalkLock {
        self.lock
    }

    /// The VMA as one its user may sleep with: the RCU read-side section its cursor keeps
    /// open, if any, is closed first (the VMA stays locked).
    pub(crate) fn sleepable(self) -> SleepableVma<'c> {
        self.cursor.close_rcu();
        // INVARIANT: The section is closed, and cannot be opened again while `self` borrows
        // the cursor (a lookup needs it mutably).
        SleepableVma(self)
    }

    /// The VMA as one found in the RCU read-side section its cursor still keeps open, or back
    /// as it is if the cursor keeps none (`lock_mode=1`, a [`Context::MaySleep`] cursor, a
    /// kernel without preemptible RCU, after [`LockedVma::sleepable`]).
    pub(crate) fn in_rcu(self) -> Result<RcuVma<'c>, Self> {
        if self.cursor.in_rcu() {
            // INVARIANT: The section is open; only `sleepable()` closes it, and no other view of
            // the VMA exists to call it on while this one borrows the cursor.
            Ok(RcuVma(self))
        } else {
            Err(self)
        }
    }
}

impl Deref for LockedVma<'_> {
    type Target = VmaRef;

    fn deref(&self) -> &VmaRef {
        self.vma
    }
}

/// A [`LockedVma`] held without any RCU read-side section open: what may be walked with
/// callbacks that sleep.
///
/// # Invariants
///
/// No RCU read-side section of the cursor is open while this value lives.
pub(crate) struct SleepableVma<'c>(LockedVma<'c>);

impl<'c> SleepableVma<'c> {
    /// Back to the plain view (for printing after the walk).
    pub(crate) fn into_locked(self) -> LockedVma<'c> {
        self.0
    }
}

impl<'c> Deref for SleepableVma<'c> {
    type Target = LockedVma<'c>;

    fn deref(&self) -> &LockedVma<'c> {
        &self.0
    }
}

/// A [`LockedVma`] its cursor found in the RCU read-side section it keeps open: whoever uses
/// it must not sleep.
///
/// # Invariants
///
/// The cursor's RCU read-side section is open while this value lives, and its VMA is
/// per-VMA locked ([`WalkLock::Vma`]).
pub(crate) struct RcuVma<'c>(LockedVma<'c>);

impl<'c> RcuVma<'c> {
    /// Back to the plain view (which may then be made [`LockedVma::sleepable`]).
    pub(crate) fn into_locked(self) -> LockedVma<'c> {
        self.0
    }
}

impl<'c> Deref for RcuVma<'c> {
    type Target = LockedVma<'c>;

    fn deref(&self) -> &LockedVma<'c> {
        &self.0
    }
}
