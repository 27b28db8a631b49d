// SPDX-License-Identifier: GPL-2.0

//! The `cmdline` and `environ` files, as `/proc/PID/cmdline` and `environ` (`fs/proc/base.c`:
//! `get_mm_cmdline()`, `get_mm_proctitle()`, `environ_read()`), byte for byte, read for read.
//!
//! Their rules are `/proc`'s: `cmdline` has no access check and looks the address space up at
//! every read (`get_task_mm()`: nothing for a kernel thread or an exited process, `ESRCH`
//! once reaped); `environ` is opened with `/proc`'s `mm_access()` check and reads the address
//! space taken then, for as long as it has users. Both snapshot the argument and environment
//! bounds under `arg_lock`, and read a page at a time with the semantics of
//! `access_remote_vm(FOLL_ANON)`, which [`crate::remote_mem`] serves under the per-VMA lock
//! where it can.
//!
//! The one difference is the file mode: `/proc`'s `environ` is `0400` and owned by the
//! process's owner, while a debugfs file has one owner (root). Ours is `0444`, and the open's
//! `mm_access()`, which `/proc` makes too, refuses whoever is not allowed.

use kernel::{
    bindings,
    mm::{Mm, MmWithUser},
    page::PAGE_SIZE,
    prelude::*,
};

use crate::{
    files::FileOps,
    remote_mem,
    stats::STATS,
    target::{Process, Target},
};

// Thin C wrapper, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "mm_struct is only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_mm_args(mm: *mut bindings::mm_struct, out: *mut ArgsArea);
}

/// `struct rust_procmaps_mm_args`: the argument and environment bounds of an address space.
#[repr(C)]
#[derive(Default)]
struct ArgsArea {
    arg_start: usize,
    arg_end: usize,
    env_start: usize,
    env_end: usize,
}

impl ArgsArea {
    /// The bounds of `mm`, read under its `arg_lock`.
    fn of(mm: &Mm) -> Self {
        let mut area = Self::default();
        // SAFETY: `mm` is allocated (we hold a reference); the helper takes its `arg_lock`.
        unsafe { rust_procmaps_mm_args(mm.as_raw(), &mut area) };
        area
    }
}

/// What an open file reads.
enum Args {
    /// `cmdline`: the process, its address space looked up at each read.
    Cmdline(Process),
    /// `environ`: the address space taken (and checked) at open.
    Environ(Target),
}

/// The caller's buffer of one `read()`.
struct UserBuf {
    ptr: *mut c_char,
    /// Bytes written so far.
    done: usize,
}

impl UserBuf {
    /// Copies `src` after what was written so far: the number of bytes copied, short at the
    /// first fault, as `copy_to_user()`.
    fn write(&mut self, src: &[u8]) -> usize {
        // SAFETY: The address is the caller's; `copy_to_user()` checks it and stops at a fault.
        // `src` is readable for its length.
        let left = unsafe {
            bindings::copy_to_user(
                self.ptr.wrapping_add(self.done).cast(),
                src.as_ptr().cast(),
                src.len() as c_ulong,
            )
        } as usize;
        let copied = src.len() - left.min(src.len());
        self.done += copied;
        copied
    }
}

/// A page-sized buffer, as `/proc`'s `kmalloc(PAGE_SIZE)`.
fn page_buffer() -> Result<KVec<u8>> {
    Ok(KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?)
}

/// `get_mm_cmdline()`: up to `count` bytes of the command line from position `pos`.
fn cmdline(mm: &MmWithUser, out: &mut UserBuf, count: usize, pos: usize) -> Result<usize> {
    let area = ArgsArea::of(mm);
    // The process has not spawned far enough to have a command line.
    if area.env_end == 0 || area.arg_start >= area.arg_end {
        return Ok(0);
    }
    let (arg_start, arg_end) = (area.arg_start, area.arg_end);
    // setproctitle() may overwrite the arguments and run past their end, but only into the
    // environment area.
    let env_end = if area.env_start != arg_end || area.env_end < area.env_start {
        arg_end
    } else {
        area.env_end
    };
    let len = env_end - arg_start;
    if pos >= len {
        return Ok(0);
    }
    let count = count.min(len - pos);
    if count == 0 {
        return Ok(0);
    }
    let mut page = page_buffer()?;
    // The last byte of the arguments is not NUL: setproctitle() rewrote them.
    let mut last = [0u8; 1];
    if remote_mem::read(mm, arg_end - 1, &mut last) == 1 && last[0] != 0 {
        return proctitle(mm, &mut page, out, count, pos, arg_start);
    }
    // Otherwise strictly [arg_start, arg_end).
    let mut at = pos.wrapping_add(arg_start);
    if at < arg_start || at >= arg_end {
        return Ok(0);
    }
    let mut count = count.min(arg_end - at);
    let mut len = 0;
    while count > 0 {
        let size = PAGE_SIZE.min(count);
        let got = remote_mem::read(mm, at, &mut page[..size]);
        if got == 0 {
            break;
        }
        let copied = out.write(&page[..got]);
        if copied == 0 {
            if len == 0 {
                return Err(EFAULT);
            }
            break;
        }
        at += copied;
        len += copied;
        count -= copied;
    }
    Ok(len)
}

/// `get_mm_proctitle()`: the string at `arg_start`, at most a page, its NUL included if found.
fn proctitle(
    mm: &MmWithUser,
    page: &mut [u8],
    out: &mut UserBuf,
    count: usize,
    pos: usize,
    arg_start: usize,
) -> Result<usize> {
    if pos >= PAGE_SIZE {
        return Ok(0);
    }
    let got = remote_mem::read(mm, arg_start, &mut page[..PAGE_SIZE]);
    if got == 0 {
        return Ok(0);
    }
    let mut len = page[..got].iter().position(|&b| b == 0).unwrap_or(got);
    if len < got {
        len += 1;
    }
    if len <= pos {
        return Ok(0);
    }
    let n = (len - pos).min(count);
    match out.write(&page[pos..pos + n]) {
        0 => Err(EFAULT),
        copied => Ok(copied),
    }
}

/// `environ_read()`: up to `count` bytes of the environment from `*ppos`, which moves on by
/// what was read (also when `/proc`'s rules make the call return 0 or `EFAULT`).
fn environ(target: &Target, out: &mut UserBuf, count: usize, ppos: &mut i64) -> Result<usize> {
    // The address space of the open has no users left: the process exited.
    let Some(mm) = target.mm_for_query() else {
        return Ok(0);
    };
    let area = ArgsArea::of(&mm);
    // The process has not spawned far enough to have an environment.
    if area.env_end == 0 {
        return Ok(0);
    }
    let mut page = page_buffer()?;
    let (env_start, env_end) = (area.env_start, area.env_end);
    let mut src = *ppos as usize;
    let mut count = count;
    let mut ret = Ok(0);
    while count > 0 {
        if src >= env_end.wrapping_sub(env_start) {
            break;
        }
        let this_len = env_end
            .wrapping_sub(env_start.wrapping_add(src))
            .min(PAGE_SIZE.min(count));
        let got = remote_mem::read(&mm, env_start.wrapping_add(src), &mut page[..this_len]);
        if got == 0 {
            // As `/proc`: what this call copied already is not counted.
            ret = Ok(0);
            break;
        }
        if out.write(&page[..got]) != got {
            ret = Err(EFAULT);
            break;
        }
        ret = ret.map(|n| n + got);
        src += got;
        count -= got;
    }
    *ppos = src as i64;
    ret
}

/// # Safety
///
/// `inode` must be one of the per-process files; `file` is being opened.
unsafe extern "C" fn open_cmdline(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: Per the function's safety requirement.
    let args = unsafe { Process::open(inode) }.map(Args::Cmdline);
    // SAFETY: `file` is being opened.
    unsafe { store(file, args) }
}

/// # Safety
///
/// As for [`open_cmdline`].
unsafe extern "C" fn open_environ(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: Per the function's safety requirement.
    let args = unsafe { Target::open(inode) }.and_then(|target| {
        // `/proc`'s `__mem_open()`: `ESRCH` for a process without an address space.
        if target.had_mm() {
            Ok(Args::Environ(target))
        } else {
            Err(ESRCH)
        }
    });
    // SAFETY: `file` is being opened.
    unsafe { store(file, args) }
}

/// Stores what `file` reads in its `private_data`: 0 or a negative errno for `open`.
///
/// # Safety
///
/// `file` must be being opened.
unsafe fn store(file: *mut bindings::file, args: Result<Args>) -> c_int {
    match args.and_then(|args| Ok(KBox::new(args, GFP_KERNEL)?)) {
        Ok(args) => {
            // SAFETY: `file` is being opened; `release` takes the box back.
            unsafe { (*file).private_data = KBox::into_raw(args).cast() };
            0
        }
        Err(err) => err.to_errno(),
    }
}

/// # Safety
///
/// `file` must be open (by [`open_cmdline`] or [`open_environ`]); `ppos` valid.
unsafe extern "C" fn read(
    file: *mut bindings::file,
    buf: *mut c_char,
    count: usize,
    ppos: *mut bindings::loff_t,
) -> isize {
    // SAFETY: `open` stored an `Args`, which lives until `release`.
    let args = unsafe { &*(*file).private_data.cast::<Args>() };
    // SAFETY: The VFS passes a valid position.
    let ppos = unsafe { &mut *ppos };
    let mut out = UserBuf { ptr: buf, done: 0 };
    STATS.args_reads.inc();
    let result = match args {
        Args::Cmdline(process) => process.mm().and_then(|mm| {
            let Some(mm) = mm else {
                return Ok(0);
            };
            let n = cmdline(&mm, &mut out, count, *ppos as usize)?;
            *ppos += n as i64;
            Ok(n)
        }),
        Args::Environ(target) => environ(target, &mut out, count, ppos),
    };
    match result {
        Ok(n) => n as isize,
        Err(err) => err.to_errno() as isize,
    }
}

/// # Safety
///
/// `file` must be being released, opened by [`open_cmdline`] or [`open_environ`].
unsafe extern "C" fn release(_inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: `open` stored a `KBox<Args>`; no other call runs any more.
    drop(unsafe { KBox::from_raw((*file).private_data.cast::<Args>()) });
    0
}

/// File operations of `cmdline`.
pub(crate) static CMDLINE_FOPS: FileOps = FileOps::plain_read(open_cmdline, read, release);

/// File operations of `environ`.
pub(crate) static ENVIRON_FOPS: FileOps = FileOps::plain_read(open_environ, read, release);
