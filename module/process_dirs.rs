// SPDX-License-Identifier: GPL-2.0

//! One debugfs directory per live process, kept in sync with fork and exit.
//!
//! `/sys/kernel/debug/rust_procmaps/TGID/` exists for every thread-group leader in the process
//! list (zombies included, as in `/proc`), named by its id in the initial PID namespace. The
//! sched tracepoints are not exported as symbols, but `for_each_kernel_tracepoint()` and
//! `tracepoint_probe_register()` are: probes on `sched_process_fork` (a new process is in the
//! task list) and `sched_process_free` (a task was reaped and unhashed) queue one work item,
//! and the work, in process context, compares the process list with the directories and
//! creates or removes the difference. Events that arrive while the work is queued are
//! absorbed by the same run.

use kernel::{
    bindings,
    error::to_result,
    new_mutex,
    prelude::*,
    rbtree::{RBTree, RBTreeNodeReservation},
    str::CString,
    sync::{rcu, Arc, ArcBorrow, Mutex},
    time::{delay::fsleep, Delta},
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};

use crate::{
    args_files::{CMDLINE_FOPS, ENVIRON_FOPS},
    files::{self, Dir, FileOps, Fs, ProcOps},
    maps_file::MAPS_FOPS,
    params::{self, InitStep},
    smaps_file::{ROLLUP_FOPS, SMAPS_FOPS},
    stats::{STATS, STATS_FOPS},
};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "task_struct is only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_next_task(p: *mut bindings::task_struct) -> *mut bindings::task_struct;
    fn rust_procmaps_tracepoint_synchronize_unregister();
    /// `lib/sort.c` (exported; `linux/sort.h` is not in the kernel crate's bindings).
    fn sort(
        base: *mut c_void,
        num: usize,
        size: usize,
        cmp: bindings::cmp_func_t,
        swap: bindings::swap_func_t,
    );
}

/// The files of a process's directory. `/proc`'s `environ` is 0400 for the process's owner;
/// ours are root's, and the open's access check decides (args_files.rs).
static PROCESS_FILES: &[(&CStr, &FileOps)] = &[
    (c"maps", &MAPS_FOPS),
    (c"smaps", &SMAPS_FOPS),
    (c"smaps_rollup", &ROLLUP_FOPS),
    // As in `/proc`, only with `CONFIG_NUMA`.
    #[cfg(CONFIG_NUMA)]
    (c"numa_maps", &crate::numa_maps::NUMA_MAPS_FOPS),
    (c"cmdline", &CMDLINE_FOPS),
    (c"environ", &ENVIRON_FOPS),
];

/// The `proc_ops` of `stats` and of each of [`PROCESS_FILES`], for a tree in `/proc`.
struct ProcFiles {
    stats: ProcOps,
    files: KVec<ProcOps>,
}

impl ProcFiles {
    fn new() -> Result<Self> {
        let mut files = KVec::with_capacity(PROCESS_FILES.len(), GFP_KERNEL)?;
        for (_, fops) in PROCESS_FILES {
            files.push(ProcOps::new(fops)?, GFP_KERNEL)?;
        }
        Ok(Self {
            stats: ProcOps::new(&STATS_FOPS)?,
            files,
        })
    }
}

/// The directory tree: `rust_procmaps/` and one subdirectory per process.
///
/// # Invariants
///
/// The entries of a tree in `/proc` use the `proc_ops` of `proc_files`, declared last so that
/// it is dropped after every directory.
#[pin_data]
pub(crate) struct ProcessDirs {
    /// Per-process directories by tgid. Declared before `root` so they are removed first.
    #[pin]
    dirs: Mutex<RBTree<i32, Dir>>,
    #[pin]
    work: Work<ProcessDirs>,
    root: Dir,
    proc_files: Option<ProcFiles>,
}

impl_has_work! {
    impl HasWork<Self> for ProcessDirs { self.work }
}

impl WorkItem for ProcessDirs {
    type Pointer = Arc<ProcessDirs>;

    fn run(this: Arc<ProcessDirs>) {
        let delay = params::inject_sync_delay_ms();
        if delay > 0 {
            fsleep(Delta::from_millis(delay.into()));
        }
        if let Err(err) = this.sync() {
            pr_warn!("directory sync failed: {:?}\n", err);
        }
    }
}

/// `sort()` of `lib/sort.c`'s comparison for `i32`s.
///
/// # Safety
///
/// `a` and `b` must point to `i32`s (elements of the slice being sorted).
unsafe extern "C" fn cmp_i32(a: *const c_void, b: *const c_void) -> c_int {
    // SAFETY: Per the function's safety requirement.
    let (a, b) = unsafe { (*a.cast::<i32>(), *b.cast::<i32>()) };
    a.cmp(&b) as c_int
}

/// Sorts `v` in place with the kernel's `sort()`. (`core`'s sorts end in a panic path,
/// `panic_on_ord_violation`, that objtool does not know cannot return: an `-O2` build warns
/// that the sort "falls through to the next function".)
fn sort_i32(v: &mut [i32]) {
    // SAFETY: `v` is `v.len()` contiguous `i32`s that `sort()` may reorder; `cmp_i32` compares
    // two of them; no swap function means the kernel's own for the element size.
    unsafe {
        sort(
            v.as_mut_ptr().cast(),
            v.len(),
            core::mem::size_of::<i32>(),
            Some(cmp_i32),
            None,
        )
    };
}

/// Thread-group ids of all processes, sorted.
fn live_tgids() -> Result<KVec<i32>> {
    let mut capacity = 256;
    loop {
        let mut tgids = KVec::with_capacity(capacity, GFP_KERNEL)?;
        let complete = {
            let _rcu = rcu::read_lock();
            let init = &raw mut bindings::init_task;
            let mut task = init;
            loop {
                // SAFETY: `task` is `init_task` or came from the RCU-protected task list, and
                // we hold the RCU read lock that `next_task` requires.
                task = unsafe { rust_procmaps_next_task(task) };
                if task == init {
                    break true;
                }
                // SAFETY: `task` is on the task list and valid under RCU.
                if tgids.push_within_capacity(unsafe { (*task).tgid }).is_err() {
                    break false;
                }
            }
        };
        if complete {
            sort_i32(&mut tgids);
            return Ok(tgids);
        }
        capacity *= 2;
    }
}

impl ProcessDirs {
    /// Creates `rust_procmaps/` in `fs` with its `stats` file; per-process directories come
    /// with [`ProcessDirs::sync`].
    pub(crate) fn new(fs: Fs) -> Result<Arc<Self>> {
        // Declared before `root`: dropped after it if a step below fails.
        let proc_files = match fs {
            Fs::Proc => Some(ProcFiles::new()?),
            Fs::Debugfs => None,
        };
        let root = Dir::root(fs, c"rust_procmaps")?;
        let stats_ops = proc_files.as_ref().map(|p| &p.stats);
        root.add_file(
            c"stats",
            0o444,
            core::ptr::null_mut(),
            &STATS_FOPS,
            stats_ops,
        )?;
        Arc::pin_init(
            // INVARIANT: `proc_files` is the last field.
            pin_init!(Self {
                dirs <- new_mutex!(RBTree::new()),
                work <- new_work!("rust_procmaps::ProcessDirs::work"),
                root,
                proc_files,
            }),
            GFP_KERNEL,
        )
    }

    /// Creates the directories of new processes and removes those of reaped ones.
    ///
    /// Runs only in the work item, and once in module init before any probe can queue the
    /// work: runs never overlap. The mutex is never held across a removal, and removal never
    /// waits for a reader (see `files.rs`: in `/proc` a directory with an open file is left
    /// for a later run), so a stuck reader holds up neither the removal of its process's
    /// directory nor the creation of others. A directory that
    /// cannot be created is skipped (the next run tries again); the first error is returned.
    pub(crate) fn sync(&self) -> Result {
        STATS.dir_syncs.inc();
        let tgids = live_tgids()?;
        let (gone, missing) = self.diff(&tgids)?;
        // Outside the mutex: this waits for `open` calls in flight on these files.
        for _ in gone.keys() {
            STATS.dirs_removed.inc();
        }
        drop(gone);

        let mut result = Ok(());
        for tgid in missing {
            let node = RBTreeNodeReservation::new(GFP_KERNEL)
                .and_then(|node| Ok(node.into_node(tgid, self.create_dir(tgid)?)));
            match node {
                Ok(node) => {
                    // Runs do not overlap: nothing can have inserted `tgid` meanwhile.
                    let replaced = self.dirs.lock().insert(node);
                    drop(replaced);
                    STATS.dirs_created.inc();
                }
                Err(err) => result = Err(err),
            }
        }
        result
    }

    /// Takes the directories of processes not in `tgids` (sorted) out of the tree, and lists
    /// the processes in `tgids` that have no directory.
    fn diff(&self, tgids: &[i32]) -> Result<(RBTree<i32, Dir>, KVec<i32>)> {
        let mut dirs = self.dirs.lock();
        let mut gone_tgids = KVec::new();
        for tgid in dirs.keys() {
            // In `/proc`, not while one of its files is open (`files::OPEN_FILES`): a later run
            // takes it.
            let in_use = self.proc_files.is_some() && files::may_have_open_files(*tgid);
            if tgids.binary_search(tgid).is_err() && !in_use {
                gone_tgids.push(*tgid, GFP_KERNEL)?;
            }
        }
        let mut missing = KVec::new();
        for &tgid in tgids {
            if dirs.get(&tgid).is_none() {
                missing.push(tgid, GFP_KERNEL)?;
            }
        }
        // Moving nodes from tree to tree allocates nothing, so it cannot fail halfway.
        let mut gone = RBTree::new();
        for tgid in gone_tgids {
            if let Some(node) = dirs.remove_node(&tgid) {
                gone.insert(node);
            }
        }
        Ok((gone, missing))
    }

    fn create_dir(&self, tgid: i32) -> Result<Dir> {
        let name = CString::try_from_fmt(fmt!("{tgid}"))?;
        let dir = self.root.subdir(&name)?;
        // The tgid itself is the files' `i_private`; `open` looks the process up by it.
        let data = tgid as usize as *mut c_void;
        for (i, (name, fops)) in PROCESS_FILES.iter().enumerate() {
            // The `proc_ops` outlive the directory (invariant).
            let proc_ops = self.proc_files.as_ref().and_then(|p| p.files.get(i));
            dir.add_file(name, 0o444, data, fops, proc_ops)?;
        }
        Ok(dir)
    }

    /// Queues a synchronisation (unless one is queued already).
    pub(crate) fn queue(self: &Arc<Self>) {
        // High priority: a new process's directory should appear within milliseconds even when
        // the machine is busy, and a run is short.
        // Already queued: the queued run will see this change too.
        let _ = workqueue::system_highpri().enqueue(self.clone());
    }

    /// Waits until a queued synchronisation has run.
    fn flush(&self) {
        // SAFETY: `self.work` is a valid, initialised work item.
        unsafe { bindings::flush_work(Work::raw_get(&self.work)) };
    }
}

/// Queues a synchronisation; called from the tracepoint probes (atomic context).
///
/// # Safety
///
/// `data` must be the pointer [`Tracepoints::register`] handed to the probes.
unsafe fn kick(data: *mut c_void) {
    // SAFETY: `data` came from `Arc::into_raw` and that reference is only given back after the
    // probes are unregistered and synchronised.
    let dirs: Arc<ProcessDirs> =
        unsafe { ArcBorrow::from_raw(data.cast_const().cast::<ProcessDirs>()) }.into();
    dirs.queue();
}

/// Probe of `sched_process_fork(parent, child)`.
///
/// # Safety
///
/// Called by the tracepoint with the registered `data`.
unsafe extern "C" fn on_fork(
    data: *mut c_void,
    _parent: *mut bindings::task_struct,
    child: *mut bindings::task_struct,
) {
    // SAFETY: The tracepoint passes the live child task.
    let (pid, tgid) = unsafe { ((*child).pid, (*child).tgid) };
    // A new thread is not a new process.
    if pid == tgid {
        // SAFETY: `data` is what we registered.
        unsafe { kick(data) };
    }
}

/// Probe of `sched_process_free(task)`.
///
/// # Safety
///
/// Called by the tracepoint with the registered `data`.
unsafe extern "C" fn on_free(data: *mut c_void, _task: *mut bindings::task_struct) {
    // SAFETY: `data` is what we registered.
    unsafe { kick(data) };
}

/// The two tracepoints, found by name.
struct Found {
    fork: *mut bindings::tracepoint,
    free: *mut bindings::tracepoint,
}

/// Callback of `for_each_kernel_tracepoint`.
///
/// # Safety
///
/// `found` must point to a [`Found`].
unsafe extern "C" fn find_tracepoint(tp: *mut bindings::tracepoint, found: *mut c_void) {
    // SAFETY: `found` is our `Found`; `tp` is a valid tracepoint with a C-string name.
    unsafe {
        let found = &mut *found.cast::<Found>();
        let name = CStr::from_char_ptr((*tp).name);
        if name == c"sched_process_fork" {
            found.fork = tp;
        } else if name == c"sched_process_free" {
            found.free = tp;
        }
    }
}

/// One probe function on one tracepoint.
#[derive(Clone, Copy)]
struct Probe {
    tp: *mut bindings::tracepoint,
    func: *mut c_void,
}

impl Probe {
    /// # Safety
    ///
    /// `func` must have the tracepoint's prototype (with the leading `data`), and `data` must
    /// stay valid until the probe is unregistered.
    unsafe fn register(self, data: *mut c_void) -> Result {
        // SAFETY: Per the function's safety requirements.
        to_result(unsafe { bindings::tracepoint_probe_register(self.tp, self.func, data) })
    }

    /// # Safety
    ///
    /// The probe must have been registered with `data`.
    unsafe fn unregister(self, data: *mut c_void) {
        // SAFETY: Per the function's safety requirement.
        unsafe { bindings::tracepoint_probe_unregister(self.tp, self.func, data) };
    }
}

/// Registered tracepoint probes; unregistered (and waited for) on drop.
///
/// # Invariants
///
/// Every probe in `probes` is registered with `data`, which owns one reference to a
/// `ProcessDirs` (from `Arc::into_raw`).
pub(crate) struct Tracepoints {
    probes: [Probe; 2],
    data: *const ProcessDirs,
}

// SAFETY: Tracepoints may be unregistered from any thread.
unsafe impl Send for Tracepoints {}
// SAFETY: No method takes `&self`.
unsafe impl Sync for Tracepoints {}

impl Tracepoints {
    /// Registers the probes that keep `dirs` in sync.
    pub(crate) fn register(dirs: &Arc<ProcessDirs>) -> Result<Self> {
        let mut found = Found {
            fork: core::ptr::null_mut(),
            free: core::ptr::null_mut(),
        };
        // SAFETY: The callback matches the expected type and `found` outlives the call.
        unsafe {
            bindings::for_each_kernel_tracepoint(Some(find_tracepoint), (&raw mut found).cast())
        };
        if found.fork.is_null() || found.free.is_null() {
            pr_err!("sched_process_fork/free tracepoints not found (CONFIG_TRACEPOINTS?)\n");
            return Err(ENOENT);
        }
        let probes = [
            Probe {
                tp: found.fork,
                func: on_fork as *mut c_void,
            },
            Probe {
                tp: found.free,
                func: on_free as *mut c_void,
            },
        ];
        let data = Arc::into_raw(dirs.clone());
        for (i, probe) in probes.iter().enumerate() {
            let registered = if i == 1 && params::inject_init_failure(InitStep::SecondProbe) {
                // As if the first probe fired (a fork) and then this registration failed.
                dirs.queue();
                Err(ECANCELED)
            } else {
                // SAFETY: `on_fork` and `on_free` have their tracepoints' prototypes, and
                // `data` stays valid until they are unregistered (in `drop`, or just below).
                unsafe { probe.register(data as *mut c_void) }
            };
            if let Err(err) = registered {
                // SAFETY: Undo the registrations made so far and wait for running probes.
                unsafe {
                    for done in probes.iter().take(i) {
                        done.unregister(data as *mut c_void);
                    }
                    rust_procmaps_tracepoint_synchronize_unregister();
                }
                // A probe that ran may have queued the work: it must not run after the module
                // is gone.
                dirs.flush();
                // SAFETY: The reference taken above; no probe can use it now.
                drop(unsafe { Arc::from_raw(data) });
                return Err(err);
            }
        }
        // INVARIANT: Both probes are registered with `data`, which owns a reference.
        Ok(Self { probes, data })
    }
}

impl Drop for Tracepoints {
    fn drop(&mut self) {
        // SAFETY: Registered with `data` (invariant).
        unsafe {
            for probe in self.probes {
                probe.unregister(self.data as *mut c_void);
            }
            // No probe runs any more after this; none can queue the work again.
            rust_procmaps_tracepoint_synchronize_unregister();
        }
        // SAFETY: The reference from `register`; no probe can use it now.
        let dirs = unsafe { Arc::from_raw(self.data) };
        dirs.flush();
    }
}

#[kunit_tests(rust_procmaps_dirs)]
mod tests {
    use super::*;

    #[test]
    fn sort_i32_sorts() {
        let mut v = [5, 3, 9, 1, 5, 0, -2, 7, 3, 8];
        sort_i32(&mut v);
        assert_eq!(v, [-2, 0, 1, 3, 3, 5, 5, 7, 8, 9]);
        let mut desc = [6, 5, 4, 3, 2, 1];
        sort_i32(&mut desc);
        assert_eq!(desc, [1, 2, 3, 4, 5, 6]);
        let (mut one, mut none): ([i32; 1], [i32; 0]) = ([4], []);
        sort_i32(&mut one);
        sort_i32(&mut none);
        assert_eq!(one, [4]);
    }
}
