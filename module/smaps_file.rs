// SPDX-License-Identifier: GPL-2.0

//! The `smaps` and `smaps_rollup` files, byte for byte as `fs/proc/task_mmu.c` prints them.
//!
//! `smaps` is `maps` (same adapter and cursor, [`crate::vma_seq`]) with the memory counters of
//! each VMA under its line: the VMA is walked while the cursor holds it.
//!
//! `smaps_rollup` sums every VMA into one record. Unlike `/proc`, which holds `mmap_lock` for
//! the whole walk (dropping it only when a writer waits), it takes one VMA at a time from a
//! [`VmaCursor`] (per-VMA locks) and walks it under that lock alone. Each lookup
//! asks for the first VMA ending above `last_vma_end`, the end of the last VMA summed, so a VMA
//! that changed in between is handled as the seed's four cases require: a VMA that went away is
//! skipped, one that is unchanged or new beyond `last_vma_end` is summed whole, and one that
//! grew or merged across `last_vma_end` is summed only from `last_vma_end` on. No byte of the
//! address space is counted twice in one read.
//!
//! C source: [`fs/proc/task_mmu.c`](srctree/fs/proc/task_mmu.c)

use kernel::{bindings, mm::MmWithUser, prelude::*};

use crate::{
    files::FileOps,
    mm_lock::{Context, Locking, VmaCursor, WalkLock},
    seq_out::{self, Line, SeqOut},
    smaps_walk::{self, MemSizeStats, SmallAnonVma, PSS_SHIFT},
    stats::STATS,
    target::Target,
    vma_format::{self, Shown},
    vma_seq::{self, SeqOps, View},
};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "kernel structs are only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_vma_kernel_pagesize(vma: *mut bindings::vm_area_struct) -> usize;
    fn rust_procmaps_vma_mmu_pagesize(vma: *mut bindings::vm_area_struct) -> usize;
    fn rust_procmaps_thp_eligible(vma: *mut bindings::vm_area_struct) -> bool;
    fn rust_procmaps_vma_pkey(vma: *mut bindings::vm_area_struct) -> c_int;
}

/// Writes `label`, `value` right-aligned in `width` columns, and `unit`.
fn row(out: &mut SeqOut<'_>, label: &[u8], value: u64, width: usize, unit: &[u8]) {
    let mut spare = seq_out::spare();
    let mut line = out.line::<128>(&mut spare);
    line.line().bytes(label);
    line.line().dec_width(value, width);
    line.line().bytes(unit);
    line.finish();
}

/// `__show_smap()`: the counters common to both files, in kB.
fn counters(out: &mut SeqOut<'_>, mss: &MemSizeStats, rollup: bool) {
    let pss = |v: u64| (v >> PSS_SHIFT) >> 10;
    let rollup_only: &[(&[u8], u64)] = &[
        (b"Pss_Anon:       ", pss(mss.pss_anon)),
        (b"Pss_File:       ", pss(mss.pss_file)),
        (b"Pss_Shmem:      ", pss(mss.pss_shmem)),
    ];
    let rows: [&[(&[u8], u64)]; 3] = [
        &[
            (b"Rss:            ", mss.resident >> 10),
            (b"Pss:            ", pss(mss.pss)),
            (b"Pss_Dirty:      ", pss(mss.pss_dirty)),
        ],
        if rollup { rollup_only } else { &[] },
        &[
            (b"Shared_Clean:   ", mss.shared_clean >> 10),
            (b"Shared_Dirty:   ", mss.shared_dirty >> 10),
            (b"Private_Clean:  ", mss.private_clean >> 10),
            (b"Private_Dirty:  ", mss.private_dirty >> 10),
            (b"Referenced:     ", mss.referenced >> 10),
            (b"Anonymous:      ", mss.anonymous >> 10),
            (b"KSM:            ", mss.ksm >> 10),
            (b"LazyFree:       ", mss.lazyfree >> 10),
            (b"AnonHugePages:  ", mss.anonymous_thp >> 10),
            (b"ShmemPmdMapped: ", mss.shmem_thp >> 10),
            (b"FilePmdMapped:  ", mss.file_thp >> 10),
            (b"Shared_Hugetlb: ", mss.shared_hugetlb >> 10),
            (b"Private_Hugetlb: ", mss.private_hugetlb >> 10),
            (b"Swap:           ", mss.swap >> 10),
            (b"SwapPss:        ", pss(mss.swap_pss)),
            (b"Locked:         ", pss(mss.pss_locked)),
        ],
    ];
    for &(label, value) in rows.iter().copied().flatten() {
        // The value ends in column 24: one column narrower after a longer label
        // (`Private_Hugetlb:`), as `seq_put_decimal_ull_width(m, str, val, 8)` does.
        row(out, label, value, 24 - label.len(), b" kB\n");
    }
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
type VmFlagsLine<'b> = Line<'b, { 9 + 3 * 64 + 1 }>;

/// `show_smap_vma_flags()`.
fn vm_flags(line: &mut VmFlagsLine<'_>, flags: bindings::vm_flags_t) {
    line.bytes(b"VmFlags: ");
    for (bit, name) in VM_FLAG_NAMES.iter().enumerate() {
        if !name.is_empty() && flags & (1 << bit) != 0 {
            line.bytes(name.as_bytes());
            line.bytes(b" ");
        }
    }
    line.bytes(b"\n");
}

/// The `smaps` view (`show_smap()`): the `maps` line, then the VMA's counters.
struct Smaps;

impl View for Smaps {
    fn seq_ops() -> &'static SeqOps {
        &SMAPS_SEQ_OPS
    }

    // The page-table walk sleeps.
    const CONTEXT: Context = Context::MaySleep;

    type ChunkData = ();

    fn chunk_data(_target: &Target) -> Result {
        Ok(())
    }

    fn show(out: &mut SeqOut<'_>, shown: Shown<'_>, _data: &mut ()) {
        let mut mss = MemSizeStats::default();
        let shown = match shown {
            Shown::Vma(vma) => {
                let vma = vma.sleepable();
                // One walk, counted as the temporary is dropped.
                WalkCounts::default().count(vma.walk_lock());
                smaps_walk::gather(&vma, vma.start(), &mut mss);
                Shown::Vma(vma.into_locked())
            }
            // The gate VMA has no page tables of the process: nothing to count.
            gate @ Shown::Gate(_) => gate,
        };
        let raw = match &shown {
            Shown::Vma(vma) => vma.as_ptr(),
            Shown::Gate(gate) => gate.as_ptr(),
        };
        // SAFETY: The VMA is held (or is the static gate VMA); this reads its fields.
        let kernel_pagesize = unsafe { rust_procmaps_vma_kernel_pagesize(raw) };
        // SAFETY: As above.
        let mmu_pagesize = unsafe { rust_procmaps_vma_mmu_pagesize(raw) };
        // SAFETY: As above; this also reads the THP settings.
        let thp_eligible = unsafe { rust_procmaps_thp_eligible(raw) };
        // SAFETY: As above.
        let pkey = unsafe { rust_procmaps_vma_pkey(raw) };
        let (start, end, fl) = match &shown {
            Shown::Vma(vma) => (vma.start(), vma.end(), vma.flags()),
            Shown::Gate(gate) => (gate.start(), gate.end(), gate.flags()),
        };
        let mut flags_buf = seq_out::spare();
        let mut flags = VmFlagsLine::new(&mut flags_buf);
        vm_flags(&mut flags, fl);

        vma_format::show_map_vma(out, &shown);
        row(
            out,
            b"Size:           ",
            ((end - start) >> 10) as u64,
            8,
            b" kB\n",
        );
        row(
            out,
            b"KernelPageSize: ",
            (kernel_pagesize >> 10) as u64,
            8,
            b" kB\n",
        );
        row(
            out,
            b"MMUPageSize:    ",
            (mmu_pagesize >> 10) as u64,
            8,
            b" kB\n",
        );
        counters(out, &mss, false);
        row(out, b"THPeligible:    ", thp_eligible.into(), 8, b"\n");
        if pkey >= 0 {
            row(out, b"ProtectionKey:  ", pkey as u64, 8, b"\n");
        }
        flags.write_to(out);
    }
}

static SMAPS_SEQ_OPS: SeqOps = vma_seq::seq_ops::<Smaps>();

/// File operations of `smaps`.
pub(crate) static SMAPS_FOPS: FileOps = vma_seq::file_ops::<Smaps>();

/// Page-table walks by the lock that held their VMA, added to [`STATS`] when dropped: one
/// atomic add per rollup, not one per VMA.
#[derive(Default)]
struct WalkCounts {
    vma_locked: u64,
    mmap_locked: u64,
}

impl WalkCounts {
    fn count(&mut self, lock: WalkLock) {
        match lock {
            WalkLock::Vma => self.vma_locked += 1,
            WalkLock::Mmap => self.mmap_locked += 1,
        }
    }
}

impl Drop for WalkCounts {
    fn drop(&mut self) {
        STATS.smaps_walks_vma_locked.add(self.vma_locked);
        STATS.smaps_walks_mmap_locked.add(self.mmap_locked);
    }
}

/// Small anonymous VMAs walked in a row inside the cursor's RCU section before a walk that may
/// sleep (which closes the section and reschedules): bounds how long a rollup delays RCU
/// grace periods and runs without a rescheduling point.
const NO_SLEEP_WALKS_IN_A_ROW: u32 = 32;

/// Sums the address space of `mm`, locked as `locking` says; returns the span
/// `[first start, last end)` summed.
///
/// The cursor is a [`Context::NoSleep`] one: a small anonymous VMA it hands out inside its open
/// RCU section ([`crate::mm_lock::LockedVma::in_rcu`], [`SmallAnonVma`]) is walked there
/// without sleeping, so that the next VMA is found by continuing the iterator, as `/proc`'s
/// rollup does under `mmap_lock`, instead of a walk from the tree's root; any other VMA, every
/// [`NO_SLEEP_WALKS_IN_A_ROW`]-th, and every VMA of a cursor that keeps no section open
/// (`lock_mode=1`, a kernel without preemptible RCU) is walked with the section closed
/// ([`crate::mm_lock::LockedVma::sleepable`]).
fn rollup(mm: &MmWithUser, locking: Locking, mss: &mut MemSizeStats) -> Result<(usize, usize)> {
    let mut cursor = VmaCursor::new(mm, Context::NoSleep, locking)?;
    let mut walks = WalkCounts::default();
    let mut span: Option<(usize, usize)> = None;
    // `last_vma_end`: the end of the last VMA summed, where the next lookup starts.
    let mut from = 0;
    let mut in_a_row = 0;
    while let Some(vma) = cursor.advance(from)? {
        let (start, end) = (vma.start(), vma.end());
        walks.count(vma.walk_lock());
        // A VMA starting below `from` grew or merged since the last one was summed: the walks
        // count it from `from` only.
        let small = if in_a_row < NO_SLEEP_WALKS_IN_A_ROW {
            vma.in_rcu().and_then(SmallAnonVma::new)
        } else {
            Err(vma)
        };
        match small {
            Ok(small) => {
                small.gather(from, mss);
                in_a_row += 1;
            }
            Err(vma) => {
                smaps_walk::gather(&vma.sleepable(), from, mss);
                in_a_row = 0;
            }
        }
        span = Some((span.map_or(start, |s| s.0), end));
        from = end;
        // `lock_mode=1`: let a waiting writer in, as `/proc` does.
        cursor.relax()?;
    }
    Ok(span.unwrap_or((0, 0)))
}

/// `show` of `smaps_rollup` (a `single_open` seq_file): `show_smaps_rollup()`.
///
/// # Safety
///
/// Called by the seq_file core on a file opened by [`rollup_open`].
unsafe extern "C" fn rollup_show(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `rollup_open` stored a `KBox<Target>` in `private`; the seq_file lock serialises
    // `show` calls.
    let target = unsafe { &*(*m).private.cast::<Target>() };
    let mm = match target.mm_for_read() {
        Ok(Some(mm)) => mm,
        Ok(None) => return ESRCH.to_errno(),
        Err(err) => return err.to_errno(),
    };
    STATS.chunks.inc();
    let mut mss = MemSizeStats::default();
    match rollup(&mm, target.locking(), &mut mss) {
        Ok((start, end)) => {
            // SAFETY: `m` is the seq_file whose `show` is running, for this call.
            if let Some(mut out) = unsafe { SeqOut::from_raw(m) } {
                vma_format::show_rollup_header(&mut out, start, end);
                counters(&mut out, &mss, true);
            }
            0
        }
        Err(err) => {
            STATS.errors.inc();
            err.to_errno()
        }
    }
}

/// `open` of `smaps_rollup`: the same access check as `maps`, and `ESRCH` without an address
/// space.
///
/// # Safety
///
/// Called by the VFS (through debugfs' open proxy) with one of our per-process files.
unsafe extern "C" fn rollup_open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: Per the function's safety requirement.
    let target = unsafe { Target::open(inode) }
        // As `smaps_rollup_open()`: no address space at open (a kernel thread, a process that
        // exited) is `ESRCH` now, where `maps` and `smaps` open and read nothing.
        .and_then(|t| if t.had_mm() { Ok(t) } else { Err(ESRCH) })
        .and_then(|t| Ok(KBox::new(t, GFP_KERNEL)?));
    let target = match target {
        Ok(target) => KBox::into_raw(target),
        Err(err) => return err.to_errno(),
    };
    // SAFETY: `file` is valid; `rollup_show` matches what `single_open` expects.
    let ret = unsafe { bindings::single_open(file, Some(rollup_show), target.cast()) };
    if ret != 0 {
        // SAFETY: Not handed out: `single_open` failed.
        drop(unsafe { KBox::from_raw(target) });
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
    // SAFETY: `rollup_open` stored a `KBox<Target>`; no callback runs any more.
    drop(unsafe { seq_out::take_private::<Target>(file) });
    // SAFETY: The seq_file was opened by `single_open`.
    unsafe { bindings::single_release(inode, file) }
}

/// File operations of `smaps_rollup`.
pub(crate) static ROLLUP_FOPS: FileOps = FileOps::seq_file(rollup_open, rollup_release);

#[kunit_tests(rust_procmaps_smaps)]
mod tests {
    use super::*;
    use kernel::mm::virt::flags;

    #[test]
    fn vm_flags_in_bit_order() {
        let mut buf = seq_out::spare();
        let mut line = VmFlagsLine::new(&mut buf);
        let fl = flags::READ
            | flags::WRITE
            | flags::MAYREAD
            | flags::MAYWRITE
            | (1 << bindings::VMA_ACCOUNT_BIT);
        vm_flags(&mut line, fl);
        assert_eq!(line.as_bytes(), b"VmFlags: rd wr mr mw ac \n");
    }

    #[test]
    fn vm_flags_empty() {
        let mut buf = seq_out::spare();
        let mut line = VmFlagsLine::new(&mut buf);
        vm_flags(&mut line, 0);
        assert_eq!(line.as_bytes(), b"VmFlags: \n");
    }

    #[test]
    fn every_mnemonic_names_one_bit() {
        // Two bits with one name would make VmFlags ambiguous; "??" and "" are not names.
        let mut dup = 0;
        for (i, a) in VM_FLAG_NAMES.iter().enumerate() {
            for b in VM_FLAG_NAMES.iter().skip(i + 1) {
                if a == b && *a != "??" && !a.is_empty() {
                    dup += 1;
                }
            }
        }
        assert_eq!(dup, 0);
        assert_eq!(VM_FLAG_NAMES[bindings::VMA_READ_BIT as usize], "rd");
        assert_eq!(VM_FLAG_NAMES[bindings::VMA_SEALED_BIT as usize], "sl");
    }
}
