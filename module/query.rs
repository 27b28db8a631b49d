// SPDX-License-Identifier: GPL-2.0

//! `PROCMAP_QUERY` on our `maps` file: the binary VMA query of `/proc/PID/maps`, answer for
//! answer as `do_procmap_query()` in `fs/proc/task_mmu.c` gives it.
//!
//! The VMA is found and held by a [`VmaCursor`], as `maps` does it (per-VMA locks, the
//! `mmap_lock` fallback only when a per-VMA lock cannot be had; `mmap_lock` with
//! `lock_mode=1`): the query is one more view over the cursor. Everything is read from the VMA
//! while the cursor holds it; the cursor (its lock and its `mmget` reference) is dropped before
//! the build ID is parsed and before anything is copied to user space. The access check is the
//! one made at `open`, as in `/proc`.
//!
//! The build ID is parsed by `build_id_parse_file()`, exported by `kernel/patches/`.
//!
//! C source: [`fs/proc/task_mmu.c`](srctree/fs/proc/task_mmu.c)

use core::ops::{Deref, DerefMut};
use kernel::{
    bindings,
    error::{from_err_ptr, to_result},
    fs::File,
    ioctl::_IOWR,
    mm::virt::flags,
    prelude::*,
    sync::aref::ARef,
    transmute::{AsBytes, FromBytes},
    uaccess::{UserPtr, UserSlice},
};

use crate::{
    mm_lock::{Context, VmaCursor},
    stats::STATS,
    target::Target,
    vma_fields::{VmaFields, MINOR_BITS},
    vma_format::{self, VmaName},
};

// Thin C wrappers, declared in rust_procmaps.h and defined in helpers.c.
#[expect(
    improper_ctypes,
    reason = "kernel structs are only passed by pointer, never by value"
)]
extern "C" {
    fn rust_procmaps_build_id_parse_file(
        file: *mut bindings::file,
        build_id: *mut u8,
        size: *mut u32,
    ) -> c_int;
    fn rust_procmaps_copy_struct_from_user(
        dst: *mut c_void,
        ksize: usize,
        src: *const c_void,
        usize: usize,
    ) -> c_int;
    fn rust_procmaps_vma_kernel_pagesize(vma: *mut bindings::vm_area_struct) -> usize;
}

/// `PROCMAP_QUERY` (`include/uapi/linux/fs.h`).
const PROCMAP_QUERY: u32 = _IOWR::<bindings::procmap_query>(PROCFS_IOCTL_MAGIC, 17);
/// `PROCFS_IOCTL_MAGIC`, `'f'`.
const PROCFS_IOCTL_MAGIC: u32 = b'f' as u32;

const VMA_READABLE: u64 = bindings::procmap_query_flags_PROCMAP_QUERY_VMA_READABLE as u64;
const VMA_WRITABLE: u64 = bindings::procmap_query_flags_PROCMAP_QUERY_VMA_WRITABLE as u64;
const VMA_EXECUTABLE: u64 = bindings::procmap_query_flags_PROCMAP_QUERY_VMA_EXECUTABLE as u64;
const VMA_SHARED: u64 = bindings::procmap_query_flags_PROCMAP_QUERY_VMA_SHARED as u64;
const COVERING_OR_NEXT_VMA: u64 =
    bindings::procmap_query_flags_PROCMAP_QUERY_COVERING_OR_NEXT_VMA as u64;
const FILE_BACKED_VMA: u64 = bindings::procmap_query_flags_PROCMAP_QUERY_FILE_BACKED_VMA as u64;
/// `PROCMAP_QUERY_VMA_FLAGS`.
const VMA_FLAGS: u64 = VMA_READABLE | VMA_WRITABLE | VMA_EXECUTABLE | VMA_SHARED;
/// `PROCMAP_QUERY_VALID_FLAGS_MASK`.
const VALID_FLAGS: u64 = VMA_FLAGS | COVERING_OR_NEXT_VMA | FILE_BACKED_VMA;

/// Each `PROCMAP_QUERY_VMA_*` permission and the `vm_flags` bit it stands for.
const PERMS: [(u64, bindings::vm_flags_t); 4] = [
    (VMA_READABLE, flags::READ),
    (VMA_WRITABLE, flags::WRITE),
    (VMA_EXECUTABLE, flags::EXEC),
    (VMA_SHARED, flags::MAYSHARE),
];

/// `offsetofend(struct procmap_query, query_addr)`: the smallest struct accepted.
const MIN_SIZE: u64 = 3 * 8;

/// `sizeof(struct procmap_query)` of the kernel we are built for.
const QUERY_SIZE: usize = core::mem::size_of::<bindings::procmap_query>();

/// A `procmap_query` that can be copied to and from user space as bytes; the query is built
/// in it where it lies (copying the 104 bytes in and out of a wrapper cost a `rep movsq` each).
#[repr(transparent)]
struct Query(bindings::procmap_query);

impl Deref for Query {
    type Target = bindings::procmap_query;

    fn deref(&self) -> &bindings::procmap_query {
        &self.0
    }
}

impl DerefMut for Query {
    fn deref_mut(&mut self) -> &mut bindings::procmap_query {
        &mut self.0
    }
}

// 7.3's `procmap_query`: 11 `__u64` and 4 `__u32` fields, in an order that leaves no padding.
const _: () = assert!(QUERY_SIZE == 11 * 8 + 4 * 4);

// SAFETY: `procmap_query` is a uapi struct of integer fields only, without padding (asserted
// above: its size is the sum of its fields'): every byte is initialised, and any bytes are a
// valid value.
unsafe impl AsBytes for Query {}
// SAFETY: See above.
unsafe impl FromBytes for Query {}

/// The `unlocked_ioctl` of `maps`: `PROCMAP_QUERY`, or `ENOIOCTLCMD` (`ENOTTY` to the caller).
pub(crate) fn ioctl(target: &Target, cmd: u32, arg: usize) -> Result {
    if cmd != PROCMAP_QUERY {
        return Err(ENOIOCTLCMD);
    }
    query(target, UserPtr::from_addr(arg)).inspect_err(|_| STATS.queries_failed.inc())
}

/// What [`find`] takes from the VMA for after its lock: the name, if asked for and the VMA has
/// one, and a reference to its file, if the build ID is asked for.
type Found = (Option<KVec<u8>>, Option<ARef<File>>);

/// `do_procmap_query()`: the request, the VMA under the cursor's lock, the build ID with no
/// lock held, the answer.
fn query(target: &Target, uarg: UserPtr) -> Result {
    let (mut karg, usize) = read_request(uarg)?;
    let (name, file) = find_locked(target, &mut karg)?;
    let mut build_id = [0u8; bindings::BUILD_ID_SIZE_MAX as usize];
    if karg.build_id_size != 0 {
        karg.build_id_size = build_id_of(file.as_deref(), karg.build_id_size, &mut build_id)?;
    }
    drop(file);

    if let Some(name) = &name {
        copy_out(karg.vma_name_addr, &name[..karg.vma_name_size as usize])?;
    }
    copy_out(karg.build_id_addr, &build_id[..karg.build_id_size as usize])?;
    let out_len = usize.min(QUERY_SIZE);
    let mut out = UserSlice::new(uarg, out_len).writer();
    if out_len == QUERY_SIZE {
        // One `_copy_to_user()`, no C shim on the way (the usual case).
        out.write(&karg)
    } else {
        out.write_slice(&karg.as_bytes()[..out_len])
    }
}

/// The caller's `procmap_query`, copied in by the size protocol of `copy_struct_from_user()`
/// and checked, and the size the caller gave.
#[inline(always)]
fn read_request(uarg: UserPtr) -> Result<(Query, usize)> {
    let usize: u64 = UserSlice::new(uarg, 8).reader().read()?;
    // The argument struct can never be that large: reject abuse.
    if usize > bindings::PAGE_SIZE as u64 {
        return Err(E2BIG);
    }
    if usize < MIN_SIZE {
        return Err(EINVAL);
    }
    let karg = if usize == QUERY_SIZE as u64 {
        // The usual case, where `copy_struct_from_user()` is one `copy_from_user()`: made here,
        // without a call through its C shim.
        UserSlice::new(uarg, QUERY_SIZE).reader().read::<Query>()?
    } else {
        // SAFETY: All-zero is a valid `procmap_query` (integers only).
        let mut karg = Query(unsafe { core::mem::zeroed() });
        // SAFETY: `karg` is writable for its size; the user pointer is checked by the callee,
        // which also makes a larger struct's tail be zero (`E2BIG` otherwise).
        to_result(unsafe {
            rust_procmaps_copy_struct_from_user(
                (&raw mut karg.0).cast(),
                QUERY_SIZE,
                uarg.as_const_ptr(),
                usize as usize,
            )
        })?;
        karg
    };

    if karg.query_flags & !VALID_FLAGS != 0 {
        return Err(EINVAL);
    }
    // Either both a buffer's address and size are set, or neither.
    if (karg.vma_name_size != 0) != (karg.vma_name_addr != 0)
        || (karg.build_id_size != 0) != (karg.build_id_addr != 0)
    {
        return Err(EINVAL);
    }
    Ok((karg, usize as usize))
}

/// [`find`] under a cursor of its own, counted; the cursor (its lock and its `mmget`
/// reference) is dropped before this returns, so before anything is parsed or copied.
#[inline(always)]
fn find_locked(target: &Target, karg: &mut bindings::procmap_query) -> Result<Found> {
    let mm = target.mm_for_query().ok_or(ESRCH)?;
    // The name is copied into an allocation while the VMA is held.
    let mut cursor = VmaCursor::new(&mm, Context::MaySleep, target.locking())?;
    let found = find(&mut cursor, karg);
    if cursor.took_mmap_lock() {
        STATS.queries_mmap_locked.inc();
    } else {
        STATS.queries_vma_locked.inc();
    }
    found
}

/// The build ID of `file` into `build_id`, for a caller's buffer of `room` bytes: its size, 0
/// for no file or no build ID (not an error), `ENAMETOOLONG` if it does not fit. No lock may be
/// held: parsing sleeps and faults.
fn build_id_of(
    file: Option<&File>,
    room: u32,
    build_id: &mut [u8; bindings::BUILD_ID_SIZE_MAX as usize],
) -> Result<u32> {
    let Some(file) = file else {
        return Ok(0);
    };
    let mut size: u32 = 0;
    // SAFETY: We hold a reference to the file; `build_id` has room for `BUILD_ID_SIZE_MAX`
    // bytes.
    let parsed = to_result(unsafe {
        rust_procmaps_build_id_parse_file(file.as_ptr(), build_id.as_mut_ptr(), &mut size)
    });
    match parsed {
        Err(_) => Ok(0),
        Ok(()) if room < size => Err(ENAMETOOLONG),
        Ok(()) => Ok(size),
    }
}

/// Copies `bytes` (if any) to the user buffer at `addr`; `EFAULT` if it is not writable.
fn copy_out(addr: u64, bytes: &[u8]) -> Result {
    if bytes.is_empty() {
        return Ok(());
    }
    UserSlice::new(UserPtr::from_addr(addr as usize), bytes.len())
        .writer()
        .write_slice(bytes)
}

/// `query_matching_vma()` and the fields read under the VMA's lock: fills `karg`, and returns
/// the name if asked for and the VMA has one (`vma_name_size` bytes of it are the answer) and,
/// if the build ID is asked for, a reference to the VMA's file.
fn find(cursor: &mut VmaCursor<'_>, karg: &mut bindings::procmap_query) -> Result<Found> {
    let flags = karg.query_flags;
    let mut addr = karg.query_addr as usize;
    let vma = loop {
        let Some(vma) = cursor.advance(addr)? else {
            return Err(ENOENT);
        };
        let mut skip = flags & FILE_BACKED_VMA != 0 && vma.file().is_none();
        if !skip && flags & VMA_FLAGS != 0 {
            let perm = PERMS
                .iter()
                .filter(|(query, _)| flags & query != 0)
                .fold(0, |perm, (_, vm)| perm | vm);
            skip = vma.flags() & perm != perm;
        }
        // The covering VMA, or the next one if the caller is fine with it.
        if !skip && (flags & COVERING_OR_NEXT_VMA != 0 || vma.start() <= addr) {
            break vma;
        }
        if flags & COVERING_OR_NEXT_VMA == 0 {
            return Err(ENOENT);
        }
        addr = vma.end();
    };

    let raw = vma.as_ptr();
    karg.vma_start = vma.start() as u64;
    karg.vma_end = vma.end() as u64;
    let fl = vma.flags();
    karg.vma_flags = PERMS
        .iter()
        .filter(|(_, vm)| fl & vm != 0)
        .fold(0, |out, (query, _)| out | query);
    // SAFETY: The cursor holds the VMA.
    karg.vma_page_size = unsafe { rust_procmaps_vma_kernel_pagesize(raw) } as u64;
    (karg.vma_offset, karg.dev_major, karg.dev_minor, karg.inode) = match vma.file_ids() {
        None => (0, 0, 0, 0),
        Some(ids) => (
            ids.offset,
            ids.dev >> MINOR_BITS,
            ids.dev & ((1 << MINOR_BITS) - 1),
            ids.ino,
        ),
    };
    let file = vma.file();

    let mut name = None;
    if karg.vma_name_size != 0 {
        let buf_size = (karg.vma_name_size as usize).min(bindings::PATH_MAX as usize);
        // As `/proc`, no allocation for a VMA without a name.
        name = vma_name(vma_format::vma_name(&vma), buf_size)?;
        let name_size = name.as_ref().map_or(0, |name| name.len());
        if name_size > buf_size {
            return Err(ENAMETOOLONG);
        }
        karg.vma_name_size = name_size as u32;
    }

    // A reference for the build ID, parsed after the VMA is released.
    // SAFETY: The file is pinned by the held VMA for this borrow, and the VMA's own reference
    // makes any `fdget_pos()` on it see a shared file and take `f_pos_lock`.
    let file = (karg.build_id_size != 0)
        .then_some(file)
        .flatten()
        .map(|file| ARef::from(unsafe { File::from_raw_file(file.as_ptr()) }));
    Ok((name, file))
}

/// The name as the query gives it, NUL included: what `get_vma_name()` gives, the path
/// unescaped (`d_path()` in a `buf_size` buffer); `None` for no name. Its length may exceed
/// `buf_size` (the caller fails with `ENAMETOOLONG` then).
fn vma_name(name: VmaName<'_>, buf_size: usize) -> Result<Option<KVec<u8>>> {
    if let VmaName::None = name {
        // Before the vector exists: dropping even an empty one calls `krealloc()`.
        return Ok(None);
    }
    let mut out = KVec::new();
    match name {
        VmaName::None => {}
        VmaName::Path(path) => {
            out.resize(buf_size, 0, GFP_KERNEL)?;
            // SAFETY: `path` is the path of a file the held VMA pins; `out` is writable for
            // `buf_size` bytes.
            let start = from_err_ptr(unsafe {
                bindings::d_path(path, out.as_mut_ptr().cast(), buf_size as c_int)
            })?;
            // `d_path()` writes the path, NUL-terminated, at the end of the buffer: move it to
            // the front.
            let offset = (start as usize).wrapping_sub(out.as_ptr() as usize);
            let Some(len) = buf_size.checked_sub(offset) else {
                return Err(EINVAL);
            };
            out.copy_within(offset.., 0);
            out.truncate(len);
        }
        VmaName::Str(s) => out.extend_from_slice(s.to_bytes_with_nul(), GFP_KERNEL)?,
        VmaName::Anon(kind, s) => {
            for part in [b"[".as_slice(), kind.as_bytes(), b":", s.to_bytes(), b"]\0"] {
                out.extend_from_slice(part, GFP_KERNEL)?;
            }
        }
    }
    Ok(Some(out))
}

#[kunit_tests(rust_procmaps_query)]
mod tests {
    use super::*;

    #[test]
    fn ioctl_number_is_uapi() {
        // _IOWR('f', 17, struct procmap_query): 104 bytes in 7.3's uapi.
        assert_eq!(core::mem::size_of::<bindings::procmap_query>(), 104);
        assert_eq!(PROCMAP_QUERY, 0xc068_6611);
    }

    #[test]
    fn flag_masks() {
        assert_eq!(VMA_FLAGS, 0x0f);
        assert_eq!(VALID_FLAGS, 0x3f);
        assert_eq!(
            MIN_SIZE as usize,
            core::mem::offset_of!(bindings::procmap_query, query_addr) + 8
        );
    }
}
