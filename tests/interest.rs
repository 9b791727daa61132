//! Interest check (issue 6): the worked cases TC-1…TC-9 of domain.md §6, a generated year
//! against an independent computation, the credit comparison, and bad inputs.
//!
//! Data-driven part: every `fixtures/interest/<case>/` holds `case.toml` (from, to),
//! `balances.csv` and one or more `terms[.VARIANT].toml`; each terms file is run through
//! `auditor_json` and compared with `expected[.VARIANT].json`. `FUNDRECON_BLESS=1 cargo test
//! --test interest` rewrites those files after an intended change. The headline figures of
//! domain.md are also asserted literally below, so a bless cannot silently change them.

use chrono::{Datelike, NaiveDate};
use fundrecon::interest::accrual::{AccrualSpec, DayBalances, Period, accrue};
use fundrecon::interest::balances::balances_for;
use fundrecon::interest::calendar::SettlementCalendar;
use fundrecon::interest::{
    Agreement, InterestError, Posting, auditor_json, check_credit, daily_balances, read_balances_csv,
};
use rust_decimal::Decimal;
use rust_decimal::dec;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/interest")
}

fn bless() -> bool {
    std::env::var_os("FUNDRECON_BLESS").is_some()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `case.toml` of a fixture: the period.
fn period(dir: &Path) -> (NaiveDate, NaiveDate) {
    let t: toml::Table = toml::from_str(&read(&dir.join("case.toml"))).unwrap();
    let get = |k: &str| t[k].as_str().unwrap_or_else(|| panic!("{}: {k}", dir.display())).parse().unwrap();
    (get("from"), get("to"))
}

/// Runs `fixtures/interest/<case>/terms[.variant].toml` through `auditor_json`.
fn run(case: &str, variant: &str) -> Value {
    let dir = root().join(case);
    let (from, to) = period(&dir);
    let csv = std::fs::read(dir.join("balances.csv")).unwrap();
    let name = if variant.is_empty() { "terms.toml".to_string() } else { format!("terms.{variant}.toml") };
    let terms = read(&dir.join(&name));
    auditor_json(&csv, &terms, from, to).unwrap_or_else(|e| panic!("{case}/{name}: {e}"))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

fn codes(v: &Value) -> Vec<&str> {
    v["warnings"].as_array().unwrap().iter().map(|w| s(&w["code"])).collect()
}

// ------------------------------------------------------------------------------------
// Golden files.

#[test]
fn fixtures_match_expected_json() {
    let mut dirs: Vec<PathBuf> =
        std::fs::read_dir(root()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    assert!(dirs.len() >= 9, "expected tc-1…tc-9 in {}", root().display());
    let mut failures = Vec::new();
    let mut runs = 0;
    for dir in dirs {
        let case = dir.file_name().unwrap().to_string_lossy().to_string();
        let mut terms: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with("terms") && n.ends_with(".toml"))
            .collect();
        terms.sort();
        for name in terms {
            let variant = name.trim_start_matches("terms").trim_end_matches(".toml").trim_start_matches('.');
            let got = serde_json::to_string_pretty(&run(&case, variant)).unwrap() + "\n";
            let want_path =
                dir.join(if variant.is_empty() { "expected.json".into() } else { format!("expected.{variant}.json") });
            runs += 1;
            if bless() {
                std::fs::write(&want_path, &got).unwrap();
                continue;
            }
            match std::fs::read_to_string(&want_path) {
                Ok(want) if want == got => {}
                Ok(want) => {
                    failures.push(format!("{}: differs\n--- want\n{want}\n--- got\n{got}", want_path.display()))
                }
                Err(e) => failures.push(format!("{}: {e} (FUNDRECON_BLESS=1 creates it)", want_path.display())),
            }
        }
    }
    assert!(runs >= 23, "only {runs} fixture runs");
    assert!(failures.is_empty(), "{} fixture(s) differ:\n{}", failures.len(), failures.join("\n"));
}

// ------------------------------------------------------------------------------------
// Headline figures from domain.md §6, literally.

#[test]
fn tc1_constant_balance_q1_2025() {
    let v = run("tc-1", "");
    let w = &v["windows"][0];
    assert_eq!(v["windows"].as_array().unwrap().len(), 1);
    assert_eq!((s(&w["from"]), s(&w["to"]), w["days"].as_i64()), ("2024-12-21", "2025-03-20", Some(90)));
    assert_eq!(w["complete"], true);
    assert_eq!(s(&w["balance_sum"]), "1111111101.00");
    assert_eq!(s(&w["expected"]), "10802.47");
    assert_eq!(s(&w["gain"]), "0.00");
    assert_eq!(s(&w["gain_over_benchmark"]), "0.00");
    assert!(codes(&v).is_empty(), "{}", v["warnings"]);
}

#[test]
fn tc2_unit_demand_split_and_settlement_day() {
    let v = run("tc-2", "");
    let w = &v["windows"][0];
    assert_eq!(w["days"], 92);
    let seg = w["segments"].as_array().unwrap();
    assert_eq!(seg.len(), 2);
    assert_eq!((s(&seg[0]["from"]), s(&seg[0]["to"]), seg[0]["days"].as_i64()), ("2025-03-21", "2025-05-19", Some(60)));
    assert_eq!(s(&seg[0]["legs"][0]["sum"]), "2650000000.00");
    assert_eq!(s(&seg[0]["legs"][0]["interest"]), "25763.888889");
    assert_eq!(seg[1]["days"], 32);
    assert_eq!(s(&seg[1]["legs"][0]["sum"]), "2080000000.00");
    assert_eq!(s(&seg[1]["legs"][0]["interest"]), "14444.444444");
    assert_eq!(s(&w["expected"]), "40208.33");
    assert_eq!(s(&run("tc-2", "per_segment")["windows"][0]["expected"]), "40208.33");
    let nosplit = run("tc-2", "settlement_day");
    assert_eq!(nosplit["windows"][0]["segments"].as_array().unwrap().len(), 1);
    assert_eq!(s(&nosplit["windows"][0]["expected"]), "32847.22");
    // 0.25 % from 05-20 is below the 0.35 % benchmark.
    assert_eq!(codes(&v), ["rate_below_benchmark"]);
}

#[test]
fn tc3_agreed_legs_and_rounding_points() {
    let v = run("tc-3", "");
    let w = &v["windows"][0];
    let seg = w["segments"].as_array().unwrap();
    let part = |i: usize, leg: usize, k: &str| s(&seg[i]["legs"][leg][k]).to_string();
    assert_eq!(
        (part(0, 0, "leg"), part(0, 0, "sum"), part(0, 0, "interest")),
        ("demand".into(), "1800000000.00".into(), "17500.00".into())
    );
    assert_eq!(
        (part(0, 1, "leg"), part(0, 1, "sum"), part(0, 1, "interest")),
        ("agreed".into(), "850000000.00".into(), "29513.888889".into())
    );
    assert_eq!((part(1, 0, "sum"), part(1, 0, "interest")), ("960000000.00".into(), "6666.666667".into()));
    assert_eq!((part(1, 1, "sum"), part(1, 1, "interest")), ("1120000000.00".into(), "32666.666667".into()));
    assert_eq!(s(&w["expected"]), "86347.22"); // rounded once
    assert_eq!(s(&run("tc-3", "per_part")["windows"][0]["expected"]), "86347.23"); // each part
    assert_eq!(s(&run("tc-3", "per_leg")["windows"][0]["expected"]), "86347.23");
    assert_eq!(s(&run("tc-3", "per_segment")["windows"][0]["expected"]), "86347.22");
    assert_eq!(s(&run("tc-3", "mills_then_fen")["windows"][0]["expected"]), "86347.22"); // 厘 then 分
    // Gain over the agreement's own demand rate on the same balances: the whole balance at
    // demand is TC-2's 40,208.33, so the gain is 86,347.22 − 40,208.33.
    assert_eq!(s(&w["demand_rate_interest"]), "40208.33");
    assert_eq!(s(&w["gain"]), "46138.89");
}

#[test]
fn tc4_agreed_boundary_days() {
    let v = run("tc-4", "");
    let w = &v["windows"][0];
    assert_eq!((w["days"].as_i64(), w["complete"].as_bool()), (Some(10), Some(false)));
    assert_eq!(s(&w["legs"][0]["sum"]), "47999999.99");
    assert_eq!(s(&w["legs"][1]["sum"]), "48500000.51");
    assert_eq!(s(&w["expected"]), "2015.97");
    assert_eq!(s(&run("tc-4", "per_leg")["windows"][0]["expected"]), "2015.98"); // 466.67 + 1,549.31
    let tenk = run("tc-4", "excess_10k");
    let w = &tenk["windows"][0];
    assert_eq!(s(&w["legs"][1]["sum"]), "48500000.00");
    // The part below a whole ¥10,000 stays on the demand leg.
    assert_eq!(s(&w["legs"][0]["sum"]), "48000000.50");
    assert_eq!(s(&w["expected"]), "2015.97");
}

#[test]
fn tc5_leap_year_window_and_compounding() {
    let v = run("tc-5", "");
    let ws = v["windows"].as_array().unwrap();
    assert_eq!(ws.len(), 2);
    assert_eq!((s(&ws[0]["from"]), s(&ws[0]["to"]), ws[0]["days"].as_i64()), ("2023-12-21", "2024-03-20", Some(91)));
    assert_eq!(s(&ws[0]["expected"]), "70777.78");
    assert_eq!(s(&ws[0]["window"]["credit_date"]), "2024-03-21");
    assert_eq!((s(&ws[1]["from"]), ws[1]["days"].as_i64()), ("2024-03-21", Some(92)));
    assert_eq!(s(&ws[1]["balance_sum"]), "7366511555.76"); // 80,070,777.78 × 92
    assert_eq!(s(&ws[1]["expected"]), "71618.86");
    assert_eq!(s(&v["totals"]["expected"]), "142396.64");
    assert_eq!(s(&v["by_year"][0]["year"]), "2024");
}

#[test]
fn tc5_compounding_from_postings_and_the_20th_21st_boundary() {
    let a = Agreement::from_toml(&read(&root().join("tc-5/terms.toml"))).unwrap();
    let spec = AccrualSpec::of(&a).unwrap();
    let cal = SettlementCalendar::default();
    let q1 = cal.window_containing(d("2024-03-20")).unwrap();
    let q2 = cal.window_containing(d("2024-03-21")).unwrap();
    assert_eq!((q1.start, q1.end, q1.credit), (d("2023-12-21"), d("2024-03-20"), d("2024-03-21")));
    assert_eq!((q2.start, q2.end), (d("2024-03-21"), d("2024-06-20")));
    let cover = [(q1.start, q2.end)];

    // Q1 from an opening balance; its interest is credited on the 21st and compounds.
    let b = daily_balances(dec!(80000000.00), q1.start, q1.end, &[], &cover).unwrap();
    let i1 = accrue(&spec, &Period { from: q1.start, to: q1.end, settlement: q1.end }, &b.for_accrual()).unwrap();
    assert_eq!(i1.expected, dec!(70777.78));
    let credit = Posting { booking: q1.credit, value: q1.credit, amount: i1.expected };
    let b = daily_balances(dec!(80000000.00), q1.start, q2.end, &[credit], &cover).unwrap();
    let all = b.for_accrual();
    let i2 = accrue(&spec, &Period { from: q2.start, to: q2.end, settlement: q2.end }, &all).unwrap();
    assert_eq!(i2.expected, dec!(71618.86));

    // A posting dated the 20th counts in the old window, one dated the 21st in the new one.
    let on = |day: &str, amount| Posting { booking: d(day), value: d(day), amount };
    let b = daily_balances(
        dec!(80000000.00),
        q1.start,
        q2.end,
        &[on("2024-03-20", dec!(1000000)), on("2024-03-21", dec!(2000000))],
        &cover,
    )
    .unwrap();
    let sum = |from, to| accrue(&spec, &Period { from, to, settlement: to }, &b.for_accrual()).unwrap().balance_sum;
    assert_eq!(sum(q1.start, q1.end), dec!(80000000) * dec!(91) + dec!(1000000));
    assert_eq!(sum(q2.start, q2.end), dec!(83000000) * dec!(92));
}

#[test]
fn tc6_half_up_to_the_fen() {
    let v = run("tc-6", "");
    assert_eq!(s(&v["windows"][0]["balance_sum"]), "1234500.00");
    assert_eq!(s(&v["windows"][0]["unrounded"]), "12.345");
    assert_eq!(s(&v["windows"][0]["expected"]), "12.35"); // banker's would give 12.34
}

#[test]
fn tc7_rounding_per_segment_versus_once() {
    let once = run("tc-7", "");
    let segs = once["windows"][0]["segments"].as_array().unwrap();
    assert_eq!(segs.len(), 2);
    assert_eq!((s(&segs[0]["legs"][0]["interest"]), s(&segs[1]["legs"][0]["interest"])), ("12.345", "23.455"));
    assert_eq!(s(&once["windows"][0]["expected"]), "35.80");
    assert_eq!(s(&run("tc-7", "per_segment")["windows"][0]["expected"]), "35.81");
}

#[test]
fn tc8_seven_day_notice_deposit() {
    let v = run("tc-8", "");
    let p = &v["deposit"]["payments"][0];
    assert_eq!((p["days"].as_i64(), s(&p["interest"])), (Some(65), "24375.00"));
    assert_eq!((s(&p["parts"][0]["leg"]), s(&p["parts"][0]["rate"])), ("notice_7d", "1.35"));
    let early = run("tc-8", "early");
    let p = &early["deposit"]["payments"][0];
    assert_eq!((p["days"].as_i64(), s(&p["interest"])), (Some(62), "6027.78"));
    assert_eq!((s(&p["parts"][0]["leg"]), s(&p["parts"][0]["rate"])), ("demand", "0.35"));
    let partial = run("tc-8", "partial");
    let p = &partial["deposit"]["payments"][0];
    assert_eq!(p["closes"], true);
    assert_eq!(s(&p["principal"]), "10000000.00"); // the whole deposit is paid out
    assert_eq!(s(&partial["deposit"]["remaining"]), "0.00");
    assert_eq!(s(&partial["deposit"]["closed_on"]), "2025-03-08");
    // 9,600,000 × 65 × 1.35 % / 360 = 23,400.00 + remainder 400,000 at 0.35 % = 252.78.
    assert_eq!(s(&p["interest"]), "23652.78");
}

#[test]
fn tc9_three_month_time_deposit() {
    let v = run("tc-9", "");
    assert_eq!(s(&v["deposit"]["maturity"]), "2025-06-21");
    assert_eq!(s(&v["deposit"]["interest"]), "275000.00"); // month method
    assert_eq!(s(&run("tc-9", "actual")["deposit"]["interest"]), "281111.11"); // 92 days / 360
    assert_eq!(s(&v["deposit"]["by_method"]["actual"]), "281111.11");
    let early = run("tc-9", "early");
    assert_eq!(s(&early["deposit"]["status"]), "early");
    assert_eq!(
        (early["deposit"]["parts"][0]["days"].as_i64(), s(&early["deposit"]["interest"])),
        (Some(41), "39861.11")
    );
    let changed = run("tc-9", "benchmark_change");
    assert_eq!(s(&changed["deposit"]["interest"]), "275000.00"); // fixed at placement
    assert_eq!(s(&changed["deposit"]["rate"]), "1.10");
}

// ------------------------------------------------------------------------------------
// A generated year against an independent computation (integers in fen, own day loop).

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Half-up division of a non-negative numerator.
fn div_half_up(n: i128, d: i128) -> i128 {
    (2 * n + d) / (2 * d)
}

fn fen(x: i128) -> String {
    format!("{}.{:02}", x / 100, x % 100)
}

#[test]
fn generated_year_matches_independent_computation() {
    let (first, last) = (d("2024-12-21"), d("2025-12-20"));
    // Rates in 1/10000 of a percent: (from, demand, agreed).
    let rates: [(NaiveDate, i128, i128); 3] =
        [(d("2024-01-01"), 3500, 12500), (d("2025-05-20"), 2500, 10500), (d("2025-10-08"), 2000, 9500)];
    let base_fen: i128 = 3_000_000_000; // ¥30,000,000.00 in fen
    let mut rng = Lcg(20250521);
    let mut csv = String::from("date,balance\n");
    let mut days: Vec<(NaiveDate, i128)> = Vec::new();
    for day in first.iter_days().take_while(|x| *x <= last) {
        let mut bal = (rng.next() % 8_000_000_000) as i128; // up to ¥80m in fen
        if rng.next().is_multiple_of(10) {
            bal = base_fen; // exactly at the base now and then
        }
        csv.push_str(&format!("{day},{}\n", fen(bal)));
        days.push((day, bal));
    }
    assert_eq!(days.len(), 365);

    // Settlement day of a date: the first 20th of Mar/Jun/Sep/Dec on or after it.
    let settles = |x: NaiveDate| {
        let mut y = x.year();
        loop {
            for m in [3, 6, 9, 12] {
                let s = NaiveDate::from_ymd_opt(y, m, 20).unwrap();
                if s >= x {
                    return s;
                }
            }
            y += 1;
        }
    };
    // (settlement, segment) → (demand 积数, agreed 积数, total 积数), in fen.
    let mut sums: std::collections::BTreeMap<(NaiveDate, usize), (i128, i128, i128)> = Default::default();
    for &(day, bal) in &days {
        let seg = rates.iter().rposition(|r| r.0 <= day).unwrap();
        let e = sums.entry((settles(day), seg)).or_default();
        let agreed = (bal - base_fen).max(0);
        e.0 += bal - agreed;
        e.1 += agreed;
        e.2 += bal;
    }
    // Interest in fen = 积数(fen) × rate(1e-4 %) / (10^4 × 100 × 360) × 100… = n / 360_000_000.
    const D: i128 = 360_000_000;
    let settlements: Vec<NaiveDate> = {
        let mut v: Vec<NaiveDate> = sums.keys().map(|k| k.0).collect();
        v.dedup();
        v
    };
    assert_eq!(settlements.len(), 4);
    let mut want_once = Vec::new();
    let mut want_part = Vec::new();
    let mut want_demand = Vec::new();
    let mut want_sums = Vec::new();
    for s in &settlements {
        let (mut n_all, mut parts, mut n_dem, mut segs) = (0i128, 0i128, 0i128, Vec::new());
        for ((_, seg), (dem, agr, tot)) in sums.range((*s, 0)..=(*s, usize::MAX)) {
            let (_, rd, ra) = rates[*seg];
            n_all += dem * rd + agr * ra;
            parts += div_half_up(dem * rd, D) + div_half_up(agr * ra, D);
            n_dem += tot * rd;
            segs.push((fen(*dem), fen(*agr)));
        }
        want_once.push(fen(div_half_up(n_all, D)));
        want_part.push(fen(parts));
        want_demand.push(fen(div_half_up(n_dem, D)));
        want_sums.push(segs);
    }

    let terms = "product = \"agreed\"\nbank = \"ICBC\"\nbase_amount = \"30000000.00\"\nrounding = \"per_settlement\"\n\
        [[rates]]\nfrom = \"2024-01-01\"\ndemand = \"0.35\"\nagreed = \"1.25\"\n\
        [[rates]]\nfrom = \"2025-05-20\"\ndemand = \"0.25\"\nagreed = \"1.05\"\n\
        [[rates]]\nfrom = \"2025-10-08\"\ndemand = \"0.20\"\nagreed = \"0.95\"\n";
    let v = auditor_json(csv.as_bytes(), terms, first, last).unwrap();
    let ws = v["windows"].as_array().unwrap();
    assert_eq!(ws.len(), 4);
    for (i, w) in ws.iter().enumerate() {
        assert_eq!(d(s(&w["to"])), settlements[i]);
        assert_eq!(s(&w["expected"]), want_once[i], "window {i}");
        assert_eq!(s(&w["demand_rate_interest"]), want_demand[i], "window {i}");
        let segs: Vec<(String, String)> = w["segments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|sg| (s(&sg["legs"][0]["sum"]).to_string(), s(&sg["legs"][1]["sum"]).to_string()))
            .collect();
        assert_eq!(segs, want_sums[i], "window {i}");
    }
    // Q2 and Q4 windows each hold one rate change.
    assert_eq!(ws.iter().map(|w| w["segments"].as_array().unwrap().len()).collect::<Vec<_>>(), [1, 2, 1, 2]);
    let per_part = auditor_json(csv.as_bytes(), &terms.replace("per_settlement", "per_part"), first, last).unwrap();
    for (i, w) in per_part["windows"].as_array().unwrap().iter().enumerate() {
        assert_eq!(s(&w["expected"]), want_part[i], "per part, window {i}");
    }
    let total: Decimal = want_once.iter().map(|x| x.parse::<Decimal>().unwrap()).sum();
    assert_eq!(s(&v["totals"]["expected"]), fundrecon::money::canonical(total));
}

// ------------------------------------------------------------------------------------
// The bank's credit against the expectation.

fn case_inputs(case: &str, variant: &str) -> (Agreement, NaiveDate, Vec<Decimal>, Period) {
    let dir = root().join(case);
    let (from, to) = period(&dir);
    let name = if variant.is_empty() { "terms.toml".to_string() } else { format!("terms.{variant}.toml") };
    let a = Agreement::from_toml(&read(&dir.join(name))).unwrap();
    let map = read_balances_csv(&std::fs::read(dir.join("balances.csv")).unwrap()).unwrap();
    let daily = balances_for(&map, from, to).unwrap();
    let w = a.settlement.window_containing(from).unwrap();
    (a, from, daily, Period { from, to, settlement: w.end })
}

#[test]
fn credit_one_fen_short_is_a_discrepancy_without_explanation() {
    let (a, first, daily, p) = case_inputs("tc-1", "");
    let b = DayBalances { first, balances: &daily };
    let c = check_credit(&AccrualSpec::of(&a).unwrap(), &p, &b, dec!(10802.46)).unwrap();
    assert!(!c.equal);
    assert_eq!((c.expected, c.difference), (dec!(10802.47), dec!(-0.01)));
    assert!(c.explained_by.is_empty(), "{:?}", c.explained_by);
    assert!(c.variants_tried >= 10);
    let j = c.to_json();
    assert_eq!((s(&j["status"]), s(&j["difference"])), ("discrepancy", "-0.01"));
    let same = check_credit(&AccrualSpec::of(&a).unwrap(), &p, &b, dec!(10802.47)).unwrap();
    assert!(same.equal && same.difference.is_zero());
    assert_eq!(s(&same.to_json()["status"]), "equal");
}

#[test]
fn credit_at_the_settlement_day_rate_names_that_variant() {
    let (a, first, daily, p) = case_inputs("tc-2", "");
    let b = DayBalances { first, balances: &daily };
    let c = check_credit(&AccrualSpec::of(&a).unwrap(), &p, &b, dec!(32847.22)).unwrap();
    assert_eq!(c.difference, dec!(32847.22) - dec!(40208.33));
    assert_eq!(c.explained_by.len(), 1, "{:?}", c.explained_by);
    let e = &c.explained_by[0];
    assert_eq!(e.changes.len(), 1);
    assert_eq!((e.changes[0].field, e.changes[0].alternative.as_str()), ("rate_change", "settlement_day"));
    assert_eq!(c.to_json()["explained_by"], serde_json::json!([{"rate_change": "settlement_day"}]));
}

#[test]
fn credit_rounded_per_part_names_the_rounding_point() {
    let (a, first, daily, p) = case_inputs("tc-3", "");
    let b = DayBalances { first, balances: &daily };
    let c = check_credit(&AccrualSpec::of(&a).unwrap(), &p, &b, dec!(86347.23)).unwrap();
    assert_eq!(c.difference, dec!(0.01));
    let j = c.to_json();
    assert_eq!(j["explained_by"], serde_json::json!([{"rounding": "per_leg"}, {"rounding": "per_part"}]));
}

// ------------------------------------------------------------------------------------
// Bad inputs: every error names where.

fn tc1_csv() -> String {
    read(&root().join("tc-1/balances.csv"))
}

fn tc1_terms() -> String {
    read(&root().join("tc-1/terms.toml"))
}

fn audit_err(csv: &str, terms: &str) -> String {
    match auditor_json(csv.as_bytes(), terms, d("2024-12-21"), d("2025-03-20")) {
        Ok(v) => panic!("should fail, got {v}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_dates_are_named() {
    let csv: String = tc1_csv()
        .lines()
        .filter(|l| !l.starts_with("2025-01-15") && !l.starts_with("2025-02-0"))
        .map(|l| format!("{l}\n"))
        .collect();
    let err = audit_err(&csv, &tc1_terms());
    assert_eq!(err, "balances: no end-of-day balance for 2025-01-15, 2025-02-01…2025-02-09");
}

#[test]
fn bad_amounts_and_dates_name_line_and_field() {
    let mut lines: Vec<String> = tc1_csv().lines().map(String::from).collect();
    lines[4] = "2024-12-24,12345678.9x".into(); // line 5
    lines[6] = "2024-12-26,\"12,345,678.90\"".into(); // line 7
    lines[8] = "2024-12-32,12345678.90".into(); // line 9
    lines[10] = "2024-12-30,12345678.901".into(); // line 11
    let err = audit_err(&(lines.join("\n") + "\n"), &tc1_terms());
    for want in [
        "line 5, field `balance`: \"12345678.9x\" is not an amount",
        "line 7, field `balance`: \"12,345,678.90\" is not an amount",
        "line 9, field `date`: \"2024-12-32\" is not a date",
        "line 11, field `balance`: \"12345678.901\" has more than two decimals",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
    let err = audit_err("date;balance\n2024-12-21;1\n", &tc1_terms());
    assert!(err.contains("line 1: header must be `date,balance`"), "{err}");
}

#[test]
fn bad_terms_report_every_problem_with_its_path() {
    let terms = r#"product = "demand"
[[rates]]
from = "2025-01-01"
demand = "0.35"
agred = "1.25"
[[rates]]
from = "2024-06-01"
demand = "zero point three"
"#;
    let err = audit_err(&tc1_csv(), terms);
    for want in [
        "line 5, `rates[0].agred`: unknown key",
        "line 7, `rates[1].from`: 2024-06-01 is not after rates[0].from (2025-01-01)",
        "line 8, `rates[1].demand`: \"zero point three\" is not a number",
    ] {
        assert!(err.contains(want), "missing {want:?} in {err}");
    }
    let float = audit_err(&tc1_csv(), "product = \"demand\"\n[[rates]]\nfrom = \"2024-01-01\"\ndemand = 0.35\n");
    assert!(float.contains("`rates[0].demand`: expected a decimal number as a string, found float"), "{float}");
    let syntax = audit_err(&tc1_csv(), "product = \"demand\"\n[[rates]\n");
    assert!(syntax.starts_with("terms: line 2, `(syntax)`"), "{syntax}");
    let product = audit_err(&tc1_csv(), "product = \"savings\"\n[[rates]]\nfrom = \"2024-01-01\"\ndemand = \"0.35\"\n");
    assert!(product.contains("line 1, `product`: \"savings\" is not one of demand, agreed"), "{product}");
    let notice = audit_err(
        "",
        "product = \"notice_7d\"\n[[rates]]\nfrom = \"2024-01-01\"\ndemand = \"0.35\"\nnotice_7d = \"1.35\"\n",
    );
    assert!(notice.contains("`notice`: required for product notice_7d"), "{notice}");
}

#[test]
fn limits_and_ranges() {
    let csv = tc1_csv();
    let err = auditor_json(csv.as_bytes(), &tc1_terms(), d("2010-01-01"), d("2025-03-20")).unwrap_err();
    assert!(matches!(err, InterestError::Limit(_)), "{err}");
    let err = auditor_json(csv.as_bytes(), &tc1_terms(), d("2025-03-20"), d("2025-03-01")).unwrap_err();
    assert!(err.to_string().contains("is after"), "{err}");
}

#[test]
fn warnings_for_caps_expiry_and_negative_balances() {
    let terms = "product = \"agreed\"\nbank = \"中国工商银行南宁分行\"\nbase_amount = \"1000000\"\nexpires = \"2025-04-10\"\n\
        [[rates]]\nfrom = \"2024-01-01\"\ndemand = \"0.35\"\nagreed = \"1.40\"\n";
    let mut csv = tc1_csv();
    csv = csv.replace("2025-01-02,12345678.90", "2025-01-02,-5.00");
    let v = auditor_json(csv.as_bytes(), terms, d("2024-12-21"), d("2025-03-20")).unwrap();
    assert_eq!(codes(&v), ["agreement_expires", "rate_above_cap", "negative_balance"]);
    let msgs: Vec<&str> = v["warnings"].as_array().unwrap().iter().map(|w| s(&w["message"])).collect();
    assert!(msgs[0].contains("2025-04-10, 21 day(s) after 2025-03-20"), "{}", msgs[0]);
    assert!(
        msgs[1].contains("agreed rate 1.40% on 2024-12-21 is above the self-discipline cap 1.25% for big_state"),
        "{}",
        msgs[1]
    );
    assert!(msgs[2].contains("2025-01-02"), "{}", msgs[2]);
}
