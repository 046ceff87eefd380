//! Device buffers kept between evaluations: each buffer has a role and a slot (layer, chunk) and
//! is reused while it is large enough, so that repeated evaluations of similar inputs allocate
//! nothing new and memory stays bounded by the largest evaluation seen.

use std::collections::HashMap;

/// What a pooled buffer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    SoftParams,
    BoxParams,
    ObjParams,
    Yolov5Params,
    Pred,
    SoftRows,
    Terms,
    Classes,
    Winner,
    TobjU,
    Tobj,
    Totals,
    Grad,
    Partials,
    BoxRows,
    RowOut,
    ClsGrad,
    Readback,
    TotalsReadback,
    Check,
}

/// Buffers by `(role, layer, chunk)`.
#[derive(Debug, Default)]
pub(crate) struct Pool {
    buffers: HashMap<(Role, usize, usize), wgpu::Buffer>,
}

impl Pool {
    /// A buffer of at least `size` bytes (rounded up to 16, at least 16) with `usage`, reused
    /// when the slot already holds one large enough; a new one is at most `max_size` bytes
    /// (growing to the next power of two below that, so slowly growing inputs do not reallocate
    /// every time).
    pub(crate) fn get(
        &mut self,
        device: &wgpu::Device,
        key: (Role, usize, usize),
        size: u64,
        usage: wgpu::BufferUsages,
        max_size: u64,
    ) -> wgpu::Buffer {
        let size = size.max(16).next_multiple_of(16);
        if let Some(b) = self.buffers.get(&key)
            && b.size() >= size
            && b.usage() == usage
        {
            return b.clone();
        }
        let capacity = size.next_power_of_two().min(max_size).max(size);
        let label = format!("softobj {:?} layer {} chunk {}", key.0, key.1, key.2);
        let buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(&label),
            size: capacity,
            usage,
            mapped_at_creation: false,
        });
        self.buffers.insert(key, buffer.clone());
        buffer
    }

    /// Bytes held by the pool.
    pub(crate) fn bytes(&self) -> u64 {
        self.buffers.values().map(wgpu::Buffer::size).sum()
    }

    /// Number of buffers held.
    pub(crate) fn len(&self) -> usize {
        self.buffers.len()
    }

    /// Releases every buffer.
    pub(crate) fn clear(&mut self) {
        for b in self.buffers.values() {
            b.destroy();
        }
        self.buffers.clear();
    }
}
