//! Offline open-text analysis: tokenising, keyphrases, themes, sentiment and the members'
//! recurring phrases. Deterministic and auditable; no model downloads.

pub mod phrases;
pub mod sentiment;
pub mod stopwords;
pub mod themes;
pub mod tokenize;
pub mod vectors;
