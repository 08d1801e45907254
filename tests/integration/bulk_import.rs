//! `canvass import` at scale: a generated file of every question type (thousands of rows,
//! respondents on several rows, across many write chunks and across two imports) leaves
//! exactly the data that importing only each respondent's final answers leaves.

use crate::support::*;
use canvass::config::Config;
use canvass::store::Store;
use canvass::transfer::{self, ImportOptions};
use std::collections::HashMap;
use std::path::Path;

/// The rows of a CSV without multi-line cells: (header, rows).
fn rows_of(csv: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(csv);
    let header = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("record").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

fn write(header: &[String], rows: &[Vec<String>]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header).expect("header");
    for r in rows {
        w.write_record(r).expect("row");
    }
    String::from_utf8(w.into_inner().expect("flush")).expect("utf-8")
}

/// One row per respondent with what applying the rows one by one in `submitted_at` order
/// leaves: the last non-empty cell of each question, the last row's segments and time.
fn final_answers(header: &[String], rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut sorted: Vec<&Vec<String>> = rows.iter().collect();
    // Times are RFC 3339 in UTC with whole seconds: text order is time order; stable sort
    // keeps file order for equal times.
    sorted.sort_by(|a, b| a[1].cmp(&b[1]));
    let mut order: Vec<String> = Vec::new();
    let mut last: HashMap<String, Vec<String>> = HashMap::new();
    for r in sorted {
        let e = last.entry(r[0].clone()).or_insert_with(|| {
            order.push(r[0].clone());
            vec![String::new(); header.len()]
        });
        e[0] = r[0].clone();
        e[1] = r[1].clone();
        e[2] = r[2].clone();
        for (i, cell) in r.iter().enumerate().skip(3) {
            if !cell.is_empty() {
                e[i] = cell.clone();
            }
        }
    }
    order.iter().filter_map(|who| last.remove(who)).collect()
}

async fn import(store: &Store, toml: &str, csv: &str) -> transfer::ImportReport {
    let source = Config::parse(toml, Path::new("survey.toml"))
        .expect("survey file")
        .surveys
        .remove(0);
    transfer::import(
        store,
        &source,
        csv.as_bytes(),
        ImportOptions::default(),
        now(),
    )
    .await
    .expect("imports")
}

fn now() -> chrono::DateTime<chrono::Utc> {
    t0() + chrono::Duration::days(30)
}

async fn count(store: &Store, sql: &str) -> i64 {
    let n: (i64,) = sqlx::query_as(sql)
        .fetch_one(store.pool())
        .await
        .expect("count");
    n.0
}

/// Imports the generated file in two halves into one store and only the final answers into
/// another; returns both exports (CSV, JSON) and checks the history the first one keeps.
async fn both_ways(toml: &str) -> ((String, String), (String, String)) {
    let mut csv = Vec::new();
    let (answers, rows) = canvass::bench::e2e_csv(12_000, now(), &mut csv).expect("generates");
    let (header, all) = rows_of(&csv);
    assert_eq!(all.len(), rows);
    let repeated = all.len() - final_answers(&header, &all).len();
    assert!(repeated > 20, "respondents on several rows: {repeated}");

    let full = spawn_app().await;
    let (a, b) = all.split_at(all.len() / 2);
    let ra = import(&full.app.store, toml, &write(&header, a)).await;
    let rb = import(&full.app.store, toml, &write(&header, b)).await;
    assert_eq!(ra.answers + rb.answers, answers, "every answer written");
    assert_eq!(ra.rows_imported + rb.rows_imported, rows);
    // History: every imported answer is a row; one per respondent and question is current.
    let stored = count(&full.app.store, "SELECT COUNT(*) FROM answers").await;
    assert_eq!(stored, answers as i64);
    let current = count(
        &full.app.store,
        "SELECT COUNT(*) FROM answers WHERE superseded_at IS NULL",
    )
    .await;
    let finals = final_answers(&header, &all);
    let expected_current: usize = finals
        .iter()
        .map(|r| r[3..].iter().filter(|c| !c.is_empty()).count())
        .sum();
    assert_eq!(current, expected_current as i64);
    assert!(current < stored, "some answers were superseded");

    let oracle = spawn_app().await;
    let ro = import(&oracle.app.store, toml, &write(&header, &finals)).await;
    assert_eq!(ro.respondents, finals.len());
    let export = |store: Store| async move {
        let csv = transfer::export_csv(&store, "e2e").await.expect("csv");
        let json = transfer::export_json(&store, "e2e").await.expect("json");
        (
            String::from_utf8(csv).expect("utf-8"),
            String::from_utf8(json).expect("utf-8"),
        )
    };
    let got = export(full.app.store.clone()).await;
    let want = export(oracle.app.store.clone()).await;
    (got, want)
}

#[tokio::test]
async fn a_large_import_in_two_parts_leaves_exactly_each_respondents_final_answers() {
    let (got, want) = both_ways(canvass::bench::E2E_SURVEY).await;
    assert_eq!(got.0.lines().count(), want.0.lines().count());
    for (g, w) in got.0.lines().zip(want.0.lines()) {
        assert_eq!(g, w, "export CSV");
    }
    assert_eq!(got.1, want.1, "export JSON");
}

#[tokio::test]
async fn a_large_anonymous_import_leaves_exactly_each_respondents_final_answers() {
    let toml = canvass::bench::E2E_SURVEY.replace(
        "title = \"Product feedback (benchmark)\"",
        "title = \"Product feedback (benchmark)\"\nanonymous = true",
    );
    let (got, want) = both_ways(&toml).await;
    // Pseudonyms are random row ids: compare everything else, as sorted lines.
    let strip = |csv: &str| {
        let mut lines: Vec<String> = csv
            .lines()
            .skip(1)
            .map(|l| {
                l.split_once(',')
                    .map(|(_, rest)| rest.to_string())
                    .unwrap_or_default()
            })
            .collect();
        lines.sort();
        lines
    };
    assert!(got.0.lines().nth(1).is_some_and(|l| l.starts_with('r')));
    assert_eq!(strip(&got.0), strip(&want.0));
}
