//! Fuzzes the CSV import parser against a survey with every question type: any bytes give
//! rows whose answers are valid for their questions, or a list of row errors; never a panic.
#![no_main]

use canvass_config::Config;
use canvass_core::core::import::check_responses;
use canvass_core::core::survey::Survey;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

const SURVEY: &str = r#"
[[surveys]]
id = "all"
title = "Every type"
[[surveys.questions]]
id = "one"
type = "single"
text = "One?"
options = ["A", "B", "C"]
[[surveys.questions]]
id = "many"
type = "multi"
text = "Many?"
options = ["A", "B", "C", "D"]
max_choices = 2
[[surveys.questions]]
id = "rate"
type = "rating"
text = "Rate"
scale = 5
optional = true
[[surveys.questions]]
id = "nps"
type = "nps"
text = "Recommend?"
optional = true
[[surveys.questions]]
id = "rank"
type = "ranking"
text = "Rank"
options = ["A", "B", "C", "D"]
top_k = 3
optional = true
[[surveys.questions]]
id = "pair"
type = "pairwise"
text = "Which?"
options = ["A", "B", "C"]
pairs_per_member = 3
optional = true
[[surveys.questions]]
id = "msg"
type = "message_test"
text = "Which line?"
options = ["Fast", "Honest"]
optional = true
[[surveys.questions]]
id = "why"
type = "open_text"
text = "Why?"
max_chars = 50
optional = true
"#;

fn survey() -> &'static Survey {
    static S: OnceLock<Survey> = OnceLock::new();
    S.get_or_init(|| {
        let cfg = Config::parse(SURVEY, Path::new("fuzz.toml")).expect("the fuzz survey is valid");
        cfg.surveys[0].survey.clone()
    })
}

fuzz_target!(|data: &[u8]| {
    let s = survey();
    match check_responses(s, data, chrono::Utc::now()) {
        Ok(rows) => {
            for (respondent, answers) in rows {
                assert!(!respondent.trim().is_empty());
                for (q, value) in answers {
                    let question = s
                        .questions
                        .iter()
                        .find(|x| x.id.as_str() == q)
                        .expect("answers name known questions");
                    assert!(value.validate(question).is_ok(), "{q}: {value:?}");
                }
            }
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
});
