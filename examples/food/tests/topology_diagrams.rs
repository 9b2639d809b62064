//! The topology pictures in `examples/food/README.md` are those of the real topologies: each
//! ```` ```mermaid ```` block there must equal `to_mermaid()` of the topology it shows. Run with
//! `WEIR_WRITE_DIAGRAMS=1` to rewrite the blocks after changing a topology.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use weir::topology::SharedSink;
use weir_food::apps::{consumer, dead_letter_reader, producer, Finals};
use weir_food::charts::Charts;
use weir_food::demo::IDLE;
use weir_food::tables::Collect;

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
    let out = common::temp_dir("diagrams");
    let diagrams = [
        (
            "producer",
            producer(&common::shipped_data(), &out, 0)
                .unwrap()
                .to_mermaid(),
        ),
        (
            "consumer",
            consumer(&Charts::new(&out, None).unwrap(), &Finals::new(), IDLE)
                .unwrap()
                .to_mermaid(),
        ),
        (
            "dead-letters",
            dead_letter_reader(&out, &SharedSink::new(Collect::default()))
                .unwrap()
                .to_mermaid(),
        ),
    ];
    let path = common::root().join("examples/food/README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let expected = with_diagrams(&readme, &diagrams);
    assert_eq!(readme.matches("<!-- topology: ").count(), diagrams.len());
    if std::env::var_os("WEIR_WRITE_DIAGRAMS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    } else {
        assert!(
            readme == expected,
            "examples/food/README.md shows outdated topologies: rerun this test with \
             WEIR_WRITE_DIAGRAMS=1 to rewrite them"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
