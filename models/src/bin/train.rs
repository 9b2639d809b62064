//! `train`: fits the flight-delay classifier on months 1-9, evaluates on months 10-12 and
//! writes `flight_delay.safetensors` + `flight_delay.json`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use weir_models::data::read_months;
use weir_models::metadata::AlternativeModel;
use weir_models::train::{train_model, TrainConfig};
use weir_models::{Model, ModelError, ModelKind};

/// Which model(s) to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Choice {
    /// Train both, ship the one with the better validation AUC.
    Auto,
    /// Logistic regression only.
    Logistic,
    /// MLP only.
    Mlp,
}

/// Train the flight-delay classifier.
#[derive(Debug, Parser)]
#[command(name = "train")]
struct Args {
    /// Directory with flight-2013-MM.csv.gz (default: `data`, else the workspace's data/).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory (default: `models`, else this crate's directory).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Model kind to train and ship.
    #[arg(long, value_enum, default_value_t = Choice::Auto)]
    model: Choice,
    /// Random seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Override the number of epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Override the peak learning rate.
    #[arg(long)]
    lr: Option<f64>,
    /// Override the weight decay.
    #[arg(long)]
    weight_decay: Option<f64>,
    /// Override the mini-batch size.
    #[arg(long)]
    batch_size: Option<usize>,
    /// Override the number of MLPs averaged into the shipped MLP.
    #[arg(long)]
    ensemble: Option<usize>,
    /// Override the MLP hidden widths, e.g. `64` or `64,32`.
    #[arg(long, value_delimiter = ',')]
    hidden: Option<Vec<usize>>,
}

/// The workspace root, from this crate's manifest directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn default_dirs() -> (PathBuf, PathBuf) {
    if Path::new("data").is_dir() {
        (PathBuf::from("data"), PathBuf::from("models"))
    } else {
        let root = workspace_root();
        (root.join("data"), root.join("models"))
    }
}

fn config(kind: ModelKind, args: &Args) -> TrainConfig {
    let mut cfg = TrainConfig::new(kind, args.seed);
    if let Some(e) = args.epochs {
        cfg.epochs = e;
    }
    if let Some(v) = args.lr {
        cfg.learning_rate = v;
    }
    if let Some(v) = args.weight_decay {
        cfg.weight_decay = v;
    }
    if let Some(v) = args.batch_size {
        cfg.batch_size = v;
    }
    if kind == ModelKind::Mlp {
        if let Some(h) = &args.hidden {
            cfg.hidden.clone_from(h);
        }
        if let Some(k) = args.ensemble {
            cfg.ensemble = k;
        }
    }
    cfg
}

fn print_model(m: &Model, secs: f64) {
    let meta = m.metadata();
    println!(
        "== {:?} {:?}: trained in {secs:.1}s, threshold {:.3} (chosen on validation slice)",
        meta.kind, meta.layer_sizes, meta.threshold
    );
    if let Some(v) = &meta.validation_metrics {
        println!(
            "validation (random {} flights of months 1-9):\n{}",
            v.count,
            v.report()
        );
    }
    if let Some(t) = &meta.test_metrics {
        println!("held-out test (months 10-12):\n{}", t.report());
    }
}

fn run(args: &Args) -> Result<(), ModelError> {
    let (default_data, default_out) = default_dirs();
    let data = args.data.clone().unwrap_or(default_data);
    let out = args.out.clone().unwrap_or(default_out);
    let train_months: Vec<u32> = (1..=9).collect();
    let test_months: Vec<u32> = (10..=12).collect();
    let t0 = Instant::now();
    let train = read_months(&data, &train_months)?;
    let test = read_months(&data, &test_months)?;
    println!(
        "read {} training and {} test flights from {} in {:.1}s",
        train.len(),
        test.len(),
        data.display(),
        t0.elapsed().as_secs_f64()
    );
    let kinds = match args.model {
        Choice::Auto => vec![ModelKind::Logistic, ModelKind::Mlp],
        Choice::Logistic => vec![ModelKind::Logistic],
        Choice::Mlp => vec![ModelKind::Mlp],
    };
    let mut models = Vec::new();
    for kind in kinds {
        let t = Instant::now();
        let cfg = config(kind, args);
        let m = train_model(
            &train,
            &test,
            &cfg,
            (train_months.clone(), test_months.clone()),
        )?;
        print_model(&m, t.elapsed().as_secs_f64());
        models.push(m);
    }
    let val_auc = |m: &Model| m.metadata().validation_metrics.map_or(0.0, |v| v.auc);
    models.sort_by(|a, b| val_auc(b).total_cmp(&val_auc(a)));
    let mut models = models.into_iter();
    let mut best = models
        .next()
        .ok_or_else(|| ModelError::InvalidArgument("no model trained".into()))?;
    if let Some(alt) = models.next() {
        let a = alt.metadata();
        best.set_alternative(Some(AlternativeModel {
            kind: a.kind,
            layer_sizes: a.layer_sizes.clone(),
            threshold: a.threshold,
            test_metrics: a.test_metrics,
        }));
    }
    best.save(&out)?;
    let meta = best.metadata();
    println!(
        "shipped {:?} {:?} (best validation AUC) to {}",
        meta.kind,
        meta.layer_sizes,
        out.display()
    );
    if let Some(t) = &meta.test_metrics {
        println!(
            "FINAL held-out months 10-12: accuracy={:.4} auc={:.4} precision={:.4} recall={:.4}",
            t.accuracy, t.auc, t.precision, t.recall
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("train: {e}");
            ExitCode::FAILURE
        }
    }
}
