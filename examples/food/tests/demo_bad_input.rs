//! Bad input never crashes the demo: a row with a missing column (set aside by the producer),
//! ages that are blank, not a number or not an age (set aside by the consumer) are counted,
//! sent to the dead-letter topic, listed in the summary, and left out of every count and chart;
//! the rest is counted as usual (checked against the recomputation in `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use weir::topology::MemoryBroker;
use weir_food::demo::{run_demo, FoodOptions};
use weir_food::summary::consume_report;

const START_MS: i64 = 1_700_000_000_000;

const SURVEY: &str = "\
Timestamp,Participant_ID,Gender,Nationality,Age,Food,Juice,Dessert
2019/05/07 2:59:13 PM GMT+8,FPS001,Male,Indian,24,Traditional food,Fresh Juice,Maybe
2019/05/07 3:01:13 PM GMT+8,FPS002,Female,indian,,Western Food,Fresh Juice,Yes
2019/05/07 3:05:40 PM GMT+8,FPS003,Female,MALAYSIAN,twenty,Traditional food,Carbonated drinks,No
2019/05/07 3:09:02 PM GMT+8,FPS004,Male,Malaysian,31,Traditional food,Fresh Juice
2019/05/07 3:12:00 PM GMT+8,FPS005,Female, malaysian ,22,Western Food,Fresh Juice,Yes
2019/05/07 3:15:31 PM GMT+8,FPS006,,India,400,Traditional food,Fresh Juice,No
2019/05/07 3:20:07 PM GMT+8,FPS007,,,19,\"Traditional food, spicy\",Fresh Juice,
2019/05/07 3:21:45 PM GMT+8,FPS008,Female,Indian, 27 ,Traditional food,Fresh Juice,Yes
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rows_are_counted_dead_lettered_and_listed() {
    let out = common::temp_dir("bad-input");
    let data = out.join("survey.csv");
    std::fs::write(&data, SURVEY).unwrap();
    let mut opts = FoodOptions::new(&data, out.join("out"));
    opts.start_ms = Some(START_MS);
    let summary = run_demo(&opts, Arc::new(MemoryBroker::new(1)), None)
        .await
        .unwrap();
    common::check_outputs(&data, START_MS, &summary);

    // One row lacks a column, three ages cannot be counted.
    assert_eq!(summary.produce.sent, 7);
    assert_eq!(summary.produce.dead_lettered, 1);
    assert_eq!(summary.consume.dead_lettered, 3);
    assert_eq!(summary.consume.answers, 4);
    let errors: Vec<&str> = summary
        .consume
        .dead_letters
        .iter()
        .map(|(_, l)| l.error.as_str())
        .collect();
    assert_eq!(errors.len(), 4);
    assert!(errors[0].contains("7 fields, expected 8"), "{}", errors[0]);
    assert!(errors[1].contains("Age is blank"), "{}", errors[1]);
    assert!(
        errors[2].contains("\"twenty\" is not a number"),
        "{}",
        errors[2]
    );
    assert!(errors[3].contains("\"400\" is not an age"), "{}", errors[3]);
    let keys: Vec<&str> = summary
        .consume
        .dead_letters
        .iter()
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(keys, ["", "1", "2", "5"]);
    // Case variants count as one nationality; a blank gender and nationality are labelled.
    let nationality: Vec<(&str, u64)> = summary
        .consume
        .nationality
        .iter()
        .map(|(n, c)| (n.as_str(), *c))
        .collect();
    assert_eq!(
        nationality,
        [("Indian", 2), ("Malaysian", 1), ("(blank)", 1)]
    );
    let gender: Vec<(&str, u64)> = summary
        .consume
        .gender
        .iter()
        .map(|(g, c)| (g.as_str(), *c))
        .collect();
    assert_eq!(gender, [("Male", 1), ("Female", 2), ("(blank)", 1)]);
    // The summary lists every dead letter with its reason.
    let report = consume_report(&summary.consume, &summary.out);
    for error in &errors {
        assert!(report.contains(error), "{report}");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn produce_and_consume_alone_need_a_broker_and_say_so() {
    for command in ["produce", "consume"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_weir-food"))
            .arg(command)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--brokers"), "{err}");
    }
}

#[test]
fn a_missing_survey_file_is_an_error_not_a_crash() {
    let out = common::temp_dir("missing");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_weir-food"))
        .args(["demo", "--data"])
        .arg(out.join("nowhere.csv"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.starts_with("error:") && err.contains("nowhere.csv"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
