//! Bulk inserts for `canvass bench`: the raw SQLite reference and seeding large histories.

use super::{Result, Store, StoreError, ms};
use crate::core::ids::SurveyKey;
use crate::core::survey::Status;
use chrono::{DateTime, Utc};

const BATCH: usize = 400;

impl Store {
    /// The raw limit: `rows` answers by plain multi-row INSERTs in one transaction.
    pub async fn bench_raw_insert(&self, survey: SurveyKey, rows: usize) -> Result<()> {
        let mut tx = self.begin().await?;
        let now = ms(Utc::now());
        let mut done = 0;
        while done < rows {
            let n = BATCH.min(rows - done);
            let mut q = String::from(
                "INSERT INTO respondents (survey_id, anon_key, platform, segments, created_at) VALUES ",
            );
            q.push_str(&vec!["(?, ?, 'bench', '[]', ?)"; n].join(", "));
            q.push_str(" RETURNING id");
            let mut query = sqlx::query_as::<_, (i64,)>(&q);
            for i in 0..n {
                query = query
                    .bind(survey.0)
                    .bind(format!("raw-{}", done + i).into_bytes())
                    .bind(now);
            }
            let ids = query.fetch_all(&mut *tx.tx).await?;
            let mut q = String::from(
                "INSERT INTO answers (respondent_id, question_id, value, answered_at) VALUES ",
            );
            q.push_str(
                &vec!["(?, 'pick', '{\"kind\":\"choice\",\"value\":\"a\"}', ?)"; ids.len()]
                    .join(", "),
            );
            let mut query = sqlx::query(&q);
            for (id,) in &ids {
                query = query.bind(id).bind(now);
            }
            query.execute(&mut *tx.tx).await?;
            done += n;
        }
        tx.commit().await
    }

    /// Creates `surveys` copies of the demo survey, each with about `answers` answers.
    pub async fn bench_seed_surveys(
        &self,
        surveys: usize,
        answers: usize,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(base) = crate::insight::demo::survey() else {
            return Ok(());
        };
        let respondents = (answers * 2 / 15).max(1);
        let responses =
            crate::insight::demo::responses(&base, respondents, now - chrono::Duration::days(3));
        for k in 0..surveys {
            let mut s = base.clone();
            s.id = crate::core::ids::SurveyId::parse(&format!("bench-{k}"))
                .map_err(|e| StoreError::Random(e.to_string()))?;
            let mut tx = self.begin().await?;
            let key = tx
                .insert_survey(&s, Status::Open, "import", now - chrono::Duration::days(4))
                .await?;
            for chunk in responses.chunks(BATCH / 8) {
                let mut q = String::from(
                    "INSERT INTO respondents (survey_id, anon_key, platform, segments, created_at) VALUES ",
                );
                q.push_str(&vec!["(?, ?, 'bench', ?, ?)"; chunk.len()].join(", "));
                q.push_str(" RETURNING id");
                let mut query = sqlx::query_as::<_, (i64,)>(&q);
                for r in chunk {
                    let segs = serde_json::to_string(&r.segments).map_err(|source| {
                        StoreError::Encode {
                            what: "segments",
                            source,
                        }
                    })?;
                    query = query
                        .bind(key.0)
                        .bind(format!("seed-{}", r.respondent).into_bytes())
                        .bind(segs)
                        .bind(ms(r.first_at));
                }
                let ids = query.fetch_all(&mut *tx.tx).await?;
                let mut values = Vec::new();
                for ((id,), r) in ids.iter().zip(chunk) {
                    for (q, v) in &r.answers {
                        let v = serde_json::to_string(v).map_err(|source| StoreError::Encode {
                            what: "answer",
                            source,
                        })?;
                        values.push((*id, q.clone(), v, ms(r.first_at)));
                    }
                }
                for part in values.chunks(BATCH) {
                    let mut q = String::from(
                        "INSERT INTO answers (respondent_id, question_id, value, answered_at) VALUES ",
                    );
                    q.push_str(&vec!["(?, ?, ?, ?)"; part.len()].join(", "));
                    let mut query = sqlx::query(&q);
                    for (id, qid, v, at) in part {
                        query = query.bind(id).bind(qid.to_string()).bind(v).bind(at);
                    }
                    query.execute(&mut *tx.tx).await?;
                }
            }
            tx.commit().await?;
        }
        Ok(())
    }
}
