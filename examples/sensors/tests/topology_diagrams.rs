//! The topology pictures in `examples/sensors/README.md` are those of the real topologies:
//! each ```` ```mermaid ```` block there must equal `to_mermaid()` of the topology it shows.
//! Run with `WEIR_WRITE_DIAGRAMS=1` to rewrite the blocks after changing a topology.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use weir::topology::StartPosition;
use weir_sensors::apps::{consumer, producer, streaming};
use weir_sensors::charts::averages_chart;
use weir_sensors::lines::LinesSource;

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
    let out = std::env::temp_dir().join(format!("weir-sensors-diagrams-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let chart = averages_chart(&out, None).unwrap();
    let diagrams = [
        (
            "producer",
            producer(LinesSource::new("sensor-lines", Vec::new()), &out)
                .unwrap()
                .to_mermaid(),
        ),
        (
            "streaming",
            streaming(&out, &chart, StartPosition::Earliest, None)
                .unwrap()
                .to_mermaid(),
        ),
        (
            "consumer",
            consumer(StartPosition::Earliest, None, true, None)
                .unwrap()
                .to_mermaid(),
        ),
    ];
    let path = root().join("examples/sensors/README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let expected = with_diagrams(&readme, &diagrams);
    assert_eq!(readme.matches("<!-- topology: ").count(), diagrams.len());
    if std::env::var_os("WEIR_WRITE_DIAGRAMS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    } else {
        assert!(
            readme == expected,
            "examples/sensors/README.md shows outdated topologies: rerun this test with \
             WEIR_WRITE_DIAGRAMS=1 to rewrite them"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
