// SPDX-License-Identifier: GPL-2.0

//! Who may read a process's maps: the check `/proc/PID/maps` makes at open.
//!
//! `/proc` calls `proc_mem_open(inode, PTRACE_MODE_READ)`, that is `mm_access()` with
//! `PTRACE_MODE_READ_FSCREDS`. `kernel/patches/` exports `mm_access()`, and we call it: the
//! decision is the kernel's own, every LSM's `ptrace_access_check` hook included (SELinux,
//! AppArmor, Smack, Landlock, BPF-LSM, Yama), under the target's `exec_update_lock`, so the
//! caller gets exactly what `/proc` gives it.

use kernel::{bindings, error::from_err_ptr, mm::Mm, prelude::*, sync::aref::ARef};

// Thin C wrapper, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "mm_struct is only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_mm_access_read(task: *mut bindings::task_struct) -> *mut bindings::mm_struct;
}

/// Takes the address space of `task` for reading, as `proc_mem_open(PTRACE_MODE_READ)` does.
///
/// Returns `Ok(None)` for a task without an address space (kernel thread, exited), `EACCES`
/// when the caller may not read it, `EINTR` on a fatal signal. The result holds an `mmgrab`
/// reference only: it does not keep the memory of an exited process alive.
///
/// # Safety
///
/// `task` must be a live task (a counted reference).
pub(crate) unsafe fn mm_for_read(task: *mut bindings::task_struct) -> Result<Option<ARef<Mm>>> {
    // SAFETY: `task` is live.
    let mm = match from_err_ptr(unsafe { rust_procmaps_mm_access_read(task) }) {
        Ok(mm) => mm,
        Err(err) if err == ESRCH => return Ok(None),
        Err(err) => return Err(err),
    };
    // `ARef::from` takes the `mmgrab` reference that the result keeps.
    // SAFETY: `mm` stays allocated while we hold the `mm_users` reference of `mm_access`.
    let grabbed = ARef::from(unsafe { Mm::from_raw(mm) });
    // SAFETY: Drops the `mm_users` reference of `mm_access`.
    unsafe { bindings::mmput(mm) };
    Ok(Some(grabbed))
}
