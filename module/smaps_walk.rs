// SPDX-License-Identifier: GPL-2.0

//! What one VMA's pages add to the smaps counters.
//!
//! The page tables are walked by mm's own walker, `walk_page_range_vma()`, which the module
//! reaches through `kernel/patches/` (see `Documentation/rust_procmaps.rst`, "smaps"). The walker
//! takes care of what makes a page-table walk delicate: it checks the VMA lock (or
//! `mmap_lock`), descends the levels, and hands us each PMD with the rules of
//! `pmd_trans_huge_lock()` / `pte_offset_map_lock()` to follow. Our callbacks only read entries
//! under the page-table lock they take and do the accounting, value for value as
//! `fs/proc/task_mmu.c` does it (`smaps_pte_range()`, `smaps_account()`,
//! `smaps_hugetlb_range()`, `smaps_pte_hole()`); the folio queries they use are the kernel's
//! own inlines.
//!
//! The per-PMD part of the walk ([`pmd_range`]) and the read of a huge PTE
//! ([`huge_pte_locked`]) are shared with `numa_maps` (numa_maps.rs).
//!
//! The accounting assumes `CONFIG_PAGE_MAPCOUNT` (per-page mapcounts, the default; PSS of a
//! shared large folio is computed page by page from them).
//!
//! C source: [`fs/proc/task_mmu.c`](srctree/fs/proc/task_mmu.c)

use core::{mem::MaybeUninit, ptr::NonNull};
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

// The `RUST_PROCMAPS_FOLIO_*` bits of rust_procmaps.h (`scripts/build-module.sh` fails the
// build if the two sides differ). The per-page inlines are asked in
// groups (a PTE's bits and its page's folio tests, for [`PTE_BATCH`] PTEs per call) because
// every call from Rust to a C shim is a real call: one per inline made walks of large
// processes markedly slower.
const FOLIO_ANON: u32 = 1 << 0;
const FOLIO_SWAPBACKED: u32 = 1 << 1;
const FOLIO_KSM: u32 = 1 << 2;
const FOLIO_YOUNG: u32 = 1 << 3;
const FOLIO_REFERENCED: u32 = 1 << 4;
const FOLIO_DIRTY: u32 = 1 << 5;
const FOLIO_ZONE_DEVICE: u32 = 1 << 6;
const FOLIO_REF_ONE: u32 = 1 << 7;

// The `RUST_PROCMAPS_PTE_*` bits of rust_procmaps.h (checked the same way).
pub(crate) const PTE_PRESENT: u32 = 1 << 0;
const PTE_NONE: u32 = 1 << 1;
const PTE_YOUNG: u32 = 1 << 2;
pub(crate) const PTE_DIRTY: u32 = 1 << 3;

/// `struct rust_procmaps_pte_info` of rust_procmaps.h: one PTE as `rust_procmaps_pte_batch()`
/// reads it (its layout is asserted here and in helpers.c).
#[repr(C)]
struct PteInfo {
    pte: bindings::pte_t,
    /// Present entries: `vm_normal_page()`, its folio and the folio's `FOLIO_*` tests.
    page: *mut bindings::page,
    folio: *mut bindings::folio,
    /// `PTE_*`.
    bits: u32,
    tests: u32,
}

const _: () = {
    assert!(core::mem::size_of::<PteInfo>() == 32);
    assert!(core::mem::offset_of!(PteInfo, page) == 8);
    assert!(core::mem::offset_of!(PteInfo, folio) == 16);
    assert!(core::mem::offset_of!(PteInfo, bits) == 24);
    assert!(core::mem::offset_of!(PteInfo, tests) == 28);
};

/// `RUST_PROCMAPS_PTE_BATCH`: entries read per call (512 bytes of stack at most).
const PTE_BATCH: usize = 16;

/// Where a walk's PTEs go, a table at a time ([`pmd_range`]): C reads them in batches of at
/// most [`PTE_BATCH`], one call each (`rust_procmaps_pte_batch()`), into what
/// [`PteSink::out`] gives: records that [`PteSink::take`] then goes through (smaps), or the
/// counters themselves (numa_maps, whose per-page loop is all in C).
///
/// # Safety
///
/// `KIND` must be the `RUST_PROCMAPS_BATCH_*` of rust_procmaps.h whose reader writes, for up
/// to [`PTE_BATCH`] entries, only what [`PteSink::out`] points to, in its layout.
pub(crate) unsafe trait PteSink {
    /// `RUST_PROCMAPS_BATCH_*`.
    const KIND: c_uint;

    /// What the next batch is read into.
    fn out(&mut self) -> *mut c_void;

    /// The batch just read: `nr` entries, the first for `at`.
    ///
    /// # Safety
    ///
    /// The reader of `KIND` has just read those entries into [`PteSink::out`], and their page
    /// table is still locked.
    unsafe fn take(&mut self, nr: usize, at: usize);
}

// The `RUST_PROCMAPS_BATCH_*` kinds of rust_procmaps.h (checked as the bits above are).
// numa_maps.rs has `BATCH_NUMA`.
const BATCH_SMAPS: c_uint = 0;

/// smaps' [`PteSink`]: a batch of [`PteInfo`] records, each then accounted by [`pte_entry`].
struct SmapsPtes<'w, 'a> {
    records: [MaybeUninit<PteInfo>; PTE_BATCH],
    walk: &'w mut Walk<'a>,
    vma: *mut bindings::vm_area_struct,
}

// SAFETY: `RUST_PROCMAPS_BATCH_SMAPS` writes whole `struct rust_procmaps_pte_info`s, whose
// layout `PteInfo` has (asserted on both sides), and `records` has room for `PTE_BATCH`.
unsafe impl PteSink for SmapsPtes<'_, '_> {
    const KIND: c_uint = BATCH_SMAPS;

    fn out(&mut self) -> *mut c_void {
        self.records.as_mut_ptr().cast()
    }

    #[inline(always)]
    unsafe fn take(&mut self, nr: usize, at: usize) {
        for (i, info) in self.records[..nr].iter().enumerate() {
            // SAFETY: The reader wrote the first `nr` records and the table is locked (the
            // function's safety requirement). The address stays in the PMD's range: wrapping,
            // it costs no overflow check.
            unsafe {
                pte_entry(
                    self.walk,
                    self.vma,
                    info.assume_init_ref(),
                    at.wrapping_add(i.wrapping_mul(PAGE_SIZE as usize)),
                )
            };
        }
    }
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
    pub(crate) fn rust_procmaps_pmdp_get(pmd: *mut bindings::pmd_t) -> bindings::pmd_t;
    fn rust_procmaps_pmd_none(pmd: bindings::pmd_t) -> bool;
    pub(crate) fn rust_procmaps_pmd_present(pmd: bindings::pmd_t) -> bool;
    fn rust_procmaps_pmd_young(pmd: bindings::pmd_t) -> bool;
    pub(crate) fn rust_procmaps_pmd_dirty(pmd: bindings::pmd_t) -> bool;
    fn rust_procmaps_thp_migration_supported() -> bool;
    fn rust_procmaps_softleaf_from_pmd(pmd: bindings::pmd_t) -> bindings::softleaf_t;
    pub(crate) fn rust_procmaps_hpage_pmd_size() -> usize;
    pub(crate) fn rust_procmaps_vm_normal_page_pmd(
        vma: *mut bindings::vm_area_struct,
        addr: usize,
        pmd: bindings::pmd_t,
    ) -> *mut bindings::page;
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
    pub(crate) fn rust_procmaps_pte_bits(pte: bindings::pte_t) -> u32;
    pub(crate) fn rust_procmaps_pte_page(pte: bindings::pte_t) -> *mut bindings::page;
    fn rust_procmaps_pte_batch(
        kind: c_uint,
        vma: *mut bindings::vm_area_struct,
        pte: *mut bindings::pte_t,
        addr: usize,
        nr: c_uint,
        out: *mut c_void,
    );
    fn rust_procmaps_softleaf_from_pte(pte: bindings::pte_t) -> bindings::softleaf_t;
    fn rust_procmaps_softleaf_is_swap(entry: bindings::softleaf_t) -> bool;
    fn rust_procmaps_softleaf_has_pfn(entry: bindings::softleaf_t) -> bool;
    fn rust_procmaps_softleaf_is_device_private(entry: bindings::softleaf_t) -> bool;
    fn rust_procmaps_softleaf_to_page(entry: bindings::softleaf_t) -> *mut bindings::page;
    fn rust_procmaps_swp_swapcount(entry: bindings::softleaf_t) -> c_int;
    fn rust_procmaps_page_folio(page: *mut bindings::page) -> *mut bindings::folio;
    fn rust_procmaps_compound_nr(page: *mut bindings::page) -> usize;
    fn rust_procmaps_page_folio_tests(
        page: *mut bindings::page,
        folio: *mut *mut bindings::folio,
    ) -> u32;
    fn rust_procmaps_folio_precise_page_mapcount(
        folio: *mut bindings::folio,
        page: *mut bindings::page,
    ) -> c_int;
    fn rust_procmaps_folio_maybe_mapped_shared(folio: *mut bindings::folio) -> bool;
    fn rust_procmaps_huge_pte_lock(
        vma: *mut bindings::vm_area_struct,
        pte: *mut bindings::pte_t,
    ) -> *mut bindings::spinlock_t;
    fn rust_procmaps_huge_ptep_get(
        mm: *mut bindings::mm_struct,
        addr: usize,
        pte: *mut bindings::pte_t,
    ) -> bindings::pte_t;
    fn rust_procmaps_hugetlb_pmd_shared(pte: *mut bindings::pte_t) -> bool;
    fn rust_procmaps_vma_huge_page_size(vma: *mut bindings::vm_area_struct) -> usize;
    fn rust_procmaps_shmem_mapping(vma: *mut bindings::vm_area_struct) -> bool;
    fn rust_procmaps_shmem_swap_usage(vma: *mut bindings::vm_area_struct) -> usize;
    fn rust_procmaps_shmem_partial_swap_usage(
        vma: *mut bindings::vm_area_struct,
        start: usize,
        end: usize,
    ) -> usize;
}

/// The counters of `struct mem_size_stats` (`task_mmu.c`), in bytes (PSS values shifted left
/// by [`PSS_SHIFT`]).
#[derive(Default)]
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

/// The walk's `private`.
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

/// `counter += value` as C does it for the `u64` counters of `mem_size_stats` (and of
/// numa_maps' `numa_maps`): wrapping, so that the per-page path has no overflow checks (a
/// branch to a panic each, measured).
#[inline(always)]
pub(crate) fn add(counter: &mut u64, value: u64) {
    *counter = counter.wrapping_add(value);
}

/// `smaps_page_accumulate()`: `folio` is described by its test bits `tests`.
#[inline(always)]
fn accumulate(
    mss: &mut MemSizeStats,
    tests: u32,
    size: u64,
    pss: u64,
    dirty: bool,
    locked: bool,
    private: bool,
) {
    add(&mut mss.pss, pss);
    if tests & FOLIO_ANON != 0 {
        add(&mut mss.pss_anon, pss);
    } else if tests & FOLIO_SWAPBACKED != 0 {
        add(&mut mss.pss_shmem, pss);
    } else {
        add(&mut mss.pss_file, pss);
    }
    if locked {
        add(&mut mss.pss_locked, pss);
    }
    if dirty || tests & FOLIO_DIRTY != 0 {
        add(&mut mss.pss_dirty, pss);
        if private {
            add(&mut mss.private_dirty, size);
        } else {
            add(&mut mss.shared_dirty, size);
        }
    } else if private {
        add(&mut mss.private_clean, size);
    } else {
        add(&mut mss.shared_clean, size);
    }
}

/// `smaps_account()`: one mapped page, or a whole PMD-mapped folio when `compound`; `folio`
/// and `tests` are the page's folio and its `FOLIO_*` tests.
///
/// # Safety
///
/// `page` must be mapped by the entry the caller reads under its page-table lock, held for
/// the whole call.
#[inline(always)]
#[expect(clippy::too_many_arguments, reason = "smaps_account()'s own arguments")]
unsafe fn account(
    walk: &mut Walk<'_>,
    page: *mut bindings::page,
    folio: *mut bindings::folio,
    tests: u32,
    compound: bool,
    young: bool,
    dirty: bool,
    present: bool,
) {
    let nr = if compound {
        // SAFETY: The page is mapped and the page-table lock pins the mapping, so the page and
        // its folio stay valid while we read their counters (racy reads, as in `/proc`).
        unsafe { rust_procmaps_compound_nr(page) }
    } else {
        1
    };
    let size = nr as u64 * PAGE_SIZE;
    let locked = walk.locked;
    let mss = &mut *walk.mss;

    if tests & FOLIO_ANON != 0 {
        add(&mut mss.anonymous, size);
        if tests & FOLIO_SWAPBACKED == 0 && !dirty && tests & FOLIO_DIRTY == 0 {
            add(&mut mss.lazyfree, size);
        }
    }
    if tests & FOLIO_KSM != 0 {
        add(&mut mss.ksm, size);
    }
    add(&mut mss.resident, size);
    if young || tests & (FOLIO_YOUNG | FOLIO_REFERENCED) != 0 {
        add(&mut mss.referenced, size);
    }

    // A present entry with refcount 1 is mapped exactly once; non-present entries count as
    // "maybe shared, not sure how often" (their mapcount must not be read).
    if tests & FOLIO_REF_ONE != 0 || !present {
        accumulate(mss, tests, size, size << PSS_SHIFT, dirty, locked, present);
        return;
    }
    for i in 0..nr {
        // SAFETY: A folio's pages are contiguous `struct page`s (`page++` in C); `i < nr`
        // stays inside the folio that `page` starts.
        let mapcount = unsafe { rust_procmaps_folio_precise_page_mapcount(folio, page.add(i)) };
        let mut pss = PAGE_SIZE << PSS_SHIFT;
        if mapcount >= 2 {
            pss /= mapcount as u64;
        }
        accumulate(mss, tests, PAGE_SIZE, pss, dirty, locked, mapcount < 2);
    }
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
    /// A PTE table, mapped and locked, its first entries read.
    Table(PteTable),
    /// Neither any more (the PMD changed under us): walk it again.
    Again,
}

impl PmdMap {
    /// `pmd_trans_huge_lock()`, and for a PTE table `pte_offset_map_lock()` for the `count`
    /// entries from `addr` and the first `first` of them read into `sink`: one call.
    ///
    /// # Safety
    ///
    /// `pmd` must be a PMD of `vma`'s page tables for `addr`, `vma` held for the whole life of
    /// the result, `[addr, addr + count pages)` within that PMD, and
    /// `first <= count.min(PTE_BATCH)`.
    /// `may_sleep` says whether the walk may reschedule when the table is released.
    unsafe fn lock<S: PteSink>(
        vma: *mut bindings::vm_area_struct,
        pmd: *mut bindings::pmd_t,
        addr: usize,
        count: usize,
        first: usize,
        sink: &mut S,
        may_sleep: bool,
    ) -> Self {
        let mut ptl = core::ptr::null_mut();
        // SAFETY: Per the function's safety requirement; `sink` takes `first <= PTE_BATCH`
        // entries read by `S::KIND`'s reader (`PteSink`).
        let pte = unsafe {
            rust_procmaps_pmd_map_lock(
                S::KIND,
                vma,
                pmd,
                addr,
                first as c_uint,
                sink.out(),
                &mut ptl,
            )
        };
        match NonNull::new(pte) {
            // INVARIANT: A non-null table is mapped and locked with `ptl`, for the whole PMD,
            // so at least its first entry is there even if `count` is 0.
            Some(pte) => PmdMap::Table(PteTable {
                pte,
                ptl,
                count: count.max(1),
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

/// `count` entries of a PTE table, mapped and locked by `pte_offset_map_lock()` ([`PmdMap`]);
/// on drop unmapped, unlocked, and, if the walk may sleep, a chance to reschedule given (the
/// end of `smaps_pte_range()`, in one call).
///
/// # Invariants
///
/// `pte` is the first of `count > 0` entries of one PTE table that this value holds mapped
/// and locked with `ptl`. It only lives in a page-walk callback, which may sleep if
/// `may_sleep`.
struct PteTable {
    pte: NonNull<bindings::pte_t>,
    ptl: *mut bindings::spinlock_t,
    count: usize,
    may_sleep: bool,
}

impl PteTable {
    /// Entry `i` (below `count`), mapped and locked.
    fn entry(&self, i: usize) -> *mut bindings::pte_t {
        // SAFETY: `i < count` entries of the mapped table (invariant): in bounds.
        unsafe { self.pte.as_ptr().add(i.min(self.count - 1)) }
    }
}

impl Drop for PteTable {
    fn drop(&mut self) {
        // SAFETY: Unmaps and unlocks what `PmdMap::lock` took (invariant); any entry of the
        // table names it, and C passes the last one. It reschedules only if the callback may
        // sleep (invariant).
        unsafe {
            rust_procmaps_pte_unmap_unlock(self.entry(self.count - 1), self.ptl, self.may_sleep)
        };
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
    unsafe { &mut *(*walk).private.cast::<Walk<'a>>() }
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

/// `smaps_pte_entry()`, for an entry as `rust_procmaps_pte_batch()` read it.
///
/// # Safety
///
/// The entry's page-table lock must be held; `vma` is the walk's VMA, `walk` its state.
#[inline(always)]
unsafe fn pte_entry(
    walk: &mut Walk<'_>,
    vma: *mut bindings::vm_area_struct,
    info: &PteInfo,
    addr: usize,
) {
    let (mut page, mut folio, mut tests) = (info.page, info.folio, info.tests);
    let (mut present, mut young, mut dirty) = (false, false, false);
    if info.bits & PTE_PRESENT != 0 {
        young = info.bits & PTE_YOUNG != 0;
        dirty = info.bits & PTE_DIRTY != 0;
        present = true;
    } else if info.bits & PTE_NONE != 0 {
        if walk.shmem_holes {
            // SAFETY: Per the function's safety requirement.
            unsafe { shmem_hole(vma, walk.mss, addr, addr + PAGE_SIZE as usize) };
        }
    } else {
        // SAFETY: Decoding the swap or migration entry, and looking its page up, are what
        // these helpers do; the page-table lock keeps the entry from changing.
        unsafe {
            let entry = rust_procmaps_softleaf_from_pte(info.pte);
            if rust_procmaps_softleaf_is_swap(entry) {
                let mss = &mut *walk.mss;
                mss.swap += PAGE_SIZE;
                let mapcount = rust_procmaps_swp_swapcount(entry);
                mss.swap_pss += if mapcount >= 2 {
                    (PAGE_SIZE << PSS_SHIFT) / mapcount as u64
                } else {
                    PAGE_SIZE << PSS_SHIFT
                };
            } else if rust_procmaps_softleaf_has_pfn(entry) {
                present = rust_procmaps_softleaf_is_device_private(entry);
                page = rust_procmaps_softleaf_to_page(entry);
                tests = rust_procmaps_page_folio_tests(page, &mut folio);
            }
        }
    }
    if !page.is_null() {
        // SAFETY: `page` is mapped by the locked PTE.
        unsafe { account(walk, page, folio, tests, false, young, dirty, present) };
    }
}

/// `smaps_pmd_entry()`: a PMD-mapped THP (or its migration entry).
///
/// # Safety
///
/// `pmd` must be locked by `pmd_trans_huge_lock()`; `vma` is the walk's VMA, `walk` its state.
unsafe fn pmd_entry(
    walk: &mut Walk<'_>,
    vma: *mut bindings::vm_area_struct,
    pmd: *mut bindings::pmd_t,
    addr: usize,
) {
    // SAFETY: The PMD is locked (function safety requirement).
    let pmdv = unsafe { rust_procmaps_pmdp_get(pmd) };
    let mut page = core::ptr::null_mut();
    let mut present = false;
    // SAFETY: As in `pte_entry`, one level up.
    unsafe {
        if rust_procmaps_pmd_none(pmdv) {
            return;
        }
        if rust_procmaps_pmd_present(pmdv) {
            page = rust_procmaps_vm_normal_page_pmd(vma, addr, pmdv);
            present = true;
        } else if rust_procmaps_thp_migration_supported() {
            let entry = rust_procmaps_softleaf_from_pmd(pmdv);
            if rust_procmaps_softleaf_has_pfn(entry) {
                page = rust_procmaps_softleaf_to_page(entry);
            }
        }
    }
    // `IS_ERR_OR_NULL(page)`.
    if page.is_null() || page as usize >= (-(bindings::MAX_ERRNO as isize)) as usize {
        return;
    }
    let mut folio = core::ptr::null_mut();
    // SAFETY: `page` is mapped by the locked PMD.
    let (tests, hpage) = unsafe {
        (
            rust_procmaps_page_folio_tests(page, &mut folio),
            rust_procmaps_hpage_pmd_size() as u64,
        )
    };
    if tests & FOLIO_ANON != 0 {
        walk.mss.anonymous_thp += hpage;
    } else if tests & FOLIO_SWAPBACKED != 0 {
        walk.mss.shmem_thp += hpage;
    } else if tests & FOLIO_ZONE_DEVICE == 0 {
        walk.mss.file_thp += hpage;
    }
    // SAFETY: As above.
    let (young, dirty) = unsafe { (rust_procmaps_pmd_young(pmdv), rust_procmaps_pmd_dirty(pmdv)) };
    // SAFETY: As above.
    unsafe { account(walk, page, folio, tests, true, young, dirty, present) };
}

/// One PMD's worth, `[addr, end)`, of a walk's VMA, gone through as `smaps_pte_range()` and
/// `gather_pte_stats()` of `task_mmu.c` do: under `pmd_trans_huge_lock()` a huge PMD is handed
/// to `huge`; otherwise the entries of the PTE table, under `pte_offset_map_lock()`, to `sink`
/// (in batches of [`PTE_BATCH`], one C call each); a table that went away meanwhile is walked
/// again (`ACTION_AGAIN`). Then, if the walk may sleep, a chance to reschedule.
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
    let first = count.min(PTE_BATCH);
    // SAFETY: `pmd` is a PMD of the held VMA's page tables and `[addr, end)` lies in it;
    // `first <= count.min(PTE_BATCH)`.
    match unsafe { PmdMap::lock(vma, pmd, addr, count, first, sink, may_sleep) } {
        PmdMap::Huge(_ptl) => huge(sink),
        PmdMap::Table(table) => {
            let mut nr = first;
            for start in (0..count).step_by(PTE_BATCH) {
                let at = addr + start * PAGE_SIZE as usize;
                if start > 0 {
                    nr = (count - start).min(PTE_BATCH);
                    // SAFETY: Entries `start..start + nr` are in the table `table` holds
                    // mapped and locked, for `at` on; `sink` takes `nr <= PTE_BATCH` entries
                    // read by `S::KIND`'s reader (`PteSink`).
                    unsafe {
                        rust_procmaps_pte_batch(
                            S::KIND,
                            vma,
                            table.entry(start),
                            at,
                            nr as c_uint,
                            sink.out(),
                        )
                    };
                }
                // SAFETY: The reader just read those `nr` entries, under `table`'s lock.
                unsafe { sink.take(nr, at) };
            }
            // Dropping `table` unlocks it and, if the walk may sleep, gives the chance to
            // reschedule.
            return 0;
        }
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
    let mut ptes = SmapsPtes {
        records: [const { MaybeUninit::uninit() }; PTE_BATCH],
        walk: state,
        vma,
    };
    // SAFETY: Per the function's safety requirement; `huge` runs with the PMD locked, as
    // `pmd_entry` requires (and `SmapsPtes` calls `pte_entry` with the table locked).
    unsafe {
        pmd_range(walk, pmd, addr, end, may_sleep, &mut ptes, |ptes| {
            pmd_entry(ptes.walk, vma, pmd, addr)
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
    // read under the huge page-table lock, held until the end.
    unsafe {
        let vma = walk_vma(walk);
        let (_ptl, ptent) = huge_pte_locked(walk, pte, addr);
        let mut folio = core::ptr::null_mut();
        let mut present = false;
        if rust_procmaps_pte_bits(ptent) & PTE_PRESENT != 0 {
            folio = rust_procmaps_page_folio(rust_procmaps_pte_page(ptent));
            present = true;
        } else {
            let entry = rust_procmaps_softleaf_from_pte(ptent);
            if rust_procmaps_softleaf_has_pfn(entry) {
                folio = rust_procmaps_page_folio(rust_procmaps_softleaf_to_page(entry));
            }
        }
        if !folio.is_null() {
            let size = rust_procmaps_vma_huge_page_size(vma) as u64;
            let mss = &mut *walk_state(walk).mss;
            // Non-present entries count as "maybe shared".
            if !present
                || rust_procmaps_folio_maybe_mapped_shared(folio)
                || rust_procmaps_hugetlb_pmd_shared(pte)
            {
                mss.shared_hugetlb += size;
            } else {
                mss.private_hugetlb += size;
            }
        }
    }
    0
}
