//! The repository's root, fresh scratch directories, JSON-lines outputs and the clock, as the
//! examples' tests use them.
#![allow(clippy::panic)]

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository's root (the workspace directory holding `examples/`, `data/`, `scripts/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An empty directory `weir-NAME-PID` under the system's temporary directory: whatever an
/// earlier run of the same process id left there is removed first.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// Every line of a JSON-lines file, parsed.
pub fn jsonl(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{} line {}: {e}", path.display(), i + 1))
        })
        .collect()
}

/// The wall clock, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_else(|e| panic!("the clock is before 1970: {e}"));
    since_epoch.as_millis() as i64
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_root_holds_the_workspace_manifest_and_the_broker_script() {
        let root = workspace_root();
        assert!(root.join("Cargo.toml").is_file());
        assert!(root.join("scripts/broker.sh").is_file());
    }

    #[test]
    fn a_fresh_dir_is_empty_even_when_it_existed() {
        let dir = fresh_dir("testkit-fresh");
        std::fs::write(dir.join("left-over"), "x").unwrap();
        let again = fresh_dir("testkit-fresh");
        assert_eq!(again, dir);
        assert_eq!(std::fs::read_dir(&again).unwrap().count(), 0);
        std::fs::remove_dir_all(&again).unwrap();
    }

    #[test]
    fn jsonl_parses_every_line() {
        let dir = fresh_dir("testkit-jsonl");
        let path = dir.join("out.jsonl");
        std::fs::write(&path, "{\"a\":1}\n[2]\n").unwrap();
        assert_eq!(
            jsonl(&path),
            vec![serde_json::json!({"a": 1}), serde_json::json!([2])]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[should_panic(expected = "line 2")]
    fn jsonl_names_the_line_it_cannot_parse() {
        let dir = fresh_dir("testkit-jsonl-bad");
        let path = dir.join("out.jsonl");
        std::fs::write(&path, "{}\nnot json\n").unwrap();
        jsonl(&path);
    }

    #[test]
    fn now_is_after_2020() {
        assert!(now_ms() > 1_577_836_800_000);
    }
}
