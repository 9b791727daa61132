//! fundrecon: pulls bank statements, matches them against the fund's books, reports what
//! differs. See ARCHITECTURE.md for the map; modules are listed in pipeline order.

pub mod account;
pub mod archive;
pub mod book;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod discrepancy;
pub mod fetch;
pub mod job;
pub mod matching;
pub mod interest;
pub mod money;
pub mod parse;
pub mod report;
pub mod generate;
pub mod statement;
pub mod store;
pub mod validate;
