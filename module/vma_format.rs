// SPDX-License-Identifier: GPL-2.0

//! One line of `maps` for one VMA, byte for byte as `fs/proc/task_mmu.c` prints it.
//!
//! ```text
//! 7f5e2a1d5000-7f5e2a1f7000 r--p 00000000 00:0e 1234                       /usr/lib/libc.so.6
//! ```
//!
//! Start and end (at least 8 hex digits), permissions with `s`/`p` from `VM_MAYSHARE`, the file
//! offset, device (`major:minor` in hex) and inode of the *user-visible* file (the overlay
//! file, not the backing one), then, when the VMA has a name, padding to column 73 and the
//! name. Anonymous VMAs end in `"0 \n"`.
//!
//! Names, in the order `get_vma_name()` tries them: the file path (escaping `\n` as `\012`),
//! or `[anon_shmem:NAME]` for a named shared anonymous mapping; the `vm_ops->name()` of special
//! mappings (`[vdso]`, `[vvar]`, `[vsyscall]`, ...); `[heap]`; `[stack]`; `[anon:NAME]`.
//! `arch_vma_name()` is the weak NULL default on x86-64, so it is not consulted.
//!
//! C source: [`fs/proc/task_mmu.c`](srctree/fs/proc/task_mmu.c) (`show_map_vma`)

use kernel::{
    bindings,
    mm::virt::{flags, VmaRef},
    prelude::*,
    seq_print,
};

use crate::{
    gate::GateVma,
    mm_lock::LockedVma,
    seq_out::{self, LineBuf, SeqOut},
    vma_fields::{FileIds, VmaFields, MINOR_BITS},
};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "kernel structs are only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_file_user_path(f: *const bindings::file) -> *const bindings::path;
    fn rust_procmaps_vma_heap_or_stack(vma: *const bindings::vm_area_struct) -> *const c_char;
}

/// Width of the header before the name: `25 + sizeof(void *) * 6 - 1` as in `task_mmu.c`.
const HEADER_WIDTH: usize = 25 + core::mem::size_of::<*const c_void>() * 6 - 1;

/// What one record of `maps`/`smaps` shows: a VMA of the process, held by a cursor, or the
/// gate VMA that comes after the last one.
pub(crate) enum Shown<'a> {
    Vma(LockedVma<'a>),
    Gate(&'a GateVma),
}

/// The name of a VMA (what follows the header in `maps`; `PROCMAP_QUERY`'s `vma_name`).
pub(crate) enum VmaName<'a> {
    None,
    /// The user-visible path of the VMA's file: escaped in `maps`, raw in the query.
    Path(&'a bindings::path),
    Str(&'a CStr),
    /// `[anon:NAME]` or `[anon_shmem:NAME]`.
    Anon(&'static str, &'a CStr),
}

/// The user-visible path of the file of `vma` (`file_user_path()`: the overlay file's, not the
/// backing one's), if it has a file.
pub(crate) fn file_path(vma: &VmaRef) -> Option<&bindings::path> {
    // SAFETY: The file is the VMA's, pinned by the VMA; so is its user path.
    vma.file()
        .map(|file| unsafe { &*rust_procmaps_file_user_path(file.as_ptr()) })
}

/// `c"[heap]"` if `vma_is_initial_heap()`, else `c"[stack]"` if `vma_is_initial_stack()`.
pub(crate) fn heap_or_stack(vma: &VmaRef) -> Option<&'static CStr> {
    // SAFETY: The VMA is held and has an mm.
    let name = unsafe { rust_procmaps_vma_heap_or_stack(vma.as_ptr()) };
    // SAFETY: A non-null result is one of the helper's static C strings.
    (!name.is_null()).then(|| unsafe { CStr::from_char_ptr(name) })
}

/// Mirrors `get_vma_name()` for a VMA of the process (the gate VMA has its own, in `gate.rs`).
pub(crate) fn vma_name<'a>(vma: &'a VmaRef) -> VmaName<'a> {
    let anon = vma.anon_name();
    if let Some(path) = file_path(vma) {
        if let Some(name) = anon {
            return VmaName::Anon("anon_shmem", name);
        }
        return VmaName::Path(path);
    }
    if let Some(name) = vma.special_name() {
        return VmaName::Str(name);
    }
    if let Some(name) = heap_or_stack(vma) {
        return VmaName::Str(name);
    }
    match anon {
        Some(name) => VmaName::Anon("anon", name),
        None => VmaName::None,
    }
}

/// Appends the header of a line to `line`, `show_vma_header_prefix()`: range, permissions,
/// offset, device, inode, and the space before the name.
///
/// The line is filled where it lies: returned by value, its buffer would be copied (`memcpy`)
/// once or twice per line on its way to the seq_file.
#[inline(always)]
fn header_line(
    line: &mut LineBuf<'_>,
    start: usize,
    end: usize,
    fl: bindings::vm_flags_t,
    pgoff: u64,
    dev: u32,
    ino: u64,
) {
    let perm = |bit, c| if fl & bit != 0 { c } else { b'-' };

    line.hex(start as u64, 8);
    line.byte(b'-');
    line.hex(end as u64, 8);
    line.byte(b' ');
    line.byte(perm(flags::READ, b'r'));
    line.byte(perm(flags::WRITE, b'w'));
    line.byte(perm(flags::EXEC, b'x'));
    line.byte(if fl & flags::MAYSHARE != 0 {
        b's'
    } else {
        b'p'
    });
    line.byte(b' ');
    line.hex(pgoff, 8);
    line.byte(b' ');
    line.hex((dev >> MINOR_BITS).into(), 2);
    line.byte(b':');
    line.hex((dev & ((1 << MINOR_BITS) - 1)).into(), 2);
    line.byte(b' ');
    line.dec(ino);
    line.byte(b' ');
}

/// Prints the header line of `smaps_rollup`: the span from the first VMA's start to the last
/// VMA's end (`0-0` for an empty address space) and `[rollup]`.
pub(crate) fn show_rollup_header(out: &mut SeqOut<'_>, start: usize, end: usize) {
    let mut spare = seq_out::spare();
    let mut header = out.line(&mut spare);
    header_line(header.line(), start, end, 0, 0, 0, 0);
    // The header of a line that a name follows: padded (`show_vma_header_prefix()`, then
    // `seq_pad()`).
    header.finish_padded(HEADER_WIDTH);
    out.puts(c"[rollup]\n");
}

/// Prints the `maps` line of `shown`.
pub(crate) fn show_map_vma(out: &mut SeqOut<'_>, shown: &Shown<'_>) {
    let mut spare = seq_out::spare();
    let mut header = out.line(&mut spare);
    let name = match shown {
        Shown::Vma(vma) => {
            let FileIds { offset, dev, ino } = vma.file_ids().unwrap_or(FileIds {
                offset: 0,
                dev: 0,
                ino: 0,
            });
            header_line(
                header.line(),
                vma.start(),
                vma.end(),
                vma.flags(),
                offset,
                dev,
                ino,
            );
            vma_name(vma)
        }
        Shown::Gate(gate) => {
            header_line(
                header.line(),
                gate.start(),
                gate.end(),
                gate.flags(),
                0,
                0,
                0,
            );
            VmaName::Str(gate.name())
        }
    };
    if let VmaName::None = name {
        // Nothing is padded, so no width to set: the line is the header and its newline, in
        // one write (most lines of a large address space are anonymous).
        header.line().byte(b'\n');
        header.finish();
        return;
    }
    header.finish_padded(HEADER_WIDTH);
    match name {
        VmaName::None => {}
        VmaName::Path(path) => out.path(path),
        VmaName::Str(s) => out.puts(s),
        VmaName::Anon(kind, s) => {
            seq_print!(out.seq_file(), "[{}:", kind);
            out.puts(s);
            out.putc(b']');
        }
    }
    out.putc(b'\n');
}

#[kunit_tests(rust_procmaps_maps_line)]
mod tests {
    use super::*;

    fn header(
        start: usize,
        end: usize,
        fl: bindings::vm_flags_t,
        pgoff: u64,
        dev: u32,
        ino: u64,
    ) -> KVec<u8> {
        let mut buf = seq_out::spare();
        let mut line = LineBuf::new(&mut buf);
        header_line(&mut line, start, end, fl, pgoff, dev, ino);
        let mut v = KVec::new();
        // Test-only allocation; a failure shows as a mismatch.
        let _ = v.extend_from_slice(line.as_bytes(), GFP_KERNEL);
        v
    }

    #[test]
    fn anonymous_private() {
        let fl = flags::READ | flags::WRITE;
        assert_eq!(
            &header(0x7f00_0000_0000, 0x7f00_0000_1000, fl, 0, 0, 0)[..],
            b"7f0000000000-7f0000001000 rw-p 00000000 00:00 0 "
        );
    }

    #[test]
    fn file_shared_with_offset_and_device() {
        let fl = flags::READ | flags::EXEC | flags::MAYSHARE;
        assert_eq!(
            &header(
                0x40_0000,
                0x40_1000,
                fl,
                0x3000,
                (8 << MINOR_BITS) | 1,
                1234
            )[..],
            b"00400000-00401000 r-xs 00003000 08:01 1234 "
        );
    }

    #[test]
    fn small_addresses_and_wide_devices() {
        // 8 hex digits at least; major and minor wider than 2 digits are printed whole.
        assert_eq!(
            &header(
                0x1000,
                0x2000,
                0,
                0x1_0000_0000,
                (259 << MINOR_BITS) | 0x123,
                7
            )[..],
            b"00001000-00002000 ---p 100000000 103:123 7 "
        );
    }

    #[test]
    fn shared_means_mayshare_not_shared() {
        // `s` comes from VM_MAYSHARE (a read-only MAP_SHARED has no VM_SHARED).
        let line = header(0x1000, 0x2000, flags::READ | flags::SHARED, 0, 0, 0);
        assert_eq!(line.get(21).copied(), Some(b'p'));
    }
}
