// SPDX-License-Identifier: GPL-2.0

//! The gate VMA (`[vsyscall]` on x86-64), which `/proc/PID/maps` prints last.
//!
//! It is not in the maple tree; `get_gate_vma(mm)` returns it (or NULL: `vsyscall=none`, a
//! kernel built with `CONFIG_LEGACY_VSYSCALL_NONE`, or a 32-bit task), and its flags depend on
//! the boot-time vsyscall mode, so only the real function gives the exact line.
//! `kernel/patches/` exports it, and `helpers.c` calls it directly.
//!
//! The rule for the whole module (`Documentation/rust_procmaps.rst`, "IBT"): no kernel
//! function is ever called through a pointer unless it is exported. With
//! `CONFIG_X86_KERNEL_IBT` the kernel overwrites (seals) at boot the `ENDBR64` of every
//! function whose address nothing takes (`apply_seal_endbr()`); calling one through a pointer
//! on a CPU that enforces IBT is a `#CP` and a `BUG()`. Exported functions are never sealed;
//! `scripts/check-ibt.py` fails the build if the module takes the address of a kernel
//! function that the kernel seals.

use core::ptr::NonNull;
use kernel::{bindings, mm::MmWithUser, prelude::*};

// Thin C wrapper, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "mm_struct is only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_get_gate_vma(mm: *mut bindings::mm_struct) -> *mut bindings::vm_area_struct;
}

/// The gate VMA: one static `vm_area_struct` of the kernel, shared by every process that has
/// one. It has no mm (`vm_mm` is NULL), no file, no page tables of the process and no lock,
/// and never changes after boot, so it is not a [`kernel::mm::virt::VmaRef`] (whose contract
/// is a VMA of an mm, under a lock): this type offers only what can be read of it.
///
/// # Invariants
///
/// `vma` points to the kernel's static `gate_vma`.
pub(crate) struct GateVma {
    vma: NonNull<bindings::vm_area_struct>,
}

impl GateVma {
    /// The gate VMA of `mm`, if it has one.
    pub(crate) fn of(mm: &MmWithUser) -> Option<Self> {
        // SAFETY: `mm` has users; `get_gate_vma` only reads it.
        let vma = unsafe { rust_procmaps_get_gate_vma(mm.as_raw()) };
        // INVARIANT: A non-null result is the static `gate_vma`.
        NonNull::new(vma).map(|vma| Self { vma })
    }

    /// The raw VMA, for the kernel's own per-VMA queries (page sizes, THP, pkey).
    pub(crate) fn as_ptr(&self) -> *mut bindings::vm_area_struct {
        self.vma.as_ptr()
    }

    /// Start address.
    pub(crate) fn start(&self) -> usize {
        // SAFETY: The static `gate_vma` (invariant) is never written after boot.
        unsafe {
            (*self.vma.as_ptr())
                .__bindgen_anon_1
                .__bindgen_anon_1
                .vm_start
        }
    }

    /// End address (exclusive).
    pub(crate) fn end(&self) -> usize {
        // SAFETY: As in `start`.
        unsafe {
            (*self.vma.as_ptr())
                .__bindgen_anon_1
                .__bindgen_anon_1
                .vm_end
        }
    }

    /// `vm_flags`.
    pub(crate) fn flags(&self) -> bindings::vm_flags_t {
        // SAFETY: As in `start`.
        unsafe { (*self.vma.as_ptr()).__bindgen_anon_2.vm_flags }
    }

    /// Its name as `get_vma_name()` gives it: `vm_ops->name()` (`[vsyscall]`), else `[vdso]`
    /// (the name of a VMA without an mm).
    pub(crate) fn name(&self) -> &'static CStr {
        let raw = self.vma.as_ptr();
        // SAFETY: As in `start`; `vm_ops` is null or a static table.
        let name = unsafe { (*raw).vm_ops.as_ref() }
            .and_then(|ops| ops.name)
            // SAFETY: `name` takes the VMA it belongs to, as `get_vma_name()` calls it.
            .map_or(core::ptr::null(), |name| unsafe { name(raw) });
        if name.is_null() {
            c"[vdso]"
        } else {
            // SAFETY: A name of a static VMA is a static C string.
            unsafe { CStr::from_char_ptr(name) }
        }
    }
}
