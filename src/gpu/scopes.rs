//! Validation, out-of-memory and internal error scopes around a piece of device work.

use crate::error::{GpuError, Result};

/// The three error scopes, pushed together and popped innermost first.
pub(crate) struct ErrorScopes {
    scopes: [Option<wgpu::ErrorScopeGuard>; 3],
}

impl ErrorScopes {
    pub(crate) fn push(device: &wgpu::Device) -> ErrorScopes {
        ErrorScopes {
            scopes: [
                Some(device.push_error_scope(wgpu::ErrorFilter::Validation)),
                Some(device.push_error_scope(wgpu::ErrorFilter::OutOfMemory)),
                Some(device.push_error_scope(wgpu::ErrorFilter::Internal)),
            ],
        }
    }

    /// Pops the scopes (innermost first) and reports the first error caught, as
    /// [`GpuError::Wgpu`] saying what was being done.
    pub(crate) fn pop(mut self, doing: &str) -> Result<()> {
        let mut first = None;
        for s in self.scopes.iter_mut().rev() {
            if let Some(guard) = s.take()
                && let Some(e) = pollster::block_on(guard.pop())
            {
                first.get_or_insert(e);
            }
        }
        match first {
            None => Ok(()),
            Some(e) => Err(GpuError::wgpu(doing, e).into()),
        }
    }
}

impl Drop for ErrorScopes {
    fn drop(&mut self) {
        // Guards left (an early return) pop innermost first.
        for s in self.scopes.iter_mut().rev() {
            drop(s.take());
        }
    }
}
