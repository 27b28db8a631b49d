// SPDX-License-Identifier: GPL-2.0

//! The process a per-process file belongs to: found by its tgid at `open`, checked for access
//! once (as `/proc` does), then asked for its address space at every read.
//!
//! An open file keeps the process's `struct pid` and an `mmgrab` reference on its mm (not its
//! memory). Once the process is reaped, reads fail with `ESRCH`, as `/proc`'s do; a reused PID
//! is a different `struct pid`, so an old file never shows the new process.

use core::ptr::NonNull;
use kernel::{
    bindings,
    mm::{Mm, MmWithUser},
    prelude::*,
    sync::{aref::ARef, rcu},
    task::Task,
};

use crate::{
    access,
    files::{self, OpenFile},
    mm_lock::Locking,
    stats::STATS,
};

/// A counted `struct pid`, put on drop.
///
/// # Invariants
///
/// `0` is a valid `struct pid` on which this value owns one reference.
struct PidRef(*mut bindings::pid);

impl PidRef {
    /// Whether the process is still alive (not yet reaped), like `get_proc_task()`.
    fn alive(&self) -> bool {
        self.task().is_ok()
    }

    /// The process, counted, like `get_proc_task()`: `ESRCH` once it is reaped.
    fn task(&self) -> Result<ARef<Task>> {
        // SAFETY: The pid is valid (invariant).
        let task = unsafe { bindings::get_pid_task(self.0, bindings::pid_type_PIDTYPE_PID) };
        NonNull::new(task).map_or(Err(ESRCH), |task| {
            // SAFETY: `get_pid_task` returned a counted reference, which the `ARef` owns;
            // `Task` is a transparent wrapper of `task_struct`.
            Ok(unsafe { ARef::from_raw(task.cast::<Task>()) })
        })
    }
}

// SAFETY: A `struct pid` reference may be used and put from any thread.
unsafe impl Send for PidRef {}
// SAFETY: The only methods through a shared reference, `alive` and `task`, take a task
// reference of their own (`get_pid_task`, which takes RCU), safe from any number of threads at
// once.
unsafe impl Sync for PidRef {}

impl Drop for PidRef {
    fn drop(&mut self) {
        // SAFETY: We own one reference (invariant).
        unsafe { bindings::put_pid(self.0) };
    }
}

/// The process of the per-process file `inode` being opened, counted (`ENODEV` before module
/// init has finished, `ESRCH` once it is gone); the open counted in `stats`.
///
/// # Safety
///
/// `inode` must be one of the per-process files (`process_dirs.rs` put the tgid in
/// `i_private`).
unsafe fn task_of(inode: *mut bindings::inode) -> Result<(ARef<Task>, OpenFile)> {
    files::opens_allowed()?;
    STATS.opens.inc();
    // SAFETY: Per the function's safety requirement, `i_private` holds a tgid.
    let tgid = unsafe { (*inode).i_private } as usize as i32;
    Ok((find_task(tgid)?, OpenFile::new(tgid)))
}

/// The thread-group leader whose tgid is `tgid` in the initial PID namespace, counted.
fn find_task(tgid: i32) -> Result<ARef<Task>> {
    let _rcu = rcu::read_lock();
    // SAFETY: Under RCU, as `find_pid_ns` requires; `init_pid_ns` is static.
    let pid = unsafe { bindings::find_pid_ns(tgid, &raw mut bindings::init_pid_ns) };
    // SAFETY: Under RCU, as `pid_task` requires; a NULL pid gives NULL.
    let task = unsafe { bindings::pid_task(pid, bindings::pid_type_PIDTYPE_PID) };
    if task.is_null() {
        return Err(ESRCH);
    }
    // SAFETY: `task` is valid under RCU, and `Task` is a transparent wrapper of `task_struct`;
    // `ARef::from` takes a reference that keeps it valid after the RCU section.
    Ok(ARef::from(unsafe { &*task.cast::<Task>() }))
}

/// The `struct pid` of `task`, counted.
fn task_pid(task: &Task) -> Result<PidRef> {
    // SAFETY: `task` is a live task.
    let pid = unsafe { bindings::get_task_pid(task.as_ptr(), bindings::pid_type_PIDTYPE_PID) };
    if pid.is_null() {
        return Err(ESRCH);
    }
    // INVARIANT: `get_task_pid` returned a counted reference.
    Ok(PidRef(pid))
}

/// The process behind an open `cmdline`: no access check (`/proc`'s `cmdline` has none), and
/// its address space looked up again at every read (after an exec, the new program's).
pub(crate) struct Process {
    pid: PidRef,
    _open: OpenFile,
}

impl Process {
    /// Opens the process of one of our per-process files.
    ///
    /// # Safety
    ///
    /// As for [`Target::open`].
    pub(crate) unsafe fn open(inode: *mut bindings::inode) -> Result<Self> {
        // SAFETY: Per the function's safety requirement.
        let (task, open) = unsafe { task_of(inode) }?;
        Ok(Self {
            pid: task_pid(&task)?,
            _open: open,
        })
    }

    /// The address space now, as `get_task_mm()`: `ESRCH` once the process is reaped, `None`
    /// for a kernel thread or a process that has exited.
    pub(crate) fn mm(&self) -> Result<Option<ARef<MmWithUser>>> {
        let task = self.pid.task()?;
        // SAFETY: `task` is a counted reference.
        let mm = unsafe { bindings::get_task_mm(task.as_ptr()) };
        Ok(NonNull::new(mm.cast::<MmWithUser>()).map(|mm| {
            // SAFETY: `get_task_mm` returned an `mm_users` reference, which the `ARef` owns;
            // `MmWithUser` is a transparent wrapper of `mm_struct`.
            unsafe { ARef::from_raw(mm) }
        }))
    }
}

/// The process behind an open file, and how its cursors lock (fixed while the module is
/// loaded, so asked once at open instead of at every read or query).
///
/// A `maps` file's `PROCMAP_QUERY` uses it while a `read()` of the same file does: it is
/// `Sync`, as all of it is fixed at open and only read (the references it holds are counted
/// atomically by the kernel).
pub(crate) struct Target {
    pid: PidRef,
    /// `None` for a kernel thread or a process that had exited at open.
    mm: Option<ARef<Mm>>,
    locking: Locking,
    _open: OpenFile,
}

impl Target {
    /// Opens the process of one of our per-process files, with `/proc`'s access check.
    ///
    /// # Safety
    ///
    /// `inode` must be one of the per-process files (`process_dirs.rs` put the tgid in
    /// `i_private`).
    pub(crate) unsafe fn open(inode: *mut bindings::inode) -> Result<Self> {
        // SAFETY: Per the function's safety requirement.
        let (task, open) = unsafe { task_of(inode) }?;
        // SAFETY: `task` is a counted reference.
        let mm = unsafe { access::mm_for_read(task.as_ptr()) }.inspect_err(|err| {
            if *err == EACCES {
                STATS.opens_denied.inc();
            }
        })?;
        Ok(Self {
            pid: task_pid(&task)?,
            mm,
            locking: Locking::of_module(),
            _open: open,
        })
    }

    /// Whether the process had an address space at open (`/proc`'s `smaps_rollup` refuses to
    /// open, with `ESRCH`, where it had none).
    pub(crate) fn had_mm(&self) -> bool {
        self.mm.is_some()
    }

    /// The process, counted: `ESRCH` once it is reaped.
    #[cfg(CONFIG_NUMA)]
    pub(crate) fn task(&self) -> Result<ARef<Task>> {
        self.pid.task()
    }

    /// How this file's cursors lock.
    pub(crate) fn locking(&self) -> Locking {
        self.locking
    }

    /// The address space for one read, with an `mmget` reference: `ESRCH` once the process is
    /// reaped, `None` when it has no address space (a kernel thread, or it exited or exec'd
    /// since the open: what `/proc` shows then too).
    pub(crate) fn mm_for_read(&self) -> Result<Option<ARef<MmWithUser>>> {
        if !self.pid.alive() {
            return Err(ESRCH);
        }
        Ok(self.mm.as_ref().and_then(|mm| mm.mmget_not_zero()))
    }

    /// The address space for one `PROCMAP_QUERY` or `environ` read, with an `mmget` reference,
    /// `None` when there is none (any more). As `/proc`'s ioctl and `environ_read()`, no look
    /// at the process: once it has exited its mm has no users left, reaped or not, so a query
    /// gets the same answer as with [`Target::mm_for_read`] (`ESRCH` to the caller) without a
    /// task lookup per query, and `environ` reads nothing, as `/proc`'s.
    pub(crate) fn mm_for_query(&self) -> Option<ARef<MmWithUser>> {
        self.mm.as_ref().and_then(|mm| mm.mmget_not_zero())
    }
}
