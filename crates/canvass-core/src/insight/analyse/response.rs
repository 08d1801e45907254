//! One respondent's answers and context as the engine reads them, kept small: a million
//! answers are a few hundred thousand of these in memory at once.

use crate::core::answer::AnswerValue;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// One respondent's current answers and context.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub respondent: i64,
    /// By question id. Ids and segment names are shared `Arc<str>`s: a million answers
    /// repeat the same few strings, and one allocation each would be most of the memory.
    pub answers: Answers,
    pub segments: Segments,
    pub new_member: bool,
    pub first_at: DateTime<Utc>,
    /// Total seconds between questions being shown and answered, where known.
    pub seconds: Option<f64>,
    /// The locale the respondent answered in; open text is grouped by it. `None`: default.
    pub locale: Option<String>,
}

/// Hands out one shared copy of each string (question ids, segment names) while responses
/// are built.
#[derive(Debug, Default)]
pub struct Interner(std::collections::HashSet<Arc<str>>);

impl Interner {
    pub fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.0.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.0.insert(a.clone());
        a
    }
}

/// A respondent's answers by question id, as a vector sorted by id: a respondent answers a
/// handful of questions, and a tree node per respondent cost several times the answers'
/// own size.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Answers(Vec<(Arc<str>, AnswerValue)>);

impl Answers {
    fn find(&self, question: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(k, _)| (**k).cmp(question))
    }

    /// The answer to `question`, if any. The engine asks this for every respondent and
    /// question, several times: a scan that compares lengths and first bytes before the
    /// bytes beats a binary search of `memcmp` calls over a respondent's handful of answers.
    pub fn get(&self, question: &str) -> Option<&AnswerValue> {
        let q = question.as_bytes();
        self.0
            .iter()
            .find(|(k, _)| {
                let k = k.as_bytes();
                k.len() == q.len() && k.first() == q.first() && k == q
            })
            .map(|(_, v)| v)
    }

    pub fn contains_key(&self, question: &str) -> bool {
        self.find(question).is_ok()
    }

    /// Sets the answer to `question`, returning the one it replaces.
    pub fn insert(&mut self, question: Arc<str>, value: AnswerValue) -> Option<AnswerValue> {
        match self.find(&question) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, value)),
            Err(i) => {
                self.0.insert(i, (question, value));
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// In question id order.
    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &AnswerValue)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Gives back spare capacity once a respondent's answers are all read.
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl FromIterator<(Arc<str>, AnswerValue)> for Answers {
    fn from_iter<I: IntoIterator<Item = (Arc<str>, AnswerValue)>>(iter: I) -> Self {
        let mut a = Answers::default();
        for (k, v) in iter {
            a.insert(k, v);
        }
        a
    }
}

/// A respondent's segment names, as a sorted vector without duplicates (see `Answers`).
/// Serialises as the list of names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Segments(Vec<Arc<str>>);

impl Segments {
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|k| (**k).cmp(name))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Adds `name`; false when it was there already.
    pub fn insert(&mut self, name: Arc<str>) -> bool {
        match self.find(&name) {
            Ok(_) => false,
            Err(i) => {
                self.0.insert(i, name);
                true
            }
        }
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// In name order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<str>> {
        self.0.iter()
    }

    /// Gives back spare capacity once a respondent's segments are all read.
    pub fn shrink_to_fit(&mut self) {
        self.0.shrink_to_fit();
    }
}

impl FromIterator<Arc<str>> for Segments {
    fn from_iter<I: IntoIterator<Item = Arc<str>>>(iter: I) -> Self {
        let mut s = Segments::default();
        for name in iter {
            s.insert(name);
        }
        s
    }
}

impl serde::Serialize for Segments {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|n| &**n))
    }
}

impl<'a> IntoIterator for &'a Answers {
    type Item = (&'a Arc<str>, &'a AnswerValue);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, AnswerValue)>,
        fn(&'a (Arc<str>, AnswerValue)) -> (&'a Arc<str>, &'a AnswerValue),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'a> IntoIterator for &'a Segments {
    type Item = &'a Arc<str>;
    type IntoIter = std::slice::Iter<'a, Arc<str>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_one_value_per_question_in_id_order() {
        let mut a = Answers::default();
        assert_eq!(a.insert(Arc::from("b"), AnswerValue::Scale(1)), None);
        assert_eq!(a.insert(Arc::from("a"), AnswerValue::Scale(2)), None);
        assert_eq!(
            a.insert(Arc::from("b"), AnswerValue::Scale(3)),
            Some(AnswerValue::Scale(1))
        );
        assert_eq!(a.len(), 2);
        assert_eq!(a.get("b"), Some(&AnswerValue::Scale(3)));
        assert!(a.contains_key("a") && !a.contains_key("c"));
        let keys: Vec<&str> = a.iter().map(|(k, _)| &**k).collect();
        assert_eq!(keys, ["a", "b"]);
    }

    #[test]
    fn segments_are_a_sorted_set() {
        let mut s: Segments = ["EU", "Pro plan", "EU"]
            .into_iter()
            .map(Arc::from)
            .collect();
        assert_eq!(s.len(), 2);
        assert!(!s.insert(Arc::from("Pro plan")));
        assert!(s.insert(Arc::from("APAC")));
        assert!(s.contains("EU") && !s.contains("US"));
        assert_eq!(
            serde_json::to_string(&s).expect("json"),
            r#"["APAC","EU","Pro plan"]"#
        );
    }
}
