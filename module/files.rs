// SPDX-License-Identifier: GPL-2.0

//! Our directories and files, with our own `file_operations`: in debugfs, or in `/proc` on a
//! kernel that is locked down.
//!
//! `kernel::debugfs` builds whole files from a `Writer` and offers no way to attach custom
//! `file_operations` or to reach a directory's dentry, but `maps` must stream through a
//! seq_file iterator. This is the small raw wrapper we use instead.
//!
//! Files are created with `debugfs_create_file_unsafe()`: debugfs' open proxy brackets only
//! `open`, then installs our `file_operations` in the file and takes a reference on their
//! module, so `rmmod` is refused while any file is open. `debugfs_remove()` therefore waits
//! only for `open` calls in flight, never for a `read()`: a reader stuck in `copy_to_user()`
//! (a userfaultfd or FUSE page that never resolves) cannot block the removal of its process's
//! directory, nor, through it, the creation of others. That is safe because nothing an open
//! file uses belongs to the dentry: `i_private` is a plain number (a tgid), read once at open,
//! and the file's state is its own (see `maps_file.rs`). debugfs' full proxy, which brackets
//! every operation so that removal can free what `i_private` points to, is not needed.
//!
//! Under lockdown (`lockdown=integrity` or `confidentiality`, as every Secure Boot machine with
//! a distribution kernel runs), debugfs refuses to open any file whose operations have an
//! `ioctl` (`debugfs_locked_down()`): `maps` with its `PROCMAP_QUERY` cannot be served there.
//! The tree then lives in `/proc/rust_procmaps/` ([`Fs::Proc`]; module parameter `tree`),
//! made with the exported `proc_mkdir()`/`proc_create_data()`, whose inode keeps the data in
//! `i_private` as debugfs does. proc brackets every call and, when an entry is removed, waits
//! for the calls in flight and releases its open files itself (`proc_entry_rundown()`), after
//! which they answer `EIO`. So a reaped process's directory stays while one of its files is
//! open ([`OpenFile`]), and goes at the next synchronisation after the last is closed; proc
//! takes no reference on the module, whose unload releases every open file that way.
//!
//! The files exist before module init has finished (the tree is made first), and debugfs' open
//! proxy takes a reference on a module that is still loading. If a later init step fails, the
//! kernel frees the module whatever its reference count, so a file opened in that window would
//! run freed code at its next `read()` or `release()`. Every `open` therefore fails with
//! `ENODEV` until init calls [`allow_opens`], its very last step, after which init cannot fail.
//!
//! C headers: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h),
//! [`include/linux/proc_fs.h`](srctree/include/linux/proc_fs.h)

use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_err_ptr,
    module::this_module,
    prelude::*,
    sync::atomic::{Acquire, Atomic, Relaxed, Release},
};

/// Whether module init has finished (module documentation).
static OPENS_ALLOWED: Atomic<bool> = Atomic::new(false);

/// Lets files be opened. Module init calls it last, when nothing can make it fail any more.
pub(crate) fn allow_opens() {
    OPENS_ALLOWED.store(true, Release);
}

/// `ENODEV` while module init has not finished: every `open` of our files asks first.
pub(crate) fn opens_allowed() -> Result {
    if OPENS_ALLOWED.load(Acquire) {
        Ok(())
    } else {
        Err(ENODEV)
    }
}

/// `file_operations` that can live in a `static`.
#[repr(transparent)]
pub(crate) struct FileOps(bindings::file_operations);

// SAFETY: The table is never written after construction; the C side only reads it.
unsafe impl Sync for FileOps {}

/// An `open` callback.
pub(crate) type OpenFn = unsafe extern "C" fn(*mut bindings::inode, *mut bindings::file) -> c_int;

/// A `read` callback.
pub(crate) type ReadFn =
    unsafe extern "C" fn(*mut bindings::file, *mut c_char, usize, *mut bindings::loff_t) -> isize;

/// An `unlocked_ioctl` callback.
pub(crate) type IoctlFn = unsafe extern "C" fn(*mut bindings::file, c_uint, c_ulong) -> c_long;

impl FileOps {
    /// Operations of a read-only file of this module: `open`, `read`, `llseek` and `release`
    /// given; writes and `mmap` are refused by the VFS (no method). The module is their
    /// owner: debugfs' open proxy takes a reference on it, so `rmmod` is refused while one of
    /// our files is open.
    const fn read_only(
        open: OpenFn,
        read: ReadFn,
        llseek: unsafe extern "C" fn(
            *mut bindings::file,
            bindings::loff_t,
            c_int,
        ) -> bindings::loff_t,
        release: OpenFn,
    ) -> Self {
        Self(bindings::file_operations {
            owner: this_module::<crate::LocalModule>().as_ptr(),
            open: Some(open),
            release: Some(release),
            read: Some(read),
            llseek: Some(llseek),
            // SAFETY: All-zero is a valid `file_operations` (every method absent).
            ..unsafe { core::mem::zeroed() }
        })
    }

    /// Operations for a read-only seq_file: `open`/`release` given, `read`/`llseek` from the
    /// seq_file core.
    pub(crate) const fn seq_file(open: OpenFn, release: OpenFn) -> Self {
        Self::read_only(open, bindings::seq_read, bindings::seq_lseek, release)
    }

    /// Operations for a file read with its own `read` at `*ppos`, as `/proc`'s `cmdline` and
    /// `environ`; `llseek` is theirs, `generic_file_llseek`.
    pub(crate) const fn plain_read(open: OpenFn, read: ReadFn, release: OpenFn) -> Self {
        Self::read_only(open, read, bindings::generic_file_llseek, release)
    }

    /// The same with `ioctl` as `unlocked_ioctl` (and, with `CONFIG_COMPAT`, for 32-bit
    /// callers through `compat_ptr_ioctl`, as `/proc` does).
    pub(crate) const fn with_ioctl(mut self, ioctl: IoctlFn) -> Self {
        self.0.unlocked_ioctl = Some(ioctl);
        // The kernel crate's constant: `None` without `CONFIG_COMPAT`, as the C macro.
        self.0.compat_ioctl = bindings::compat_ptr_ioctl;
        self
    }
}

/// Where the tree lives (decided once, at load).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fs {
    /// `/sys/kernel/debug/rust_procmaps/`.
    Debugfs,
    /// `/proc/rust_procmaps/`: where debugfs is locked down.
    Proc,
}

impl Fs {
    /// The tree's path, for messages.
    pub(crate) fn path(self) -> &'static str {
        match self {
            Fs::Debugfs => "/sys/kernel/debug/rust_procmaps",
            Fs::Proc => "/proc/rust_procmaps",
        }
    }
}

/// Buckets of [`OPEN_FILES`].
const OPEN_BUCKETS: usize = 256;

/// Open files of the per-process directories, by tgid modulo [`OPEN_BUCKETS`]. In a `/proc`
/// tree a reaped process's directory stays while one of its files is open (a bucket shared
/// with another process only keeps it longer): proc would release such a file at the removal
/// (`EIO` where `/proc`'s own files answer `ESRCH`) and wait for a `read()` in flight on it.
static OPEN_FILES: [Atomic<u32>; OPEN_BUCKETS] = [const { Atomic::new(0) }; OPEN_BUCKETS];

/// One open file of process `tgid`'s directory, counted in [`OPEN_FILES`] while it lives.
pub(crate) struct OpenFile {
    bucket: &'static Atomic<u32>,
}

impl OpenFile {
    /// Counts a file of `tgid`'s directory as open.
    pub(crate) fn new(tgid: i32) -> Self {
        let bucket = &OPEN_FILES[tgid.unsigned_abs() as usize % OPEN_BUCKETS];
        bucket.add(1u32, Relaxed);
        Self { bucket }
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        self.bucket.fetch_sub(1u32, Release);
    }
}

/// Whether a file of `tgid`'s directory may be open (see [`OPEN_FILES`]).
pub(crate) fn may_have_open_files(tgid: i32) -> bool {
    OPEN_FILES[tgid.unsigned_abs() as usize % OPEN_BUCKETS].load(Acquire) != 0
}

/// Whether the kernel refuses debugfs files with an `ioctl` (it is locked down).
pub(crate) fn debugfs_locked_down() -> bool {
    // SAFETY: Only asks the LSMs; no other requirement.
    unsafe { rust_procmaps_debugfs_locked_down() }
}

/// `struct proc_ops`, which the kernel crate's bindings do not have: only ever behind a pointer.
#[repr(C)]
pub(crate) struct ProcOpsRaw {
    _opaque: [u8; 0],
}

// The proc functions (exported; `linux/proc_fs.h` is not in the kernel crate's bindings), and
// in helpers.c what Rust cannot build or call itself.
#[expect(
    improper_ctypes,
    reason = "file_operations is only passed by pointer, never by value"
)]
extern "C" {
    fn proc_mkdir(
        name: *const c_char,
        parent: *mut bindings::proc_dir_entry,
    ) -> *mut bindings::proc_dir_entry;
    fn proc_create_data(
        name: *const c_char,
        mode: u16,
        parent: *mut bindings::proc_dir_entry,
        proc_ops: *const ProcOpsRaw,
        data: *mut c_void,
    ) -> *mut bindings::proc_dir_entry;
    fn proc_remove(de: *mut bindings::proc_dir_entry);
    fn rust_procmaps_proc_ops_new(fops: *const bindings::file_operations) -> *const ProcOpsRaw;
    fn rust_procmaps_debugfs_locked_down() -> bool;
}

/// A `proc_ops` with the methods of a [`FileOps`]; freed when dropped.
///
/// # Invariants
///
/// `ops` was allocated by `rust_procmaps_proc_ops_new()` and is freed only on drop.
pub(crate) struct ProcOps {
    ops: NonNull<ProcOpsRaw>,
}

// SAFETY: Never written after construction; the C side only reads it.
unsafe impl Send for ProcOps {}
// SAFETY: As above.
unsafe impl Sync for ProcOps {}

impl ProcOps {
    /// The `proc_ops` of `fops`.
    pub(crate) fn new(fops: &'static FileOps) -> Result<Self> {
        // SAFETY: `fops` is a valid, static table.
        let ops = NonNull::new(unsafe { rust_procmaps_proc_ops_new(&fops.0) }.cast_mut())
            .ok_or(ENOMEM)?;
        // INVARIANT: Just allocated.
        Ok(Self { ops })
    }
}

impl Drop for ProcOps {
    fn drop(&mut self) {
        // SAFETY: Allocated with `kmemdup` (invariant); the owner removed every entry that
        // used it first (see `Dir::add_file`).
        unsafe { bindings::kfree(self.ops.as_ptr().cast()) };
    }
}

/// An entry of the tree.
enum Entry {
    Debugfs(NonNull<bindings::dentry>),
    Proc(NonNull<bindings::proc_dir_entry>),
}

/// An owned directory of the tree; it is removed with everything under it when dropped.
///
/// # Invariants
///
/// `entry` is a live directory created by this module and not yet removed.
pub(crate) struct Dir {
    entry: Entry,
}

// SAFETY: debugfs dentries and proc entries may be used and removed from any thread.
unsafe impl Send for Dir {}
// SAFETY: The only shared-reference methods create children, which debugfs and proc serialise.
unsafe impl Sync for Dir {}

impl Dir {
    /// Creates the tree's root directory `name` in `fs`.
    pub(crate) fn root(fs: Fs, name: &CStr) -> Result<Self> {
        Self::create(fs, name, None)
    }

    /// Creates directory `name` in this one.
    pub(crate) fn subdir(&self, name: &CStr) -> Result<Self> {
        let fs = match self.entry {
            Entry::Debugfs(_) => Fs::Debugfs,
            Entry::Proc(_) => Fs::Proc,
        };
        Self::create(fs, name, Some(&self.entry))
    }

    fn create(fs: Fs, name: &CStr, parent: Option<&Entry>) -> Result<Self> {
        let entry = match (fs, parent) {
            (Fs::Debugfs, parent) => {
                let parent = match parent {
                    Some(Entry::Debugfs(p)) => p.as_ptr(),
                    _ => core::ptr::null_mut(),
                };
                // SAFETY: `name` is a valid C string; `parent` is null or a live dentry
                // (invariant).
                let dentry = unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), parent) };
                Entry::Debugfs(NonNull::new(from_err_ptr(dentry)?).ok_or(ENOMEM)?)
            }
            (Fs::Proc, parent) => {
                let parent = match parent {
                    Some(Entry::Proc(p)) => p.as_ptr(),
                    _ => core::ptr::null_mut(),
                };
                // SAFETY: As above, for a live proc directory or `/proc` itself (null).
                let de = unsafe { proc_mkdir(name.as_char_ptr(), parent) };
                Entry::Proc(NonNull::new(de).ok_or(ENOMEM)?)
            }
        };
        // INVARIANT: Just created.
        Ok(Self { entry })
    }

    /// Creates file `name` in this directory; `data` becomes the inode's `i_private`. In a
    /// `/proc` tree, `proc_ops` must be the [`ProcOps`] of `fops` and outlive the file (its
    /// owner drops it after this directory).
    ///
    /// The file is removed with the directory, while open files of it may still be read: `fops`
    /// must not use `data` after `open` as a pointer to anything the removal frees.
    pub(crate) fn add_file(
        &self,
        name: &CStr,
        mode: u16,
        data: *mut c_void,
        fops: &'static FileOps,
        proc_ops: Option<&ProcOps>,
    ) -> Result {
        match (&self.entry, proc_ops) {
            (Entry::Debugfs(dentry), _) => {
                // SAFETY: `name` is a valid C string, the parent is live (invariant) and `fops`
                // is static. `data` is only handed back to our own `open`.
                from_err_ptr(unsafe {
                    bindings::debugfs_create_file_unsafe(
                        name.as_char_ptr(),
                        mode,
                        dentry.as_ptr(),
                        data,
                        &fops.0,
                    )
                })?;
            }
            (Entry::Proc(de), Some(ops)) => {
                // SAFETY: As above; `ops` outlives the file (the caller's guarantee).
                let file = unsafe {
                    proc_create_data(
                        name.as_char_ptr(),
                        mode,
                        de.as_ptr(),
                        ops.ops.as_ptr(),
                        data,
                    )
                };
                if file.is_null() {
                    return Err(ENOMEM);
                }
            }
            (Entry::Proc(_), None) => return Err(EINVAL),
        }
        Ok(())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        match self.entry {
            // SAFETY: The dentry is live (invariant); this waits for `open` calls in flight.
            Entry::Debugfs(dentry) => unsafe { bindings::debugfs_remove(dentry.as_ptr()) },
            // SAFETY: The entry is live (invariant); this waits for the calls in flight on its
            // files and releases their open files.
            Entry::Proc(de) => unsafe { proc_remove(de.as_ptr()) },
        }
    }
}
