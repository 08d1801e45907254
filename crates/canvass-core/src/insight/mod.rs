//! The insight engine: pure statistics, ranking methods, text themes and quality checks that
//! turn answers into a decision-ready report model. No I/O, no templates, no SQL.

pub mod analyse;
pub mod bradley_terry;
pub mod demo;
pub mod digest;
pub mod report;
pub mod special;
pub mod stats;
pub mod text;
pub mod voting;

pub use analyse::{Answers, Input, Interner, Previous, Response, Segments, analyse, baseline};
pub use report::Report;
