//! Scores what `fundrecon reconcile` wrote (`matches.csv`, `discrepancies.csv`) against a
//! delivery's `truth.jsonl`.
//!
//! How the report is read (README "Stable machine interfaces", src/report/mod.rs, and the
//! demo outputs in fixtures/demo/expected/):
//! - `matches.csv` has one row per matched bank entry, the match's vouchers joined by `;`.
//!   Rows with vouchers are put back together by (account, vouchers, rule): a 代发 batch is
//!   one row naming all its vouchers, a split several rows naming the same voucher, a
//!   `return` one row naming the original voucher (the credit is also a `returned_payment`
//!   item). Rows without a voucher (a `reversal` pair) do not say which rows belong
//!   together: they are paired as the truth pairs them when every member of a true group
//!   is there under the same rule; any other such row counts as a wrong match of its own.
//! - A match is right when its entry set and voucher set are exactly a true group.
//! - A planted open item is named right when `discrepancies.csv` has a row of its type on
//!   its account with its bank reference (when it has one) and its voucher (when it has one).

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

type GroupKey = (String, BTreeSet<String>, BTreeSet<String>);

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeScore {
    pub planted: usize,
    pub named: usize,
    /// Rows of this type in the report.
    pub reported: usize,
    /// Reported rows that name no planted item of this type.
    pub extra: usize,
    /// Planted items reported under another type: (type, count).
    pub misnamed: BTreeMap<String, usize>,
}

#[derive(Clone, Debug, Default)]
pub struct Score {
    /// Match groups in the report.
    pub matches: usize,
    /// Of them, not a true group (with a description of the first ones).
    pub wrong: usize,
    pub wrong_examples: Vec<String>,
    pub true_groups: usize,
    pub found: usize,
    /// class → (found, total)
    pub by_class: BTreeMap<String, (usize, usize)>,
    /// class → examples of true groups not found, with what the report did with their entries
    pub missed_examples: BTreeMap<String, Vec<String>>,
    pub by_type: BTreeMap<String, TypeScore>,
}

impl Score {
    pub fn precision(&self) -> f64 {
        if self.matches == 0 { 1.0 } else { (self.matches - self.wrong) as f64 / self.matches as f64 }
    }
    pub fn recall(&self) -> f64 {
        if self.true_groups == 0 { 1.0 } else { self.found as f64 / self.true_groups as f64 }
    }

    /// The goal: no wrong match, ≥ 99 % of true groups, ≥ 99 % of every planted type named.
    /// Returns what misses it (empty when met).
    pub fn goal_failures(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.wrong > 0 {
            v.push(format!("{} wrong match(es)", self.wrong));
        }
        if self.recall() < 0.99 {
            v.push(format!("true groups found {:.1} % < 99 %", 100.0 * self.recall()));
        }
        for (t, s) in &self.by_type {
            if s.planted > 0 && (s.named as f64) < 0.99 * s.planted as f64 {
                v.push(format!("{t}: {}/{} named right", s.named, s.planted));
            }
        }
        v
    }

    pub fn table(&self) -> String {
        let pct =
            |a: usize, b: usize| if b == 0 { "-".to_string() } else { format!("{:.1}%", 100.0 * a as f64 / b as f64) };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "matches: {} groups reported, {} wrong (precision {:.2}%); true groups found {}/{} ({:.2}%)",
            self.matches,
            self.wrong,
            100.0 * self.precision(),
            self.found,
            self.true_groups,
            100.0 * self.recall()
        );
        let _ = writeln!(s, "{:<24} {:>7} {:>7} {:>8}", "class", "found", "total", "recall");
        for (c, (f, t)) in &self.by_class {
            let _ = writeln!(s, "{c:<24} {f:>7} {t:>7} {:>8}", pct(*f, *t));
        }
        let _ = writeln!(
            s,
            "{:<18} {:>7} {:>7} {:>8} {:>8} {:>7}  misnamed as",
            "discrepancy", "planted", "named", "recall", "reported", "extra"
        );
        for (t, x) in &self.by_type {
            let mis: Vec<String> = x.misnamed.iter().map(|(k, n)| format!("{k}:{n}")).collect();
            let _ = writeln!(
                s,
                "{t:<18} {:>7} {:>7} {:>8} {:>8} {:>7}  {}",
                x.planted,
                x.named,
                pct(x.named, x.planted),
                x.reported,
                x.extra,
                mis.join(" ")
            );
        }
        if !self.wrong_examples.is_empty() {
            let _ = writeln!(s, "wrong matches (first {}):", self.wrong_examples.len());
            for w in &self.wrong_examples {
                let _ = writeln!(s, "  {w}");
            }
        }
        for (c, ex) in &self.missed_examples {
            for e in ex {
                let _ = writeln!(s, "  missed {c}: {e}");
            }
        }
        s
    }
}

/// Reads a report CSV: BOM dropped, the `'` guard before `= + - @ TAB CR` removed.
fn read_csv(path: &Path) -> io::Result<Vec<HashMap<String, String>>> {
    let bytes = std::fs::read(path)?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(bytes);
    let headers: Vec<String> = rdr.headers().map_err(io::Error::other)?.iter().map(str::to_string).collect();
    let mut out = Vec::new();
    for row in rdr.records() {
        let row = row.map_err(io::Error::other)?;
        let mut m = HashMap::new();
        for (h, v) in headers.iter().zip(row.iter()) {
            let v = match v.strip_prefix('\'') {
                Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
                _ => v,
            };
            m.insert(h.clone(), v.to_string());
        }
        out.push(m);
    }
    Ok(out)
}

struct TrueGroup {
    key: GroupKey,
    class: String,
}
struct Open {
    account: String,
    bank_ref: Option<String>,
    voucher: Option<String>,
    ty: String,
}

fn set(xs: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    xs.into_iter().collect()
}

pub fn score(truth: &Path, out_dir: &Path) -> io::Result<Score> {
    let mut groups: Vec<TrueGroup> = Vec::new();
    let mut opens: Vec<Open> = Vec::new();
    for line in std::fs::read_to_string(truth)?.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).map_err(io::Error::other)?;
        let strs = |x: &Value| -> Vec<String> {
            x.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect()).unwrap_or_default()
        };
        if let Some(g) = v.get("group") {
            groups.push(TrueGroup {
                key: (
                    g["account"].as_str().unwrap_or("").to_string(),
                    set(strs(&g["bank_refs"])),
                    set(strs(&g["vouchers"])),
                ),
                class: g["class"].as_str().unwrap_or("").to_string(),
            });
        } else if let Some(o) = v.get("open") {
            opens.push(Open {
                account: o["account"].as_str().unwrap_or("").to_string(),
                bank_ref: o["bank_ref"].as_str().map(str::to_string),
                voucher: o["voucher"].as_str().map(str::to_string),
                ty: o["type"].as_str().unwrap_or("").to_string(),
            });
        }
    }
    let true_keys: HashSet<&GroupKey> = groups.iter().map(|g| &g.key).collect();
    // The true voucherless groups of each entry, to pair the report's voucherless rows.
    let mut partner: HashMap<(String, String), &GroupKey> = HashMap::new();
    for g in &groups {
        if g.key.2.is_empty() {
            for r in &g.key.1 {
                partner.insert((g.key.0.clone(), r.clone()), &g.key);
            }
        }
    }

    // Rebuild the report's match groups.
    let rows = read_csv(&out_dir.join("matches.csv"))?;
    let mut with_v: BTreeMap<(String, String, String), BTreeSet<String>> = BTreeMap::new();
    let mut without_v: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut entry_rule: HashMap<(String, String), String> = HashMap::new();
    for r in &rows {
        let (acct, bref, vs, rule) = (&r["account_no"], &r["bank_ref"], &r["voucher_nos"], &r["rule"]);
        entry_rule.insert((acct.clone(), bref.clone()), format!("{rule}[{vs}]"));
        if vs.is_empty() {
            without_v.entry((acct.clone(), rule.clone())).or_default().push(bref.clone());
        } else {
            with_v.entry((acct.clone(), vs.clone(), rule.clone())).or_default().insert(bref.clone());
        }
    }
    let mut out_groups: Vec<(GroupKey, String)> = Vec::new();
    for ((acct, vs, rule), refs) in with_v {
        out_groups.push(((acct, refs, set(vs.split(';').map(str::to_string))), rule));
    }
    for ((acct, rule), refs) in without_v {
        let here: HashSet<&String> = refs.iter().collect();
        let mut done: HashSet<&String> = HashSet::new();
        for r in &refs {
            if done.contains(r) {
                continue;
            }
            match partner.get(&(acct.clone(), r.clone())) {
                Some(g) if g.1.iter().all(|m| here.contains(m) && !done.contains(m)) => {
                    for m in &g.1 {
                        if let Some(x) = refs.iter().find(|x| *x == m) {
                            done.insert(x);
                        }
                    }
                    out_groups.push(((*g).clone(), rule.clone()));
                }
                _ => {
                    done.insert(r);
                    out_groups.push(((acct.clone(), set([r.clone()]), BTreeSet::new()), rule.clone()));
                }
            }
        }
    }

    let mut sc = Score { matches: out_groups.len(), ..Score::default() };
    let mut found: HashSet<&GroupKey> = HashSet::new();
    for (k, rule) in &out_groups {
        if true_keys.contains(k) {
            found.insert(k);
        } else {
            sc.wrong += 1;
            if sc.wrong_examples.len() < 12 {
                // Which true groups its entries and vouchers belong to.
                let owners: BTreeSet<String> = groups
                    .iter()
                    .filter(|g| {
                        g.key.0 == k.0
                            && (g.key.1.iter().any(|r| k.1.contains(r)) || g.key.2.iter().any(|v| k.2.contains(v)))
                    })
                    .map(|g| g.class.clone())
                    .collect();
                sc.wrong_examples.push(format!(
                    "{} rule {rule}: entries {:?} vouchers {:?} (true classes involved: {:?})",
                    k.0, k.1, k.2, owners
                ));
            }
        }
    }
    sc.true_groups = groups.len();
    for g in &groups {
        let e = sc.by_class.entry(g.class.clone()).or_default();
        e.1 += 1;
        if found.contains(&g.key) {
            e.0 += 1;
            sc.found += 1;
        } else {
            let ex = sc.missed_examples.entry(g.class.clone()).or_default();
            if ex.len() < 2 {
                let what: Vec<String> = g
                    .key
                    .1
                    .iter()
                    .map(|r| {
                        format!(
                            "{r}={}",
                            entry_rule
                                .get(&(g.key.0.clone(), r.clone()))
                                .cloned()
                                .unwrap_or_else(|| "unmatched".into())
                        )
                    })
                    .collect();
                ex.push(format!(
                    "{} entries {:?} vouchers {:?}: report {}",
                    g.key.0,
                    g.key.1,
                    g.key.2,
                    what.join(", ")
                ));
            }
        }
    }

    // Discrepancies.
    let disc = read_csv(&out_dir.join("discrepancies.csv"))?;
    let mut used = vec![false; disc.len()];
    for o in &opens {
        sc.by_type.entry(o.ty.clone()).or_default().planted += 1;
    }
    let same_item = |o: &Open, d: &HashMap<String, String>| {
        d["account_no"] == o.account
            && o.bank_ref.as_ref().is_none_or(|r| &d["bank_ref"] == r)
            && o.voucher.as_ref().is_none_or(|v| &d["voucher_no"] == v)
    };
    for o in &opens {
        let hit = disc.iter().position(|d| d["type"] == o.ty && same_item(o, d));
        match hit {
            Some(i) => {
                used[i] = true;
                sc.by_type.entry(o.ty.clone()).or_default().named += 1;
            }
            None => {
                // What the report said instead: a row naming the whole item under another
                // type, else what it said of the entry and of the voucher separately.
                let by = |f: &dyn Fn(&HashMap<String, String>) -> bool| {
                    disc.iter().find(|d| d["account_no"] == o.account && f(d)).map(|d| d["type"].clone())
                };
                let other = match by(&|d| same_item(o, d)) {
                    Some(t) => t,
                    None => {
                        let e = o.bank_ref.as_ref().map(|r| by(&|d| &d["bank_ref"] == r).unwrap_or_else(|| "-".into()));
                        let v =
                            o.voucher.as_ref().map(|v| by(&|d| &d["voucher_no"] == v).unwrap_or_else(|| "-".into()));
                        match (e, v) {
                            (Some(e), Some(v)) => format!("entry:{e}/voucher:{v}"),
                            (Some(e), None) => format!("entry:{e}"),
                            (None, Some(v)) => format!("voucher:{v}"),
                            (None, None) => "nothing".into(),
                        }
                    }
                };
                *sc.by_type.entry(o.ty.clone()).or_default().misnamed.entry(other).or_default() += 1;
            }
        }
    }
    for (i, d) in disc.iter().enumerate() {
        let t = sc.by_type.entry(d["type"].clone()).or_default();
        t.reported += 1;
        if !used[i] {
            t.extra += 1;
        }
    }
    Ok(sc)
}
