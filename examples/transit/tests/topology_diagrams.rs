//! The topology pictures in `examples/transit/README.md` are those of the real topologies: each
//! ```` ```mermaid ```` block after a `<!-- topology: NAME -->` marker must equal `to_mermaid()`
//! of the topology it shows. Run with `WEIR_WRITE_DIAGRAMS=1` to rewrite the blocks after
//! changing a topology.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use weir::processors::avro::{RegistryServer, SchemaRegistry};
use weir_example_testkit::{fresh_dir, readme_diagrams, workspace_root};
use weir_transit::apps::{stations_app, status_app, summary_app, StationsInput};
use weir_transit::generate::DEFAULT_STATIONS;

#[test]
fn the_readme_shows_the_real_topologies() {
    let out = fresh_dir("transit-diagrams");
    // From the repository root, as the README's commands run (this binary has no other test).
    std::env::set_current_dir(workspace_root()).unwrap();
    let server = RegistryServer::start(([127, 0, 0, 1], 0).into()).unwrap();
    let registry = SchemaRegistry::new(server.url()).unwrap();
    // The path as a user gives it (relative to the repository), not this checkout's.
    let csv = StationsInput::Csv(DEFAULT_STATIONS.into());
    let diagrams = [
        ("stations", stations_app(&csv, &out).unwrap().to_mermaid()),
        (
            "summary",
            summary_app(&registry, &out).unwrap().to_mermaid(),
        ),
        (
            "status",
            status_app(&registry, &out, &Arc::default())
                .unwrap()
                .to_mermaid(),
        ),
    ];
    readme_diagrams::assert_current(
        &workspace_root().join("examples/transit/README.md"),
        &diagrams,
    );
    let _ = std::fs::remove_dir_all(&out);
}
