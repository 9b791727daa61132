//! fundrecon: pulls bank statements, matches them against the fund's books, reports what
//! differs. See ARCHITECTURE.md for the map (the pipeline order: fetch → archive → parse →
//! validate → match (with interest beside it) → report, driven by `job`).

pub mod account;
pub mod alloc;
pub mod archive;
pub mod bankgen;
pub mod book;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod discrepancy;
pub mod fetch;
pub mod generate;
pub mod holdout;
pub mod interest;
pub mod job;
pub mod matching;
pub mod money;
pub mod parse;
pub mod report;
pub mod review;
pub mod scenario;
pub mod serve;
pub mod statement;
pub mod store;
pub mod unzip;
pub mod validate;
pub mod worker;
