//! Bad input never crashes the example: malformed log rows (a missing column, an extra one,
//! text where a number goes, a gender that is no code) are counted, sent to the producer's
//! dead-letter topic and listed in the demo's summary; values of `sex` and `result` that do not
//! read (written there by some other producer) go to the stream's and the web feed's
//! dead-letter topics. The good records around them are counted as usual.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;
use weir::processors::Dashboard;
use weir::topology::connect::OutRecord;
use weir::topology::{Broker, MemoryBroker};
use weir_shoppers::apps::{Reading, RESULT_TOPIC, SEX_DEAD_LETTERS, SEX_TOPIC};
use weir_shoppers::dead_letters::Marks;
use weir_shoppers::demo::run_demo;
use weir_shoppers::options::Options;
use weir_shoppers::separate::{run_role, Role};

const HEADER: &str =
    "user_id,item_id,cat_id,merchant_id,brand_id,month,day,action,age_range,gender,province";

/// A log of 40 good rows with 6 malformed ones among them; returns its path.
fn bad_log(dir: &std::path::Path) -> std::path::PathBuf {
    let mut lines = vec![HEADER.to_owned()];
    for i in 0..40 {
        let gender = ["0", "1", "2", "", "0"][i % 5];
        lines.push(format!("{},5,6,7,,11,11,0,,{gender},上海", 100 + i));
        match i {
            3 => lines.push("1,2,3,4,5,11,11,0,3,1".into()), // a missing column
            9 => lines.push("1,2,3,4,5,11,11,0,3,1,北京,extra".into()), // one too many
            14 => lines.push("1,abc,3,4,5,11,11,0,3,1,北京".into()), // text for a number
            20 => lines.push("1,2,3,4,5,11,11,0,3,F,北京".into()), // gender as a letter
            27 => lines.push("1,2,3,4,5,11,11,0,3,3,北京".into()), // gender out of range
            33 => lines.push("1,2,3,4,5,May,11,0,3,0,北京".into()), // a month in words
            _ => {}
        }
    }
    let path = dir.join("bad_log.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_rows_are_counted_dead_lettered_and_listed() {
    let dir = common::temp_dir("bad-rows");
    let log = bad_log(&dir);
    let opts = common::fast_options(&log, &dir.join("out"), 46, 1_700_000_000_000);
    let dashboard = Dashboard::new();
    let summary = run_demo(&opts, Arc::new(MemoryBroker::new(1)), &dashboard)
        .await
        .unwrap();
    assert_eq!(summary.producer.skipped, 6);
    assert_eq!(summary.producer.processed, 40);
    common::check_outputs(&opts, &summary, &dashboard.snapshot());

    // The binary prints them in its summary and exits normally.
    let out = Command::new(env!("CARGO_BIN_EXE_weir-shoppers"))
        .args(["demo", "--exit", "--web", "127.0.0.1:0", "--rows", "46"])
        .arg("--data")
        .arg(&log)
        .arg("--out")
        .arg(dir.join("bin-out"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("6 malformed rows to `user_log-dead-letters`"),
        "{stdout}"
    );
    assert!(stdout.contains("malformed rows (6):"), "{stdout}");
    for bad in [
        "1,abc,3,4,5,11,11,0,3,1,北京",
        "1,2,3,4,5,11,11,0,3,F,北京",
        "May",
    ] {
        assert!(stdout.contains(bad), "{bad} listed: {stdout}");
    }
    assert!(
        stdout.contains("CSV row has 10 fields, expected 11"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn value(v: Option<&str>, ts: i64) -> OutRecord {
    OutRecord {
        partition: 0,
        key: None,
        value: v.map(|v| v.as_bytes().to_vec()),
        timestamp: ts,
        headers: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_are_no_gender_or_no_counts_go_to_dead_letter_topics() {
    let dir = common::temp_dir("bad-values");
    let broker = MemoryBroker::new(1);
    let shared: Arc<dyn Broker> = Arc::new(broker.clone());
    let marks = Marks::take(&*shared, &[SEX_DEAD_LETTERS, "result-dead-letters"])
        .await
        .unwrap();
    let sex = [
        Some("0"),
        Some("x"),
        Some("1"),
        Some(""),
        None,
        Some("2"),
        Some("男"),
        Some("0"),
    ];
    let records = sex
        .iter()
        .enumerate()
        .map(|(i, v)| value(*v, 1_000 + 300 * i as i64))
        .collect();
    broker.append(SEX_TOPIC, records).unwrap();
    let opts = Options::demo(common::log(), dir.clone());
    let reading = Reading {
        from_beginning: true,
        idle: Some(Duration::from_millis(300)),
    };
    let dashboard = Dashboard::new();
    let m = run_role(Role::Stream, &opts, reading, shared.clone(), &dashboard)
        .await
        .unwrap();
    assert_eq!((m.processed, m.skipped, m.dead_lettered), (5, 3, 3));
    let letters = marks.since(&*shared, SEX_DEAD_LETTERS).await.unwrap();
    let values: Vec<&str> = letters.iter().map(|d| d.value.as_str()).collect();
    assert_eq!(values, ["x", "", "男"], "the tombstone's value is empty");
    assert!(
        letters[0].error.contains("not 0, 1, 2 or empty"),
        "{:?}",
        letters[0]
    );
    assert_eq!(letters[0].source, "sex/0/1");
    // The good values, recounted per second.
    let results = common::jsonl(&dir.join("result.jsonl"));
    let good: Vec<serde_json::Value> = sex
        .iter()
        .enumerate()
        .filter(|(_, v)| matches!(v, Some("0" | "1" | "2" | "")))
        .map(|(i, v)| serde_json::json!({"value": v.unwrap(), "timestamp": 1_000 + 300 * i as i64}))
        .collect();
    let expected: Vec<serde_json::Value> = common::recount(&good)
        .into_iter()
        .map(|(s, c)| common::result_record(s, c))
        .collect();
    assert_eq!(results, expected);

    // The web feed: junk on `result` is dead-lettered, the good second is charted.
    broker
        .append(
            RESULT_TOPIC,
            vec![
                value(Some("not json"), 9_000),
                value(Some(r#"[{"0":1,"1":2}]"#), 9_500),
            ],
        )
        .unwrap();
    let w = run_role(Role::Web, &opts, reading, shared.clone(), &dashboard)
        .await
        .unwrap();
    assert_eq!((w.processed, w.skipped), (expected.len() as u64, 2));
    let (girls, _) = common::chart_points(&dashboard.snapshot());
    assert_eq!(girls.len(), expected.len());
    let _ = std::fs::remove_dir_all(&dir);
}
