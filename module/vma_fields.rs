// SPDX-License-Identifier: GPL-2.0

//! The fields of a VMA that the kernel crate's [`VmaRef`] has no accessor for, read in this one
//! place: its file, the file's identity as `/proc` prints it, the special mapping's name and
//! the anonymous VMA's name.
//!
//! A [`VmaRef`] is only ever made for a VMA its holder keeps locked (by its per-VMA lock or
//! `mmap_lock`): these fields cannot change while it lives, and what they point to (the file,
//! its user-visible inode and super block, the `anon_vma_name`) is pinned by the VMA.

use core::ptr::NonNull;
use kernel::{bindings, mm::virt::VmaRef, prelude::*};

// Thin C wrapper, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "kernel structs are only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_file_user_inode(f: *const bindings::file) -> *const bindings::inode;
}

/// `MINORBITS` of `include/linux/kdev_t.h`.
pub(crate) const MINOR_BITS: u32 = 20;

/// What `maps` and `PROCMAP_QUERY` print of a file-backed VMA.
pub(crate) struct FileIds {
    /// `vm_pgoff << PAGE_SHIFT`.
    pub(crate) offset: u64,
    /// `s_dev` of the user-visible inode's super block (`file_user_inode()`: for overlayfs, the
    /// overlay's, not the layer's).
    pub(crate) dev: u32,
    /// Its inode number.
    pub(crate) ino: u64,
}

/// Accessors for the fields of a held VMA that [`VmaRef`] lacks.
pub(crate) trait VmaFields {
    /// `vm_file`: the VMA's file, if any, pinned while the VMA is held.
    fn file(&self) -> Option<NonNull<bindings::file>>;

    /// Offset, device and inode of the VMA's file; `None` for a VMA without one.
    fn file_ids(&self) -> Option<FileIds>;

    /// `vm_ops->name()`: the name of a special mapping (`[vdso]`, `[vvar]`, ...), if it has one.
    fn special_name(&self) -> Option<&CStr>;

    /// `anon_vma_name()`: the name given with `PR_SET_VMA_ANON_NAME`, if any (never one without
    /// `CONFIG_ANON_VMA_NAME`).
    fn anon_name(&self) -> Option<&CStr>;
}

impl VmaFields for VmaRef {
    fn file(&self) -> Option<NonNull<bindings::file>> {
        // SAFETY: The VMA is held (`VmaRef`'s contract), so `vm_file` is stable.
        NonNull::new(unsafe { (*self.as_ptr()).vm_file })
    }

    fn file_ids(&self) -> Option<FileIds> {
        let file = self.file()?;
        // SAFETY: `file` is pinned by the held VMA; so are its user inode and super block, and
        // `vm_pgoff` is stable while the VMA is held.
        Some(unsafe {
            let inode = rust_procmaps_file_user_inode(file.as_ptr());
            FileIds {
                offset: ((*self.as_ptr()).vm_pgoff as u64) << bindings::PAGE_SHIFT,
                dev: (*(*inode).i_sb).s_dev,
                ino: (*inode).i_ino,
            }
        })
    }

    fn special_name(&self) -> Option<&CStr> {
        let raw = self.as_ptr();
        // SAFETY: `vm_ops` of a held VMA is null or a valid static table.
        let name_fn = unsafe { (*raw).vm_ops.as_ref() }?.name?;
        // SAFETY: `name` takes the VMA it belongs to, as `get_vma_name()` calls it.
        let name = unsafe { name_fn(raw) };
        // SAFETY: A special mapping's name is a C string that lives as long as the VMA.
        (!name.is_null()).then(|| unsafe { CStr::from_char_ptr(name) })
    }

    #[cfg(CONFIG_ANON_VMA_NAME)]
    fn anon_name(&self) -> Option<&CStr> {
        // `anon_vma_name()` is not exported; the field is what it returns, and it cannot
        // change while we hold the VMA (it is replaced under the VMA write lock).
        // SAFETY: The VMA is held, so the field is stable.
        let anon_name = unsafe { (*self.as_ptr()).anon_name };
        // SAFETY: A non-null `anon_name` is a live `struct anon_vma_name` (refcounted by the
        // VMA), whose name is a C string.
        (!anon_name.is_null()).then(|| unsafe { CStr::from_char_ptr((*anon_name).name.as_ptr()) })
    }

    #[cfg(not(CONFIG_ANON_VMA_NAME))]
    fn anon_name(&self) -> Option<&CStr> {
        None
    }
}
