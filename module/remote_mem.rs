// SPDX-License-Identifier: GPL-2.0

//! Reading a process's memory as `/proc/PID/cmdline` and `environ` do, without `mmap_lock`
//! where that is safe.
//!
//! `/proc` reads with `access_remote_vm(mm, addr, buf, len, FOLL_ANON)`: GUP under
//! `mmap_read_lock`, so a reader waits behind every writer of the target (a fair rwsem) and
//! holds its writers back. Here, one call (at most a page, at most two pages touched) is
//! served under the per-VMA read lock of the VMA that holds it, when that VMA is one GUP would
//! read with `FOLL_ANON` (anonymous, readable, not `VM_IO`/`VM_PFNMAP`) and every page of the
//! range is present: [`VmaReadGuard`] (`lock_vma_under_rcu()`), a one-page walk of mm's own
//! page-table walker for each page (`walk_page_range_vma()`, which checks the lock), a
//! reference on each folio, the lock dropped, then the copy with no lock held, and the
//! references put.
//!
//! Everything else goes to mm's own `access_remote_vm()`, the very call `/proc` makes: a range
//! that leaves the VMA (reviewers of upstream's per-VMA `__access_remote_vm()` asked for no
//! read spanning VMAs), a page not present (never touched, swapped out: only GUP may fault it
//! in, and only under `mmap_lock`), an address without a VMA (GUP may expand the stack), a VMA
//! that cannot be locked, or one GUP treats otherwise (file-backed, hugetlb, special: refused
//! with `FOLL_ANON`, or read through `->access()`). The bytes are the same either way; what
//! differs is that a page copied here is not marked accessed (`FOLL_TOUCH`).

use kernel::{
    bindings,
    mm::{virt::flags, MmWithUser},
    page::PAGE_SIZE,
    prelude::*,
};

use crate::stats::STATS;

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "vm_area_struct, page and mm_struct are only passed by pointer"
)]
extern "C" {
    fn rust_procmaps_pin_page(
        vma: *mut bindings::vm_area_struct,
        addr: usize,
    ) -> *mut bindings::page;
    fn rust_procmaps_copy_unpin_page(
        page: *mut bindings::page,
        offset: u32,
        dst: *mut u8,
        len: u32,
    );
    fn rust_procmaps_unpin_page(page: *mut bindings::page);
    fn rust_procmaps_access_remote_vm(
        mm: *mut bindings::mm_struct,
        addr: usize,
        buf: *mut c_void,
        len: c_int,
    ) -> c_int;
    fn rust_procmaps_vma_is_anonymous(vma: *mut bindings::vm_area_struct) -> bool;
}

/// Why a call was served by `access_remote_vm()`.
#[derive(Clone, Copy)]
enum Fallback {
    /// No VMA at the address could be read-locked (none there, or a writer holds it).
    NoVmaLock,
    /// The VMA is one GUP reads otherwise, or the range leaves it.
    VmaKind,
    /// A page of the range is not present.
    NotPresent,
}

/// A folio reference on one page of the target, taken under its VMA's read lock.
///
/// # Invariants
///
/// `page` is a page whose folio this value holds one reference on.
struct PinnedPage {
    page: *mut bindings::page,
}

impl PinnedPage {
    /// Copies `dst.len()` bytes from `offset` of the page, then drops the reference.
    fn copy_to(self, offset: usize, dst: &mut [u8]) {
        let page = self.page;
        core::mem::forget(self);
        // SAFETY: We hold a folio reference on `page` (invariant), which the call drops;
        // `offset + dst.len() <= PAGE_SIZE` (the callers split at page boundaries), and `dst`
        // is a writable buffer of that length.
        unsafe {
            rust_procmaps_copy_unpin_page(page, offset as u32, dst.as_mut_ptr(), dst.len() as u32)
        };
    }
}

impl Drop for PinnedPage {
    fn drop(&mut self) {
        // SAFETY: We hold a folio reference on `page` (invariant).
        unsafe { rust_procmaps_unpin_page(self.page) };
    }
}

/// Reads `buf.len()` bytes (at most a page) of `mm` at `addr`, as
/// `access_remote_vm(mm, addr, buf, len, FOLL_ANON)`: the number of bytes read, which stops
/// short at the first page that cannot be read.
pub(crate) fn read(mm: &MmWithUser, addr: usize, buf: &mut [u8]) -> usize {
    if buf.is_empty() {
        return 0;
    }
    match read_vma_locked(mm, addr, buf) {
        Ok(()) => {
            STATS.args_reads_vma_locked.inc();
            buf.len()
        }
        Err(why) => {
            match why {
                Fallback::NoVmaLock => STATS.args_fallbacks_no_vma_lock.inc(),
                Fallback::VmaKind => STATS.args_fallbacks_vma_kind.inc(),
                Fallback::NotPresent => STATS.args_fallbacks_not_present.inc(),
            }
            access_remote_vm(mm, addr, buf)
        }
    }
}

/// `access_remote_vm(FOLL_ANON)` itself: GUP under `mmap_read_lock`.
fn access_remote_vm(mm: &MmWithUser, addr: usize, buf: &mut [u8]) -> usize {
    // A read is at most a page (the callers'), so the length fits a C `int`.
    let len = buf.len().min(PAGE_SIZE) as c_int;
    // SAFETY: `mm` has a user reference (`MmWithUser`), as `access_remote_vm()` requires;
    // `buf` is writable for `len` bytes.
    let got =
        unsafe { rust_procmaps_access_remote_vm(mm.as_raw(), addr, buf.as_mut_ptr().cast(), len) };
    usize::try_from(got).unwrap_or(0)
}

/// The whole of `buf` read under the read lock of the one VMA that holds it, or why not.
fn read_vma_locked(mm: &MmWithUser, addr: usize, buf: &mut [u8]) -> Result<(), Fallback> {
    let end = addr
        .checked_add(buf.len())
        .filter(|_| buf.len() <= PAGE_SIZE)
        .ok_or(Fallback::VmaKind)?;
    // The first page and, when the range crosses a page boundary, the second one.
    let split = (PAGE_SIZE - addr % PAGE_SIZE).min(buf.len());
    let (first, second) = {
        let vma = mm.lock_vma_under_rcu(addr).ok_or(Fallback::NoVmaLock)?;
        // SAFETY: The VMA is read-locked (`vma`), so its `vm_ops` is stable.
        let anonymous = unsafe { rust_procmaps_vma_is_anonymous(vma.as_ptr()) };
        if !anonymous
            || vma.flags() & flags::READ == 0
            || vma.flags() & (flags::IO | flags::PFNMAP) != 0
            || end > vma.end()
        {
            return Err(Fallback::VmaKind);
        }
        let pin = |at: usize| {
            // SAFETY: `vma` is read-locked for as long as the walk runs; `at` is in it.
            let page = unsafe { rust_procmaps_pin_page(vma.as_ptr(), at) };
            if page.is_null() {
                return Err(Fallback::NotPresent);
            }
            // INVARIANT: A non-null page comes with a folio reference.
            Ok(PinnedPage { page })
        };
        let first = pin(addr)?;
        let second = if split < buf.len() {
            Some(pin(addr + split)?)
        } else {
            None
        };
        (first, second)
        // The VMA lock is dropped here: the copies below hold only folio references.
    };
    let (head, tail) = buf.split_at_mut(split);
    first.copy_to(addr % PAGE_SIZE, head);
    if let Some(second) = second {
        second.copy_to(0, tail);
    }
    Ok(())
}
