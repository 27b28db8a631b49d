// SPDX-License-Identifier: GPL-2.0

//! The `smaps` and `smaps_rollup` files, byte for byte as `fs/proc/task_mmu.c` prints them.
//!
//! `smaps` is `maps` (same iterator, same locking, see [`crate::maps_file`]) with the memory
//! counters of each VMA under its line: the VMA is walked while the iterator holds it.
//!
//! `smaps_rollup` sums every VMA into one record. Unlike `/proc`, which holds `mmap_lock` for
//! the whole walk (dropping it only when a writer waits), it takes one VMA at a time with its
//! per-VMA lock ([`mm_lock::lock_next_vma`]) and walks it under that lock alone. Each lookup
//! asks for the first VMA ending above `last_vma_end`, the end of the last VMA summed, so a VMA
//! that changed in between is handled as the seed's four cases require: a VMA that went away is
//! skipped, one that is unchanged or new beyond `last_vma_end` is summed whole, and one that
//! grew or merged across `last_vma_end` is summed only from `last_vma_end` on. No byte of the
//! address space is counted twice in one read.
//!
//! C source: [`fs/proc/task_mmu.c`](srctree/fs/proc/task_mmu.c)

use kernel::{
    bindings,
    mm::{virt::VmaRef, MmWithUser},
    prelude::*,
    sync::aref::ARef,
};

use crate::{
    maps_file::{self, MapsFile},
    mm_lock::{self, MmapLocked},
    smaps_walk::{self, MemSizeStats, WalkLock, PSS_SHIFT},
    stats::STATS,
    vma_format::{self, Line, LineBuf},
};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "kernel structs are only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_mmap_lock_is_contended(mm: *mut bindings::mm_struct) -> bool;
    fn rust_procmaps_vma_kernel_pagesize(vma: *mut bindings::vm_area_struct) -> usize;
    fn rust_procmaps_vma_mmu_pagesize(vma: *mut bindings::vm_area_struct) -> usize;
    fn rust_procmaps_thp_eligible(vma: *mut bindings::vm_area_struct) -> bool;
    fn rust_procmaps_vma_pkey(vma: *mut bindings::vm_area_struct) -> c_int;
}

/// Writes `label`, `value` right-aligned in `width` columns, and `unit`.
///
/// # Safety
///
/// `m` must be the seq_file being filled.
unsafe fn row(m: *mut bindings::seq_file, label: &[u8], value: u64, width: usize, unit: &[u8]) {
    let mut line = LineBuf::new();
    line.bytes(label);
    line.dec_width(value, width);
    line.bytes(unit);
    // SAFETY: Per the function's safety requirement.
    unsafe { line.write_to(m) };
}

/// `__show_smap()`: the counters common to both files, in kB.
///
/// # Safety
///
/// `m` must be the seq_file being filled.
unsafe fn counters(m: *mut bindings::seq_file, mss: &MemSizeStats, rollup: bool) {
    let pss = |v: u64| (v >> PSS_SHIFT) >> 10;
    // SAFETY: Per the function's safety requirement.
    let row = |label: &[u8], value: u64| unsafe { row(m, label, value, 8, b" kB\n") };
    row(b"Rss:            ", mss.resident >> 10);
    row(b"Pss:            ", pss(mss.pss));
    row(b"Pss_Dirty:      ", pss(mss.pss_dirty));
    if rollup {
        row(b"Pss_Anon:       ", pss(mss.pss_anon));
        row(b"Pss_File:       ", pss(mss.pss_file));
        row(b"Pss_Shmem:      ", pss(mss.pss_shmem));
    }
    row(b"Shared_Clean:   ", mss.shared_clean >> 10);
    row(b"Shared_Dirty:   ", mss.shared_dirty >> 10);
    row(b"Private_Clean:  ", mss.private_clean >> 10);
    row(b"Private_Dirty:  ", mss.private_dirty >> 10);
    row(b"Referenced:     ", mss.referenced >> 10);
    row(b"Anonymous:      ", mss.anonymous >> 10);
    row(b"KSM:            ", mss.ksm >> 10);
    row(b"LazyFree:       ", mss.lazyfree >> 10);
    row(b"AnonHugePages:  ", mss.anonymous_thp >> 10);
    row(b"ShmemPmdMapped: ", mss.shmem_thp >> 10);
    row(b"FilePmdMapped:  ", mss.file_thp >> 10);
    row(b"Shared_Hugetlb: ", mss.shared_hugetlb >> 10);
    // One column narrower: the label is one character longer.
    // SAFETY: Per the function's safety requirement.
    unsafe {
        self::row(
            m,
            b"Private_Hugetlb: ",
            mss.private_hugetlb >> 10,
            7,
            b" kB\n",
        )
    };
    row(b"Swap:           ", mss.swap >> 10);
    row(b"SwapPss:        ", pss(mss.swap_pss));
    row(b"Locked:         ", pss(mss.pss_locked));
}

/// The `VmFlags:` mnemonic of each `vm_flags` bit, as `show_smap_vma_flags()` has them for an
/// x86-64 kernel: `??` for bits without a name, empty for the protection-key bits (they come
/// out as `ProtectionKey`). Options that add names are checked with `cfg`.
const VM_FLAG_NAMES: [&str; 64] = {
    let mut t = ["??"; 64];
    let names: &[(u32, &str)] = &[
        (bindings::VMA_READ_BIT, "rd"),
        (bindings::VMA_WRITE_BIT, "wr"),
        (bindings::VMA_EXEC_BIT, "ex"),
        (bindings::VMA_SHARED_BIT, "sh"),
        (bindings::VMA_MAYREAD_BIT, "mr"),
        (bindings::VMA_MAYWRITE_BIT, "mw"),
        (bindings::VMA_MAYEXEC_BIT, "me"),
        (bindings::VMA_MAYSHARE_BIT, "ms"),
        (bindings::VMA_GROWSDOWN_BIT, "gd"),
        (bindings::VMA_PFNMAP_BIT, "pf"),
        (bindings::VMA_MAYBE_GUARD_BIT, "gu"),
        (bindings::VMA_LOCKED_BIT, "lo"),
        (bindings::VMA_IO_BIT, "io"),
        (bindings::VMA_SEQ_READ_BIT, "sr"),
        (bindings::VMA_RAND_READ_BIT, "rr"),
        (bindings::VMA_DONTCOPY_BIT, "dc"),
        (bindings::VMA_DONTEXPAND_BIT, "de"),
        (bindings::VMA_LOCKONFAULT_BIT, "lf"),
        (bindings::VMA_ACCOUNT_BIT, "ac"),
        (bindings::VMA_NORESERVE_BIT, "nr"),
        (bindings::VMA_HUGETLB_BIT, "ht"),
        (bindings::VMA_SYNC_BIT, "sf"),
        (bindings::VMA_ARCH_1_BIT, "ar"),
        (bindings::VMA_WIPEONFORK_BIT, "wf"),
        (bindings::VMA_DONTDUMP_BIT, "dd"),
        #[cfg(CONFIG_MEM_SOFT_DIRTY)]
        (bindings::VMA_SOFTDIRTY_BIT, "sd"),
        (bindings::VMA_MIXEDMAP_BIT, "mm"),
        (bindings::VMA_HUGEPAGE_BIT, "hg"),
        (bindings::VMA_NOHUGEPAGE_BIT, "nh"),
        (bindings::VMA_MERGEABLE_BIT, "mg"),
        (bindings::VMA_UFFD_MISSING_BIT, "um"),
        (bindings::VMA_UFFD_WP_BIT, "uw"),
        // x86's CONFIG_ARCH_PKEY_BITS is 4: bits 0 to 3.
        #[cfg(CONFIG_ARCH_HAS_PKEYS)]
        (bindings::VMA_PKEY_BIT0_BIT, ""),
        #[cfg(CONFIG_ARCH_HAS_PKEYS)]
        (bindings::VMA_PKEY_BIT1_BIT, ""),
        #[cfg(CONFIG_ARCH_HAS_PKEYS)]
        (bindings::VMA_PKEY_BIT2_BIT, ""),
        #[cfg(CONFIG_ARCH_HAS_PKEYS)]
        (bindings::VMA_PKEY_BIT3_BIT, ""),
        #[cfg(CONFIG_HAVE_ARCH_USERFAULTFD_MINOR)]
        (bindings::VMA_UFFD_MINOR_BIT, "ui"),
        #[cfg(CONFIG_USERFAULTFD_RWP)]
        (bindings::VMA_UFFD_RWP_BIT, "ur"),
        #[cfg(CONFIG_ARCH_HAS_USER_SHADOW_STACK)]
        (bindings::VMA_SHADOW_STACK_BIT, "ss"),
        (bindings::VMA_DROPPABLE_BIT, "dp"),
        (bindings::VMA_SEALED_BIT, "sl"),
    ];
    let mut i = 0;
    while i < names.len() {
        t[names[i].0 as usize] = names[i].1;
        i += 1;
    }
    t
};

/// The longest `VmFlags:` line: the label, three bytes per bit, the newline.
type VmFlagsLine = Line<{ 9 + 3 * 64 + 1 }>;

/// `show_smap_vma_flags()`.
fn vm_flags(line: &mut VmFlagsLine, flags: usize) {
    line.bytes(b"VmFlags: ");
    for (bit, name) in VM_FLAG_NAMES.iter().enumerate() {
        if !name.is_empty() && flags & (1 << bit) != 0 {
            line.bytes(name.as_bytes());
            line.bytes(b" ");
        }
    }
    line.bytes(b"\n");
}

/// seq_file `show` of `smaps` (`show_smap()`): the `maps` line, then the VMA's counters.
///
/// # Safety
///
/// Called by the seq_file core on a file opened by `maps_file`'s `smaps_open`; `v` is a cursor
/// returned by its `start`/`next`.
pub(crate) unsafe extern "C" fn smaps_show(m: *mut bindings::seq_file, v: *mut c_void) -> c_int {
    let raw = v.cast::<bindings::vm_area_struct>();
    // SAFETY: `v` is the VMA the current chunk holds, or the static gate VMA: stable.
    let vma = unsafe { VmaRef::from_raw(raw) };
    let mut mss = MemSizeStats::default();
    // The gate VMA (`vm_mm` is NULL) has no page tables of the process: nothing to count.
    // SAFETY: As above.
    if !unsafe { (*raw).vm_mm }.is_null() {
        // SAFETY: Per the function's safety requirement.
        let lock = unsafe { maps_file::walk_lock(m) };
        count_walk(lock);
        // SAFETY: The chunk holds the VMA as `lock` says and an `mmget` reference; `show`
        // runs outside RCU.
        unsafe { smaps_walk::gather(vma, vma.start(), lock, &mut mss) };
    }
    // SAFETY: The VMA is stable; these read its fields and the THP/pkey settings.
    let (kernel_pagesize, mmu_pagesize, thp_eligible, pkey) = unsafe {
        (
            rust_procmaps_vma_kernel_pagesize(raw),
            rust_procmaps_vma_mmu_pagesize(raw),
            rust_procmaps_thp_eligible(raw),
            rust_procmaps_vma_pkey(raw),
        )
    };
    let mut flags = VmFlagsLine::new();
    vm_flags(&mut flags, vma.flags());
    // SAFETY: `m` is the seq_file being filled; the VMA is stable.
    unsafe {
        vma_format::show_map_vma(m, vma);
        let size = (vma.end() - vma.start()) as u64;
        row(m, b"Size:           ", size >> 10, 8, b" kB\n");
        row(
            m,
            b"KernelPageSize: ",
            (kernel_pagesize >> 10) as u64,
            8,
            b" kB\n",
        );
        row(
            m,
            b"MMUPageSize:    ",
            (mmu_pagesize >> 10) as u64,
            8,
            b" kB\n",
        );
        counters(m, &mss, false);
        row(m, b"THPeligible:    ", thp_eligible.into(), 8, b"\n");
        if pkey >= 0 {
            row(m, b"ProtectionKey:  ", pkey as u64, 8, b"\n");
        }
        flags.write_to(m);
    }
    0
}

fn count_walk(lock: WalkLock) {
    match lock {
        WalkLock::Vma => STATS.smaps_walks_vma_locked.inc(),
        WalkLock::Mmap => STATS.smaps_walks_mmap_locked.inc(),
    }
}

/// Sums the address space of `mm`; returns the span `[first start, last end)` summed.
fn rollup(mm: ARef<MmWithUser>, mss: &mut MemSizeStats) -> Result<(usize, usize)> {
    let mut span: Option<(usize, usize)> = None;
    // `last_vma_end`: the end of the last VMA summed, where the next lookup starts.
    let mut from = 0;
    match crate::lock_mode() {
        crate::LockMode::PerVma => {
            let mut adjacent = false;
            while let Some(locked) = mm_lock::lock_next_vma(&mm, from, adjacent)? {
                let vma = locked.vma();
                count_walk(WalkLock::Vma);
                // SAFETY: `locked` holds the VMA's read lock, `mm` an `mmget` reference, and
                // no RCU section is open. A VMA starting below `from` grew or merged since the
                // last one was summed: `gather` counts it from `from` only.
                unsafe { smaps_walk::gather(vma, from, WalkLock::Vma, mss) };
                adjacent = vma.start() <= from;
                span = Some((span.map_or(vma.start(), |s| s.0), vma.end()));
                from = vma.end();
            }
        }
        // `lock_mode=1`: what `/proc/PID/smaps_rollup` does, `mmap_lock` for the walk, dropped
        // and taken again whenever a writer waits for it.
        crate::LockMode::Mmap => {
            let mut held = MmapLocked::lock(mm.clone())?;
            while let Some(vma) = held.next_vma(from) {
                count_walk(WalkLock::Mmap);
                // SAFETY: `held` holds `mmap_lock`, `mm` an `mmget` reference; no RCU section.
                unsafe { smaps_walk::gather(vma, from, WalkLock::Mmap, mss) };
                span = Some((span.map_or(vma.start(), |s| s.0), vma.end()));
                from = vma.end();
                // SAFETY: `mm` has users.
                if unsafe { rust_procmaps_mmap_lock_is_contended(mm.as_raw()) } {
                    STATS.rollup_lock_drops.inc();
                    drop(held);
                    held = MmapLocked::lock(mm.clone())?;
                }
            }
        }
    }
    Ok(span.unwrap_or((0, 0)))
}

/// `show` of `smaps_rollup` (a `single_open` seq_file): `show_smaps_rollup()`.
///
/// # Safety
///
/// Called by the seq_file core on a file opened by [`rollup_open`].
unsafe extern "C" fn rollup_show(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `rollup_open` stored a `KBox<MapsFile>` in `private`; the seq_file lock
    // serialises `show` calls.
    let state = unsafe { &*(*m).private.cast::<MapsFile>() };
    if !state.pid.alive() {
        return ESRCH.to_errno();
    }
    let Some(mm) = state.mm.as_ref().and_then(|mm| mm.mmget_not_zero()) else {
        return ESRCH.to_errno();
    };
    STATS.chunks.inc();
    let mut mss = MemSizeStats::default();
    match rollup(mm, &mut mss) {
        Ok((start, end)) => {
            // SAFETY: `m` is the seq_file being filled.
            unsafe {
                vma_format::show_rollup_header(m, start, end);
                counters(m, &mss, true);
            }
            0
        }
        Err(err) => {
            STATS.errors.inc();
            err.to_errno()
        }
    }
}

/// `open` of `smaps_rollup`: the same access check as `maps`.
///
/// # Safety
///
/// Called by the VFS (through debugfs' proxy) with a valid inode and file.
unsafe extern "C" fn rollup_open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: Per the function's safety requirement.
    let state = match unsafe { maps_file::open_state(inode) } {
        Ok(state) => state,
        Err(err) => return err.to_errno(),
    };
    let state = KBox::into_raw(state);
    // SAFETY: `file` is valid; `rollup_show` matches what `single_open` expects.
    let ret = unsafe { bindings::single_open(file, Some(rollup_show), state.cast()) };
    if ret != 0 {
        // SAFETY: Not handed out: `single_open` failed.
        drop(unsafe { KBox::from_raw(state) });
    }
    ret
}

/// `release` of `smaps_rollup`.
///
/// # Safety
///
/// Called by the VFS on a file opened by [`rollup_open`].
unsafe extern "C" fn rollup_release(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: Per the function's safety requirement.
    unsafe { maps_file::free_state(file) };
    // SAFETY: The seq_file was opened by `single_open`.
    unsafe { bindings::single_release(inode, file) }
}

/// File operations of `smaps_rollup`.
pub(crate) static ROLLUP_FOPS: crate::debugfs_files::FileOps =
    crate::debugfs_files::FileOps::seq_file(rollup_open, rollup_release);
