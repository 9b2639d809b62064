//! The topology pictures in `examples/shoppers/README.md` are those of the real topologies:
//! each ```` ```mermaid ```` block there must equal `to_mermaid()` of the topology it shows.
//! Run with `WEIR_WRITE_DIAGRAMS=1` to rewrite the blocks after changing a topology.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use weir::processors::Dashboard;
use weir_example_testkit::readme_diagrams;
use weir_shoppers::apps::{consumer, producer, streaming, web, Reading};
use weir_shoppers::options::{paced_log, Options};

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
    readme_diagrams::assert_current(
        &common::root().join("examples/shoppers/README.md"),
        &diagrams,
    );
    let _ = std::fs::remove_dir_all(&out);
}
