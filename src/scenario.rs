//! Matching scenarios: statements + books + the truth, with planted discrepancies (issue 4).
