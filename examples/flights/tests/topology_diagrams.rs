//! The topology pictures in `examples/flights/README.md` are those of the real topologies: each
//! ```` ```mermaid ```` block there must equal `to_mermaid()` of the topology it shows. Run with
//! `WEIR_WRITE_DIAGRAMS=1` to rewrite the blocks after changing a topology.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use weir::topology::TimestampExtractor;
use weir_example_testkit::{fresh_dir, readme_diagrams, workspace_root};
use weir_flights::apps::{consumer, streaming};
use weir_flights::charts::{accuracy_chart, consumer_chart};
use weir_models::Model;

#[test]
fn the_readme_shows_the_real_topologies() {
    let out = fresh_dir("flights-diagrams");
    let model = Arc::new(Model::load(&workspace_root().join("models")).unwrap());
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
    readme_diagrams::assert_current(
        &workspace_root().join("examples/flights/README.md"),
        &diagrams,
    );
    let _ = std::fs::remove_dir_all(&out);
}
