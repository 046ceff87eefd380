//! Minimal NumPy `.npy` reading and writing (format 1.0 to 3.0, little-endian `<f4` / `<f8`,
//! C order), so that large tensors travel beside a case instead of inside its JSON.

use std::io::Write;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};

use crate::array::{Limits, element_count};
use crate::case::RawArray;
use crate::error::{Error, Result};

const MAGIC: &[u8] = b"\x93NUMPY";

fn npy_err(path: &Path, offset: usize, message: impl Into<String>) -> Error {
    Error::Npy {
        path: path.to_path_buf(),
        offset,
        message: message.into(),
    }
}

/// Reads a `.npy` file of `<f4` or `<f8` data in C order.
///
/// # Errors
/// [`Error::Io`] when unreadable, [`Error::Npy`] with the byte offset when malformed,
/// [`Error::TooLarge`] when its shape exceeds `limits`, [`Error::Invalid`] for a non-finite element.
pub(crate) fn read(path: &Path, field: &str, limits: &Limits) -> Result<RawArray> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let (shape, dtype, start) = parse_header(&bytes, path)?;
    let n = element_count(&shape);
    if n > limits.max_elements {
        return Err(Error::TooLarge {
            field: field.into(),
            elements: n,
            limit: limits.max_elements,
        });
    }
    let width = if dtype == Dtype::F32 { 4 } else { 8 };
    let need = (n as usize).checked_mul(width).ok_or_else(|| npy_err(path, start, "size overflow"))?;
    let body = &bytes[start..];
    if body.len() != need {
        return Err(npy_err(
            path,
            start,
            format!("data has {} bytes, shape {shape:?} needs {need}", body.len()),
        ));
    }
    let check = |i: usize, x: f64| -> Result<()> {
        if x.is_finite() {
            Ok(())
        } else {
            Err(Error::invalid(format!("{field} element {i}"), x, "must be a finite number"))
        }
    };
    Ok(match dtype {
        Dtype::F32 => {
            let mut v = Vec::with_capacity(n as usize);
            for (i, c) in body.chunks_exact(4).enumerate() {
                let x = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                check(i, x as f64)?;
                v.push(x);
            }
            RawArray::F32(ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| npy_err(path, start, e.to_string()))?)
        }
        Dtype::F64 => {
            let mut v = Vec::with_capacity(n as usize);
            for (i, c) in body.chunks_exact(8).enumerate() {
                let x = f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
                check(i, x)?;
                v.push(x);
            }
            RawArray::F64(ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| npy_err(path, start, e.to_string()))?)
        }
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
}

fn parse_header(bytes: &[u8], path: &Path) -> Result<(Vec<usize>, Dtype, usize)> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(npy_err(path, 0, "missing the \\x93NUMPY magic"));
    }
    let major = bytes[6];
    let (hlen, hstart): (usize, usize) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(npy_err(path, 8, "truncated header length"));
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(npy_err(path, 6, format!("unsupported format version {v}"))),
    };
    let end = hstart.checked_add(hlen).filter(|&e| e <= bytes.len()).ok_or_else(|| npy_err(path, hstart, "truncated header"))?;
    let header = std::str::from_utf8(&bytes[hstart..end]).map_err(|_| npy_err(path, hstart, "header is not text"))?;
    let value_of = |key: &str| -> Option<&str> {
        let k = header.find(&format!("'{key}'"))?;
        let rest = &header[k + key.len() + 2..];
        let colon = rest.find(':')?;
        Some(rest[colon + 1..].trim_start())
    };
    let descr = value_of("descr").ok_or_else(|| npy_err(path, hstart, "header has no 'descr'"))?;
    let dtype = if descr.starts_with("'<f4'") {
        Dtype::F32
    } else if descr.starts_with("'<f8'") {
        Dtype::F64
    } else {
        let shown: String = descr.chars().take(8).collect();
        return Err(npy_err(path, hstart, format!("dtype {shown} is not supported (use '<f4' or '<f8')")));
    };
    let fortran = value_of("fortran_order").ok_or_else(|| npy_err(path, hstart, "header has no 'fortran_order'"))?;
    if !fortran.starts_with("False") {
        return Err(npy_err(path, hstart, "Fortran-ordered arrays are not supported (save in C order)"));
    }
    let shape_s = value_of("shape").ok_or_else(|| npy_err(path, hstart, "header has no 'shape'"))?;
    let close = shape_s.find(')').ok_or_else(|| npy_err(path, hstart, "malformed shape"))?;
    let inner = shape_s.strip_prefix('(').ok_or_else(|| npy_err(path, hstart, "malformed shape"))?;
    let inner = &inner[..close - 1];
    let mut shape = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        shape.push(part.parse::<usize>().map_err(|_| npy_err(path, hstart, format!("malformed shape entry {part:?}")))?);
    }
    Ok((shape, dtype, end))
}

/// Element types [`write`] can store.
pub trait NpyElement: Copy {
    /// The `descr` string.
    const DESCR: &'static str;
    /// Little-endian bytes.
    fn le_bytes(self, out: &mut Vec<u8>);
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    fn le_bytes(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyElement for f64 {
    const DESCR: &'static str = "<f8";
    fn le_bytes(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

/// Writes an array as a version 1.0 `.npy` file in C order.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
pub fn write<T: NpyElement>(path: &Path, a: &ArrayD<T>) -> Result<()> {
    let shape = match a.shape() {
        [n] => format!("({n},)"),
        s => format!("({})", s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}", T::DESCR);
    let total = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + a.len() * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &x in a.iter() {
        x.le_bytes(&mut out);
    }
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::create(path).map_err(io)?;
    f.write_all(&out).map_err(io)
}
