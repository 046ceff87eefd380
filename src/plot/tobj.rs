//! Heatmaps of the objectness targets of one image, every layer and anchor, with the boxes.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{FAMILY, Figure, e2s, save};
use crate::case::Case;
use crate::config::{Assigner, Config};
use crate::default_batch::DefaultBatch;
use crate::error::{Error, Result};
use crate::eval::evaluate;
use crate::inputs::Inputs;
use crate::options::EvalOptions;
use crate::result::CellClass;
use crate::result::{Counts, Evaluation};

const POSITIVE: RGBColor = RGBColor(215, 25, 28);
const NEGATIVE: RGBColor = RGBColor(236, 236, 236);
const OTHER_BOX: RGBColor = RGBColor(150, 150, 150);

/// Viridis at 9 points; linear in between.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// The colour of a soft target `t` in `(0, 1)`.
fn viridis(t: f64) -> RGBColor {
    let x = t.clamp(0.0, 1.0) * 8.0;
    let k = (x.floor() as usize).min(7);
    let f = x - k as f64;
    let (a, b) = (VIRIDIS[k], VIRIDIS[k + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The `tobj` heatmaps of one image: one panel per (anchor, layer), anchors in rows and
/// layers in columns; positive cells red, soft cells on the viridis scale, negative cells
/// light grey; the boxes of the image drawn over them (black: matched to that layer and
/// anchor; grey: the image's other boxes).
pub struct TobjFigure<'a> {
    /// Figure title.
    pub title: String,
    /// The configuration (anchors, assigner).
    pub config: &'a Config,
    /// The inputs (targets; predictions give the grids).
    pub inputs: &'a Inputs,
    /// The evaluation of the inputs.
    pub eval: &'a Evaluation,
    /// Which image.
    pub image: usize,
}

/// `v` as an integer label, or no label where `v` is not an integer (a tick between cells).
fn integer_label(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        String::new()
    }
}

/// `text` cut to at most `max` characters at a word boundary, with `...` when cut.
fn cut_at_word(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max).collect();
    let cut = head.rfind(' ').filter(|&i| i > 0).unwrap_or(head.len());
    format!("{}...", head[..cut].trim_end_matches([' ', ',', ';', ':']))
}

const PANEL: u32 = 350;
/// Most panels (layers x anchors) of one tobj figure (5 layers of 8 anchors).
const MAX_PANELS: usize = 40;
const LEGEND: u32 = 300;

impl Figure for TobjFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let nl = self.eval.layers.len() as u32;
        let na = self.config.na() as u32;
        (nl * PANEL + LEGEND, na * PANEL + 56)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(e2s)?;
        let root = root.titled(&self.title, (FAMILY, 22)).map_err(e2s)?;
        let nl = self.eval.layers.len();
        let na = self.config.na();
        let (panels, legend) = root.split_horizontally((nl as u32 * PANEL) as i32);
        let cells = panels.split_evenly((na, nl));
        for a in 0..na {
            for l in 0..nl {
                self.panel(&cells[a * nl + l], l, a)?;
            }
        }
        self.legend(&legend)
    }
}

impl TobjFigure<'_> {
    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        l: usize,
        a: usize,
    ) -> std::result::Result<(), String> {
        let layer = &self.eval.layers[l];
        let (_, _, ny, nx) = layer.tobj.dim();
        let plane = layer.tobj.slice(ndarray::s![self.image, a, .., ..]);
        let plane = plane.as_standard_layout();
        let counts = Counts::of_cells(plane.as_slice().unwrap_or(&[]), self.config.assigner);
        let (pos, soft) = (counts.positive, counts.soft);
        let assigner = self.config.assigner;
        let caption = format!("layer {l}, anchor {a}: {pos} positive, {soft} soft");
        let (fny, fnx) = (ny as f64, nx as f64);
        let mut chart = ChartBuilder::on(area)
            .caption(caption, (FAMILY, 15))
            .margin(8)
            .x_label_area_size(26)
            .y_label_area_size(34)
            .build_cartesian_2d(0f64..fnx, 0f64..fny)
            .map_err(e2s)?;
        // Ticks at cell boundaries only: at most one per boundary on small grids, and no label
        // where plotters puts a tick between two boundaries.
        let flip = move |v: &f64| integer_label(fny - v);
        chart
            .configure_mesh()
            .disable_mesh()
            .x_labels((nx + 1).min(5))
            .y_labels((ny + 1).min(5))
            .x_label_formatter(&|v| integer_label(*v))
            .y_label_formatter(&flip)
            .label_style((FAMILY, 12))
            .draw()
            .map_err(e2s)?;
        chart.plotting_area().fill(&NEGATIVE).map_err(e2s)?;
        // Grid row j is drawn from the top: y = ny - j.
        let rects = plane.indexed_iter().filter_map(|((j, i), &t)| {
            let colour = match CellClass::of(t, assigner) {
                CellClass::Negative => return None,
                CellClass::Positive => POSITIVE,
                CellClass::Soft => viridis(t),
            };
            let (x, y) = (i as f64, fny - j as f64);
            Some(Rectangle::new(
                [(x, y), (x + 1.0, y - 1.0)],
                colour.filled(),
            ))
        });
        chart.draw_series(rects).map_err(e2s)?;

        // Boxes: the image's targets in grey, the rows of this layer and anchor in black.
        let clip = |gx: f64, gy: f64, gw: f64, gh: f64| {
            let (x0, x1) = ((gx - gw / 2.0).max(0.0), (gx + gw / 2.0).min(fnx));
            let (y0, y1) = ((gy - gh / 2.0).max(0.0), (gy + gh / 2.0).min(fny));
            (x0 < x1 && y0 < y1).then_some([(x0, fny - y0), (x1, fny - y1)])
        };
        let t = &self.inputs.targets;
        let others = t
            .outer_iter()
            .filter(|r| r[0] as usize == self.image)
            .filter_map(|r| clip(r[2] * fnx, r[3] * fny, r[4] * fnx, r[5] * fny))
            .map(|c| Rectangle::new(c, OTHER_BOX.stroke_width(1)));
        chart.draw_series(others).map_err(e2s)?;
        let mut seen: Vec<[f64; 4]> = Vec::new();
        for r in &layer.rows {
            if r.b == self.image && r.a == a && !seen.contains(&r.gxywh) {
                seen.push(r.gxywh);
            }
        }
        let matched = seen
            .iter()
            .filter_map(|g| clip(g[0], g[1], g[2], g[3]))
            .map(|c| Rectangle::new(c, BLACK.stroke_width(2)));
        chart.draw_series(matched).map_err(e2s)?;
        Ok(())
    }

    fn legend<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let area = area.margin(30, 10, 16, 10);
        let font = (FAMILY, 15).into_font();
        let head = (FAMILY, 17).into_font();
        let positive = if self.config.assigner == Assigner::Soft {
            "positive: t = 1"
        } else {
            "positive: t > 0 (IoU)"
        };
        let mut y = 0;
        area.draw(&Text::new("cell classes", (0, y), head.clone()))
            .map_err(e2s)?;
        y += 30;
        for (colour, label) in [(POSITIVE, positive), (NEGATIVE, "negative: t = 0")] {
            area.draw(&Rectangle::new([(0, y), (22, y + 18)], colour.filled()))
                .map_err(e2s)?;
            area.draw(&Rectangle::new(
                [(0, y), (22, y + 18)],
                BLACK.stroke_width(1),
            ))
            .map_err(e2s)?;
            area.draw(&Text::new(label, (32, y + 1), font.clone()))
                .map_err(e2s)?;
            y += 28;
        }
        area.draw(&Text::new(
            "soft: 0 < t < 1, colour by t",
            (0, y + 4),
            font.clone(),
        ))
        .map_err(e2s)?;
        y += 28;
        for (style, label) in [
            (BLACK.stroke_width(3), "box matched to this"),
            (OTHER_BOX.stroke_width(2), "other box of the image"),
        ] {
            area.draw(&PathElement::new(vec![(0, y + 9), (22, y + 9)], style))
                .map_err(e2s)?;
            area.draw(&Text::new(label, (32, y + 1), font.clone()))
                .map_err(e2s)?;
            y += 20;
            if label.starts_with("box matched") {
                area.draw(&Text::new("layer and anchor", (32, y + 1), font.clone()))
                    .map_err(e2s)?;
                y += 24;
            }
        }
        let (w, h) = area.dim_in_pixel();
        let bar_h = (h as i32 - y - 20).clamp(120, 360);
        let bar = area.clone().shrink((0, y + 16), (w.min(150), bar_h as u32));
        let mut chart = ChartBuilder::on(&bar)
            .caption("soft target t", (FAMILY, 15))
            .margin(4)
            .y_label_area_size(44)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(e2s)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .disable_x_axis()
            .y_labels(6)
            .y_label_formatter(&|v| format!("{v:.1}"))
            .label_style((FAMILY, 13))
            .draw()
            .map_err(e2s)?;
        let steps = 100;
        chart
            .draw_series((0..steps).map(|k| {
                let (t0, t1) = (k as f64 / steps as f64, (k + 1) as f64 / steps as f64);
                Rectangle::new([(0.0, t0), (1.0, t1)], viridis((t0 + t1) / 2.0).filled())
            }))
            .map_err(e2s)?;
        Ok(())
    }
}

/// Writes `tobj-image{b}.png` / `.svg` into `out` for the first `images` images of `case`, or of
/// the embedded default batch (16 images of 640x640, 80 classes, 8 boxes each) when `None`.
///
/// # Errors
/// [`Error::Io`] when a file cannot be written; the case's evaluation errors.
pub fn tobj_figures(out: &Path, case: Option<&Case>, images: usize) -> Result<Vec<PathBuf>> {
    let owned;
    let (name, config, inputs) = match case {
        Some(c) => (
            if c.name.is_empty() {
                "the case".to_string()
            } else {
                c.name.clone()
            },
            &c.config,
            &c.inputs,
        ),
        None => {
            let w = DefaultBatch::standard(8);
            owned = w.build()?;
            (
                format!(
                    "the default batch ({} images {}x{}, seed {:#x})",
                    w.batch, w.width, w.height, w.seed
                ),
                &owned.0,
                &owned.1,
            )
        }
    };
    let panels = config.nl() * config.na();
    if panels > MAX_PANELS {
        return Err(Error::invalid(
            "plot",
            format!("{} layers x {} anchors", config.nl(), config.na()),
            format!("a tobj figure draws at most {MAX_PANELS} panels (layers x anchors)"),
        ));
    }
    let eval = evaluate(config, inputs, &EvalOptions::default())?;
    let bs = inputs.batch_size();
    if images == 0 {
        return Err(Error::invalid("plot.images", 0, "must be at least 1"));
    }
    let mut files = Vec::new();
    for image in 0..images.min(bs) {
        let fig = TobjFigure {
            title: format!(
                "Objectness targets of image {image} of {}",
                cut_at_word(&name, 90)
            ),
            config,
            inputs,
            eval: &eval,
            image,
        };
        files.extend(save(&fig, &out.join(format!("tobj-image{image}")))?);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_only_at_cell_boundaries() {
        let labels: Vec<String> = [0.0, 0.5, 1.0, 1.5, 2.0].map(integer_label).to_vec();
        assert_eq!(labels, ["0", "", "1", "", "2"]);
    }

    #[test]
    fn titles_are_cut_between_words() {
        assert_eq!(cut_at_word("short name", 90), "short name");
        let long =
            "random-003 (seed 7, 64x64, batch 2): soft, gaussian sigma 0.5, cell_index distance";
        let cut = cut_at_word(long, 40);
        assert_eq!(cut, "random-003 (seed 7, 64x64, batch 2)...");
        assert!(long.starts_with(cut.trim_end_matches("...")));
        assert_eq!(
            cut_at_word(&"x".repeat(50), 10),
            format!("{}...", "x".repeat(10))
        );
    }
}
