//! What every figure shares: the embedded font, the palette, and writing a figure as PNG and
//! SVG.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The font family every figure uses.
pub(crate) const FAMILY: &str = "sans-serif";

fn ensure_font() -> std::result::Result<(), String> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED
        .get_or_init(|| plotters::style::register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err("the embedded font could not be loaded".into())
    }
}

/// A plotters error as text.
pub(crate) fn e2s<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> String {
    e.to_string()
}

/// A figure drawn identically on any plotters backend.
pub(crate) trait Figure {
    /// Size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole figure on `root`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

fn io_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(message.into()),
    }
}

/// Renders `fig` to `STEM.png` and `STEM.svg`; returns both paths.
pub(crate) fn save(fig: &impl Figure, stem: &Path) -> Result<Vec<PathBuf>> {
    let png_path = stem.with_extension("png");
    let svg_path = stem.with_extension("svg");
    ensure_font().map_err(|m| io_err(&png_path, m))?;
    let (w, h) = fig.size();
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        fig.draw(&root).map_err(|m| io_err(&png_path, m))?;
        root.present()
            .map_err(|e| io_err(&png_path, e.to_string()))?;
    }
    write_png(&png_path, w, h, &rgb)?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        fig.draw(&root).map_err(|m| io_err(&svg_path, m))?;
        root.present()
            .map_err(|e| io_err(&svg_path, e.to_string()))?;
    }
    std::fs::write(&svg_path, svg).map_err(|source| Error::Io {
        path: svg_path.clone(),
        source,
    })?;
    Ok(vec![png_path, svg_path])
}

fn write_png(path: &Path, w: u32, h: u32, rgb: &[u8]) -> Result<()> {
    let file = std::fs::File::create(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::High);
    let mut writer = enc
        .write_header()
        .map_err(|e| io_err(path, e.to_string()))?;
    writer
        .write_image_data(rgb)
        .map_err(|e| io_err(path, e.to_string()))?;
    writer.finish().map_err(|e| io_err(path, e.to_string()))
}

/// Line colours (colour-blind friendly, Okabe-Ito).
pub(crate) const PALETTE: [RGBColor; 6] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
];
