//! Figures of the method (`softobj plot`, feature `plot`): the score as a function of the
//! distance, the soft losses as functions of the predicted probability, and the objectness
//! targets of a batch as heatmaps with the boxes drawn over them.
//!
//! Every figure is written twice, as `STEM.png` and `STEM.svg`. Text is drawn with DejaVu Sans,
//! embedded in the binary (`assets/DejaVuSans.ttf`, Bitstream Vera licence in
//! `assets/DejaVuSans-LICENSE.txt`), so no system font is needed.
//!
//! ```no_run
//! let dir = std::path::Path::new("figures");
//! std::fs::create_dir_all(dir).unwrap();
//! let files = soft_objectness::plot::score_figure(&dir.join("score")).unwrap();
//! assert_eq!(files.len(), 2); // score.png, score.svg
//! ```

mod curves;
mod figure;
mod tobj;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub use curves::{loss_figure, score_figure};
pub use tobj::{TobjFigure, tobj_figures};

/// Writes every figure into `out`: `score`, `soft-losses` and, for the first `images` images
/// of `case` (or of the embedded default batch when `None`), `tobj-image{b}`; PNG and SVG each.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written; evaluation errors of the case.
pub fn write_all(out: &Path, case: Option<&crate::Case>, images: usize) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut files = score_figure(&out.join("score"))?;
    files.extend(loss_figure(&out.join("soft-losses"))?);
    files.extend(tobj_figures(out, case, images)?);
    Ok(files)
}
