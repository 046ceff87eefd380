//! The score and soft-loss curves.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::figure::{FAMILY, Figure, PALETTE, e2s, save};
use crate::assign::score::score;
use crate::config::{Score, SoftLoss};
use crate::error::Result;
use crate::loss::soft::soft_element;

const SKIPPED: RGBColor = RGBColor(225, 225, 225);

/// A chart of two f64 axes.
type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The frame of a panel: its caption's size, margin, and the sizes of its axis label areas.
struct Frame {
    caption: u32,
    margin: u32,
    x_labels: u32,
    y_labels: u32,
}

/// A panel on `area`: the caption, axes over `x` and `y` described by `desc` (x, y), and a
/// light mesh.
fn panel<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    frame: &Frame,
    (x, y): (Range<f64>, Range<f64>),
    desc: (&str, &str),
) -> std::result::Result<Chart<'a, DB>, String> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FAMILY, frame.caption))
        .margin(frame.margin)
        .x_label_area_size(frame.x_labels)
        .y_label_area_size(frame.y_labels)
        .build_cartesian_2d(x, y)
        .map_err(e2s)?;
    chart
        .configure_mesh()
        .x_desc(desc.0)
        .y_desc(desc.1)
        .axis_desc_style((FAMILY, 18))
        .label_style((FAMILY, 15))
        .light_line_style(RGBColor(240, 240, 240))
        .draw()
        .map_err(e2s)?;
    Ok(chart)
}

/// A curve through `pts` in colour `c`, with its legend entry `label`.
fn curve<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    pts: impl IntoIterator<Item = (f64, f64)>,
    c: RGBColor,
    label: String,
) -> std::result::Result<(), String> {
    chart
        .draw_series(LineSeries::new(pts, c.stroke_width(3)))
        .map_err(e2s)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], c.stroke_width(3)));
    Ok(())
}

/// The legend of `chart` at `position`, in text of size `size`.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut Chart<'a, DB>,
    position: SeriesLabelPosition,
    size: u32,
) -> std::result::Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .label_font((FAMILY, size))
        .draw()
        .map_err(e2s)
}

/// The frame of the score figure's panels.
const SCORE_FRAME: Frame = Frame {
    caption: 21,
    margin: 18,
    x_labels: 52,
    y_labels: 64,
};

/// The axes' descriptions of the score figure's panels.
const SCORE_AXES: (&str, &str) = (
    "normalised distance d (0 = centre, 1 = box edge)",
    "score (objectness target)",
);

struct ScoreFigure;

impl Figure for ScoreFigure {
    fn size(&self) -> (u32, u32) {
        (1400, 560)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(e2s)?;
        let root = root
            .titled(
                "Soft objectness target of a cell at normalised distance d from the box centre",
                (FAMILY, 26),
            )
            .map_err(e2s)?;
        let (w, _) = root.dim_in_pixel();
        let (left, right) = root.split_horizontally(w / 2);
        power_panel(&left)?;
        gaussian_panel(&right)
    }
}

/// The power score for n = 2, 4, 6, 10, with the skipped region `d > 2` shaded.
fn power_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> std::result::Result<(), String> {
    let title = "power score: (d - 1)^n, n even";
    let mut chart = panel(area, title, &SCORE_FRAME, (0.0..3.0, 0.0..1.05), SCORE_AXES)?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(2.0, 0.0), (3.0, 1.05)],
            SKIPPED.filled(),
        )))
        .map_err(e2s)?
        .label("d > 2: cell skipped (score > 1)")
        .legend(|(x, y)| Rectangle::new([(x, y - 7), (x + 22, y + 7)], SKIPPED.filled()));
    for (k, n) in [2u32, 4, 6, 10].into_iter().enumerate() {
        let pts = (0..=160).filter_map(|i| {
            let d = 2.0 * i as f64 / 160.0;
            score(Score::Power { n }, d).map(|s| (d, s))
        });
        curve(&mut chart, pts, PALETTE[k], format!("n = {n}"))?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 16)
}

/// The Gaussian score for sigma = 0.25, 0.5, 1, 2.
fn gaussian_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> std::result::Result<(), String> {
    let title = "gaussian score: exp(-d^2 / (2 sigma^2))";
    let mut chart = panel(area, title, &SCORE_FRAME, (0.0..3.0, 0.0..1.05), SCORE_AXES)?;
    for (k, sigma) in [0.25, 0.5, 1.0, 2.0].into_iter().enumerate() {
        let pts = (0..=160).filter_map(|i| {
            let d = 3.0 * i as f64 / 160.0;
            score(Score::Gaussian { sigma }, d).map(|s| (d, s))
        });
        let label = if sigma == 1.0 {
            "sigma = 1 (default)".to_string()
        } else {
            format!("sigma = {sigma}")
        };
        curve(&mut chart, pts, PALETTE[k], label)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight, 16)
}

/// Writes the score figure (`STEM.png`, `STEM.svg`): the power score `(d - 1)^n` for
/// n = 2, 4, 6, 10 with the skipped region `d > 2`, and the Gaussian score for
/// sigma = 0.25, 0.5, 1, 2, both computed by [`crate::assign::score::score`].
///
/// # Errors
/// [`crate::Error::Io`] when a file cannot be written.
pub fn score_figure(stem: &Path) -> Result<Vec<PathBuf>> {
    save(&ScoreFigure, stem)
}

struct LossFigure;

const TARGETS: [f64; 5] = [0.1, 0.3, 0.5, 0.7, 0.9];

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

impl Figure for LossFigure {
    fn size(&self) -> (u32, u32) {
        (1500, 540)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(e2s)?;
        let root = root
            .titled(
                "Losses on soft cells (0 < t < 1) as functions of the predicted objectness p = sigmoid(x)",
                (FAMILY, 26),
            )
            .map_err(e2s)?;
        let panels = root.split_evenly((1, 3));
        let kinds = [
            (
                SoftLoss::Loss1 { gamma: 1.0 },
                "loss1 (gamma 1): -(1 - t) ln(1 - p)",
            ),
            (SoftLoss::Loss2, "loss2: BCE(t, p) - BCE(t, t)"),
            (SoftLoss::Loss3, "loss3: (1 - t) loss2"),
        ];
        for (area, (kind, title)) in panels.iter().zip(kinds) {
            loss_panel(area, kind, title)?;
        }
        Ok(())
    }
}

/// One soft loss as a function of `p` for each of [`TARGETS`]; for loss2 and loss3 a dot where
/// `p` equals the target.
fn loss_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    kind: SoftLoss,
    title: &str,
) -> std::result::Result<(), String> {
    // Denser near 0 and 1, where the losses are steep.
    let ps: Vec<f64> = (1..400)
        .map(|i| {
            let u = i as f64 / 400.0;
            u - (2.0 * std::f64::consts::PI * u).sin() / (2.0 * std::f64::consts::PI) * 0.9
        })
        .collect();
    let y_max = 5.0;
    let frame = Frame {
        caption: 20,
        margin: 16,
        x_labels: 50,
        y_labels: 56,
    };
    let axes = ("predicted probability p", "element loss");
    let mut chart = panel(area, title, &frame, (0.0..1.0, 0.0..y_max), axes)?;
    for (k, t) in TARGETS.into_iter().enumerate() {
        let c = PALETTE[k];
        let pts: Vec<(f64, f64)> = ps
            .iter()
            .map(|&p| (p, soft_element(kind, logit(p), t).0))
            .filter(|&(_, l)| l <= y_max)
            .collect();
        curve(&mut chart, pts, c, format!("target t = {t}"))?;
        if kind != (SoftLoss::Loss1 { gamma: 1.0 }) {
            // loss2 and loss3 vanish (up to the 1e-6 guards) where p equals the target.
            chart
                .draw_series(std::iter::once(Circle::new(
                    (t, soft_element(kind, logit(t), t).0),
                    5,
                    c.filled(),
                )))
                .map_err(e2s)?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperMiddle, 15)
}

/// Writes the soft-loss figure (`STEM.png`, `STEM.svg`): loss1 (gamma 1), loss2 and loss3 as
/// functions of `p` for targets 0.1 to 0.9, computed by [`crate::loss::soft::soft_element`];
/// dots mark `p = t`, where loss2 and loss3 vanish.
///
/// # Errors
/// [`crate::Error::Io`] when a file cannot be written.
pub fn loss_figure(stem: &Path) -> Result<Vec<PathBuf>> {
    save(&LossFigure, stem)
}
