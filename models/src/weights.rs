//! Reading and writing a model directory: `flight_delay.json` + `flight_delay.safetensors`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};

use crate::error::ModelError;
use crate::metadata::{ModelMetadata, FORMAT_VERSION, METADATA_FILE, WEIGHTS_FILE};
use crate::model::Layer;

/// Reads and cross-checks the metadata and the weights in `dir` (shape checks included).
pub(crate) fn load_dir(dir: &Path) -> Result<(ModelMetadata, Vec<Layer>), ModelError> {
    if !dir.is_dir() {
        return Err(ModelError::MissingFile {
            path: dir.to_path_buf(),
        });
    }
    let meta_path = dir.join(METADATA_FILE);
    let text = std::fs::read_to_string(&meta_path).map_err(|e| ModelError::io(&meta_path, e))?;
    let meta_err = |source| ModelError::Metadata {
        path: meta_path.clone(),
        source,
    };
    let value: serde_json::Value = serde_json::from_str(&text).map_err(meta_err)?;
    let found = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    if found != Some(u64::from(FORMAT_VERSION)) {
        return Err(ModelError::UnsupportedVersion {
            found: found.map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX)),
            supported: FORMAT_VERSION,
        });
    }
    let meta: ModelMetadata = serde_json::from_value(value).map_err(meta_err)?;
    let weights_path = dir.join(WEIGHTS_FILE);
    let bytes = std::fs::read(&weights_path).map_err(|e| ModelError::io(&weights_path, e))?;
    let layers = read_layers(&bytes, &weights_path, &meta.layer_sizes)?;
    Ok((meta, layers))
}

/// Writes `meta` and `layers` into `dir` (created if needed).
pub(crate) fn save_dir(
    dir: &Path,
    meta: &ModelMetadata,
    layers: &[Layer],
) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let meta_path = dir.join(METADATA_FILE);
    let json = serde_json::to_string_pretty(meta).map_err(|source| ModelError::Metadata {
        path: meta_path.clone(),
        source,
    })?;
    std::fs::write(&meta_path, json + "\n").map_err(|e| ModelError::io(&meta_path, e))?;
    let mut tensors = HashMap::new();
    for (i, l) in layers.iter().enumerate() {
        tensors.insert(format!("layer{i}.weight"), l.weight.clone());
        tensors.insert(format!("layer{i}.bias"), l.bias.clone());
    }
    candle_core::safetensors::save(&tensors, dir.join(WEIGHTS_FILE))?;
    Ok(())
}

/// Parses the safetensors bytes into layers of the given sizes.
fn read_layers(bytes: &[u8], path: &Path, sizes: &[usize]) -> Result<Vec<Layer>, ModelError> {
    let corrupt = |reason: String| ModelError::CorruptWeights {
        path: PathBuf::from(path),
        reason,
    };
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| corrupt(e.to_string()))?;
    let n_layers = sizes.len().saturating_sub(1);
    if st.len() != 2 * n_layers {
        return Err(ModelError::Mismatch(format!(
            "weights file has {} tensors, metadata describes {n_layers} layers",
            st.len()
        )));
    }
    let get = |name: String, shape: &[usize]| -> Result<Tensor, ModelError> {
        let view = st
            .tensor(&name)
            .map_err(|_| ModelError::Mismatch(format!("tensor {name} missing from weights")))?;
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(corrupt(format!(
                "tensor {name} has dtype {:?}, not F32",
                view.dtype()
            )));
        }
        if view.shape() != shape {
            return Err(ModelError::Mismatch(format!(
                "tensor {name} has shape {:?}, metadata expects {shape:?}",
                view.shape()
            )));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Tensor::from_vec(data, shape, &Device::Cpu)?)
    };
    (0..n_layers)
        .map(|i| {
            Ok(Layer {
                weight: get(format!("layer{i}.weight"), &[sizes[i], sizes[i + 1]])?,
                bias: get(format!("layer{i}.bias"), &[sizes[i + 1]])?,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::testutil::{quick_model, synthetic_flights};
    use crate::ModelKind;

    fn temp_dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("weir-models-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn saved(name: &str) -> (Model, PathBuf) {
        let m = quick_model(ModelKind::Mlp);
        let dir = temp_dir(name);
        m.save(&dir).unwrap();
        (m, dir)
    }

    fn edit_metadata(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
        let p = dir.join(METADATA_FILE);
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&p, v.to_string()).unwrap();
    }

    #[test]
    fn save_load_roundtrip_predicts_the_same() {
        let (m, dir) = saved("roundtrip");
        let loaded = Model::load(&dir).unwrap();
        let (a, b) = (loaded.metadata(), m.metadata());
        assert_eq!(
            (
                a.kind,
                &a.layer_sizes,
                a.threshold,
                &a.features,
                &a.feature_names,
                &a.training
            ),
            (
                b.kind,
                &b.layer_sizes,
                b.threshold,
                &b.features,
                &b.feature_names,
                &b.training
            )
        );
        let (ta, tb) = (a.test_metrics.unwrap(), b.test_metrics.unwrap());
        assert_eq!(
            (ta.tp, ta.fp, ta.tn, ta.r#fn),
            (tb.tp, tb.fp, tb.tn, tb.r#fn)
        );
        assert!((ta.auc - tb.auc).abs() < 1e-12);
        let flights = synthetic_flights(50, 9);
        assert_eq!(
            loaded.predict_batch(&flights).unwrap(),
            m.predict_batch(&flights).unwrap()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_directory_is_reported() {
        let r = Model::load(Path::new("/definitely/not/a/model/dir"));
        assert!(
            matches!(&r, Err(ModelError::MissingFile { path }) if path.ends_with("dir")),
            "{r:?}"
        );
        let empty = temp_dir("empty");
        let r = Model::load(&empty);
        assert!(
            matches!(&r, Err(ModelError::MissingFile { path }) if path.ends_with(METADATA_FILE)),
            "{r:?}"
        );
        std::fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn wrong_tensors_in_weights_file_are_reported() {
        let (m, dir) = saved("tensors");
        let mut layers = m.layers().to_vec();
        layers[1].weight = Tensor::zeros((3, 1), candle_core::DType::F32, &Device::Cpu).unwrap();
        save_dir(&dir, m.metadata(), &layers).unwrap();
        let r = Model::load(&dir);
        assert!(
            matches!(&r, Err(ModelError::Mismatch(msg)) if msg.contains("layer1.weight")),
            "{r:?}"
        );
        save_dir(&dir, m.metadata(), &layers[..1]).unwrap();
        assert!(matches!(Model::load(&dir), Err(ModelError::Mismatch(_))));
        layers = m.layers().to_vec();
        layers[0].bias = layers[0].bias.to_dtype(candle_core::DType::F16).unwrap();
        save_dir(&dir, m.metadata(), &layers).unwrap();
        assert!(matches!(
            Model::load(&dir),
            Err(ModelError::CorruptWeights { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_weights_file_is_reported() {
        let (_, dir) = saved("noweights");
        std::fs::remove_file(dir.join(WEIGHTS_FILE)).unwrap();
        let r = Model::load(&dir);
        assert!(
            matches!(&r, Err(ModelError::MissingFile { path }) if path.ends_with(WEIGHTS_FILE)),
            "{r:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn corrupt_files_are_reported() {
        let (_, dir) = saved("corrupt");
        std::fs::write(
            dir.join(WEIGHTS_FILE),
            b"\x10\x00\x00\x00\x00\x00\x00\x00not json",
        )
        .unwrap();
        assert!(matches!(
            Model::load(&dir),
            Err(ModelError::CorruptWeights { .. })
        ));
        std::fs::write(dir.join(METADATA_FILE), "{ not json").unwrap();
        assert!(matches!(
            Model::load(&dir),
            Err(ModelError::Metadata { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unsupported_version_is_reported() {
        let (_, dir) = saved("version");
        edit_metadata(&dir, |v| v["format_version"] = 99.into());
        let r = Model::load(&dir);
        assert!(
            matches!(
                r,
                Err(ModelError::UnsupportedVersion {
                    found: 99,
                    supported: 1
                })
            ),
            "{r:?}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn metadata_weight_mismatches_are_reported() {
        let (m, dir) = saved("mismatch");
        // Feature spec with one more destination: feature count no longer matches.
        edit_metadata(&dir, |v| {
            v["features"]["destinations"]
                .as_array_mut()
                .unwrap()
                .push("XYZ".into());
        });
        assert!(matches!(Model::load(&dir), Err(ModelError::Mismatch(_))));
        // Hidden width in the metadata differs from the tensors' shapes.
        m.save(&dir).unwrap();
        edit_metadata(&dir, |v| v["layer_sizes"][1] = 9.into());
        let r = Model::load(&dir);
        assert!(
            matches!(&r, Err(ModelError::Mismatch(msg)) if msg.contains("shape")),
            "{r:?}"
        );
        // Kind says logistic but there are two layers.
        m.save(&dir).unwrap();
        edit_metadata(&dir, |v| v["kind"] = "logistic".into());
        assert!(matches!(Model::load(&dir), Err(ModelError::Mismatch(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
