//! What `softobj bench` times: the default batch (or a case file), and `--dump`, which writes
//! it with the oracle's outputs for `bench/vs_pytorch.py`.

use std::path::Path;

use ndarray::{Array2, ArrayD};
use serde_json::{Value, json};
use soft_objectness::default_batch::DefaultBatch;
use soft_objectness::{
    Assigner, Case, Config, Error, EvalOptions, Grid, Inputs, Limits, Prediction, Result,
    SoftBuilder, build_targets, evaluate, npy,
};

use super::Args;

/// The batch timed: its description, configuration (soft assigner) and inputs, validated.
pub struct Batch {
    pub name: String,
    pub config: Config,
    pub inputs: Inputs,
}

impl Batch {
    /// The case of `--case`, or the default batch of `--boxes` and `--size`; widened to f64
    /// with `--f64`.
    pub fn of(args: &Args) -> Result<Batch> {
        let (name, config, mut inputs) = match &args.case {
            Some(path) => {
                let case = Case::load(path, &Limits::default())?;
                (format!("case {}", path.display()), case.config, case.inputs)
            }
            None => {
                let b = DefaultBatch {
                    width: args.size,
                    height: args.size,
                    ..DefaultBatch::standard(args.boxes)
                };
                let (config, inputs) = b.build()?;
                let name = format!(
                    "default batch: {} images {}x{}, {} classes, {} boxes/image (seed {:#x})",
                    b.batch, b.width, b.height, b.nc, b.boxes_per_image, b.seed
                );
                (name, config, inputs)
            }
        };
        if args.f64 {
            for p in &mut inputs.predictions {
                *p = Prediction::F64(p.to_f64());
            }
        }
        config.validate()?;
        inputs.validate(&config)?;
        Ok(Batch {
            name,
            config,
            inputs,
        })
    }

    /// The configuration with the soft assigner (what the stages time).
    pub fn soft(&self) -> Config {
        Config {
            assigner: Assigner::Soft,
            ..self.config.clone()
        }
    }

    /// Bytes of the prediction arrays.
    pub fn prediction_bytes(&self) -> usize {
        self.inputs
            .predictions
            .iter()
            .map(|p| match p {
                Prediction::F32(a) => a.len() * 4,
                Prediction::F64(a) => a.len() * 8,
            })
            .sum()
    }

    /// `f32` or `f64`: the predictions' element type.
    pub fn dtype(&self) -> &'static str {
        match self.inputs.predictions.first() {
            Some(Prediction::F64(_)) => "f64",
            _ => "f32",
        }
    }

    /// Writes the inputs as a case with `.npy` arrays (`case.json`) and the oracle's outputs
    /// beside it (`oracle.json`: the soft assigner's targets, losses and objectness gradient;
    /// the YOLOv5 assigner's rows).
    pub fn dump(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let soft = self.soft();
        write_case(dir, &self.name, &soft, &self.inputs)?;
        let e = evaluate(&soft, &self.inputs, &EvalOptions::default())?;
        let mut tobj_files = Vec::new();
        let mut grad_files = Vec::new();
        for (l, layer) in e.layers.iter().enumerate() {
            let file = format!("tobj{l}.npy");
            npy::write(&dir.join(&file), &layer.tobj.clone().into_dyn())?;
            tobj_files.push(file);
            let file = format!("grad_obj{l}.npy");
            npy::write(&dir.join(&file), &e.grad.obj[l].clone().into_dyn())?;
            grad_files.push(file);
        }
        let row_files = self.write_yolov5_rows(dir)?;
        let oracle = json!({
            "loss": e.loss, "lbox": e.lbox, "lobj": e.lobj, "lcls": e.lcls,
            "hard_loss": e.layers.iter().map(|l| l.hard_loss).collect::<Vec<_>>(),
            "soft_loss": e.layers.iter().map(|l| l.soft_loss).collect::<Vec<_>>(),
            "counts": e.layers.iter().map(|l| l.counts).collect::<Vec<_>>(),
            "tobj": tobj_files,
            "grad_obj": grad_files,
            "yolov5_rows": row_files,
            "yolov5_row_columns": ["b", "a", "gj", "gi", "tx", "ty", "tw", "th", "class"],
        });
        write_json(&dir.join("oracle.json"), &oracle)
    }

    /// The YOLOv5 assigner's rows of each layer as `yolov5_rows{l}.npy`, one row of nine
    /// columns (`b a gj gi tx ty tw th class`) per row; returns the file names.
    fn write_yolov5_rows(&self, dir: &Path) -> Result<Vec<String>> {
        let yolov5 = Config {
            assigner: Assigner::Yolov5,
            ..self.config.clone()
        };
        let grids = Grid::of(&yolov5, &self.inputs.view());
        let layers = build_targets(
            &yolov5,
            self.inputs.targets.view(),
            &grids,
            SoftBuilder::Vectorised,
        )?;
        let mut files = Vec::new();
        for (l, t) in layers.iter().enumerate() {
            let mut a = Array2::<f64>::zeros((t.rows.len(), 9));
            for (k, r) in t.rows.iter().enumerate() {
                let [tx, ty, tw, th] = r.tbox();
                let v = [
                    r.b as f64,
                    r.a as f64,
                    r.gj as f64,
                    r.gi as f64,
                    tx,
                    ty,
                    tw,
                    th,
                    r.class as f64,
                ];
                for (c, x) in v.into_iter().enumerate() {
                    a[[k, c]] = x;
                }
            }
            let file = format!("yolov5_rows{l}.npy");
            let a: ArrayD<f64> = a.into_dyn();
            npy::write(&dir.join(&file), &a)?;
            files.push(file);
        }
        Ok(files)
    }
}

/// `case.json` with the targets and every prediction layer as `.npy` files beside it.
fn write_case(dir: &Path, name: &str, config: &Config, inputs: &Inputs) -> Result<()> {
    npy::write(&dir.join("targets.npy"), &inputs.targets.clone().into_dyn())?;
    let mut preds = Vec::new();
    for (l, p) in inputs.predictions.iter().enumerate() {
        let file = format!("pred{l}.npy");
        match p {
            Prediction::F32(a) => npy::write(&dir.join(&file), &a.clone().into_dyn())?,
            Prediction::F64(a) => npy::write(&dir.join(&file), &a.clone().into_dyn())?,
        }
        preds.push(json!({"npy": file}));
    }
    let case = json!({
        "format": Case::FORMAT,
        "name": name,
        "config": config.to_json(),
        "inputs": {"targets": {"npy": "targets.npy"}, "predictions": preds},
    });
    write_json(&dir.join("case.json"), &case)
}

fn write_json(path: &Path, v: &Value) -> Result<()> {
    let text = serde_json::to_string_pretty(v).map_err(Error::from)?;
    std::fs::write(path, text).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })
}
