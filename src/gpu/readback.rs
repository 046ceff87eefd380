//! What comes back from the device: the layout of a chunk's readback buffer (one type, used to
//! size it, to fill it and to read it) and the mapping of every readback buffer at once.

use std::ops::Range;

use super::box_cls::RowOut;
use super::context::Inner;
use super::kernel::grid_of;
use crate::error::{GpuError, Result};
use crate::loss::norm::classes_scored;

/// `tobj_u` holds `U_KEY - bits(1 - t)` (`shaders/math.wgsl`).
pub(crate) const U_KEY: u32 = 0x7f80_0000;

/// Bytes of a [`RowOut`].
pub(crate) const ROW_OUT_BYTES: u64 = std::mem::size_of::<RowOut>() as u64;

/// The parts of a chunk's readback buffer, in their order there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// u32 per cell: `t` as f32 bits.
    Tobj,
    /// u32 per cell: `U_KEY - bits(1 - t)`.
    TobjU,
    /// f32 per cell: the objectness gradient.
    Grad,
    /// f32 pair per workgroup of the loss pass: hard and soft sums.
    Partials,
    /// [`RowOut`] per row.
    RowOut,
    /// f32 per row and scored class ([`classes_scored`]: none when `nc == 1`).
    ClsGrad,
}

impl Part {
    const ALL: [Part; 6] = [
        Part::Tobj,
        Part::TobjU,
        Part::Grad,
        Part::Partials,
        Part::RowOut,
        Part::ClsGrad,
    ];
}

/// The sizes that lay out one chunk's results: `tobj | tobj_u | grad | partials | row_out |
/// cls_grad`, each part as long as its device buffer's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkLayout {
    /// Cells of the chunk.
    pub cells: u64,
    /// Workgroups of the chunk's loss pass (one partial pair each).
    pub partial_pairs: u64,
    /// Rows of the chunk.
    pub rows: u64,
    /// Class gradients per row: [`classes_scored`] (`nc`, or 0 when `nc == 1`).
    pub classes: u64,
}

impl ChunkLayout {
    /// The layout of a chunk of `cells` cells and `rows` rows, dispatched with `max_per_dim`.
    pub(crate) fn new(cells: u64, rows: u64, nc: usize, max_per_dim: u32) -> ChunkLayout {
        let (x, y) = grid_of(cells, max_per_dim);
        ChunkLayout {
            cells,
            partial_pairs: u64::from(x) * u64::from(y),
            rows,
            classes: classes_scored(nc) as u64,
        }
    }

    /// Bytes of one part (and of the device buffer it is copied from).
    pub(crate) fn bytes(&self, part: Part) -> u64 {
        match part {
            Part::Tobj | Part::TobjU | Part::Grad => self.cells * 4,
            Part::Partials => self.partial_pairs * 8,
            Part::RowOut => self.rows * ROW_OUT_BYTES,
            Part::ClsGrad => self.rows * self.classes * 4,
        }
    }

    /// Byte offset of a part in the readback buffer.
    pub(crate) fn offset(&self, part: Part) -> u64 {
        Part::ALL
            .iter()
            .take_while(|&&p| p != part)
            .map(|&p| self.bytes(p))
            .sum()
    }

    /// Bytes of the whole readback buffer.
    pub(crate) fn total(&self) -> u64 {
        Part::ALL.iter().map(|&p| self.bytes(p)).sum()
    }

    /// The 32-bit words of a part in the words read back.
    pub(crate) fn words(&self, part: Part) -> Range<usize> {
        let start = (self.offset(part) / 4) as usize;
        start..start + (self.bytes(part) / 4) as usize
    }
}

impl Inner {
    /// Waits for the submitted work and copies `(buffer, bytes)` back as 32-bit words, every
    /// buffer mapped at once and unmapped again.
    pub(crate) fn read_back(&self, buffers: &[(wgpu::Buffer, u64)]) -> Result<Vec<Vec<u32>>> {
        let (tx, rx) = std::sync::mpsc::channel();
        for (i, (b, size)) in buffers.iter().enumerate() {
            let tx = tx.clone();
            b.slice(..*size).map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send((i, r.is_ok()));
            });
        }
        drop(tx);
        let polled = self.device.poll(wgpu::PollType::wait_indefinitely());
        let mut mapped = vec![false; buffers.len()];
        for (i, ok) in rx.try_iter() {
            mapped[i] = ok;
        }
        let result = polled
            .map_err(|e| GpuError::wgpu("waiting for the device", e).into())
            .and_then(|_| self.copy_mapped(buffers, &mapped));
        for ((b, _), m) in buffers.iter().zip(&mapped) {
            if *m {
                b.unmap();
            }
        }
        result
    }

    /// The words of every mapped buffer, or the reason one is not mapped.
    fn copy_mapped(
        &self,
        buffers: &[(wgpu::Buffer, u64)],
        mapped: &[bool],
    ) -> Result<Vec<Vec<u32>>> {
        self.health()?;
        if let Some(i) = mapped.iter().position(|&m| !m) {
            let message = format!("buffer {i} could not be mapped");
            return Err(GpuError::wgpu("reading results back failed", message).into());
        }
        buffers.iter().map(|(b, size)| words_of(b, *size)).collect()
    }
}

fn words_of(buffer: &wgpu::Buffer, size: u64) -> Result<Vec<u32>> {
    let view = buffer
        .slice(..size)
        .get_mapped_range()
        .map_err(|e| GpuError::wgpu("reading results back", e))?;
    let n = (size / 4) as usize;
    let mut words = vec![0u32; n];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words).copy_from_slice(&view[..n * 4]);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_follow_one_another() {
        let l = ChunkLayout::new(130, 3, 4, 65535);
        assert_eq!(l.partial_pairs, 3);
        assert_eq!(l.offset(Part::Tobj), 0);
        assert_eq!(l.offset(Part::Partials), 3 * 130 * 4);
        assert_eq!(
            l.offset(Part::ClsGrad),
            3 * 130 * 4 + 3 * 8 + 3 * ROW_OUT_BYTES
        );
        assert_eq!(l.total(), l.offset(Part::ClsGrad) + 3 * 4 * 4);
        assert_eq!(l.words(Part::TobjU), 130..260);
        assert_eq!(ChunkLayout::new(10, 2, 1, 65535).bytes(Part::ClsGrad), 0);
    }
}
