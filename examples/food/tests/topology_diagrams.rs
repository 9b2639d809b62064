//! The topology pictures in `examples/food/README.md` are those of the real topologies: each
//! ```` ```mermaid ```` block there must equal `to_mermaid()` of the topology it shows. Run with
//! `WEIR_WRITE_DIAGRAMS=1` to rewrite the blocks after changing a topology.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use weir::topology::SharedSink;
use weir_example_testkit::readme_diagrams;
use weir_food::apps::{consumer, dead_letter_reader, producer, Finals};
use weir_food::charts::Charts;
use weir_food::demo::{DEFAULT_DATA, IDLE};
use weir_food::tables::Collect;

#[test]
fn the_readme_shows_the_real_topologies() {
    let out = common::temp_dir("diagrams");
    // From the repository root, as the README's commands run (this binary has no other test).
    std::env::set_current_dir(common::root()).unwrap();
    let diagrams = [
        (
            "producer",
            // The path as a user gives it (relative to the repository), not this checkout's.
            producer(std::path::Path::new(DEFAULT_DATA), &out, 0)
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
    readme_diagrams::assert_current(&common::root().join("examples/food/README.md"), &diagrams);
    let _ = std::fs::remove_dir_all(&out);
}
