// SPDX-License-Identifier: GPL-2.0

//! The gate VMA (`[vsyscall]` on x86-64), which `/proc/PID/maps` prints last.
//!
//! It is not in the maple tree; `get_gate_vma(mm)` returns it (or NULL: `vsyscall=none`, or a
//! 32-bit task), and its flags depend on the boot-time vsyscall mode. `get_gate_vma` is not
//! exported to modules, so at load we ask kprobes for its address (registering a probe
//! resolves the symbol; the probe is removed at once and never fires). Calling the real
//! function keeps the line exact in every vsyscall mode. Without `CONFIG_KPROBES` the
//! address cannot be found: the module still works, prints no gate line, says so at load
//! and in `stats` (`gate_vma unavailable`).

use kernel::{
    bindings,
    mm::{virt::VmaRef, MmWithUser},
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
extern "C" {
    fn rust_procmaps_kprobe_lookup(name: *const c_char) -> *mut c_void;
}

/// `get_gate_vma()`.
type GetGateVma = unsafe extern "C" fn(*mut bindings::mm_struct) -> *mut bindings::vm_area_struct;

/// Address of `get_gate_vma`, or 0 when unknown. Written once at module load.
static GET_GATE_VMA: Atomic<usize> = Atomic::new(0);

/// Finds `get_gate_vma` through kprobes. Called once from module init.
pub(crate) fn init() {
    // SAFETY: The name is a valid C string.
    let addr = unsafe { rust_procmaps_kprobe_lookup(c"get_gate_vma".as_char_ptr()) } as usize;
    if addr == 0 {
        pr_warn!("get_gate_vma not found: the [vsyscall] line will be missing\n");
    }
    GET_GATE_VMA.store(addr, Relaxed);
}

/// Whether the gate VMA can be printed.
pub(crate) fn available() -> bool {
    GET_GATE_VMA.load(Relaxed) != 0
}

/// The gate VMA of `mm`, if it has one.
pub(crate) fn gate_vma(mm: &MmWithUser) -> Option<&'static VmaRef> {
    let addr = GET_GATE_VMA.load(Relaxed);
    if addr == 0 {
        return None;
    }
    // SAFETY: `addr` is the entry of `get_gate_vma`, as resolved by kprobes, with this type.
    let get_gate_vma: GetGateVma = unsafe { core::mem::transmute::<usize, GetGateVma>(addr) };
    // SAFETY: `mm` has users; `get_gate_vma` only reads it.
    let vma = unsafe { get_gate_vma(mm.as_raw()) };
    // SAFETY: A non-null result is the static `gate_vma`, never freed and never changed after
    // boot.
    (!vma.is_null()).then(|| unsafe { VmaRef::from_raw(vma) })
}
