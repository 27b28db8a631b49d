// SPDX-License-Identifier: GPL-2.0

//! Debugfs directories and files with our own `file_operations`.
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
//! The files exist before module init has finished (the tree is made first), and debugfs' open
//! proxy takes a reference on a module that is still loading. If a later init step fails, the
//! kernel frees the module whatever its reference count, so a file opened in that window would
//! run freed code at its next `read()` or `release()`. Every `open` therefore fails with
//! `ENODEV` until init calls [`allow_opens`], its very last step, after which init cannot fail.
//!
//! C header: [`include/linux/debugfs.h`](srctree/include/linux/debugfs.h)

use core::ptr::NonNull;
use kernel::{
    bindings,
    error::from_err_ptr,
    module::this_module,
    prelude::*,
    sync::atomic::{Acquire, Atomic, Release},
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
        #[cfg(CONFIG_COMPAT)]
        {
            self.0.compat_ioctl = Some(bindings::compat_ptr_ioctl);
        }
        self
    }
}

/// An owned debugfs directory; it is removed with everything under it when dropped.
///
/// # Invariants
///
/// `dentry` is a live debugfs directory created by this module and not yet removed.
pub(crate) struct DebugfsDir {
    dentry: NonNull<bindings::dentry>,
}

// SAFETY: debugfs dentries may be used and removed from any thread.
unsafe impl Send for DebugfsDir {}
// SAFETY: The only shared-reference method creates children, which debugfs serialises.
unsafe impl Sync for DebugfsDir {}

impl DebugfsDir {
    /// Creates directory `name` under `parent` (the debugfs root when `None`).
    pub(crate) fn new(name: &CStr, parent: Option<&DebugfsDir>) -> Result<Self> {
        let parent = parent.map_or(core::ptr::null_mut(), |p| p.dentry.as_ptr());
        // SAFETY: `name` is a valid C string; `parent` is null or a live dentry (invariant).
        let dentry =
            from_err_ptr(unsafe { bindings::debugfs_create_dir(name.as_char_ptr(), parent) })?;
        let dentry = NonNull::new(dentry).ok_or(ENOMEM)?;
        // INVARIANT: debugfs just created it.
        Ok(Self { dentry })
    }

    /// Creates file `name` in this directory; `data` becomes the inode's `i_private`.
    ///
    /// The file is removed with the directory, while open files of it may still be read: `fops`
    /// must not use `data` after `open` as a pointer to anything the removal frees.
    pub(crate) fn add_file(
        &self,
        name: &CStr,
        mode: u16,
        data: *mut c_void,
        fops: &'static FileOps,
    ) -> Result {
        // SAFETY: `name` is a valid C string, the parent is live (invariant) and `fops` is
        // static. `data` is only handed back to our own `open`.
        from_err_ptr(unsafe {
            bindings::debugfs_create_file_unsafe(
                name.as_char_ptr(),
                mode,
                self.dentry.as_ptr(),
                data,
                &fops.0,
            )
        })?;
        Ok(())
    }
}

impl Drop for DebugfsDir {
    fn drop(&mut self) {
        // SAFETY: The dentry is live (invariant); this waits for `open` calls in flight.
        unsafe { bindings::debugfs_remove(self.dentry.as_ptr()) };
    }
}
