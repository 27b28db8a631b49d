// SPDX-License-Identifier: GPL-2.0

//! What one VMA's pages add to the smaps counters.
//!
//! The page tables are walked by mm's own walker, `walk_page_range_vma()`, which the module
//! reaches through `kernel/patches/` (see `Documentation/rust_procmaps.rst`, "smaps"). The walker
//! takes care of what makes a page-table walk delicate: it checks the VMA lock (or
//! `mmap_lock`), descends the levels, and hands us each PMD with the rules of
//! `pmd_trans_huge_lock()` / `pte_offset_map_lock()` to follow. Our callbacks take those locks
//! as `smaps_pte_range()` does; under them, the entries are counted value for value as
//! `fs/proc/task_mmu.c` counts them (`smaps_account()`, `smaps_pte_entry()`,
//! `smaps_pmd_entry()`, `smaps_hugetlb_range()`) by C (helpers.c), with the kernel's own
//! inlines: the per-page loop is one language, and C's is the one that can call them (a
//! Rust loop over C's facts executed 1.3x `/proc`'s instructions). `smaps_pte_hole()` and the
//! shmem swap lookup stay here.
//!
//! The per-PMD part of the walk ([`pmd_range`]) and the read of a huge PTE
//! ([`huge_pte_locked`]) are shared with `numa_maps` (numa_maps.rs).
//!
//! The accounting assumes `CONFIG_PAGE_MAPCOUNT` (per-page mapcounts, the default; PSS of a
//! shared large folio is computed page by page from them).
//!
//! C source: [`fs/proc/task_mmu.c`](srctree/fs/proc/task_mmu.c)

use core::ptr::NonNull;
use kernel::{bindings, mm::virt::flags, prelude::*};

use crate::{
    mm_lock::{LockedVma, RcuVma, SleepableVma, WalkLock},
    vma_fields::VmaFields,
};

/// `PSS_SHIFT` of `task_mmu.c`: PSS is kept in units of 1/4096 byte.
pub(crate) const PSS_SHIFT: u32 = 12;

const PAGE_SIZE: u64 = bindings::PAGE_SIZE as u64;

/// `struct mm_walk` of `include/linux/pagewalk.h` (not in the kernel crate's bindings):
/// only the two fields the callbacks read are used, at the offsets helpers.c asserts too (a
/// field read instead of a call into C per page-table callback).
#[repr(C)]
pub(crate) struct MmWalk {
    _ops: *const c_void,
    _mm: *mut bindings::mm_struct,
    _pgd: *mut c_void,
    vma: *mut bindings::vm_area_struct,
    _action: c_int,
    _no_vma: bool,
    private: *mut c_void,
}

const _: () = {
    assert!(core::mem::offset_of!(MmWalk, vma) == 24);
    assert!(core::mem::offset_of!(MmWalk, private) == 40);
};

/// The VMA of the walk `walk`.
///
/// # Safety
///
/// `walk` must be the walk of one of our callbacks, during the callback.
pub(crate) unsafe fn walk_vma(walk: *mut MmWalk) -> *mut bindings::vm_area_struct {
    // SAFETY: Per the function's safety requirement, `walk` is valid; the walker set `vma`.
    unsafe { (*walk).vma }
}

/// The `private` of the walk `walk`.
///
/// # Safety
///
/// As for [`walk_vma`].
pub(crate) unsafe fn walk_private(walk: *mut MmWalk) -> *mut c_void {
    // SAFETY: Per the function's safety requirement, `walk` is valid.
    unsafe { (*walk).private }
}

/// What a walk's PTEs are counted into, a table at a time ([`pmd_range`]): C reads and counts
/// them in the call that locks the table (`rust_procmaps_pmd_map_lock()`). The per-page loops
/// of smaps and numa_maps are all in C (helpers.c): split between C reading a page's facts and
/// Rust counting them, they executed 1.3x and 2x `/proc`'s instructions.
///
/// # Safety
///
/// `KIND` must be the `RUST_PROCMAPS_BATCH_*` of rust_procmaps.h whose reader counts into a
/// C struct of `Self`'s layout.
pub(crate) unsafe trait PteSink {
    /// `RUST_PROCMAPS_BATCH_*`.
    const KIND: c_uint;
}

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "kernel structs are only passed by pointer; pte_t, pmd_t and softleaf_t are \
              repr(C) single-integer structs, as in C"
)]
extern "C" {
    fn rust_procmaps_walk_smaps(
        vma: *mut bindings::vm_area_struct,
        start: usize,
        mmap_locked: bool,
        shmem_holes: bool,
        private: *mut c_void,
    ) -> c_int;
    fn rust_procmaps_walk_again(walk: *mut MmWalk);
    fn rust_procmaps_cond_resched();
    fn rust_procmaps_pmd_map_lock(
        kind: c_uint,
        vma: *mut bindings::vm_area_struct,
        pmd: *mut bindings::pmd_t,
        addr: usize,
        nr: c_uint,
        out: *mut c_void,
        ptl: *mut *mut bindings::spinlock_t,
    ) -> *mut bindings::pte_t;
    fn rust_procmaps_pte_unmap_unlock(
        pte: *mut bindings::pte_t,
        ptl: *mut bindings::spinlock_t,
        resched: bool,
    );
    fn rust_procmaps_smaps_pmd(
        w: *mut Walk<'_>,
        vma: *mut bindings::vm_area_struct,
        addr: usize,
        pmd: *mut bindings::pmd_t,
    );
    fn rust_procmaps_smaps_hugetlb(
        w: *mut Walk<'_>,
        vma: *mut bindings::vm_area_struct,
        pte: *mut bindings::pte_t,
        huge_pte: bindings::pte_t,
    );
    fn rust_procmaps_huge_pte_lock(
        vma: *mut bindings::vm_area_struct,
        pte: *mut bindings::pte_t,
    ) -> *mut bindings::spinlock_t;
    fn rust_procmaps_huge_ptep_get(
        mm: *mut bindings::mm_struct,
        addr: usize,
        pte: *mut bindings::pte_t,
    ) -> bindings::pte_t;
    fn rust_procmaps_shmem_mapping(vma: *mut bindings::vm_area_struct) -> bool;
    fn rust_procmaps_shmem_swap_usage(vma: *mut bindings::vm_area_struct) -> usize;
    fn rust_procmaps_shmem_partial_swap_usage(
        vma: *mut bindings::vm_area_struct,
        start: usize,
        end: usize,
    ) -> usize;
}

/// The counters of `struct mem_size_stats` (`task_mmu.c`), in bytes (PSS values shifted left
/// by [`PSS_SHIFT`]): `struct rust_procmaps_mss` of rust_procmaps.h, which C counts into.
#[derive(Default)]
#[repr(C)]
pub(crate) struct MemSizeStats {
    pub(crate) resident: u64,
    pub(crate) shared_clean: u64,
    pub(crate) shared_dirty: u64,
    pub(crate) private_clean: u64,
    pub(crate) private_dirty: u64,
    pub(crate) referenced: u64,
    pub(crate) anonymous: u64,
    pub(crate) lazyfree: u64,
    pub(crate) anonymous_thp: u64,
    pub(crate) shmem_thp: u64,
    pub(crate) file_thp: u64,
    pub(crate) swap: u64,
    pub(crate) shared_hugetlb: u64,
    pub(crate) private_hugetlb: u64,
    pub(crate) ksm: u64,
    pub(crate) pss: u64,
    pub(crate) pss_anon: u64,
    pub(crate) pss_file: u64,
    pub(crate) pss_shmem: u64,
    pub(crate) pss_dirty: u64,
    pub(crate) pss_locked: u64,
    pub(crate) swap_pss: u64,
}

// Checked in helpers.c too.
const _: () = assert!(core::mem::size_of::<MemSizeStats>() == 22 * 8);

/// The walk's `private`: `struct rust_procmaps_smaps_walk` of rust_procmaps.h (same layout,
/// the size checked on both sides), what C's counting reads.
#[repr(C)]
struct Walk<'a> {
    mss: &'a mut MemSizeStats,
    /// Swapped-out shmem pages are counted hole by hole (the walk has a `pte_hole` callback).
    shmem_holes: bool,
    /// `VM_LOCKED`: counts towards `Locked`.
    locked: bool,
    /// The callbacks may sleep (reschedule after each PMD); `false` inside an RCU read-side
    /// section ([`SmallAnonVma::gather`]).
    may_sleep: bool,
}

const _: () = assert!(core::mem::size_of::<Walk<'_>>() == 16);

// The `RUST_PROCMAPS_BATCH_*` kinds of rust_procmaps.h (`scripts/build-module.sh` fails the
// build if the two sides differ); numa_maps.rs has `BATCH_NUMA`.
const BATCH_SMAPS: c_uint = 0;

// SAFETY: `RUST_PROCMAPS_BATCH_SMAPS` counts the entries it reads into the
// `struct rust_procmaps_smaps_walk` it is given, which `Walk` is.
unsafe impl PteSink for Walk<'_> {
    const KIND: c_uint = BATCH_SMAPS;
}

/// Adds the pages of `vma` from `start` to its end into `mss` (`smap_gather_stats()`).
///
/// `start` at or below `vm_start` means the whole VMA. The cursor that handed out `vma` holds
/// it and an `mmget` reference on its mm for the whole call, says which lock the walker must
/// assert ([`crate::mm_lock::LockedVma::walk_lock`]), and has no RCU section open (the walk
/// sleeps): what [`SleepableVma`] guarantees.
pub(crate) fn gather(vma: &SleepableVma<'_>, start: usize, mss: &mut MemSizeStats) {
    if start >= vma.end() {
        return;
    }
    let raw = vma.as_ptr();
    let whole = start <= vma.start();
    let fl = vma.flags();
    let mut shmem_holes = false;
    // SAFETY: The VMA is held, so its file and mapping are stable (an anonymous VMA, without a
    // file, is not asked: one call fewer per VMA).
    if vma.file().is_some() && unsafe { rust_procmaps_shmem_mapping(raw) } {
        // As `task_mmu.c`: shared or read-only shmem mappings (and private ones with nothing
        // swapped out) take the swap total from the shmem object; private writable ones with
        // swapped-out pages look at every hole, as COW pages may hide the object's pages.
        // SAFETY: As above; the helper reads the shmem inode's counters.
        let swapped = unsafe { rust_procmaps_shmem_swap_usage(raw) } as u64;
        if whole && (swapped == 0 || fl & flags::SHARED != 0 || fl & flags::WRITE == 0) {
            mss.swap += swapped;
        } else {
            shmem_holes = true;
        }
    }
    walk_from(vma, start, shmem_holes, true, mss);
}

/// Largest VMA a [`SmallAnonVma`] may be: one PMD's worth of PTEs (at most two PTE tables, no
/// PUD leaf).
const SMALL_VMA_MAX: usize = 1 << bindings::PMD_SHIFT;

/// A VMA its cursor found in the RCU read-side section it keeps open ([`RcuVma`]) and whose
/// walk cannot sleep: it has no file (no shmem swap lookup), is not hugetlb (no hugetlb VMA
/// lock) and is at most [`SMALL_VMA_MAX`] long (no PUD leaf, at most two PTE tables). Walked
/// inside that section, so that the cursor continues its VMA iterator instead of walking the
/// tree again for the next VMA (what `smaps_rollup` does for such VMAs).
pub(crate) struct SmallAnonVma<'c>(RcuVma<'c>);

impl<'c> SmallAnonVma<'c> {
    /// `vma`, if it is one; back as a plain view for a VMA whose walk could sleep or take
    /// long (the caller then walks it with [`gather`]).
    pub(crate) fn new(vma: RcuVma<'c>) -> Result<Self, LockedVma<'c>> {
        let anonymous = vma.file().is_none();
        let hugetlb = vma.flags() & (1 << bindings::VMA_HUGETLB_BIT) != 0;
        if anonymous && !hugetlb && vma.end() - vma.start() <= SMALL_VMA_MAX {
            Ok(Self(vma))
        } else {
            Err(vma.into_locked())
        }
    }

    /// [`gather`], without sleeping: the callbacks do not reschedule, and the walker takes no
    /// sleeping lock for such a VMA.
    pub(crate) fn gather(&self, start: usize, mss: &mut MemSizeStats) {
        if start < self.0.end() {
            walk_from(&self.0, start, false, false, mss);
        }
    }
}

/// Walks `vma` from `start` (above `vm_start` or not) to its end with our callbacks.
///
/// `vma` is held as its [`WalkLock`] says for the whole call; with `may_sleep` false the
/// callbacks never sleep, and neither does the walker for an anonymous VMA (no hugetlb
/// VMA lock, no shmem holes).
fn walk_from(
    vma: &LockedVma<'_>,
    start: usize,
    shmem_holes: bool,
    may_sleep: bool,
    mss: &mut MemSizeStats,
) {
    let raw = vma.as_ptr();
    let mut walk = Walk {
        mss,
        shmem_holes,
        locked: vma.flags() & (1 << bindings::VMA_LOCKED_BIT) != 0,
        may_sleep,
    };
    // SAFETY: The VMA is held as `walk_lock()` says, which is what the walker asserts; `walk`
    // outlives the call and is only used by our callbacks. Errors (none are expected for a
    // range inside the VMA) leave the counters as far as they got, like `/proc`.
    unsafe {
        rust_procmaps_walk_smaps(
            raw,
            start.max(vma.start()),
            vma.walk_lock() == WalkLock::Mmap,
            shmem_holes,
            (&raw mut walk).cast(),
        )
    };
}

/// A page-table spinlock we hold (from `pmd_trans_huge_lock()` or `huge_pte_lock()`),
/// released on drop.
///
/// # Invariants
///
/// This value owns the hold of `ptl`.
pub(crate) struct PtlGuard {
    ptl: NonNull<bindings::spinlock_t>,
}

impl PtlGuard {
    /// Takes over the release of `ptl`; `None` for NULL (no lock was taken).
    ///
    /// # Safety
    ///
    /// A non-null `ptl` must be a spinlock the caller holds and does not release itself.
    unsafe fn new(ptl: *mut bindings::spinlock_t) -> Option<Self> {
        // INVARIANT: Per the function's safety requirement.
        NonNull::new(ptl).map(|ptl| Self { ptl })
    }
}

impl Drop for PtlGuard {
    fn drop(&mut self) {
        // SAFETY: We hold the lock (invariant).
        unsafe { bindings::spin_unlock(self.ptl.as_ptr()) };
    }
}

/// What the start of `smaps_pte_range()` found under a PMD ([`PmdMap::lock`]).
enum PmdMap {
    /// A huge page, its PMD locked.
    Huge(PtlGuard),
    /// A PTE table, mapped and locked, its entries counted.
    Table(PteTable),
    /// Neither any more (the PMD changed under us): walk it again.
    Again,
}

impl PmdMap {
    /// `pmd_trans_huge_lock()`, and for a PTE table `pte_offset_map_lock()` and its `count`
    /// entries from `addr` counted into `sink`: one call.
    ///
    /// # Safety
    ///
    /// `pmd` must be a PMD of `vma`'s page tables for `addr`, `vma` held for the whole life of
    /// the result, and `[addr, addr + count pages)` within that PMD. `may_sleep` says whether
    /// the walk may reschedule when the table is released.
    unsafe fn lock<S: PteSink>(
        vma: *mut bindings::vm_area_struct,
        pmd: *mut bindings::pmd_t,
        addr: usize,
        count: usize,
        sink: &mut S,
        may_sleep: bool,
    ) -> Self {
        let mut ptl = core::ptr::null_mut();
        // SAFETY: Per the function's safety requirement; `S::KIND`'s reader counts the entries
        // into `sink` (`PteSink`).
        let pte = unsafe {
            rust_procmaps_pmd_map_lock(
                S::KIND,
                vma,
                pmd,
                addr,
                count as c_uint,
                core::ptr::from_mut(sink).cast(),
                &mut ptl,
            )
        };
        match NonNull::new(pte) {
            // INVARIANT: A non-null table is mapped and locked with `ptl`.
            Some(pte) => PmdMap::Table(PteTable {
                pte,
                ptl,
                may_sleep,
            }),
            // SAFETY: Without a table, a non-null `ptl` is the held lock of a huge PMD.
            None => match unsafe { PtlGuard::new(ptl) } {
                Some(ptl) => PmdMap::Huge(ptl),
                None => PmdMap::Again,
            },
        }
    }
}

/// A PTE table, mapped and locked by `pte_offset_map_lock()` ([`PmdMap`]); on drop
/// unmapped, unlocked, and, if the walk may sleep, a chance to reschedule given (the end of
/// `smaps_pte_range()`, in one call).
///
/// # Invariants
///
/// `pte` is an entry of one PTE table that this value holds mapped and locked with `ptl`. It
/// only lives in a page-walk callback, which may sleep if `may_sleep`.
struct PteTable {
    pte: NonNull<bindings::pte_t>,
    ptl: *mut bindings::spinlock_t,
    may_sleep: bool,
}

impl Drop for PteTable {
    fn drop(&mut self) {
        // SAFETY: Unmaps and unlocks what `PmdMap::lock` took (invariant); any entry of the
        // table names it. It reschedules only if the callback may sleep (invariant).
        unsafe { rust_procmaps_pte_unmap_unlock(self.pte.as_ptr(), self.ptl, self.may_sleep) };
    }
}

/// The walk state behind `walk`.
///
/// # Safety
///
/// `walk` must be a walk started by [`gather`], during one of its callbacks.
unsafe fn walk_state<'a>(walk: *mut MmWalk) -> &'a mut Walk<'a> {
    // SAFETY: `gather` passed a `Walk` as `private` and it outlives the walk; callbacks run
    // one at a time, so the reference is unique.
    unsafe { &mut *walk_private(walk).cast::<Walk<'a>>() }
}

/// `smaps_pte_hole()`: swapped-out shmem pages of `[addr, end)` in a private writable
/// shmem mapping `vma`.
///
/// # Safety
///
/// `vma` must be the VMA of a walk started by [`gather`], during one of its callbacks.
unsafe fn shmem_hole(
    vma: *mut bindings::vm_area_struct,
    mss: &mut MemSizeStats,
    addr: usize,
    end: usize,
) {
    // SAFETY: The walk holds the VMA, a shmem mapping (only such walks count holes).
    mss.swap += unsafe { rust_procmaps_shmem_partial_swap_usage(vma, addr, end) } as u64;
}

/// `pte_hole` callback: the walker found no page table for `[addr, end)`.
///
/// # Safety
///
/// Called by `walk_page_range_vma()` for a walk started by [`gather`].
#[no_mangle]
unsafe extern "C" fn rust_procmaps_smaps_pte_hole(
    addr: usize,
    end: usize,
    _depth: c_int,
    walk: *mut MmWalk,
) -> c_int {
    // SAFETY: Per the function's safety requirement.
    unsafe { shmem_hole(walk_vma(walk), walk_state(walk).mss, addr, end) };
    0
}

/// One PMD's worth, `[addr, end)`, of a walk's VMA, gone through as `smaps_pte_range()` and
/// `gather_pte_stats()` of `task_mmu.c` do: under `pmd_trans_huge_lock()` a huge PMD is handed
/// to `huge`; otherwise the entries of the PTE table, under `pte_offset_map_lock()`, are
/// counted into `sink` (by C, in the call that locks the table); a table that went away
/// meanwhile is walked again (`ACTION_AGAIN`). Then, if the walk may sleep, a chance to
/// reschedule.
///
/// # Safety
///
/// `walk` must be a walk in progress, with `pmd` a PMD of its VMA's page tables in which
/// `[addr, end)` lies; `huge` runs with the PMD locked.
#[inline(always)]
pub(crate) unsafe fn pmd_range<S: PteSink>(
    walk: *mut MmWalk,
    pmd: *mut bindings::pmd_t,
    addr: usize,
    end: usize,
    may_sleep: bool,
    sink: &mut S,
    huge: impl FnOnce(&mut S),
) -> c_int {
    // SAFETY: The walk holds the VMA (per-VMA or mmap lock), so the VMA is valid.
    let vma = unsafe { walk_vma(walk) };
    let count = (end - addr) / PAGE_SIZE as usize;
    // SAFETY: `pmd` is a PMD of the held VMA's page tables and `[addr, end)` lies in it.
    match unsafe { PmdMap::lock(vma, pmd, addr, count, sink, may_sleep) } {
        PmdMap::Huge(_ptl) => huge(sink),
        // Counted; dropping the table unlocks it and, if the walk may sleep, gives the chance
        // to reschedule.
        PmdMap::Table(_table) => return 0,
        PmdMap::Again => {
            // SAFETY: `walk` is the walk in progress.
            unsafe { rust_procmaps_walk_again(walk) };
            return 0;
        }
    }
    if may_sleep {
        // SAFETY: No spinlock is held here, and the walk may sleep.
        unsafe { rust_procmaps_cond_resched() };
    }
    0
}

/// `pmd_entry` callback (`smaps_pte_range()`): one PMD's worth of `[addr, end)`.
///
/// # Safety
///
/// Called by `walk_page_range_vma()` for a walk started by [`gather`], with `pmd` a PMD of the
/// walked VMA's page tables.
#[no_mangle]
unsafe extern "C" fn rust_procmaps_smaps_pmd_entry(
    pmd: *mut bindings::pmd_t,
    addr: usize,
    end: usize,
    walk: *mut MmWalk,
) -> c_int {
    // SAFETY: Per the function's safety requirement: the walk holds its VMA.
    let (vma, state) = unsafe { (walk_vma(walk), walk_state(walk)) };
    let may_sleep = state.may_sleep;
    // SAFETY: Per the function's safety requirement; the PTE batches count into `state`, and
    // the huge PMD is counted with it locked (`huge` runs under `pmd_trans_huge_lock()`).
    unsafe {
        pmd_range(walk, pmd, addr, end, may_sleep, state, |w| {
            rust_procmaps_smaps_pmd(w, vma, addr, pmd)
        })
    }
}

/// The huge PTE `pte` of the walk's hugetlb VMA, for `addr`, read under the huge page-table
/// lock, which the returned guard holds (the start of `smaps_hugetlb_range()` and of
/// `gather_hugetlb_stats()`).
///
/// # Safety
///
/// `walk` must be a walk in progress in its `hugetlb_entry` callback, with `pte` the huge PTE
/// the walker passed it.
pub(crate) unsafe fn huge_pte_locked(
    walk: *mut MmWalk,
    pte: *mut bindings::pte_t,
    addr: usize,
) -> (Option<PtlGuard>, bindings::pte_t) {
    // SAFETY: Per the function's safety requirement: the VMA is held and `pte` is its huge PTE;
    // the lock taken is released by the guard.
    unsafe {
        let vma = walk_vma(walk);
        let ptl = PtlGuard::new(rust_procmaps_huge_pte_lock(vma, pte));
        (ptl, rust_procmaps_huge_ptep_get((*vma).vm_mm, addr, pte))
    }
}

/// `hugetlb_entry` callback (`smaps_hugetlb_range()`): one huge page of a hugetlb VMA.
///
/// # Safety
///
/// Called by `walk_page_range_vma()` for a walk started by [`gather`], with `pte` a huge PTE of
/// the walked VMA (the walker holds the hugetlb VMA lock).
#[no_mangle]
unsafe extern "C" fn rust_procmaps_smaps_hugetlb_entry(
    pte: *mut bindings::pte_t,
    _hmask: usize,
    addr: usize,
    _end: usize,
    walk: *mut MmWalk,
) -> c_int {
    // SAFETY: Per the function's safety requirement: the VMA is held and `pte` is its huge PTE,
    // read and counted under the huge page-table lock, held until the end.
    unsafe {
        let (_ptl, ptent) = huge_pte_locked(walk, pte, addr);
        rust_procmaps_smaps_hugetlb(walk_state(walk), walk_vma(walk), pte, ptent);
    }
    0
}
