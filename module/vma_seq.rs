// SPDX-License-Identifier: GPL-2.0

//! The seq_file adapter of `maps` and `smaps`: `start`/`next`/`stop` over a [`VmaCursor`], and
//! `show` handing each record to a [`View`] that only formats.
//!
//! The seq_file position (`*ppos`) follows `fs/proc/task_mmu.c`: 0 at the start, then the end
//! address of the last VMA handed out, [`SENTINEL_GATE`] once the tree is exhausted (the gate
//! VMA comes next) and [`SENTINEL_END`] after it. `last_pos` remembers the position before the
//! last VMA handed out, so that a read that stopped before printing it (user buffer full, or
//! the seq_file buffer had to grow) starts again from there and prints it.
//!
//! Locks live only inside one `read()`: `start` makes a cursor (which holds the `mmget`
//! reference and, as `lock_mode` says, the locks) and the view's [`View::ChunkData`], `next`
//! advances the cursor, `stop` drops both. `show`
//! asks the cursor for the VMA it holds: no raw VMA pointer passes through seq_file.

use core::cell::UnsafeCell;
use kernel::{bindings, error::to_result, mm::MmWithUser, prelude::*, sync::aref::ARef};

use crate::{
    files::FileOps,
    gate::GateVma,
    mm_lock::{Context, LockedVma, Locking, VmaCursor},
    seq_out::{self, SeqOut},
    stats::STATS,
    target::Target,
    vma_format::Shown,
};

/// Position after the gate VMA: nothing more to print.
const SENTINEL_END: i64 = -1;
/// Position of the gate VMA, after the last VMA of the tree.
const SENTINEL_GATE: i64 = -2;

/// A file that prints one record per VMA.
pub(crate) trait View: 'static {
    /// The iterator of this kind of file (made with [`seq_ops`]).
    fn seq_ops() -> &'static SeqOps;

    /// Whether `show` sleeps while the cursor holds the VMA it prints.
    const CONTEXT: Context;

    /// What a `read()` chunk holds for `show` besides the VMA (`numa_maps`: the task's memory
    /// policy, as `/proc`'s `m_start()` holds it), taken by `start` once it has the address
    /// space and dropped by `stop`.
    type ChunkData;

    /// The chunk's [`View::ChunkData`], for `target`.
    fn chunk_data(target: &Target) -> Result<Self::ChunkData>;

    /// Prints the record of `shown`.
    fn show(out: &mut SeqOut<'_>, shown: Shown<'_>, data: &mut Self::ChunkData);

    /// Whether the file has an `unlocked_ioctl` ([`View::ioctl`]); `/proc`'s `smaps` has none.
    const HAS_IOCTL: bool = false;

    /// `unlocked_ioctl` on an open file of `target` (if [`View::HAS_IOCTL`]); may run at the
    /// same time as reads of the same file.
    fn ioctl(_target: &Target, _cmd: u32, _arg: usize) -> Result {
        Err(ENOIOCTLCMD)
    }
}

/// What `show` prints next.
enum Record {
    None,
    /// The VMA the cursor holds.
    Vma,
    Gate(GateVma),
}

/// The state of one open file (the seq_file's `private`): the process, shared with `ioctl`,
/// and the iteration, which only the seq_file callbacks touch, one at a time (under the
/// seq_file's lock).
struct VmaFile<V: View> {
    target: Target,
    seq: UnsafeCell<VmaSeq<V>>,
}

// `ioctl` uses `target` while a `read()` of the same file runs.
const _: () = {
    const fn shared_between_threads<T: Sync>() {}
    shared_between_threads::<Target>();
};

/// What one `read()` chunk holds from `start` to `stop`: the `mmget` reference on the address
/// space and a cursor that borrows it.
///
/// # Invariants
///
/// `cursor` borrows `*mm` (the `'static` stands for "as long as `mm`"): it is declared first,
/// so dropped (its locks released) before `mm` is put, and it never leaves this value but
/// reborrowed for less than a borrow of it (the methods below).
struct Chunk {
    cursor: VmaCursor<'static>,
    mm: ARef<MmWithUser>,
}

impl Chunk {
    /// A cursor over `mm`, which the chunk keeps.
    fn new(mm: ARef<MmWithUser>, context: Context, locking: Locking) -> Result<Self> {
        // SAFETY: `mm` counts a reference to the `MmWithUser` it points to, which therefore
        // stays where it is for as long as `mm` lives, moved or not; the chunk keeps `mm` and
        // drops the cursor first (type invariant).
        let borrowed: &'static MmWithUser = unsafe { &*core::ptr::from_ref::<MmWithUser>(&*mm) };
        // INVARIANT: `cursor` borrows `*mm`, declared before it.
        Ok(Self {
            cursor: VmaCursor::new(borrowed, context, locking)?,
            mm,
        })
    }

    /// The address space.
    fn mm(&self) -> &MmWithUser {
        &self.mm
    }

    /// [`VmaCursor::advance`].
    fn advance(&mut self, from: usize) -> Result<Option<LockedVma<'_>>> {
        self.cursor.advance(from)
    }

    /// [`VmaCursor::current`].
    fn current(&mut self) -> Option<LockedVma<'_>> {
        self.cursor.current()
    }
}

/// The iteration of one open file.
struct VmaSeq<V: View> {
    /// Between `start` and `stop`; `data` is dropped after the cursor.
    cursor: Option<Chunk>,
    data: Option<V::ChunkData>,
    record: Record,
    last_pos: i64,
}

impl<V: View> VmaSeq<V> {
    /// seq_file `start`.
    fn start(&mut self, target: &Target, ppos: &mut i64) -> Result<bool> {
        let mut last_addr = *ppos;
        if last_addr == SENTINEL_END {
            return Ok(false);
        }
        let Some(mm) = target.mm_for_read()? else {
            return Ok(false);
        };
        STATS.chunks.inc();
        self.data = Some(V::chunk_data(target)?);
        let cursor = self
            .cursor
            .insert(Chunk::new(mm, V::CONTEXT, target.locking())?);
        if last_addr > 0 {
            last_addr = self.last_pos;
            *ppos = last_addr;
        }
        if last_addr == SENTINEL_GATE {
            self.record = GateVma::of(cursor.mm()).map_or(Record::None, Record::Gate);
            return Ok(!matches!(self.record, Record::None));
        }
        self.next(ppos)
    }

    /// Advances to the next VMA (or the gate VMA) and moves `ppos`.
    fn next(&mut self, ppos: &mut i64) -> Result<bool> {
        self.record = Record::None;
        let Some(cursor) = self.cursor.as_mut() else {
            return Ok(false);
        };
        let next_end = match cursor.advance(*ppos as usize) {
            Ok(vma) => vma.map(|vma| vma.end()),
            Err(err) => {
                // The seq_file core wants the position to move even on error. Any position
                // above zero makes the next `start` resume from `last_pos`, i.e. from here.
                self.last_pos = *ppos;
                *ppos += 1;
                return Err(err);
            }
        };
        self.last_pos = *ppos;
        self.record = match next_end {
            Some(end) => {
                *ppos = end as i64;
                Record::Vma
            }
            None => {
                *ppos = SENTINEL_GATE;
                GateVma::of(cursor.mm()).map_or(Record::None, Record::Gate)
            }
        };
        Ok(!matches!(self.record, Record::None))
    }

    fn show(&mut self, out: &mut SeqOut<'_>) {
        let Some(data) = self.data.as_mut() else {
            return;
        };
        match (&self.record, &mut self.cursor) {
            (Record::Vma, Some(cursor)) => {
                if let Some(vma) = cursor.current() {
                    V::show(out, Shown::Vma(vma), data);
                }
            }
            (Record::Gate(gate), _) => V::show(out, Shown::Gate(gate), data),
            _ => {}
        }
    }
}

/// The seq_file cursor (`void *`) for a `start`/`next` result: the state itself (any non-NULL
/// value would do; `show` looks at the state), NULL at the end, or the error.
fn to_cursor<V: View>(state: &mut VmaSeq<V>, result: Result<bool>) -> *mut c_void {
    match result {
        Ok(true) => core::ptr::from_mut(state).cast(),
        Ok(false) => core::ptr::null_mut(),
        Err(err) => {
            STATS.errors.inc();
            err.to_ptr()
        }
    }
}

/// The `VmaFile` behind a seq_file.
///
/// # Safety
///
/// `m` must be a seq_file opened by [`open`] and not yet released.
unsafe fn file_state<'a, V: View>(m: *mut bindings::seq_file) -> &'a VmaFile<V> {
    // SAFETY: `open` stored a `KBox<VmaFile<V>>` in `private`, freed only by `release`.
    unsafe { &*(*m).private.cast::<VmaFile<V>>() }
}

/// The process and the iteration behind a seq_file.
///
/// # Safety
///
/// As [`file_state`], and called from a seq_file callback (under the seq_file's lock, which
/// serialises them, so the iteration is borrowed by one callback at a time).
unsafe fn state<'a, V: View>(m: *mut bindings::seq_file) -> (&'a Target, &'a mut VmaSeq<V>) {
    // SAFETY: Per the function's safety requirement.
    let file = unsafe { file_state::<V>(m) };
    // SAFETY: Only seq_file callbacks use `seq`, one at a time (function safety requirement).
    (&file.target, unsafe { &mut *file.seq.get() })
}

/// # Safety
///
/// Called by the seq_file core on a file opened by [`open`] for `V`.
unsafe extern "C" fn start<V: View>(
    m: *mut bindings::seq_file,
    ppos: *mut bindings::loff_t,
) -> *mut c_void {
    // SAFETY: Per the function's safety requirement; `ppos` is `m->index`.
    let ((target, st), ppos) = unsafe { (state::<V>(m), &mut *ppos) };
    let result = st.start(target, ppos);
    to_cursor(st, result)
}

/// # Safety
///
/// As [`start`].
unsafe extern "C" fn next<V: View>(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
    ppos: *mut bindings::loff_t,
) -> *mut c_void {
    // SAFETY: Per the function's safety requirement; `ppos` is `m->index`.
    let ((_, st), ppos) = unsafe { (state::<V>(m), &mut *ppos) };
    if *ppos == SENTINEL_GATE {
        *ppos = SENTINEL_END;
        st.record = Record::None;
        return core::ptr::null_mut();
    }
    let result = st.next(ppos);
    to_cursor(st, result)
}

/// # Safety
///
/// As [`start`].
unsafe extern "C" fn stop<V: View>(m: *mut bindings::seq_file, _v: *mut c_void) {
    // SAFETY: Per the function's safety requirement.
    let (_, st) = unsafe { state::<V>(m) };
    // Drops the VMA lock (or `mmap_lock`), then the `mmget` reference, then the view's data.
    st.record = Record::None;
    st.cursor = None;
    st.data = None;
}

/// # Safety
///
/// As [`start`]; `show` runs between a `start`/`next` that returned a record and `stop`.
unsafe extern "C" fn show<V: View>(m: *mut bindings::seq_file, _v: *mut c_void) -> c_int {
    // SAFETY: `m` is the seq_file whose `show` is running, for this call.
    let Some(mut out) = (unsafe { SeqOut::from_raw(m) }) else {
        return 0;
    };
    // SAFETY: Per the function's safety requirement.
    let (_, st) = unsafe { state::<V>(m) };
    st.show(&mut out);
    0
}

/// `unlocked_ioctl`: the view's, on the process of the file.
///
/// # Safety
///
/// Called by the VFS on a file opened by [`open`].
unsafe extern "C" fn ioctl<V: View>(
    file: *mut bindings::file,
    cmd: c_uint,
    arg: c_ulong,
) -> c_long {
    // SAFETY: `private_data` is the seq_file `open` made; the file is open, so its state is
    // there. Only the shared part (`target`) is used: reads may run at the same time.
    let target = unsafe { &file_state::<V>((*file).private_data.cast()).target };
    match V::ioctl(target, cmd, arg) {
        Ok(()) => 0,
        Err(err) => err.to_errno() as c_long,
    }
}

/// Iterator of a [`View`].
pub(crate) struct SeqOps(bindings::seq_operations);
// SAFETY: Never written after construction.
unsafe impl Sync for SeqOps {}

/// The iterator of `V`, for its [`View::seq_ops`] static.
pub(crate) const fn seq_ops<V: View>() -> SeqOps {
    SeqOps(bindings::seq_operations {
        start: Some(start::<V>),
        next: Some(next::<V>),
        stop: Some(stop::<V>),
        show: Some(show::<V>),
    })
}

/// `open`: the access check (once, like `/proc`), then the seq_file.
///
/// # Safety
///
/// Called by the VFS (through debugfs' open proxy) with one of our per-process files.
unsafe extern "C" fn open<V: View>(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: Per the function's safety requirement.
    let target = match unsafe { Target::open(inode) } {
        Ok(target) => target,
        Err(err) => return err.to_errno(),
    };
    let state = match KBox::new(
        VmaFile {
            target,
            seq: UnsafeCell::new(VmaSeq::<V> {
                cursor: None,
                data: None,
                record: Record::None,
                last_pos: 0,
            }),
        },
        GFP_KERNEL,
    ) {
        Ok(state) => state,
        Err(err) => return Error::from(err).to_errno(),
    };
    // SAFETY: `file` is valid and not yet a seq_file; the ops table is static.
    if let Err(err) = to_result(unsafe { bindings::seq_open(file, &V::seq_ops().0) }) {
        return err.to_errno();
    }
    // SAFETY: `seq_open` set `private_data` to the new seq_file.
    unsafe {
        (*(*file).private_data.cast::<bindings::seq_file>()).private = KBox::into_raw(state).cast()
    };
    0
}

/// `release`: frees the state, then the seq_file.
///
/// # Safety
///
/// Called by the VFS on a file opened by [`open`].
unsafe extern "C" fn release<V: View>(
    inode: *mut bindings::inode,
    file: *mut bindings::file,
) -> c_int {
    // SAFETY: `open` stored a `KBox<VmaFile<V>>`; no callback runs any more.
    drop(unsafe { seq_out::take_private::<VmaFile<V>>(file) });
    // SAFETY: The seq_file was opened by `seq_open`.
    unsafe { bindings::seq_release(inode, file) }
}

/// The file operations of a [`View`]: `unlocked_ioctl` only where the view has one, as in
/// `/proc` (and debugfs refuses to open a file with an `ioctl` once the kernel is locked down).
pub(crate) const fn file_ops<V: View>() -> FileOps {
    let ops = FileOps::seq_file(open::<V>, release::<V>);
    if V::HAS_IOCTL {
        ops.with_ioctl(ioctl::<V>)
    } else {
        ops
    }
}
