//! The topology pictures in `examples/shoppers/README.md` are those of the real topologies:
//! each ```` ```mermaid ```` block there must equal `to_mermaid()` of the topology it shows.
//! Run with `WEIR_WRITE_DIAGRAMS=1` to rewrite the blocks after changing a topology.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use weir::processors::Dashboard;
use weir_shoppers::apps::{consumer, producer, streaming, web, Reading};
use weir_shoppers::options::{paced_log, Options};

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
    // From the repository root, so that the log's name in the diagram is the relative path.
    std::env::set_current_dir(common::root()).unwrap();
    let out = common::temp_dir("diagrams");
    let opts = Options::demo("data/shoppers/user_log.csv.gz".into(), out.clone());
    let (log, csv) = paced_log(&opts, None).unwrap();
    let reading = Reading::default();
    let diagrams = [
        ("producer", producer(log, &csv, &out).unwrap().to_mermaid()),
        ("stream", streaming(&out, reading).unwrap().to_mermaid()),
        (
            "web",
            web(&out, &Dashboard::new(), reading).unwrap().to_mermaid(),
        ),
        ("consume", consumer(reading).unwrap().to_mermaid()),
    ];
    let path = common::root().join("examples/shoppers/README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let expected = with_diagrams(&readme, &diagrams);
    assert_eq!(readme.matches("<!-- topology: ").count(), diagrams.len());
    if std::env::var_os("WEIR_WRITE_DIAGRAMS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    } else {
        assert!(
            readme == expected,
            "examples/shoppers/README.md shows outdated topologies: rerun this test with \
             WEIR_WRITE_DIAGRAMS=1 to rewrite them"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}
