// SPDX-License-Identifier: GPL-2.0

//! Output into the seq_file being filled, without `unsafe` for the formatters.
//!
//! [`SeqOut`] is made once per `show` call by the seq_file glue (the only `unsafe` step: the
//! pointer must be the seq_file being filled); its methods are the seq_file output calls the
//! formatters use. [`Line`] builds one line on the stack and writes it with one call.
//!
//! C header: [`include/linux/seq_file.h`](srctree/include/linux/seq_file.h)

use core::{marker::PhantomData, mem::MaybeUninit, ptr::NonNull};
use kernel::{bindings, prelude::*, seq_file::SeqFile};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "seq_file is only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_seq_setwidth(m: *mut bindings::seq_file, size: usize);
}

/// The seq_file being filled, for the duration of one `show` call.
///
/// # Invariants
///
/// `m` is a seq_file whose `show` callback is running, on this task, for at least `'a`.
pub(crate) struct SeqOut<'a> {
    m: NonNull<bindings::seq_file>,
    _show: PhantomData<&'a mut bindings::seq_file>,
}

impl SeqOut<'_> {
    /// # Safety
    ///
    /// `m` must be the seq_file whose `show` callback is running, for as long as the result
    /// lives.
    pub(crate) unsafe fn from_raw(m: *mut bindings::seq_file) -> Option<Self> {
        // INVARIANT: Per the function's safety requirement.
        NonNull::new(m).map(|m| Self {
            m,
            _show: PhantomData,
        })
    }

    /// `seq_write()`.
    pub(crate) fn write(&mut self, bytes: &[u8]) {
        // SAFETY: `m` is being filled (invariant); `bytes` is readable for its length.
        unsafe { bindings::seq_write(self.m.as_ptr(), bytes.as_ptr().cast(), bytes.len()) };
    }

    /// `seq_puts()`.
    pub(crate) fn puts(&mut self, s: &CStr) {
        // SAFETY: `m` is being filled (invariant); `s` is a C string.
        unsafe { bindings::__seq_puts(self.m.as_ptr(), s.as_char_ptr()) };
    }

    /// `seq_putc()`.
    pub(crate) fn putc(&mut self, c: u8) {
        // SAFETY: `m` is being filled (invariant).
        unsafe { bindings::seq_putc(self.m.as_ptr(), c as c_char) };
    }

    /// `seq_setwidth()`: the column a later [`SeqOut::pad`] pads to, from here on.
    pub(crate) fn set_width(&mut self, width: usize) {
        // SAFETY: `m` is being filled (invariant).
        unsafe { rust_procmaps_seq_setwidth(self.m.as_ptr(), width) };
    }

    /// `seq_pad()`: spaces up to the width set before, then `c`.
    pub(crate) fn pad(&mut self, c: u8) {
        // SAFETY: `m` is being filled (invariant).
        unsafe { bindings::seq_pad(self.m.as_ptr(), c as c_char) };
    }

    /// `seq_path(m, path, "\n")`: the path, with newlines escaped as `\012`.
    pub(crate) fn path(&mut self, path: &bindings::path) {
        // SAFETY: `m` is being filled (invariant); `path` is a valid path (a reference).
        unsafe { bindings::seq_path(self.m.as_ptr(), path, c"\n".as_char_ptr()) };
    }

    /// The kernel crate's view, for `seq_print!`.
    pub(crate) fn seq_file(&mut self) -> &SeqFile {
        // SAFETY: `m` is valid for the borrow (invariant).
        unsafe { SeqFile::from_raw(self.m.as_ptr()) }
    }
}

/// Takes back the state an `open` stored in the seq_file of `file` (`seq_file::private`).
///
/// # Safety
///
/// `file` must be being released, and its seq_file's `private` a `KBox<T>` from
/// `KBox::into_raw` that nothing else uses any more.
pub(crate) unsafe fn take_private<T>(file: *mut bindings::file) -> KBox<T> {
    // SAFETY: Per the function's safety requirement: `private_data` is the seq_file.
    unsafe {
        KBox::from_raw(
            (*(*file).private_data.cast::<bindings::seq_file>())
                .private
                .cast::<T>(),
        )
    }
}

/// A line built on the stack and written to the seq_file at once: `seq_print!` goes through
/// `core::fmt` per field, which made whole reads several times slower than `/proc`.
///
/// `N` bytes, bytes beyond are dropped. [`LineBuf`] holds a `maps` header (at most 96 bytes:
/// 16 + 1 + 16 + 5 + 16 + 1 + 8 + 1 + 8 + 1 + 20 + 1) or an smaps counter line. The buffer is
/// not initialised (filling it with zeros for every line was measurable).
///
/// # Invariants
///
/// `len <= N`, and `buf[..len]` is initialised.
pub(crate) struct Line<const N: usize> {
    buf: [MaybeUninit<u8>; N],
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
        // INVARIANT: Nothing is initialised, and nothing needs to be.
        Self {
            buf: [MaybeUninit::uninit(); N],
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

    /// Writes the line.
    #[inline(always)]
    pub(crate) fn write_to(&self, out: &mut SeqOut<'_>) {
        out.write(self.as_bytes());
    }

    /// The bytes so far.
    #[inline(always)]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        // SAFETY: The first `len <= N` bytes are initialised (invariant); `MaybeUninit<u8>`
        // has the layout of `u8`.
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len) }
    }

    /// Appends one byte.
    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            slot.write(b);
            // INVARIANT: `buf[len]` was just written, and `len < N` before.
            self.len += 1;
        }
    }

    /// Lowercase hex, zero-padded to at least `width` digits (`seq_put_hex_ll`).
    #[inline(always)]
    pub(crate) fn hex(&mut self, v: u64, width: u32) {
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
    pub(crate) fn dec(&mut self, v: u64) {
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

#[kunit_tests(rust_procmaps_line)]
mod tests {
    use super::*;

    fn text<const N: usize>(line: &Line<N>) -> &[u8] {
        line.as_bytes()
    }

    #[test]
    fn hex_is_zero_padded_to_width() {
        let mut line = LineBuf::new();
        line.hex(0x1f, 8);
        line.byte(b' ');
        line.hex(0xffff_ffff_ff60_0000, 8);
        line.byte(b' ');
        line.hex(0, 2);
        assert_eq!(text(&line), b"0000001f ffffffffff600000 00");
    }

    #[test]
    fn dec_prints_every_digit() {
        let mut line = LineBuf::new();
        line.dec(0);
        line.byte(b' ');
        line.dec(u64::MAX);
        assert_eq!(text(&line), b"0 18446744073709551615");
    }

    #[test]
    fn dec_width_right_aligns_and_never_cuts() {
        let mut line = LineBuf::new();
        line.dec_width(5, 8);
        line.dec_width(0, 7);
        line.dec_width(123_456_789, 8);
        assert_eq!(text(&line), b"       5      0123456789");
    }

    #[test]
    fn bytes_beyond_capacity_are_dropped() {
        let mut line = Line::<4>::new();
        line.bytes(b"abcdef");
        assert_eq!(text(&line), b"abcd");
    }
}
