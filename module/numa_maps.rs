// SPDX-License-Identifier: GPL-2.0

//! The `numa_maps` file, byte for byte as `fs/proc/task_mmu.c` prints it (`show_numa_map()`):
//! one line per VMA with its memory policy, its kind, and on which nodes its pages are.
//!
//! ```text
//! 7f5e2a1d5000 default file=/usr/lib/libc.so.6 mapped=34 mapmax=6 N0=20 N1=14 kernelpagesize_kB=4
//! ```
//!
//! The adapter and cursor of `maps` and `smaps` ([`crate::vma_seq`]): one VMA at a time, held by
//! its per-VMA lock (or `mmap_lock` where the cursor falls back) while mm's walker goes through
//! its page tables with our callbacks, as 7.3's `/proc` does (`PGWALK_VMA_RDLOCK_VERIFY`). The
//! policy text is mm's own (`__get_vma_policy()`, `mpol_to_str()`, exported to this module by
//! `kernel/patches/`); the task's policy, which a VMA without one of its own shows, is held for
//! each `read()` chunk, as `/proc`'s `m_start()` holds it. The counting is `gather_stats()`'s,
//! value for value, done by C (helpers.c: the per-page loop is one language) on the page-table
//! walk of [`crate::smaps_walk`].
//!
//! Only with `CONFIG_NUMA`, as in `/proc`.
//!
//! C source: [`fs/proc/task_mmu.c`](srctree/fs/proc/task_mmu.c)

use core::ptr::NonNull;
use kernel::{bindings, prelude::*};

use crate::{
    files::FileOps,
    mm_lock::{Context, SleepableVma, WalkLock},
    seq_out::{self, SeqOut},
    smaps_walk::{self, MmWalk, PteSink},
    stats::STATS,
    target::Target,
    vma_format::{self, Shown},
    vma_seq::{self, SeqOps, View},
};

// `RUST_PROCMAPS_BATCH_NUMA` of rust_procmaps.h (`scripts/build-module.sh` fails the build if
// the two sides differ).
const BATCH_NUMA: c_uint = 1;

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "kernel structs are only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_task_mempolicy_get(
        task: *mut bindings::task_struct,
    ) -> *mut bindings::mempolicy;
    fn rust_procmaps_mpol_put(pol: *mut bindings::mempolicy);
    fn rust_procmaps_vma_policy_str(
        vma: *mut bindings::vm_area_struct,
        task_pol: *mut bindings::mempolicy,
        buf: *mut c_char,
        len: c_int,
    );
    fn rust_procmaps_numa_gather_pmd(
        md: *mut NumaStats,
        vma: *mut bindings::vm_area_struct,
        addr: usize,
        pmd: *mut bindings::pmd_t,
    );
    fn rust_procmaps_numa_gather_huge(md: *mut NumaStats, huge_pte: bindings::pte_t);
    fn rust_procmaps_node_has_memory(nid: c_int) -> bool;
    fn rust_procmaps_walk_numa(
        vma: *mut bindings::vm_area_struct,
        mmap_locked: bool,
        private: *mut c_void,
    ) -> c_int;
    fn rust_procmaps_vma_kernel_pagesize(vma: *mut bindings::vm_area_struct) -> usize;
}

/// The task's memory policy, referenced (`hold_task_mempolicy()`), for one `read()` chunk.
///
/// # Invariants
///
/// `0` is a policy on which this value owns a reference (`mpol_get()`).
pub(crate) struct TaskPolicy(NonNull<bindings::mempolicy>);

impl TaskPolicy {
    /// `get_task_policy()` of the process of `target` under its `task_lock()`, referenced;
    /// `ESRCH` once the process is reaped.
    fn of(target: &Target) -> Result<Self> {
        let task = target.task()?;
        // SAFETY: `task` is a counted task reference; the helper takes `task_lock()`.
        let pol = unsafe { rust_procmaps_task_mempolicy_get(task.as_ptr()) };
        // INVARIANT: The helper returned a referenced policy (never NULL: the default policy
        // when the task has none).
        NonNull::new(pol).map(Self).ok_or(ESRCH)
    }
}

impl Drop for TaskPolicy {
    fn drop(&mut self) {
        // SAFETY: We own a reference (invariant).
        unsafe { rust_procmaps_mpol_put(self.0.as_ptr()) };
    }
}

/// What one read chunk of `numa_maps` keeps: the task's policy, and the per-node page counts
/// of the VMA being shown (`nr_node_ids` of them, allocated once a chunk rather than once a
/// VMA; `struct numa_maps` has `MAX_NUMNODES`).
pub(crate) struct NumaChunk {
    policy: TaskPolicy,
    nodes: KVec<u64>,
}

/// `struct rust_procmaps_numa_stats` of rust_procmaps.h: `struct numa_maps`, what
/// `gather_stats()` counts over one VMA, its per-node counters at `node` (`nr_node_ids` of
/// them). C counts (helpers.c: the per-page loop is one language); it is the walk's `private`.
#[repr(C)]
struct NumaStats {
    pages: u64,
    anon: u64,
    active: u64,
    writeback: u64,
    mapcount_max: u64,
    dirty: u64,
    swapcache: u64,
    node: *mut u64,
}

// SAFETY: `RUST_PROCMAPS_BATCH_NUMA` counts the entries it reads into the
// `struct rust_procmaps_numa_stats` it is given, which `NumaStats` is; Rust has nothing left to
// do with them.
unsafe impl PteSink for NumaStats {
    const KIND: c_uint = BATCH_NUMA;
}

/// The walk state behind `walk`.
///
/// # Safety
///
/// `walk` must be a walk started by [`walk_vma`], during one of its callbacks.
unsafe fn walk_state<'a>(walk: *mut MmWalk) -> &'a mut NumaStats {
    // SAFETY: `walk_vma` passed a `NumaStats` as `private` and it outlives the walk; callbacks
    // run one at a time, so the reference is unique.
    unsafe { &mut *smaps_walk::walk_private(walk).cast::<NumaStats>() }
}

/// `pmd_entry` callback (`gather_pte_stats()`): one PMD's worth of `[addr, end)`.
///
/// # Safety
///
/// Called by `walk_page_range_vma()` for a walk started by [`walk_vma`], with `pmd` a PMD of
/// the walked VMA's page tables.
#[no_mangle]
unsafe extern "C" fn rust_procmaps_numa_pmd_entry(
    pmd: *mut bindings::pmd_t,
    addr: usize,
    end: usize,
    walk: *mut MmWalk,
) -> c_int {
    // SAFETY: Per the function's safety requirement: the walk holds its VMA.
    let (vma, md) = unsafe { (smaps_walk::walk_vma(walk), walk_state(walk)) };
    // SAFETY: Per the function's safety requirement; the PTE batches count into `md`, and the
    // huge PMD is counted with it locked (`huge` runs under `pmd_trans_huge_lock()`).
    unsafe {
        smaps_walk::pmd_range(walk, pmd, addr, end, true, md, |md| {
            rust_procmaps_numa_gather_pmd(md, vma, addr, pmd)
        })
    }
}

/// `hugetlb_entry` callback (`gather_hugetlb_stats()`): one huge page of a hugetlb VMA,
/// counted as one page.
///
/// # Safety
///
/// Called by `walk_page_range_vma()` for a walk started by [`walk_vma`], with `pte` a huge PTE
/// of the walked VMA (the walker holds the hugetlb VMA lock).
#[no_mangle]
unsafe extern "C" fn rust_procmaps_numa_hugetlb_entry(
    pte: *mut bindings::pte_t,
    _hmask: usize,
    addr: usize,
    _end: usize,
    walk: *mut MmWalk,
) -> c_int {
    // SAFETY: Per the function's safety requirement: the VMA is held and `pte` is its huge PTE,
    // read and counted under the huge page-table lock, held until the end.
    unsafe {
        let (_ptl, ptent) = smaps_walk::huge_pte_locked(walk, pte, addr);
        rust_procmaps_numa_gather_huge(walk_state(walk), ptent);
    }
    0
}

/// Walks all of `vma` into `walk` (`walk_page_vma()` in `show_numa_map()`).
///
/// The cursor that handed out `vma` holds it and an `mmget` reference on its mm for the whole
/// call, says which lock the walker must assert, and has no RCU section open (the walk
/// sleeps): what [`SleepableVma`] guarantees.
fn walk_vma(vma: &SleepableVma<'_>, md: &mut NumaStats) {
    let lock = vma.walk_lock();
    match lock {
        WalkLock::Vma => STATS.numa_walks_vma_locked.inc(),
        WalkLock::Mmap => STATS.numa_walks_mmap_locked.inc(),
    }
    // SAFETY: The VMA is held as `lock` says, which is what the walker asserts; `md` outlives
    // the call and is only used by our callbacks, its `node` pointing at `nr_node_ids`
    // counters (the caller's). Errors (none are expected for the VMA's own range) leave the
    // counts as far as they got, like `/proc`.
    unsafe {
        rust_procmaps_walk_numa(
            vma.as_ptr(),
            lock == WalkLock::Mmap,
            core::ptr::from_mut(md).cast(),
        )
    };
}

/// `mpol_to_str()`'s buffer in `show_numa_map()`.
const POLICY_LEN: usize = 64;

/// The `numa_maps` view (`show_numa_map()`).
struct NumaMaps;

impl View for NumaMaps {
    fn seq_ops() -> &'static SeqOps {
        &NUMA_MAPS_SEQ_OPS
    }

    // The page-table walk sleeps.
    const CONTEXT: Context = Context::MaySleep;

    type ChunkData = NumaChunk;

    fn chunk_data(target: &Target) -> Result<NumaChunk> {
        // SAFETY: `nr_node_ids` is set at boot and only read afterwards.
        let nr_nodes = unsafe { bindings::nr_node_ids } as usize;
        let mut nodes = KVec::with_capacity(nr_nodes, GFP_KERNEL)?;
        nodes.resize(nr_nodes, 0, GFP_KERNEL)?;
        Ok(NumaChunk {
            policy: TaskPolicy::of(target)?,
            nodes,
        })
    }

    fn show(out: &mut SeqOut<'_>, shown: Shown<'_>, chunk: &mut NumaChunk) {
        // The gate VMA has no mm: `show_numa_map()` prints nothing for it.
        let Shown::Vma(vma) = shown else {
            return;
        };
        let vma = vma.sleepable();
        let raw = vma.as_ptr();
        let mut policy = [0u8; POLICY_LEN];
        // SAFETY: The VMA is held, so its policy (or its shared policy) is stable while the
        // helper takes and puts its reference; the task policy is referenced by the chunk; the
        // buffer is `POLICY_LEN` bytes, which `mpol_to_str()` NUL-terminates.
        unsafe {
            rust_procmaps_vma_policy_str(
                raw,
                chunk.policy.0.as_ptr(),
                policy.as_mut_ptr().cast(),
                POLICY_LEN as c_int,
            )
        };
        let policy_len = policy.iter().position(|&b| b == 0).unwrap_or(POLICY_LEN);
        let path = vma_format::file_path(&vma);
        let kind: &[u8] = if path.is_some() {
            b" file="
        } else {
            match vma_format::heap_or_stack(&vma) {
                None => b"",
                Some(name) if name == c"[heap]" => b" heap",
                Some(_) => b" stack",
            }
        };

        let mut spare = seq_out::spare();
        let mut head = out.line::<{ 16 + 1 + POLICY_LEN + 6 }>(&mut spare);
        head.line().hex(vma.start() as u64, 8);
        head.line().byte(b' ');
        head.line().bytes(&policy[..policy_len]);
        head.line().bytes(kind);
        head.finish();
        if let Some(path) = path {
            out.path_escaped(path, c"\n\t= ");
        }
        let hugetlb = vma.flags() & (1 << bindings::VMA_HUGETLB_BIT) != 0;
        if hugetlb {
            out.write(b" huge");
        }

        chunk.nodes.fill(0);
        let mut md = NumaStats {
            pages: 0,
            anon: 0,
            active: 0,
            writeback: 0,
            mapcount_max: 0,
            dirty: 0,
            swapcache: 0,
            node: chunk.nodes.as_mut_ptr(),
        };
        walk_vma(&vma, &mut md);
        // SAFETY: The VMA is held; this reads its fields.
        let pagesize = unsafe { rust_procmaps_vma_kernel_pagesize(raw) };
        counts(out, &md, &chunk.nodes, hugetlb, pagesize);
    }
}

/// The end of a `numa_maps` line: what the walk counted, if anything, and the newline.
fn counts(out: &mut SeqOut<'_>, md: &NumaStats, nodes: &[u64], hugetlb: bool, pagesize: usize) {
    if md.pages == 0 {
        out.putc(b'\n');
        return;
    }
    let counters: [(&[u8], u64, bool); 7] = [
        (b" anon=", md.anon, md.anon != 0),
        (b" dirty=", md.dirty, md.dirty != 0),
        (
            b" mapped=",
            md.pages,
            md.pages != md.anon && md.pages != md.dirty,
        ),
        (b" mapmax=", md.mapcount_max, md.mapcount_max > 1),
        (b" swapcache=", md.swapcache, md.swapcache != 0),
        (b" active=", md.active, md.active < md.pages && !hugetlb),
        (b" writeback=", md.writeback, md.writeback != 0),
    ];
    let mut spare = seq_out::spare();
    // Seven labels of at most 11 bytes, each with at most 20 digits.
    let mut line = out.line::<{ 7 * 31 }>(&mut spare);
    for (label, value, shown) in counters {
        if shown {
            line.line().bytes(label);
            line.line().dec(value);
        }
    }
    line.finish();
    for (nid, &count) in nodes.iter().enumerate() {
        // SAFETY: Reads `node_states[N_MEMORY]`, as `for_each_node_state()` does.
        if count != 0 && unsafe { rust_procmaps_node_has_memory(nid as c_int) } {
            let mut spare = seq_out::spare();
            let mut line = out.line::<{ 2 + 10 + 1 + 20 }>(&mut spare);
            line.line().bytes(b" N");
            line.line().dec(nid as u64);
            line.line().byte(b'=');
            line.line().dec(count);
            line.finish();
        }
    }
    let mut spare = seq_out::spare();
    let mut line = out.line::<{ 19 + 20 + 1 }>(&mut spare);
    line.line().bytes(b" kernelpagesize_kB=");
    line.line().dec((pagesize >> 10) as u64);
    line.line().byte(b'\n');
    line.finish();
}

static NUMA_MAPS_SEQ_OPS: SeqOps = vma_seq::seq_ops::<NumaMaps>();

/// File operations of `numa_maps`.
pub(crate) static NUMA_MAPS_FOPS: FileOps = vma_seq::file_ops::<NumaMaps>();
