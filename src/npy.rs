//! Minimal NumPy `.npy` reading and writing (format 1.0 to 3.0, little-endian `<f4` / `<f8`,
//! C order), so that large tensors travel beside a case instead of inside its JSON.

use std::io::{Read, Write};
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

use crate::array::{Limits, check_shape};
use crate::error::{Error, Result, num};
use crate::json;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Longest header accepted, in bytes (NumPy writes well under 1 KiB; a hostile length field
/// must not make the reader allocate gigabytes).
pub const MAX_HEADER_BYTES: usize = 1 << 16;

/// Bytes converted per read while streaming the data (bounded buffer).
const CHUNK_BYTES: usize = 1 << 16;

/// An array read from a `.npy` file, in the precision it was stored in.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyArray {
    /// `<f4` data.
    F32(ArrayD<f32>),
    /// `<f8` data.
    F64(ArrayD<f64>),
}

impl NpyArray {
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        match self {
            NpyArray::F32(a) => a.shape(),
            NpyArray::F64(a) => a.shape(),
        }
    }

    /// The array widened to f64.
    pub fn into_f64(self) -> ArrayD<f64> {
        match self {
            NpyArray::F32(a) => a.mapv(f64::from),
            NpyArray::F64(a) => a,
        }
    }
}

fn npy_err(path: &Path, offset: usize, message: impl Into<String>) -> Error {
    Error::Npy {
        path: path.to_path_buf(),
        offset,
        message: message.into(),
    }
}

/// Decodes a `.npy` file held in memory (errors name the path `<bytes>`).
///
/// ```
/// use soft_objectness::{Limits, npy};
/// let mut bytes = b"\x93NUMPY\x01\x00\x76\x00".to_vec();
/// let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
/// bytes.extend_from_slice(format!("{header:<117}\n").as_bytes());
/// bytes.extend_from_slice(&1.5f64.to_le_bytes());
/// bytes.extend_from_slice(&(-2.0f64).to_le_bytes());
/// let a = npy::decode(&bytes, &Limits::default()).unwrap().into_f64();
/// assert_eq!(a.as_slice().unwrap(), &[1.5, -2.0]);
/// assert!(npy::decode(&bytes[..20], &Limits::default()).is_err()); // truncated
/// ```
///
/// # Errors
/// As [`read`], without [`Error::Io`]; the array is named `(npy)`.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<NpyArray> {
    let mut r = bytes;
    decode_from(
        &mut r,
        Some(bytes.len() as u64),
        Path::new("<bytes>"),
        "(npy)",
        limits,
    )
}

/// Reads a `.npy` file of `<f4` or `<f8` data in C order; `field` (e.g. `inputs.targets`)
/// names the array in errors about its size and elements.
///
/// The header is read and checked first; the data is then read in bounded chunks, so a file
/// whose shape exceeds `limits` is refused before its data is touched.
///
/// # Errors
/// [`Error::Io`] when unreadable, [`Error::Npy`] with the byte offset when malformed (or not a
/// regular file), [`Error::TooLarge`] when its shape exceeds `limits`, [`Error::Invalid`] for a
/// non-finite element.
pub fn read(path: &Path, field: &str, limits: &Limits) -> Result<NpyArray> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(npy_err(path, 0, "not a regular file"));
    }
    let mut f = std::fs::File::open(path).map_err(io)?;
    decode_from(&mut f, Some(meta.len()), path, field, limits)
}

/// Reads into `buf` until it is full or the input ends; returns the bytes read.
fn fill(r: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    Ok(got)
}

/// Row-major multi-index of flat position `i`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d].max(1);
        i /= shape[d].max(1);
    }
    idx
}

/// Decodes a `.npy` stream: the header, checked before anything else is read, then the data
/// in bounded chunks. `total`, when known, is the stream's length in bytes.
fn decode_from(
    r: &mut impl Read,
    total: Option<u64>,
    path: &Path,
    field: &str,
    limits: &Limits,
) -> Result<NpyArray> {
    let (shape, dtype, start) = read_header(r, path)?;
    let n = check_shape(&shape, field, limits)?;
    let width = match dtype {
        Dtype::F32 => 4,
        Dtype::F64 => 8,
    };
    let need = usize::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(width))
        .ok_or_else(|| npy_err(path, start, "size overflow"))?;
    let data = Data {
        path,
        field,
        shape: &shape,
        start,
        need,
    };
    if let Some(total) = total {
        let have = total.saturating_sub(start as u64);
        if have != need as u64 {
            return Err(data.mismatch(have));
        }
    }
    let a = match dtype {
        Dtype::F32 => NpyArray::F32(data.read::<f32>(r)?),
        Dtype::F64 => NpyArray::F64(data.read::<f64>(r)?),
    };
    if total.is_none() && fill(r, &mut [0u8; 1], path)? > 0 {
        return Err(npy_err(
            path,
            start + need,
            format!("trailing bytes after the {need} bytes of data"),
        ));
    }
    Ok(a)
}

/// The magic, the version's header length and the header: `(shape, dtype, offset of the
/// data)`.
fn read_header(r: &mut impl Read, path: &Path) -> Result<(Vec<usize>, Dtype, usize)> {
    let mut prefix = [0u8; 12];
    let got = fill(r, &mut prefix[..10], path)?;
    if got < 10 || &prefix[..6] != MAGIC {
        return Err(npy_err(
            path,
            0,
            "missing the \\x93NUMPY magic (not a .npy file, or truncated)",
        ));
    }
    let (hlen, hstart): (usize, usize) = match prefix[6] {
        1 => (u16::from_le_bytes([prefix[8], prefix[9]]) as usize, 10),
        2 | 3 => {
            if fill(r, &mut prefix[10..12], path)? < 2 {
                return Err(npy_err(path, 10, "truncated header length"));
            }
            (
                u32::from_le_bytes([prefix[8], prefix[9], prefix[10], prefix[11]]) as usize,
                12,
            )
        }
        v => {
            return Err(npy_err(
                path,
                6,
                format!("unsupported format version {v} (1, 2 or 3)"),
            ));
        }
    };
    if hlen > MAX_HEADER_BYTES {
        return Err(npy_err(
            path,
            8,
            format!("header length {hlen} exceeds {MAX_HEADER_BYTES} bytes"),
        ));
    }
    let mut hbytes = vec![0u8; hlen];
    if fill(r, &mut hbytes, path)? < hlen {
        return Err(npy_err(
            path,
            hstart,
            format!("truncated header (needs {hlen} bytes)"),
        ));
    }
    let (shape, dtype) = parse_header(&hbytes, path, hstart)?;
    Ok((shape, dtype, hstart + hlen))
}

/// The data part of a `.npy` stream: `need` bytes from offset `start`, of an array `shape`
/// named `field`.
struct Data<'a> {
    path: &'a Path,
    field: &'a str,
    shape: &'a [usize],
    start: usize,
    need: usize,
}

/// An element type the reader decodes.
trait Decode: Copy + Into<f64> {
    /// Bytes per element.
    const WIDTH: usize;
    /// The element from its little-endian bytes (`WIDTH` of them).
    fn from_le(b: &[u8]) -> Self;
}

impl Decode for f32 {
    const WIDTH: usize = 4;
    fn from_le(b: &[u8]) -> Self {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl Decode for f64 {
    const WIDTH: usize = 8;
    fn from_le(b: &[u8]) -> Self {
        f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }
}

impl Data<'_> {
    /// The error of a data part of `have` bytes.
    fn mismatch(&self, have: u64) -> Error {
        npy_err(
            self.path,
            self.start,
            format!(
                "data has {have} bytes, shape {:?} needs {}",
                self.shape, self.need
            ),
        )
    }

    /// Every element, read in chunks of at most [`CHUNK_BYTES`], each checked to be finite
    /// (the first that is not is named with its index).
    fn read<T: Decode>(&self, r: &mut impl Read) -> Result<ArrayD<T>> {
        let mut buf = vec![0u8; CHUNK_BYTES.min(self.need)];
        let mut values: Vec<T> = Vec::with_capacity(self.need / T::WIDTH);
        let mut done = 0usize;
        while done < self.need {
            let want = buf.len().min(self.need - done);
            let got = fill(r, &mut buf[..want], self.path)?;
            if got < want {
                return Err(self.mismatch((done + got) as u64));
            }
            for c in buf[..want].chunks_exact(T::WIDTH) {
                let x = T::from_le(c);
                if !x.into().is_finite() {
                    return Err(Error::invalid(
                        format!("{} at {:?}", self.field, unravel(values.len(), self.shape)),
                        num(x.into()),
                        "must be a finite number",
                    ));
                }
                values.push(x);
            }
            done += want;
        }
        ArrayD::from_shape_vec(IxDyn(self.shape), values)
            .map_err(|e| npy_err(self.path, self.start, e.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    F32,
    F64,
}

/// The dtype of a header's `descr` value as written there (`'<f2'`, `'|u1'`), at most 32
/// characters: the quoted string, or the text up to the next `,` or `}`.
fn dtype_as_written(descr: &str) -> String {
    let text = match descr.chars().next() {
        Some(q @ ('\'' | '"')) => match descr[1..].find(q) {
            Some(end) => &descr[..end + 2],
            None => descr,
        },
        _ => descr.split([',', '}']).next().unwrap_or(descr).trim_end(),
    };
    let mut shown: String = text.chars().take(32).collect();
    if shown.len() < text.len() {
        shown.push_str("...");
    }
    shown
}

/// Parses the header dictionary, e.g. `{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }`.
fn parse_header(bytes: &[u8], path: &Path, hstart: usize) -> Result<(Vec<usize>, Dtype)> {
    let header = std::str::from_utf8(bytes)
        .map_err(|e| npy_err(path, hstart + e.valid_up_to(), "header is not text"))?;
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
        return Err(npy_err(
            path,
            hstart,
            format!(
                "dtype {} is not supported (save float32 '<f4' or float64 '<f8')",
                dtype_as_written(descr)
            ),
        ));
    };
    let fortran = value_of("fortran_order")
        .ok_or_else(|| npy_err(path, hstart, "header has no 'fortran_order'"))?;
    if !fortran.starts_with("False") {
        return Err(npy_err(
            path,
            hstart,
            "Fortran-ordered arrays are not supported (save in C order)",
        ));
    }
    let shape_s =
        value_of("shape").ok_or_else(|| npy_err(path, hstart, "header has no 'shape'"))?;
    let inner = shape_s
        .strip_prefix('(')
        .and_then(|s| s.split_once(')'))
        .map(|(inner, _)| inner)
        .ok_or_else(|| {
            npy_err(
                path,
                hstart,
                "malformed shape (expected a tuple such as (2, 3))",
            )
        })?;
    let mut shape = Vec::new();
    for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        shape.push(
            part.parse::<usize>()
                .map_err(|_| npy_err(path, hstart, format!("malformed shape entry {part:?}")))?,
        );
    }
    Ok((shape, dtype))
}

/// Element types [`write()`] can store.
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
        s => format!(
            "({})",
            s.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        T::DESCR
    );
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

/// Reads an array given inline (`{"shape", "data"}`, every element a finite number) or by
/// reference (`{"npy": FILE}`): the one reader of the case format's arrays, for cases,
/// answers and the Python binding alike.
///
/// A reference must be a relative path without `..` components, resolved in `base_dir` (the
/// folder of the file that holds it; the current directory when `None`): a case or an answer
/// from elsewhere never reads a file outside its own folder.
///
/// ```
/// use soft_objectness::{Limits, npy};
/// let v = serde_json::json!({"shape": [2], "data": [1.5, -2.0]});
/// let a = npy::read_value(&v, "x", None, &Limits::default()).unwrap().into_f64();
/// assert_eq!(a.as_slice().unwrap(), &[1.5, -2.0]);
/// for outside in ["/etc/passwd.npy", "../x.npy"] {
///     let v = serde_json::json!({"npy": outside});
///     let err = npy::read_value(&v, "x", None, &Limits::default()).unwrap_err();
///     assert_eq!(err.field(), Some("x.npy"));
/// }
/// ```
///
/// # Errors
/// [`Error::Invalid`] naming `FIELD.npy` for a path outside `base_dir` or a missing file,
/// then the errors of [`read`]; for inline data [`Error::Type`], [`Error::Missing`],
/// [`Error::Shape`], [`Error::TooLarge`] or [`Error::Invalid`] naming the field.
pub fn read_value(
    v: &Value,
    field: &str,
    base_dir: Option<&Path>,
    limits: &Limits,
) -> Result<NpyArray> {
    if let Some(obj) = v.as_object()
        && let Some(file) = obj.get("npy")
    {
        let npy_field = json::join(field, "npy");
        let name = json::string(file, &npy_field)?;
        let rel = Path::new(name);
        let inside = !name.is_empty()
            && rel.components().all(|c| {
                matches!(
                    c,
                    std::path::Component::Normal(_) | std::path::Component::CurDir
                )
            });
        if !inside {
            return Err(Error::invalid(
                npy_field,
                format!("{:?}", json::shorten(name)),
                "must be a relative path inside the case's directory (no `..`, no absolute path)",
            ));
        }
        let dir = base_dir.unwrap_or_else(|| Path::new("."));
        let file = dir.join(rel);
        if !file.exists() {
            return Err(Error::invalid(
                npy_field,
                format!("{name:?}"),
                format!(
                    "no such file in {} (a reference is resolved in the folder of the case or \
                     answer file that holds it)",
                    dir.display()
                ),
            ));
        }
        return read(&file, field, limits);
    }
    Ok(NpyArray::F64(crate::array::parse(v, field, limits)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dtype_is_shown_as_written() {
        assert_eq!(dtype_as_written("'<f2', 'fortran_order': False}"), "'<f2'");
        assert_eq!(dtype_as_written("\"|u1\", 'shape': ()}"), "\"|u1\"");
        assert_eq!(dtype_as_written("[('a', '<f4')], 'x': 1}"), "[('a'");
        assert!(dtype_as_written(&format!("'{}'", "f".repeat(60))).ends_with("..."));
    }

    #[test]
    fn a_missing_reference_names_its_field_and_the_folder_rule() {
        let dir = tempfile::tempdir().unwrap();
        let v = serde_json::json!({"npy": "p0.npy"});
        let e = read_value(
            &v,
            "inputs.predictions[0]",
            Some(dir.path()),
            &Limits::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("inputs.predictions[0].npy: no such file in"),
            "{e}"
        );
        assert!(
            e.contains("folder of the case") && e.contains("p0.npy"),
            "{e}"
        );
    }
}
