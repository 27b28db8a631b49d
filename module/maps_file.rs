// SPDX-License-Identifier: GPL-2.0

//! The `maps` and `smaps` files: seq_files that walk the VMAs one per-VMA lock at a time.
//!
//! The seq_file position (`*ppos`) follows `fs/proc/task_mmu.c`: 0 at the start, then the end
//! address of the last VMA handed out, [`SENTINEL_GATE`] once the tree is exhausted (the gate
//! VMA comes next) and [`SENTINEL_END`] after it. `last_pos` remembers the position before the
//! last VMA handed out, so that a read that stopped before printing it (user buffer full, or
//! the seq_file buffer had to grow) starts again from there and prints it.
//!
//! Locks live only inside one `read()`: `start` takes an `mmget` reference, each `next` drops
//! the previous VMA lock before taking the next one (see [`crate::mm_lock`]), and `stop` drops
//! everything. Output is produced record by record by the seq_file core.

use kernel::{
    bindings,
    error::to_result,
    mm::{virt::VmaRef, Mm, MmWithUser},
    prelude::*,
    sync::{aref::ARef, rcu},
};

use crate::{
    access,
    debugfs_files::FileOps,
    gate,
    mm_lock::{self, LockedVma, MmapLocked},
    smaps_file,
    smaps_walk::WalkLock,
    stats::STATS,
    vma_format,
};

/// Position after the gate VMA: nothing more to print.
const SENTINEL_END: i64 = -1;
/// Position of the gate VMA, after the last VMA of the tree.
const SENTINEL_GATE: i64 = -2;

/// A counted `struct pid`, put on drop.
///
/// # Invariants
///
/// `0` is a valid `struct pid` on which this value owns one reference.
pub(crate) struct PidRef(*mut bindings::pid);

impl PidRef {
    /// Whether the process is still alive (not yet reaped), like `get_proc_task()`.
    pub(crate) fn alive(&self) -> bool {
        // SAFETY: The pid is valid (invariant).
        let task = unsafe { bindings::get_pid_task(self.0, bindings::pid_type_PIDTYPE_PID) };
        if task.is_null() {
            return false;
        }
        // SAFETY: `get_pid_task` returned a counted reference.
        unsafe { bindings::put_task_struct(task) };
        true
    }
}

impl Drop for PidRef {
    fn drop(&mut self) {
        // SAFETY: We own one reference (invariant).
        unsafe { bindings::put_pid(self.0) };
    }
}

/// What one `read()` holds, from seq_file `start` to `stop`.
enum Chunk {
    /// The default: one VMA at a time under its per-VMA lock. Fields drop in declaration
    /// order: the VMA lock before the `mmget` reference of its mm.
    PerVma {
        locked: Option<LockedVma>,
        mm: ARef<MmWithUser>,
        /// The last VMA began where the one before it ended: guess the next one does too.
        adjacent: bool,
    },
    /// `lock_mode=1`: `mmap_read_lock` for the whole chunk.
    Mmap(MmapLocked),
}

impl Chunk {
    fn mm(&self) -> &MmWithUser {
        match self {
            Chunk::PerVma { mm, .. } => mm,
            Chunk::Mmap(locked) => locked.mm(),
        }
    }

    /// The first VMA that ends above `from`, stable until the next call or the drop.
    fn next_vma(&mut self, from: usize) -> Result<Option<*mut bindings::vm_area_struct>> {
        Ok(match self {
            Chunk::PerVma {
                locked,
                mm,
                adjacent,
            } => {
                // Drop the previous VMA's lock before looking for the next one.
                *locked = None;
                *locked = mm_lock::lock_next_vma(mm, from, *adjacent)?;
                *adjacent = locked.as_ref().is_some_and(|l| l.vma().start() <= from);
                locked.as_ref().map(LockedVma::as_ptr)
            }
            Chunk::Mmap(held) => held.next_vma(from).map(VmaRef::as_ptr),
        })
    }
}

/// The state of one open `maps` or `smaps` file (the seq_file's `private`); `smaps_rollup`
/// uses the first two fields.
pub(crate) struct MapsFile {
    pub(crate) pid: PidRef,
    /// `None` for a kernel thread or a process that had exited at open.
    pub(crate) mm: Option<ARef<Mm>>,
    chunk: Option<Chunk>,
    last_pos: i64,
}

impl MapsFile {
    /// Opens the process whose thread-group id is `tgid` (in the initial PID namespace).
    pub(crate) fn open(tgid: i32) -> Result<KBox<Self>> {
        let task = {
            let _rcu = rcu::read_lock();
            // SAFETY: Under RCU, as `find_pid_ns` and `pid_task` require; `init_pid_ns` is static.
            let task = unsafe {
                let pid = bindings::find_pid_ns(tgid, &raw mut bindings::init_pid_ns);
                bindings::pid_task(pid, bindings::pid_type_PIDTYPE_PID)
            };
            if task.is_null() {
                return Err(ESRCH);
            }
            // SAFETY: `task` is valid under RCU; take a reference to use it after.
            unsafe { bindings::get_task_struct(task) };
            task
        };
        // SAFETY: We hold a reference to `task`.
        let state = unsafe { access::mm_for_read(task) }.and_then(|mm| {
            // SAFETY: We hold a reference to `task`.
            let pid = unsafe { bindings::get_task_pid(task, bindings::pid_type_PIDTYPE_PID) };
            if pid.is_null() {
                return Err(ESRCH);
            }
            // INVARIANT: `get_task_pid` returned a counted reference.
            let pid = PidRef(pid);
            KBox::new(
                Self {
                    pid,
                    mm,
                    chunk: None,
                    last_pos: 0,
                },
                GFP_KERNEL,
            )
            .map_err(Into::into)
        });
        // SAFETY: Drops the reference taken above.
        unsafe { bindings::put_task_struct(task) };
        state
    }

    /// seq_file `start`.
    fn start(&mut self, ppos: &mut i64) -> Result<*mut c_void> {
        let mut last_addr = *ppos;
        if last_addr == SENTINEL_END {
            return Ok(core::ptr::null_mut());
        }
        if !self.pid.alive() {
            return Err(ESRCH);
        }
        let Some(mm) = self.mm.as_ref().and_then(|mm| mm.mmget_not_zero()) else {
            return Ok(core::ptr::null_mut());
        };
        STATS.chunks.inc();
        let chunk = self.chunk.insert(match crate::lock_mode() {
            crate::LockMode::PerVma => Chunk::PerVma {
                locked: None,
                mm,
                adjacent: false,
            },
            crate::LockMode::Mmap => Chunk::Mmap(MmapLocked::lock(mm)?),
        });
        if last_addr > 0 {
            last_addr = self.last_pos;
            *ppos = last_addr;
        }
        if last_addr == SENTINEL_GATE {
            return Ok(gate_ptr(chunk.mm()));
        }
        self.next_vma(ppos)
    }

    /// Hands out the next VMA (or the gate VMA) and advances `ppos`.
    fn next_vma(&mut self, ppos: &mut i64) -> Result<*mut c_void> {
        let Some(chunk) = self.chunk.as_mut() else {
            return Ok(core::ptr::null_mut());
        };
        let from = *ppos as usize;
        let next = match chunk.next_vma(from) {
            Ok(next) => next,
            Err(err) => {
                // The seq_file core wants the position to move even on error. Any position
                // above zero makes the next `start` resume from `last_pos`, i.e. from here.
                self.last_pos = *ppos;
                *ppos += 1;
                return Err(err);
            }
        };
        self.last_pos = *ppos;
        Ok(match next {
            Some(vma) => {
                // SAFETY: The VMA is stable while the chunk holds it.
                *ppos = unsafe { VmaRef::from_raw(vma) }.end() as i64;
                vma.cast()
            }
            None => {
                *ppos = SENTINEL_GATE;
                gate_ptr(chunk.mm())
            }
        })
    }
}

fn gate_ptr(mm: &MmWithUser) -> *mut c_void {
    gate::gate_vma(mm).map_or(core::ptr::null_mut(), |vma| vma.as_ptr().cast())
}

/// Turns a `start`/`next` result into the `void *` seq_file expects.
fn to_cursor(result: Result<*mut c_void>) -> *mut c_void {
    match result {
        Ok(ptr) => ptr,
        Err(err) => {
            STATS.errors.inc();
            err.to_ptr()
        }
    }
}

/// The `MapsFile` behind a seq_file.
///
/// # Safety
///
/// `m` must be a seq_file opened by [`maps_open`] or [`smaps_open`], used under its `lock` (as seq_file's
/// callbacks are).
unsafe fn state<'a>(m: *mut bindings::seq_file) -> &'a mut MapsFile {
    // SAFETY: `maps_open` stored a `KBox<MapsFile>` in `private`; the seq_file lock
    // serialises the callbacks, so the reference is unique.
    unsafe { &mut *(*m).private.cast::<MapsFile>() }
}

/// # Safety
///
/// Called by the seq_file core on a file opened by [`maps_open`].
unsafe extern "C" fn maps_start(
    m: *mut bindings::seq_file,
    ppos: *mut bindings::loff_t,
) -> *mut c_void {
    // SAFETY: Per the function's safety requirement; `ppos` is `m->index`.
    to_cursor(unsafe { state(m).start(&mut *ppos) })
}

/// # Safety
///
/// As [`maps_start`].
unsafe extern "C" fn maps_next(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
    ppos: *mut bindings::loff_t,
) -> *mut c_void {
    // SAFETY: Per the function's safety requirement; `ppos` is `m->index`.
    let (st, ppos) = unsafe { (state(m), &mut *ppos) };
    if *ppos == SENTINEL_GATE {
        *ppos = SENTINEL_END;
        return core::ptr::null_mut();
    }
    to_cursor(st.next_vma(ppos))
}

/// # Safety
///
/// As [`maps_start`].
unsafe extern "C" fn maps_stop(m: *mut bindings::seq_file, _v: *mut c_void) {
    // SAFETY: Per the function's safety requirement. Drops the VMA lock, then the mm.
    unsafe { state(m) }.chunk = None;
}

/// # Safety
///
/// As [`maps_start`]; `v` is a cursor returned by `start`/`next`.
unsafe extern "C" fn maps_show(m: *mut bindings::seq_file, v: *mut c_void) -> c_int {
    // SAFETY: `v` is the VMA locked in the current chunk or the static gate VMA: stable.
    unsafe { vma_format::show_map_vma(m, VmaRef::from_raw(v.cast())) };
    0
}

/// How the VMA being shown is held: by its own lock, or by `mmap_lock` (`lock_mode=1`).
///
/// # Safety
///
/// As [`maps_start`], during `show`.
pub(crate) unsafe fn walk_lock(m: *mut bindings::seq_file) -> WalkLock {
    // SAFETY: Per the function's safety requirement.
    match unsafe { state(m) }.chunk {
        Some(Chunk::Mmap(_)) => WalkLock::Mmap,
        _ => WalkLock::Vma,
    }
}

/// Iterator of `maps` or `smaps`.
struct SeqOps(bindings::seq_operations);
// SAFETY: Never written after construction.
unsafe impl Sync for SeqOps {}

static MAPS_SEQ_OPS: SeqOps = SeqOps(bindings::seq_operations {
    start: Some(maps_start),
    next: Some(maps_next),
    stop: Some(maps_stop),
    show: Some(maps_show),
});

static SMAPS_SEQ_OPS: SeqOps = SeqOps(bindings::seq_operations {
    start: Some(maps_start),
    next: Some(maps_next),
    stop: Some(maps_stop),
    show: Some(smaps_file::smaps_show),
});

/// The access check of `open`, done once like `/proc`, on the process the file belongs to.
///
/// # Safety
///
/// `inode` must be one of our per-process files.
pub(crate) unsafe fn open_state(inode: *mut bindings::inode) -> Result<KBox<MapsFile>> {
    STATS.opens.inc();
    // SAFETY: `i_private` holds the tgid the directory was created for (`process_dirs`).
    let tgid = unsafe { (*inode).i_private } as usize as i32;
    MapsFile::open(tgid).inspect_err(|err| {
        if *err == EACCES {
            STATS.opens_denied.inc();
        }
    })
}

/// `open` of `maps`.
///
/// # Safety
///
/// Called by the VFS (through debugfs' proxy) with a valid inode and file.
unsafe extern "C" fn maps_open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: Per the function's safety requirement.
    unsafe { seq_open_with(inode, file, &MAPS_SEQ_OPS) }
}

/// `open` of `smaps`.
///
/// # Safety
///
/// As [`maps_open`].
unsafe extern "C" fn smaps_open(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: Per the function's safety requirement.
    unsafe { seq_open_with(inode, file, &SMAPS_SEQ_OPS) }
}

/// # Safety
///
/// As [`maps_open`].
unsafe fn seq_open_with(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
    ops: &'static SeqOps,
) -> c_int {
    // SAFETY: Per the function's safety requirement.
    let state = match unsafe { open_state(inode) } {
        Ok(state) => state,
        Err(err) => return err.to_errno(),
    };
    // SAFETY: `file` is valid and not yet a seq_file; the ops table is static.
    if let Err(err) = to_result(unsafe { bindings::seq_open(file, &ops.0) }) {
        return err.to_errno();
    }
    // SAFETY: `seq_open` set `private_data` to the new seq_file.
    unsafe {
        (*(*file).private_data.cast::<bindings::seq_file>()).private = KBox::into_raw(state).cast()
    };
    0
}

/// Frees the [`MapsFile`] an `open` stored in the seq_file of `file`.
///
/// # Safety
///
/// `file` must be a file opened by [`maps_open`], [`smaps_open`] or `smaps_file`'s
/// `rollup_open`, being released (no callback runs concurrently).
pub(crate) unsafe fn free_state(file: *mut bindings::file) {
    // SAFETY: `private_data` is our seq_file and its `private` the `KBox` the open stored.
    drop(unsafe {
        KBox::from_raw(
            (*(*file).private_data.cast::<bindings::seq_file>())
                .private
                .cast::<MapsFile>(),
        )
    });
}

/// `release`: frees the state, then the seq_file.
///
/// # Safety
///
/// Called by the VFS on a file opened by [`maps_open`] or [`smaps_open`].
unsafe extern "C" fn maps_release(inode: *mut bindings::inode, file: *mut bindings::file) -> c_int {
    // SAFETY: Per the function's safety requirement.
    unsafe { free_state(file) };
    // SAFETY: The seq_file was opened by `seq_open`.
    unsafe { bindings::seq_release(inode, file) }
}

/// File operations of `maps`.
pub(crate) static MAPS_FOPS: FileOps = FileOps::seq_file(maps_open, maps_release);

/// File operations of `smaps`.
pub(crate) static SMAPS_FOPS: FileOps = FileOps::seq_file(smaps_open, maps_release);
