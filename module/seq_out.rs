// SPDX-License-Identifier: GPL-2.0

//! Output into the seq_file being filled, without `unsafe` for the formatters.
//!
//! [`SeqOut`] is made once per `show` call by the seq_file glue (the only `unsafe` step: the
//! pointer must be the seq_file being filled); its methods are the seq_file output calls the
//! formatters use. [`Line`] builds one line in a buffer it borrows and writes it with one
//! call; [`SeqOut::line`] lends it the free end of the seq_file's own buffer when that has room,
//! so that the line is formatted where it stays (no copy, no call to write it).
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

impl<'a> SeqOut<'a> {
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

    /// A line of at most `N` bytes to format and then [`SeqLine::finish`]: in the seq_file's
    /// buffer if it has room for `N` more bytes (no copy, and no call, for the line), in
    /// `spare` otherwise (then written with `seq_write()`, which also marks the overflow that
    /// makes the seq_file core retry the record with a larger buffer).
    #[inline(always)]
    pub(crate) fn line<'b, const N: usize>(
        &'b mut self,
        spare: &'b mut [MaybeUninit<u8>; N],
    ) -> SeqLine<'b, 'a, N> {
        let line = match self.free() {
            // SAFETY: The `N` bytes there are inside the buffer, which lives for the `show`
            // call and so for `'b`.
            Some((free, room)) if room >= N => unsafe { Line::from_raw(free) },
            _ => Line::new(spare),
        };
        SeqLine { out: self, line }
    }

    /// The free end of the seq_file's buffer and how many bytes follow it there
    /// (`seq_get_buf()`, on the fields); `None` without a buffer.
    #[inline(always)]
    fn free(&self) -> Option<(NonNull<MaybeUninit<u8>>, usize)> {
        let m = self.m.as_ptr();
        // SAFETY: `m` is being filled (invariant): its buffer is `size` bytes, of which the
        // first `count <= size` are used.
        let (buf, count, size) = unsafe { ((*m).buf, (*m).count, (*m).size) };
        // SAFETY: `count <= size`: the result is inside the buffer or one past its end.
        NonNull::new(buf).map(|buf| (unsafe { buf.add(count) }.cast(), size.saturating_sub(count)))
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
        self.path_escaped(path, c"\n");
    }

    /// `seq_path(m, path, esc)`: the path, with the bytes of `esc` escaped as octal.
    pub(crate) fn path_escaped(&mut self, path: &bindings::path, esc: &CStr) {
        // SAFETY: `m` is being filled (invariant); `path` is a valid path (a reference), `esc`
        // a C string.
        unsafe { bindings::seq_path(self.m.as_ptr(), path, esc.as_char_ptr()) };
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

/// A line formatted into a buffer and written to the seq_file at once: `seq_print!` goes
/// through `core::fmt` per field, which made whole reads several times slower than `/proc`.
///
/// The buffer is borrowed: the free end of the seq_file's own buffer ([`SeqOut::line`]), so
/// that the line is formatted where it stays, or a [`spare`] on the stack. `N` bytes, bytes
/// beyond are dropped. [`LineBuf`] holds a `maps` header (at most 96 bytes: 16 + 1 + 16 + 5 +
/// 16 + 1 + 8 + 1 + 8 + 1 + 20 + 1) or an smaps counter line. The buffer is not initialised
/// (filling it with zeros for every line was measurable).
///
/// # Invariants
///
/// `buf` is valid for reads and writes of `N` bytes for `'b`, `len <= N`, and the first `len`
/// of them are initialised. The buffer is held as a raw pointer, not a reference: the bytes
/// of a line formatted in place become the seq_file's, which C writes after them.
pub(crate) struct Line<'b, const N: usize> {
    buf: NonNull<MaybeUninit<u8>>,
    len: usize,
    _buf: PhantomData<&'b mut [MaybeUninit<u8>; N]>,
}

/// The usual line.
pub(crate) type LineBuf<'b> = Line<'b, 128>;

/// Room for a line of `N` bytes on the stack.
#[inline(always)]
pub(crate) const fn spare<const N: usize>() -> [MaybeUninit<u8>; N] {
    [MaybeUninit::uninit(); N]
}

/// A [`Line`] on its way into the seq_file, made by [`SeqOut::line`]: formatted in the
/// seq_file's buffer when it had room for `N` bytes, in the caller's spare otherwise. The
/// exclusive borrow of `out` keeps every other writer of the seq_file away while it lives.
pub(crate) struct SeqLine<'b, 'a, const N: usize> {
    out: &'b mut SeqOut<'a>,
    line: Line<'b, N>,
}

impl<'b, 'a, const N: usize> SeqLine<'b, 'a, N> {
    /// The line to format.
    #[inline(always)]
    pub(crate) fn line(&mut self) -> &mut Line<'b, N> {
        &mut self.line
    }

    /// Puts the line into the seq_file: the bytes are there already (`seq_commit()`), or
    /// written from the spare (`seq_write()`).
    #[inline(always)]
    pub(crate) fn finish(self) {
        Self::put(self.out, &self.line);
    }

    /// [`SeqLine::finish`] for a line that a name follows: the width the name is padded to,
    /// from the start of the line, then the line, then the padding (`seq_setwidth()`, the
    /// line, `seq_pad(m, ' ')`).
    #[inline(always)]
    pub(crate) fn finish_padded(self, width: usize) {
        let Self { out, line } = self;
        out.set_width(width);
        Self::put(out, &line);
        out.pad(b' ');
    }

    #[inline(always)]
    fn put(out: &mut SeqOut<'_>, line: &Line<'_, N>) {
        // Where the line lies decides, not where it was made: whatever happened to the
        // `Line` in between, uncommitted bytes of the seq_file are never exposed.
        match out.free() {
            Some((free, room)) if line.buf == free && room >= line.len => {
                // SAFETY: `m` is being filled (invariant of `SeqOut`); the line's `len` bytes
                // are initialised (invariant of `Line`) and are the first free bytes of the
                // buffer, which has room for them: what `seq_commit()` does, on the field (a
                // call to a shim for it would cost what not copying the line saves).
                unsafe { (*out.m.as_ptr()).count += line.len };
            }
            _ => out.write(line.as_bytes()),
        }
    }
}

// The methods are inlined into their callers: out of line, a `maps` line costs a call per byte
// (see the commit history for the measurements).
impl<'b, const N: usize> Line<'b, N> {
    /// An empty line in `buf`.
    #[inline(always)]
    pub(crate) fn new(buf: &'b mut [MaybeUninit<u8>; N]) -> Self {
        // SAFETY: A mutable borrow for `'b` is valid for reads and writes of its `N` bytes.
        unsafe { Self::from_raw(NonNull::from(buf).cast()) }
    }

    /// An empty line in the `N` bytes at `buf`.
    ///
    /// # Safety
    ///
    /// `buf` must be valid for reads and writes of `N` bytes for `'b`.
    #[inline(always)]
    unsafe fn from_raw(buf: NonNull<MaybeUninit<u8>>) -> Self {
        // INVARIANT: Per the function's safety requirement; nothing is initialised, and
        // nothing needs to be.
        Self {
            buf,
            len: 0,
            _buf: PhantomData,
        }
    }

    /// Appends `bytes`; as much of them as fits (the bytes that do not fit are dropped, as by
    /// [`Line::byte`]).
    #[inline(always)]
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(N - self.len);
        // SAFETY: `len + n <= N` bytes into a buffer valid for writes of `N` (invariant), from
        // a slice of at least `n` bytes that cannot overlap it (a shared borrow).
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.buf.as_ptr().add(self.len).cast::<u8>(),
                n,
            )
        };
        // INVARIANT: The `n` bytes after the first `len` were just written, and `len + n <= N`.
        self.len += n;
    }

    /// Decimal right-aligned in `width` columns (`seq_put_decimal_ull_width`).
    #[inline(always)]
    pub(crate) fn dec_width(&mut self, v: u64, width: usize) {
        let (digits, at) = decimal(v);
        for _ in digits.len() - at..width {
            self.byte(b' ');
        }
        self.bytes(&digits[at..]);
    }

    /// Writes the line.
    #[inline(always)]
    pub(crate) fn write_to(&self, out: &mut SeqOut<'_>) {
        out.write(self.as_bytes());
    }

    /// The bytes so far.
    #[inline(always)]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        // SAFETY: The first `len <= N` bytes are valid and initialised (invariant);
        // `MaybeUninit<u8>` has the layout of `u8`.
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len) }
    }

    /// Appends one byte.
    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) {
        if self.len < N {
            // SAFETY: `len < N` bytes into a buffer valid for writes of `N` (invariant).
            unsafe { self.buf.as_ptr().add(self.len).write(MaybeUninit::new(b)) };
            // INVARIANT: `buf[len]` was just written, and `len < N` before.
            self.len += 1;
        }
    }

    /// Lowercase hex, zero-padded to at least `width` digits (`seq_put_hex_ll`): written from
    /// the last digit back, with one room check for the number, as `seq_put_hex_ll()` does
    /// (a check per digit cost `maps` more instructions than `/proc`'s line).
    #[inline(always)]
    pub(crate) fn hex(&mut self, v: u64, width: u32) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let digits = (u64::BITS - v.leading_zeros()).div_ceil(4).max(width) as usize;
        if digits > N - self.len {
            // Does not fit (no line we size): the digits that do, as `byte` would.
            for i in (0..digits).rev() {
                self.byte(HEX[(v.checked_shr(i as u32 * 4).unwrap_or(0) & 0xf) as usize]);
            }
            return;
        }
        let mut rest = v;
        for i in (self.len..self.len + digits).rev() {
            // SAFETY: `i < len + digits <= N`: in the buffer valid for writes of `N`
            // (invariant).
            unsafe {
                self.buf
                    .as_ptr()
                    .add(i)
                    .write(MaybeUninit::new(HEX[(rest & 0xf) as usize]))
            };
            rest >>= 4;
        }
        // INVARIANT: The `digits` bytes after the first `len` were just written, and
        // `len + digits <= N`.
        self.len += digits;
    }

    /// Decimal (`seq_put_decimal_ull`).
    #[inline(always)]
    pub(crate) fn dec(&mut self, v: u64) {
        let (digits, at) = decimal(v);
        self.bytes(&digits[at..]);
    }
}

/// The decimal digits of `v`: they are `digits[at..]` (a `u64` has at most 20).
#[inline(always)]
fn decimal(mut v: u64) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while at > 0 {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    (digits, at)
}

#[kunit_tests(rust_procmaps_line)]
mod tests {
    use super::*;

    fn text<'l, const N: usize>(line: &'l Line<'_, N>) -> &'l [u8] {
        line.as_bytes()
    }

    #[test]
    fn hex_is_zero_padded_to_width() {
        let mut buf = spare();
        let mut line = LineBuf::new(&mut buf);
        line.hex(0x1f, 8);
        line.byte(b' ');
        line.hex(0xffff_ffff_ff60_0000, 8);
        line.byte(b' ');
        line.hex(0, 2);
        assert_eq!(text(&line), b"0000001f ffffffffff600000 00");
    }

    #[test]
    fn dec_prints_every_digit() {
        let mut buf = spare();
        let mut line = LineBuf::new(&mut buf);
        line.dec(0);
        line.byte(b' ');
        line.dec(u64::MAX);
        assert_eq!(text(&line), b"0 18446744073709551615");
    }

    #[test]
    fn dec_width_right_aligns_and_never_cuts() {
        let mut buf = spare();
        let mut line = LineBuf::new(&mut buf);
        line.dec_width(5, 8);
        line.dec_width(0, 7);
        line.dec_width(123_456_789, 8);
        assert_eq!(text(&line), b"       5      0123456789");
    }

    #[test]
    fn a_full_line_keeps_its_first_bytes() {
        let mut buf = spare::<8>();
        let mut line = Line::<8>::new(&mut buf);
        line.bytes(b"ab");
        line.hex(0x1234_5678_9abc, 8);
        assert_eq!(text(&line), b"ab123456");
        line.dec(42);
        line.bytes(b"x");
        line.dec_width(7, 3);
        assert_eq!(text(&line), b"ab123456");
    }

    /// A seq_file over a 256-byte buffer, `used` bytes of it already filled with `-`: what
    /// `f` writes to it, and its `count`.
    fn into_seq_file(used: usize, f: impl FnOnce(&mut SeqOut<'_>)) -> ([u8; 256], usize) {
        let mut buf = [b'-'; 256];
        // SAFETY: All-zero is a valid idle seq_file (no lock is taken by the output calls).
        let mut m: bindings::seq_file = unsafe { core::mem::zeroed() };
        m.buf = buf.as_mut_ptr().cast();
        m.size = buf.len();
        m.count = used;
        // SAFETY: `m` is a seq_file being filled by this function alone, for the call of `f`.
        if let Some(mut out) = unsafe { SeqOut::from_raw(&raw mut m) } {
            f(&mut out);
        }
        (buf, m.count)
    }

    fn hello(out: &mut SeqOut<'_>) {
        let mut spare = spare::<128>();
        let mut line = out.line(&mut spare);
        line.line().bytes(b"hello\n");
        line.finish();
    }

    #[test]
    fn line_with_room_is_made_in_place() {
        let (buf, count) = into_seq_file(10, hello);
        assert_eq!(count, 16);
        assert_eq!(&buf[..17], b"----------hello\n-");
    }

    #[test]
    fn line_without_room_for_n_goes_through_seq_write() {
        // 100 bytes free: fewer than the line's 128, enough for its 6.
        let (buf, count) = into_seq_file(156, hello);
        assert_eq!(count, 162);
        assert_eq!(&buf[156..163], b"hello\n-");
    }

    #[test]
    fn line_that_does_not_fit_overflows() {
        // As `seq_write()`: nothing written, the seq_file marked full (the core retries).
        let (buf, count) = into_seq_file(253, hello);
        assert_eq!(count, 256);
        assert_eq!(&buf[253..], b"---");
    }

    #[test]
    fn swapped_line_is_written_not_committed() {
        // A line moved out of place is copied; the bytes left in place are never counted.
        let (buf, count) = into_seq_file(0, |out| {
            let mut other_buf = spare::<128>();
            let mut spare = spare::<128>();
            let mut other = Line::new(&mut other_buf);
            other.bytes(b"other\n");
            let mut line = out.line(&mut spare);
            line.line().bytes(b"in place");
            core::mem::swap(line.line(), &mut other);
            line.finish();
        });
        assert_eq!(count, 6);
        assert_eq!(&buf[..6], b"other\n");
    }

    #[test]
    fn padded_line_pads_from_its_start() {
        // `seq_setwidth()` before the line, `seq_pad(m, ' ')` after: to column 10, then a
        // space, as a `maps` header before its name.
        let (buf, count) = into_seq_file(3, |out| {
            let mut spare = spare::<128>();
            let mut line = out.line(&mut spare);
            line.line().bytes(b"ab");
            line.finish_padded(10);
            out.putc(b'n');
        });
        assert_eq!(count, 15);
        assert_eq!(&buf[..16], b"---ab         n-");
    }

    #[test]
    fn bytes_beyond_capacity_are_dropped() {
        let mut buf = spare::<4>();
        let mut line = Line::new(&mut buf);
        line.bytes(b"abcdef");
        assert_eq!(text(&line), b"abcd");
    }
}
