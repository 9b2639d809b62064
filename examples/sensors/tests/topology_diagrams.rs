//! The topology pictures in `examples/sensors/README.md` are those of the real topologies:
//! each ```` ```mermaid ```` block there must equal `to_mermaid()` of the topology it shows.
//! Run with `WEIR_WRITE_DIAGRAMS=1` to rewrite the blocks after changing a topology.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use weir::topology::StartPosition;
use weir_example_testkit::{fresh_dir, readme_diagrams, workspace_root};
use weir_sensors::apps::{consumer, producer, streaming};
use weir_sensors::charts::averages_chart;
use weir_sensors::lines::LinesSource;

#[test]
fn the_readme_shows_the_real_topologies() {
    let out = fresh_dir("sensors-diagrams");
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
    readme_diagrams::assert_current(
        &workspace_root().join("examples/sensors/README.md"),
        &diagrams,
    );
    let _ = std::fs::remove_dir_all(&out);
}
