// SPDX-License-Identifier: GPL-2.0

//! Who may read a process's maps: the check `/proc/PID/maps` makes at open.
//!
//! `/proc` calls `proc_mem_open(inode, PTRACE_MODE_READ)`, that is `mm_access()` with
//! `PTRACE_MODE_READ_FSCREDS`. Where `kernel/patches/` exports `mm_access()`, we call it: the
//! decision is the kernel's own, every LSM's `ptrace_access_check` hook included (SELinux,
//! AppArmor, Smack, Landlock, BPF-LSM, Yama), so the caller gets exactly what `/proc` gives it.
//!
//! Without the export (checked once at load, said at load and in `stats`), the decision is
//! rebuilt from exported pieces, step for step with `kernel/fork.c:mm_access()`,
//! `kernel/ptrace.c:__ptrace_may_access()` and the commoncap LSM
//! (`security/commoncap.c:cap_ptrace_access_check()`):
//!
//! * the caller's own address space is always readable;
//! * otherwise the caller must be in the same thread group, or its fsuid/fsgid must equal the
//!   target's real, effective and saved ids, or it must have `CAP_SYS_PTRACE` in the target's
//!   user namespace;
//! * and the target must be dumpable (`TASK_DUMPABLE_OWNER`) or the caller must have
//!   `CAP_SYS_PTRACE` over the namespace of its exec state (setuid and undumpable processes);
//! * and (commoncap) the target's permitted capabilities must be a subset of the caller's
//!   effective ones in the same user namespace, or the caller must have `CAP_SYS_PTRACE`;
//! * failing all that, `CAP_PERFMON` or `CAP_SYS_ADMIN` (`perfmon_capable()`) still allows it.
//!
//! That fallback consults no other LSM (`security_ptrace_access_check()` is not exported): on
//! a kernel that runs SELinux, AppArmor, Smack, Landlock or BPF-LSM it can allow what `/proc`
//! denies. Both paths run under the target's `exec_update_lock`, so an exec that changes
//! credentials cannot race with the decision.

use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    mm::Mm,
    prelude::*,
    sync::{
        aref::ARef,
        atomic::{Atomic, Relaxed},
    },
};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "mm_struct is only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_current_cred() -> *const bindings::cred;
    fn rust_procmaps_task_dumpable(
        task: *mut bindings::task_struct,
        user_ns: *mut *mut bindings::user_namespace,
    ) -> c_int;
    fn rust_procmaps_exec_update_lock(
        task: *mut bindings::task_struct,
    ) -> *mut bindings::rw_semaphore;
    fn rust_procmaps_mm_access_exported() -> bool;
    fn rust_procmaps_mm_access_read(task: *mut bindings::task_struct) -> *mut bindings::mm_struct;
}

/// Whether the kernel exports `mm_access()` (`kernel/patches/`); tested once at load.
static KERNEL_CHECK: Atomic<bool> = Atomic::new(false);

/// Finds out which check is made. Called once from module init.
pub(crate) fn init() {
    // SAFETY: No arguments; only tests a weak symbol.
    let exported = unsafe { rust_procmaps_mm_access_exported() };
    KERNEL_CHECK.store(exported, Relaxed);
    if !exported {
        pr_warn!("access check: {}\n", describe());
    }
}

/// The `access` line of `stats`.
pub(crate) fn describe() -> &'static str {
    if KERNEL_CHECK.load(Relaxed) {
        "mm_access (exported by kernel/patches/: the kernel's check, LSMs included)"
    } else {
        "own check (mm_access not exported: LSMs other than commoncap are not consulted)"
    }
}

/// `enum task_dumpable` value of an ordinary process.
const TASK_DUMPABLE_OWNER: c_int = 1;

fn ns_capable(ns: *mut bindings::user_namespace, cap: u32) -> bool {
    // SAFETY: `ns` is a live user namespace (callers hold a reference or RCU).
    unsafe { bindings::ns_capable(ns, cap as c_int) }
}

fn capable(cap: u32) -> bool {
    // SAFETY: Plain capability check on the current task.
    unsafe { bindings::capable(cap as c_int) }
}

/// `__ptrace_may_access(task, PTRACE_MODE_READ_FSCREDS)` plus commoncap's hook.
///
/// # Safety
///
/// `task` must be a live task, and the caller must hold its `exec_update_lock`.
unsafe fn ptrace_read_allowed(task: *mut bindings::task_struct) -> bool {
    // SAFETY: `current` is always valid.
    let current = unsafe { bindings::get_current() };
    // SAFETY: Both tasks are live; `signal` is stable while they are.
    if unsafe { (*task).signal == (*current).signal } {
        return true;
    }
    // SAFETY: The current task's credentials are stable for the current task.
    let cred = unsafe { &*rust_procmaps_current_cred() };
    // SAFETY: `task` is live; `get_task_cred` returns a counted reference.
    let tcred_ptr = unsafe { bindings::get_task_cred(task) };
    // SAFETY: Non-null, counted until `put_cred` below.
    let tcred = unsafe { &*tcred_ptr };

    let same_ids = cred.fsuid.val == tcred.euid.val
        && cred.fsuid.val == tcred.suid.val
        && cred.fsuid.val == tcred.uid.val
        && cred.fsgid.val == tcred.egid.val
        && cred.fsgid.val == tcred.sgid.val
        && cred.fsgid.val == tcred.gid.val;
    let mut allowed = same_ids || ns_capable(tcred.user_ns, bindings::CAP_SYS_PTRACE);

    if allowed {
        let mut dump_ns = core::ptr::null_mut();
        let dumpable_ok = {
            let _rcu = kernel::sync::rcu::read_lock();
            // SAFETY: `task` is live and we hold the RCU read lock the helper requires.
            let dumpable = unsafe { rust_procmaps_task_dumpable(task, &mut dump_ns) };
            dumpable == TASK_DUMPABLE_OWNER || ns_capable(dump_ns, bindings::CAP_SYS_PTRACE)
        };
        // commoncap: the target's permitted set must be within the caller's effective set.
        let caps_ok = (cred.user_ns == tcred.user_ns
            && tcred.cap_permitted.val & !cred.cap_effective.val == 0)
            || ns_capable(tcred.user_ns, bindings::CAP_SYS_PTRACE);
        allowed = dumpable_ok && caps_ok;
    }

    // SAFETY: Drops the reference taken by `get_task_cred`.
    unsafe { bindings::put_cred(tcred_ptr) };
    allowed
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
    if !KERNEL_CHECK.load(Relaxed) {
        // SAFETY: Per the function's safety requirement.
        return unsafe { own_check(task) };
    }
    // SAFETY: `task` is live; `mm_access` is exported (tested at load).
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

/// [`mm_for_read`] without the `mm_access()` export: the check rebuilt from exported pieces.
///
/// # Safety
///
/// `task` must be a live task (a counted reference).
unsafe fn own_check(task: *mut bindings::task_struct) -> Result<Option<ARef<Mm>>> {
    // SAFETY: `task` is live, so is its `signal_struct` and the lock in it.
    let lock = unsafe { rust_procmaps_exec_update_lock(task) };
    // SAFETY: `lock` is a valid rw_semaphore.
    to_result(unsafe { bindings::down_read_killable(lock) })?;

    // SAFETY: `task` is live.
    let mm = unsafe { bindings::get_task_mm(task) };
    let result = if mm.is_null() {
        Ok(None)
    } else {
        // SAFETY: `current` is always valid.
        let own = unsafe { (*bindings::get_current()).mm } == mm;
        // SAFETY: `task` is live and we hold its `exec_update_lock`.
        let allowed = own
            || unsafe { ptrace_read_allowed(task) }
            || capable(bindings::CAP_PERFMON)
            || capable(bindings::CAP_SYS_ADMIN);
        // `ARef::from` takes the `mmgrab` reference that the result keeps.
        // SAFETY: `mm` stays allocated while we hold the `mm_users` reference of `get_task_mm`.
        let grabbed = allowed.then(|| ARef::from(unsafe { Mm::from_raw(mm) }));
        // SAFETY: Drops the `mm_users` reference of `get_task_mm`.
        unsafe { bindings::mmput(mm) };
        grabbed.map(Some).ok_or(EACCES)
    };

    // SAFETY: Taken above.
    unsafe { bindings::up_read(lock) };
    result
}
