// SPDX-License-Identifier: GPL-2.0

//! The gate VMA (`[vsyscall]` on x86-64), which `/proc/PID/maps` prints last.
//!
//! It is not in the maple tree; `get_gate_vma(mm)` returns it (or NULL: `vsyscall=none`, or a
//! 32-bit task), and its flags depend on the boot-time vsyscall mode, so only the real function
//! gives the exact line. How we reach it, decided once at load:
//!
//! 1. `kernel/patches/` exports it: `helpers.c` calls it directly (a weak reference, NULL
//!    without the patch). This is the normal case.
//! 2. Without the export, kprobes tell its address, and we would call it through a pointer.
//!    On a kernel built with `CONFIG_X86_KERNEL_IBT`, an indirect call must land on an
//!    `ENDBR64` instruction, and the kernel overwrites (seals) the `ENDBR64` of every function
//!    whose address nothing takes (`apply_seal_endbr()`, at boot): `get_gate_vma` is such a
//!    function, and calling it through a pointer on a CPU that enforces IBT is a `#CP` and a
//!    `BUG()`. So the address is only used if the function still starts with `ENDBR64`, and
//!    never with `CONFIG_CFI` (the call could fail the kernel's type-hash check).
//! 3. Otherwise the gate VMA is unavailable: `maps` and `smaps` end without the `[vsyscall]`
//!    record, and the module says so at load and in `stats`.
//!
//! The rule for the whole module (`Documentation/rust_procmaps.rst`, "IBT"): no kernel
//! function is ever called through a pointer unless it is exported or has just been seen to
//! start with `ENDBR64`; `scripts/check-ibt.py` fails the build if the module takes the
//! address of a kernel function that the kernel seals.

use core::ptr::NonNull;
use kernel::{
    bindings,
    mm::MmWithUser,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "mm_struct is only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_kprobe_lookup(name: *const c_char) -> *mut c_void;
    fn rust_procmaps_get_gate_vma_exported() -> bool;
    fn rust_procmaps_get_gate_vma(mm: *mut bindings::mm_struct) -> *mut bindings::vm_area_struct;
}

/// The name of every kernel function this module resolves at run time (NUL-terminated, one
/// after the other). `scripts/check-ibt.py` reads this section: each must be exported by
/// `kernel/patches/`, so that with the patches no pointer to it is ever called.
#[link_section = ".rust_procmaps_resolved"]
#[used]
static RESOLVED_NAMES: [u8; 13] = *b"get_gate_vma\0";

/// `get_gate_vma()`.
type GetGateVma = unsafe extern "C" fn(*mut bindings::mm_struct) -> *mut bindings::vm_area_struct;

/// How `get_gate_vma` is reached (the values of [`SOURCE`]).
#[derive(Clone, Copy, PartialEq)]
#[repr(u32)]
enum Source {
    /// Not known: kprobes did not find it (no `CONFIG_KPROBES`).
    NotFound = 0,
    /// Exported by `kernel/patches/`: called directly.
    Export = 1,
    /// Resolved through kprobes and seen to start with `ENDBR64` (or IBT is not built in).
    Resolved = 2,
    /// Resolved, but its `ENDBR64` is sealed: an indirect call would be a `#CP`.
    Sealed = 3,
    /// Resolved, but the kernel checks indirect calls' types (`CONFIG_CFI`).
    Cfi = 4,
}

/// A [`Source`], written once at module load.
static SOURCE: Atomic<u32> = Atomic::new(Source::NotFound as u32);
/// Entry address of `get_gate_vma` when [`SOURCE`] is [`Source::Resolved`].
static RESOLVED: Atomic<usize> = Atomic::new(0);

fn source() -> Source {
    match SOURCE.load(Relaxed) {
        1 => Source::Export,
        2 => Source::Resolved,
        3 => Source::Sealed,
        4 => Source::Cfi,
        _ => Source::NotFound,
    }
}

/// `ENDBR64` (`f3 0f 1e fa`), as the little-endian `u32` at a function's entry.
#[cfg(CONFIG_X86_KERNEL_IBT)]
const ENDBR64: u32 = 0xfa1e_0ff3;

/// The entry of the function at which kprobes placed `probe` (its address, as resolved by
/// `register_kprobe()`), if that function may be called through a pointer.
#[cfg(CONFIG_X86_KERNEL_IBT)]
fn indirect_entry(probe: usize) -> Result<usize, Source> {
    // With IBT, kprobes puts a probe at a function's entry 4 bytes in when the entry holds an
    // ENDBR64 or the poison that sealed it (`arch_adjust_kprobe_addr()`): the entry is 4 bytes
    // earlier, and may be called indirectly only if those bytes are still ENDBR64. A function
    // without either has its probe at the entry, and the 4 bytes before are padding.
    let entry = probe.checked_sub(4).ok_or(Source::Sealed)?;
    let mut insn: u32 = 0;
    // SAFETY: `copy_from_kernel_nofault` may read any address; a fault makes it fail.
    let err = unsafe {
        bindings::copy_from_kernel_nofault(
            (&raw mut insn).cast(),
            entry as *const c_void,
            core::mem::size_of::<u32>(),
        )
    };
    if err == 0 && insn == ENDBR64 {
        Ok(entry)
    } else {
        Err(Source::Sealed)
    }
}

/// Without IBT, nothing is sealed and kprobes' address is the entry.
#[cfg(not(CONFIG_X86_KERNEL_IBT))]
fn indirect_entry(probe: usize) -> Result<usize, Source> {
    Ok(probe)
}

/// Decides how `get_gate_vma` is reached. Called once from module init.
pub(crate) fn init() {
    // SAFETY: No arguments; only tests a weak symbol.
    let source = if unsafe { rust_procmaps_get_gate_vma_exported() } {
        Source::Export
    } else if cfg!(CONFIG_CFI) {
        Source::Cfi
    } else {
        // SAFETY: `RESOLVED_NAMES` starts with the NUL-terminated name `get_gate_vma`.
        let probe = unsafe { rust_procmaps_kprobe_lookup(RESOLVED_NAMES.as_ptr().cast()) } as usize;
        if probe == 0 {
            Source::NotFound
        } else {
            match indirect_entry(probe) {
                Ok(entry) => {
                    RESOLVED.store(entry, Relaxed);
                    Source::Resolved
                }
                Err(source) => source,
            }
        }
    };
    SOURCE.store(source as u32, Relaxed);
    if !matches!(source, Source::Export | Source::Resolved) {
        pr_warn!("gate VMA {}: no [vsyscall] line\n", describe());
    }
}

/// The `gate_vma` line of `stats`: `available` or `unavailable`, and why.
pub(crate) fn describe() -> &'static str {
    match source() {
        Source::Export => "available (get_gate_vma exported by kernel/patches/)",
        Source::Resolved => "available (get_gate_vma resolved, ENDBR64 checked)",
        Source::Sealed => {
            "unavailable (get_gate_vma is not exported and its ENDBR64 is sealed: IBT)"
        }
        Source::Cfi => "unavailable (get_gate_vma is not exported and the kernel has CFI)",
        Source::NotFound => {
            "unavailable (get_gate_vma is not exported and kprobes did not find it)"
        }
    }
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
    /// The gate VMA of `mm`, if it has one (and we may ask for it: see the module docs).
    pub(crate) fn of(mm: &MmWithUser) -> Option<Self> {
        let vma = match source() {
            // SAFETY: `mm` has users; `get_gate_vma` only reads it, and it is exported (weak
            // reference checked at load).
            Source::Export => unsafe { rust_procmaps_get_gate_vma(mm.as_raw()) },
            Source::Resolved => {
                // SAFETY: `RESOLVED` is the entry of `get_gate_vma`, which has this type, and it
                // starts with ENDBR64 (or the kernel has no IBT): see `indirect_entry`.
                let get_gate_vma =
                    unsafe { core::mem::transmute::<usize, GetGateVma>(RESOLVED.load(Relaxed)) };
                // SAFETY: `mm` has users; `get_gate_vma` only reads it.
                unsafe { get_gate_vma(mm.as_raw()) }
            }
            _ => return None,
        };
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
