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
    seq_file::SeqFile,
    seq_print,
};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "kernel structs are only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_file_user_path(f: *const bindings::file) -> *const bindings::path;
    fn rust_procmaps_file_user_inode(f: *const bindings::file) -> *const bindings::inode;
    fn rust_procmaps_vma_is_initial_heap(vma: *const bindings::vm_area_struct) -> bool;
    fn rust_procmaps_vma_is_initial_stack(vma: *const bindings::vm_area_struct) -> bool;
    fn rust_procmaps_seq_setwidth(m: *mut bindings::seq_file, size: usize);
}

/// Width of the header before the name: `25 + sizeof(void *) * 6 - 1` as in `task_mmu.c`.
const HEADER_WIDTH: usize = 25 + core::mem::size_of::<*const c_void>() * 6 - 1;

/// `MINORBITS` of `include/linux/kdev_t.h`.
const MINOR_BITS: u32 = 20;

/// A line built on the stack and written to the seq_file at once: `seq_print!` goes through
/// `core::fmt` per field, which made whole reads several times slower than `/proc`.
///
/// `N` bytes, bytes beyond are dropped. [`LineBuf`] holds a `maps` header (at most 96 bytes:
/// 16 + 1 + 16 + 5 + 16 + 1 + 8 + 1 + 8 + 1 + 20 + 1) or an smaps counter line; it is kept
/// small because it is filled with zeros for every line.
pub(crate) struct Line<const N: usize> {
    buf: [u8; N],
    len: usize,
}

/// The usual line.
pub(crate) type LineBuf = Line<128>;

// The methods are inlined into their callers: out of line (as they were once two buffer sizes
// used them), a `maps` line cost a call per byte and whole reads of 60k VMAs took 1.23x the
// time of `/proc` instead of 1.04x (`make bench`, reader cost).
impl<const N: usize> Line<N> {
    #[inline(always)]
    pub(crate) fn new() -> Self {
        Self {
            buf: [0; N],
            len: 0,
        }
    }

    /// Appends `bytes`.
    #[inline(always)]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.byte(b);
        }
    }

    /// Decimal right-aligned in `width` columns (`seq_put_decimal_ull_width`).
    pub(crate) fn dec_width(&mut self, v: u64, width: usize) {
        let mut digits = 1;
        while digits < 20 && v >= 10u64.pow(digits as u32) {
            digits += 1;
        }
        for _ in digits..width {
            self.byte(b' ');
        }
        self.dec(v);
    }

    /// Writes the line to `m`.
    ///
    /// # Safety
    ///
    /// `m` must be the seq_file being filled.
    #[inline(always)]
    pub(crate) unsafe fn write_to(&self, m: *mut bindings::seq_file) {
        // SAFETY: `m` is valid (function safety requirement); `buf[..len]` is initialised.
        unsafe { bindings::seq_write(m, self.buf.as_ptr().cast(), self.len) };
    }

    #[inline(always)]
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// Lowercase hex, zero-padded to at least `width` digits (`seq_put_hex_ll`).
    #[inline(always)]
    fn hex(&mut self, v: u64, width: u32) {
        let digits = (u64::BITS - v.leading_zeros()).div_ceil(4).max(width);
        for i in (0..digits).rev() {
            let nibble = ((v >> (i * 4)) & 0xf) as u8;
            self.byte(if nibble < 10 {
                b'0' + nibble
            } else {
                b'a' + nibble - 10
            });
        }
    }

    /// Decimal (`seq_put_decimal_ull`).
    #[inline(always)]
    fn dec(&mut self, v: u64) {
        let mut div = 1u64;
        while v / div >= 10 {
            div *= 10;
        }
        while div > 0 {
            self.byte(b'0' + ((v / div) % 10) as u8);
            div /= 10;
        }
    }
}

/// What follows the header.
enum VmaName {
    None,
    Path(*const bindings::path),
    /// A C string owned by the VMA (or static).
    Str(*const c_char),
    /// `[anon:NAME]` or `[anon_shmem:NAME]`.
    Anon(&'static str, *const c_char),
}

/// Mirrors `get_vma_name()`.
///
/// # Safety
///
/// The VMA must be stable: read-locked, or the static gate VMA.
unsafe fn vma_name(vma: &VmaRef) -> VmaName {
    let raw = vma.as_ptr();
    // SAFETY: The VMA is stable (function safety requirement), so its fields may be read.
    let (file, ops, mm, anon_name) = unsafe {
        (
            (*raw).vm_file,
            (*raw).vm_ops,
            (*raw).vm_mm,
            (*raw).anon_name,
        )
    };
    // `anon_vma_name()` is not exported; the field is what it returns, and it cannot change
    // while we hold the VMA lock (it is replaced under the VMA write lock).
    let anon_name = if mm.is_null() {
        core::ptr::null_mut()
    } else {
        anon_name
    };
    // SAFETY: A non-null `anon_name` is a live `struct anon_vma_name` (refcounted by the VMA).
    let anon = (!anon_name.is_null()).then(|| unsafe { (*anon_name).name.as_ptr() });

    if !file.is_null() {
        if let Some(name) = anon {
            return VmaName::Anon("anon_shmem", name);
        }
        // SAFETY: `file` is the VMA's file, pinned by the VMA.
        return VmaName::Path(unsafe { rust_procmaps_file_user_path(file) });
    }
    // SAFETY: `vm_ops` of a stable VMA is null or a valid static table.
    if let Some(name_fn) = unsafe { ops.as_ref() }.and_then(|ops| ops.name) {
        // SAFETY: `name` takes the VMA it belongs to, as `get_vma_name()` calls it.
        let name = unsafe { name_fn(raw) };
        if !name.is_null() {
            return VmaName::Str(name);
        }
    }
    if mm.is_null() {
        return VmaName::Str(c"[vdso]".as_char_ptr());
    }
    // SAFETY: The VMA is stable and `vm_mm` is non-null.
    if unsafe { rust_procmaps_vma_is_initial_heap(raw) } {
        return VmaName::Str(c"[heap]".as_char_ptr());
    }
    // SAFETY: As above.
    if unsafe { rust_procmaps_vma_is_initial_stack(raw) } {
        return VmaName::Str(c"[stack]".as_char_ptr());
    }
    match anon {
        Some(name) => VmaName::Anon("anon", name),
        None => VmaName::None,
    }
}

/// Writes the header of a line (`show_vma_header_prefix()`) and sets the width the name is
/// padded to.
///
/// # Safety
///
/// `m` must be the seq_file being filled.
#[inline(always)]
unsafe fn write_header(
    m: *mut bindings::seq_file,
    start: usize,
    end: usize,
    fl: usize,
    pgoff: u64,
    dev: u32,
    ino: u64,
) {
    let perm = |bit, c| if fl & bit != 0 { c } else { b'-' };

    let mut line = LineBuf::new();
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

    // SAFETY: `m` is the seq_file being filled (function safety requirement).
    unsafe {
        rust_procmaps_seq_setwidth(m, HEADER_WIDTH);
        line.write_to(m);
    }
}

/// Prints the header line of `smaps_rollup`: the span from the first VMA's start to the last
/// VMA's end (`0-0` for an empty address space) and `[rollup]`.
///
/// # Safety
///
/// `m` must be the seq_file being filled.
pub(crate) unsafe fn show_rollup_header(m: *mut bindings::seq_file, start: usize, end: usize) {
    // SAFETY: `m` is the seq_file being filled (function safety requirement).
    unsafe {
        write_header(m, start, end, 0, 0, 0, 0);
        bindings::seq_pad(m, b' ' as c_char);
        bindings::__seq_puts(m, c"[rollup]\n".as_char_ptr());
    }
}

/// Prints the `maps` line of `vma` into `m`.
///
/// # Safety
///
/// `m` must be the seq_file being filled, and the VMA stable (read-locked, or the gate VMA).
pub(crate) unsafe fn show_map_vma(m: *mut bindings::seq_file, vma: &VmaRef) {
    let raw = vma.as_ptr();
    let fl = vma.flags();
    // SAFETY: The VMA is stable.
    let file = unsafe { (*raw).vm_file };
    let (dev, ino, pgoff) = if file.is_null() {
        (0u32, 0u64, 0u64)
    } else {
        // SAFETY: `file` is pinned by the VMA; its user inode and super block are live.
        unsafe {
            let inode = rust_procmaps_file_user_inode(file);
            (
                (*(*inode).i_sb).s_dev,
                (*inode).i_ino,
                ((*raw).vm_pgoff as u64) << bindings::PAGE_SHIFT,
            )
        }
    };
    // SAFETY: `m` is the seq_file being filled (function safety requirement).
    unsafe { write_header(m, vma.start(), vma.end(), fl, pgoff, dev, ino) };

    // SAFETY: The VMA is stable.
    let name = unsafe { vma_name(vma) };
    if !matches!(name, VmaName::None) {
        // SAFETY: `m` is valid; this pads to the width set above and adds one space.
        unsafe { bindings::seq_pad(m, b' ' as c_char) };
    }
    match name {
        VmaName::None => {}
        // SAFETY: `m` is valid and `path` is the user path of the VMA's pinned file.
        VmaName::Path(path) => unsafe {
            bindings::seq_path(m, path, c"\n".as_char_ptr());
        },
        // SAFETY: `m` is valid and `s` a C string owned by the stable VMA (or static).
        VmaName::Str(s) => unsafe { bindings::__seq_puts(m, s) },
        VmaName::Anon(kind, s) => {
            // SAFETY: `m` is the seq_file being filled.
            seq_print!(unsafe { SeqFile::from_raw(m) }, "[{}:", kind);
            // SAFETY: `m` is valid and `s` is the name in the VMA's live `anon_vma_name`.
            unsafe {
                bindings::__seq_puts(m, s);
                bindings::seq_putc(m, b']' as c_char);
            }
        }
    }
    // SAFETY: `m` is valid.
    unsafe { bindings::seq_putc(m, b'\n' as c_char) };
}
