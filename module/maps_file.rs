// SPDX-License-Identifier: GPL-2.0

//! The `maps` file: one `maps` line per VMA, then the gate VMA, as `/proc/PID/maps`, and its
//! `PROCMAP_QUERY` ioctl ([`crate::query`]).
//!
//! All of the iteration and locking is the adapter's and the cursor's ([`crate::vma_seq`],
//! [`crate::mm_lock`]); this view only formats ([`crate::vma_format`]).

use kernel::prelude::*;

use crate::{
    files::FileOps,
    mm_lock::Context,
    query,
    seq_out::SeqOut,
    target::Target,
    vma_format::{self, Shown},
    vma_seq::{self, SeqOps, View},
};

/// The `maps` view.
struct Maps;

impl View for Maps {
    fn seq_ops() -> &'static SeqOps {
        &MAPS_SEQ_OPS
    }

    // A line is formatted into the seq_file buffer: nothing sleeps.
    const CONTEXT: Context = Context::NoSleep;

    type ChunkData = ();

    fn chunk_data(_target: &Target) -> Result {
        Ok(())
    }

    fn show(out: &mut SeqOut<'_>, shown: Shown<'_>, _data: &mut ()) {
        vma_format::show_map_vma(out, &shown);
    }

    const HAS_IOCTL: bool = true;

    // Inlined into the adapter's `unlocked_ioctl`: one call less per query.
    #[inline]
    fn ioctl(target: &Target, cmd: u32, arg: usize) -> Result {
        query::ioctl(target, cmd, arg)
    }
}

static MAPS_SEQ_OPS: SeqOps = vma_seq::seq_ops::<Maps>();

/// File operations of `maps`.
pub(crate) static MAPS_FOPS: FileOps = vma_seq::file_ops::<Maps>();
