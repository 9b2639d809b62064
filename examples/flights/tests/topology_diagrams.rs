//! The topology pictures in `examples/flights/README.md` are those of the real topologies: each
//! ```` ```mermaid ```` block there must equal `to_mermaid()` of the topology it shows. Run with
//! `WEIR_WRITE_DIAGRAMS=1` to rewrite the blocks after changing a topology.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::sync::Arc;
use weir::topology::TimestampExtractor;
use weir_flights::apps::{consumer, streaming};
use weir_flights::charts::{accuracy_chart, consumer_chart};
use weir_models::Model;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The README's text with each `<!-- topology: NAME -->` marker's following mermaid block
/// replaced by `diagrams[NAME]`.
fn with_diagrams(readme: &str, diagrams: &[(&str, String)]) -> String {
    let mut out = String::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        out.push_str(line);
        out.push('\n');
        let Some(name) = line
            .strip_prefix("<!-- topology: ")
            .and_then(|l| l.strip_suffix(" -->"))
        else {
            continue;
        };
        let (_, diagram) = diagrams
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("no topology named {name}"));
        assert_eq!(
            lines.next(),
            Some("```mermaid"),
            "a mermaid block follows {line}"
        );
        for old in lines.by_ref() {
            if old == "```" {
                break;
            }
        }
        out.push_str("```mermaid\n");
        out.push_str(diagram);
        out.push_str("```\n");
    }
    out
}

#[test]
fn the_readme_shows_the_real_topologies() {
    let out = tempfile_dir();
    let model = Arc::new(Model::load(&root().join("models")).unwrap());
    let diagrams = [
        (
            "streaming",
            streaming(&out, model, &accuracy_chart(&out, None).unwrap())
                .unwrap()
                .to_mermaid(),
        ),
        (
            "consumer",
            consumer(
                &out,
                TimestampExtractor::WallClock,
                &consumer_chart(&out, None).unwrap(),
                false,
            )
            .unwrap()
            .to_mermaid(),
        ),
    ];
    let path = root().join("examples/flights/README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let expected = with_diagrams(&readme, &diagrams);
    assert_eq!(readme.matches("<!-- topology: ").count(), diagrams.len());
    if std::env::var_os("WEIR_WRITE_DIAGRAMS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    } else {
        assert!(
            readme == expected,
            "examples/flights/README.md shows outdated topologies: rerun this test with \
             WEIR_WRITE_DIAGRAMS=1 to rewrite them"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-flights-diagrams-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
