//! The job layer: drives fetch → archive → parse → validate → match → report.
//! `daily` is the scheduled reconciliation over a config; `reconcile` the one-shot form
//! over files, in memory. Both share the steps in this module (`account_result`).

pub mod bench;
pub mod daily;
pub mod deliveries;
pub mod interest;
pub mod progress;
pub mod reconcile;
pub mod review;

use crate::account::AccountMap;
use crate::archive::Archive;
use crate::matching::{self, Params};
use crate::parse::{self, Limits};
use crate::report::AccountResult;
use crate::statement::Statement;
use crate::store::{ImportStats, Store};
use rust_decimal::Decimal;

/// Exit codes (README documents them).
pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_DISCREPANCIES: i32 = 1;
pub const EXIT_FAILURE: i32 = 2;

/// A configured (or, in `reconcile`, discovered) account.
#[derive(Clone, Debug)]
pub struct AccountInfo {
    pub number: String,
    pub name: String,
    pub currency: String,
    pub bank: String,
    pub book_opening: Option<(chrono::NaiveDate, Decimal)>,
    /// Deposit agreements of this account (the interest check runs when there are any).
    pub agreements: Vec<crate::interest::Agreement>,
    /// The matching cascade (config `[matching] rules`, or the account's `rules`).
    pub rules: matching::RuleSet,
}

/// Who runs this command, for the records: `$FUNDRECON_USER`, else the OS user (`$USER`,
/// `$LOGNAME`, the passwd entry of this process's uid), else `uid N`.
pub fn operator() -> String {
    let env = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    if let Some(u) = env("FUNDRECON_USER").or_else(|| env("USER")).or_else(|| env("LOGNAME")) {
        return u;
    }
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "unknown".into();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2] == uid.to_string() && !f[0].is_empty()).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// Archives a delivered file and records it. Archive first: the row only exists once the
/// bytes are safe on disk.
pub async fn archive_file(
    store: &Store,
    archive: &Archive,
    name: &str,
    bytes: &[u8],
    channel: &str,
) -> anyhow::Result<String> {
    let (sha, _) = archive.put(bytes)?;
    store.record_raw_file(&sha, bytes.len() as u64, name, channel).await?;
    Ok(sha)
}

/// Reads an archived zip (`sha`, delivered as `name`) member by member ([`crate::unzip`]):
/// each member is archived under its own hash and recorded as a file of its own
/// (`raw_files`, named `<zip>!<member>`, same channel), all members or none: a refused zip
/// leaves only itself archived. Returns the members' names and hashes, sorted by path, to
/// import like plain files. The inflated bytes go through temporary files in the archive,
/// never memory.
pub async fn archive_zip_members(
    store: &Store,
    archive: &Archive,
    sha: &str,
    name: &str,
    channel: &str,
    limits: &crate::unzip::Limits,
) -> anyhow::Result<Vec<(String, String)>> {
    let path = archive.verified_path(sha)?;
    let (zip, tmp_dir, limits) = (name.to_string(), archive.tmp_dir(), limits.clone());
    let members = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let f = std::fs::File::open(&path).map_err(|e| anyhow::anyhow!("{zip}: archive {}: {e}", path.display()))?;
        let members = crate::unzip::extract(&zip, std::io::BufReader::new(f), &limits, |_| {
            tempfile::Builder::new().prefix("unzip-").suffix(".part").tempfile_in(&tmp_dir)
        })?;
        for m in &members {
            m.out.as_file().sync_all().map_err(|e| anyhow::anyhow!("{}: archiving: {e}", m.name))?;
        }
        Ok(members)
    })
    .await
    .map_err(|e| anyhow::anyhow!("{name}: unzipping stopped: {e}"))??;
    let mut out = Vec::with_capacity(members.len());
    for m in members {
        let file = crate::fetch::Downloaded {
            name: m.name.clone(),
            size: m.size,
            mtime_ns: None,
            sha256: m.sha256.clone(),
            tmp: m.out,
        };
        crate::fetch::into_archive(archive, file).map_err(|e| anyhow::anyhow!("{}: archiving: {e}", m.name))?;
        store.record_raw_file(&m.sha256, m.size, &m.name, channel).await?;
        out.push((m.name, m.sha256));
    }
    Ok(out)
}

/// Marks an archived file imported with nothing of its own to store (a zip whose members
/// are all imported): a rerun skips it like any imported file.
pub async fn mark_imported(store: &Store, sha: &str, format: &str) -> anyhow::Result<()> {
    if let Some(tx) = store.begin_import(sha).await? {
        tx.commit(format).await?;
    }
    Ok(())
}

/// Parses an archived file and imports its statements (one transaction). Errors name
/// the file and place; the archived bytes stay whatever happens.
///
/// Streamed: the archived file's hash is verified, then a blocking thread parses it and
/// hands statements one by one over a bounded channel to the import transaction, so
/// memory is bounded by the largest statement, not the file (see `parse::stream`).
pub async fn import_file(
    store: &Store,
    archive: &Archive,
    sha: &str,
    name: &str,
    format: Option<&str>,
    accounts: &AccountMap,
    limits: &Limits,
) -> anyhow::Result<ImportStats> {
    let Some(mut tx) = store.begin_import(sha).await? else {
        return Ok(ImportStats { already_imported: true, ..Default::default() });
    };
    let path = archive.verified_path(sha)?;
    let (to_import, mut statements) = tokio::sync::mpsc::channel::<Statement>(2);
    let (file, format, limits) = (name.to_string(), format.map(str::to_string), limits.clone());
    let parser = tokio::task::spawn_blocking(move || -> Result<&'static str, crate::parse::ParseError> {
        let f = std::fs::File::open(&path).map_err(|e| {
            crate::parse::ParseError::new(&file, crate::parse::Location::File, None, format!("archive: {e}"))
        })?;
        let mut input = std::io::BufReader::with_capacity(1 << 16, f);
        let (used, _) = parse::stream(&file, &mut input, format.as_deref(), None, &limits, &mut |s| {
            // The receiver is gone only when the import failed; its error is the one reported.
            to_import
                .blocking_send(s)
                .map_err(|_| crate::parse::ParseError::new(&file, crate::parse::Location::File, None, "import stopped"))
        })?;
        Ok(used)
    });
    let mut mapping_error = None;
    while let Some(s) = statements.recv().await {
        match accounts.resolve(&s.account) {
            Ok(a) => tx.statement(&s, &a).await?,
            Err(e) => {
                mapping_error = Some(anyhow::anyhow!("{name} {}: {e}", s.location));
                break;
            }
        }
    }
    drop(statements);
    let parsed = parser.await.map_err(|e| anyhow::anyhow!("{name}: parser stopped: {e}"))?;
    if let Some(e) = mapping_error {
        return Err(e); // `tx` is dropped: nothing of this file is stored
    }
    let used = parsed?;
    Ok(tx.commit(used).await?)
}

/// Validates and matches one account from what is stored, stores the outcome (replacing
/// the previous automatic one) and returns it for reporting.
///
/// `as_of` is the business date reported: the result returned is the account as of that
/// date ([`crate::store::AccountData::as_of`]: entries, records and statements up to it;
/// open items' ages count to it); `None` (the one-shot `reconcile`, the month report, a
/// decision) takes everything stored, to the end of the account's statements.
///
/// What is stored is always the whole picture (everything known): when the date cuts
/// something off, the whole picture is matched too and stored, so that a report of an
/// earlier date never replaces the results the review page shows with an older view.
pub async fn match_account(
    store: &Store,
    acct: &AccountInfo,
    window_days: u32,
    as_of: Option<chrono::NaiveDate>,
) -> anyhow::Result<AccountResult> {
    let data = store.account_data(&acct.number).await?;
    // People's decisions first: what they matched or rejected is not the cascade's to redo.
    let decided = crate::review::replay(&store.decisions(Some(&acct.number)).await?);
    let cut = as_of.and_then(|d| data.as_of(d));
    let whole = account_result(acct, data, &decided, window_days, if cut.is_some() { None } else { as_of });
    store.replace_results(&acct.number, &whole.matches, &whole.discrepancies).await?;
    Ok(match cut {
        Some(data) => account_result(acct, data, &decided, window_days, as_of),
        None => whole,
    })
}

/// The item details of the account's batch entries, as matching reads them: each item's
/// end-to-end id (the payee's voucher, where the fund's system sent it) and its amount,
/// signed like the debit. Items without an end-to-end id name nothing and are left out.
pub fn batch_details(entries: &[crate::store::StoredEntry]) -> Vec<matching::BatchDetail> {
    entries
        .iter()
        .filter_map(|e| {
            let b = e.batch.as_ref()?;
            let neg = e.item.amount.is_sign_negative();
            let lines: Vec<matching::BatchLine> = b
                .items
                .iter()
                .filter_map(|i| {
                    let reference = i.end_to_end_id.clone()?;
                    let amount = i.amount?;
                    Some(matching::BatchLine { reference, amount: if neg { -amount.abs() } else { amount.abs() } })
                })
                .collect();
            (!lines.is_empty()).then_some(matching::BatchDetail { entry_id: e.item.id, lines })
        })
        .collect()
}

/// The cascade over what people left to it, with people's matches put back.
///
/// A confirmed automatic match only agrees with the machine, so confirming must move
/// nothing else: the cascade first runs as if the confirmed matches were not decided, and
/// each one it makes again, item for item, is only marked confirmed (its rule and who
/// confirmed it). A confirmed match the cascade no longer makes (the books or statements
/// changed since) is imposed: its items are taken out and the cascade runs again, at most
/// twice more (the last time with every confirmed match imposed), so the work stays
/// bounded at three passes. Matches by hand and rejections are always imposed.
pub(crate) fn decided_outcome(
    acct: &AccountInfo,
    entries: &[crate::store::StoredEntry],
    records: &[crate::store::StoredRecord],
    details: &[matching::BatchDetail],
    decided: &crate::review::State,
    params: &Params,
) -> matching::Outcome {
    use std::collections::{BTreeSet, HashMap};
    const ROUNDS: usize = 3;
    let confirmed: Vec<&crate::review::Group> = decided.groups.iter().filter(|g| g.confirmed_rule.is_some()).collect();
    // Keys by id, built only where someone decided something: every account without a
    // decision (nearly all, at a million rows) would pay for them otherwise.
    let decided_any = !decided.groups.is_empty();
    let ekey: HashMap<i64, &str> = if decided_any {
        entries.iter().map(|e| (e.item.id, e.item.entry_key.as_str())).collect()
    } else {
        HashMap::new()
    };
    let rkey: HashMap<i64, String> = if decided_any {
        records.iter().map(|r| (r.item.id, crate::review::record_key(r.direction, &r.item.voucher_no))).collect()
    } else {
        HashMap::new()
    };
    let eid: HashMap<&str, i64> = if confirmed.is_empty() {
        HashMap::new()
    } else {
        entries.iter().map(|e| (e.item.entry_key.as_str(), e.item.id)).collect()
    };
    // The automatic match that holds exactly a group's items, if the cascade made it:
    // looked up through the match of the group's first entry (one index per round, so
    // many confirmations cost no more than the matches).
    let made =
        |outcome: &matching::Outcome, by_entry: &HashMap<i64, usize>, g: &crate::review::Group| -> Option<usize> {
            let want_e: BTreeSet<&str> = g.entries.iter().map(String::as_str).collect();
            let want_r: BTreeSet<&str> = g.records.iter().map(String::as_str).collect();
            let first = eid.get(g.entries.first()?.as_str())?;
            let i = *by_entry.get(first)?;
            Some(i).filter(|&i| {
                let m = &outcome.matches[i];
                m.entries.len() == want_e.len()
                    && m.records.len() == want_r.len()
                    && m.entries.iter().all(|id| ekey.get(id).is_some_and(|k| want_e.contains(k)))
                    && m.records.iter().all(|id| rkey.get(id).is_some_and(|k| want_r.contains(k.as_str())))
            })
        };
    let index = |outcome: &matching::Outcome| -> HashMap<i64, usize> {
        if confirmed.is_empty() {
            return HashMap::new();
        }
        let mut by_entry = HashMap::with_capacity(outcome.matches.len());
        for (i, m) in outcome.matches.iter().enumerate() {
            for e in &m.entries {
                by_entry.entry(*e).or_insert(i);
            }
        }
        by_entry
    };
    let mut imposed: BTreeSet<i64> = BTreeSet::new();
    for round in 1..=ROUNDS {
        if round == ROUNDS {
            imposed.extend(confirmed.iter().map(|g| g.decision));
        }
        let groups: Vec<&crate::review::Group> =
            decided.groups.iter().filter(|g| g.confirmed_rule.is_none() || imposed.contains(&g.decision)).collect();
        let mut outcome = cascade(acct, entries, records, details, decided, &groups, params);
        let by_entry = index(&outcome.0);
        let missed: Vec<i64> = confirmed
            .iter()
            .filter(|g| !imposed.contains(&g.decision) && made(&outcome.0, &by_entry, g).is_none())
            .map(|g| g.decision)
            .collect();
        if !missed.is_empty() && round < ROUNDS {
            imposed.extend(missed);
            continue;
        }
        let (mut out, people) = (outcome.0, std::mem::take(&mut outcome.1));
        for g in confirmed.iter().filter(|g| !imposed.contains(&g.decision)) {
            let i =
                made(&out, &by_entry, g).expect("checked above: the cascade made every confirmed match not imposed");
            let rule = g.confirmed_rule.as_deref().unwrap_or_default();
            out.matches[i].rule = matching::Rule::parse(rule).unwrap_or(out.matches[i].rule);
            out.matches[i].detail = format!("{rule} match confirmed by {}", decided.words(g.decision));
        }
        // An imposed return's voucher is a link: where nothing else claimed it, the
        // return is its place, not an open item.
        // A voucher a rejection holds stays open: it waits to be matched by hand.
        let held =
            |id: &i64| rkey.get(id).is_some_and(|k| decided.held.contains_key(&crate::review::Item::Record(k.clone())));
        let linked: BTreeSet<i64> = people
            .matches
            .iter()
            .filter(|m| m.rule == matching::Rule::Return)
            .flat_map(|m| m.records.iter().copied())
            .filter(|r| !held(r))
            .collect();
        if !linked.is_empty() {
            out.discrepancies.retain(|d| d.entry.is_some() || d.record.is_none_or(|r| !linked.contains(&r)));
        }
        out.matches.extend(people.matches);
        out.discrepancies.extend(people.discrepancies);
        return out;
    }
    unreachable!("the last round imposes every confirmed match and returns")
}

/// One pass: people's `groups` and rejections taken out, the cascade over the rest, held
/// items only classified. Returns the automatic outcome and people's matches (with their
/// discrepancies) apart.
fn cascade(
    acct: &AccountInfo,
    entries: &[crate::store::StoredEntry],
    records: &[crate::store::StoredRecord],
    details: &[matching::BatchDetail],
    decided: &crate::review::State,
    groups: &[&crate::review::Group],
    params: &Params,
) -> (matching::Outcome, matching::Outcome) {
    let mut part = review::partition(&acct.number, decided, groups, entries, records);
    // Nobody decided anything (the usual case): the cascade reads the rows in place.
    let mut outcome = match (part.auto_entries.take(), part.auto_records.take()) {
        (None, None) => matching::match_rows(&acct.number, entries, records, details, &acct.rules, params),
        (auto_entries, auto_records) => {
            let bank_items = auto_entries.unwrap_or_else(|| entries.iter().map(|e| e.item.clone()).collect());
            let book_items = auto_records.unwrap_or_else(|| records.iter().map(|r| r.item.clone()).collect());
            let input = matching::Input { entries: &bank_items, records: &book_items, batch_details: details };
            matching::match_with(&acct.number, &input, &acct.rules, params)
        }
    };
    if !part.held_entries.is_empty() || !part.held_records.is_empty() {
        // Held items are only classified: an empty cascade, then `classify`.
        let held = matching::Input { entries: &part.held_entries, records: &part.held_records, batch_details: &[] };
        let classify_only = matching::RuleSet { steps: Vec::new(), ..matching::RuleSet::default() };
        outcome.discrepancies.extend(matching::match_with(&acct.number, &held, &classify_only, params).discrepancies);
    }
    let people = matching::Outcome { matches: part.matches, discrepancies: part.discrepancies };
    (outcome, people)
}

/// The matching, validation, interest check and 调节表 of one account over what was
/// imported (`data`) and what people decided (`decided`): pure, so the database path
/// ([`match_account`]) and the in-memory one (`reconcile`) compute the same thing.
pub fn account_result(
    acct: &AccountInfo,
    data: crate::store::AccountData,
    decided: &crate::review::State,
    window_days: u32,
    as_of: Option<chrono::NaiveDate>,
) -> AccountResult {
    let crate::store::AccountData { entries, records, facts, bank_closing, statements_end } = data;
    let params = Params { window_days, statements_end };
    for (id, why) in &decided.ignored {
        tracing::warn!(account = %acct.number, decision = id, "decision not in effect: {why}");
    }
    let details = batch_details(&entries);
    let mut outcome = decided_outcome(acct, &entries, &records, &details, decided, &params);
    outcome.discrepancies.extend(crate::validate::statements(&facts));
    let interest = interest::check_credits(
        &acct.agreements,
        &acct.number,
        &facts,
        &entries,
        &mut outcome.matches,
        &mut outcome.discrepancies,
    );
    let book_balance = match (acct.book_opening, bank_closing) {
        (Some((odate, oamount)), Some((cdate, _))) => Some(
            oamount
                + records
                    .iter()
                    .filter(|r| r.item.date > odate && r.item.date <= cdate)
                    .map(|r| r.item.amount)
                    .sum::<Decimal>(),
        ),
        _ => None,
    };
    let mut result = AccountResult {
        account_no: acct.number.clone(),
        name: acct.name.clone(),
        currency: acct.currency.clone(),
        bank: acct.bank.clone(),
        entries,
        records,
        matches: outcome.matches,
        discrepancies: outcome.discrepancies,
        bank_closing,
        book_balance,
        interest,
        as_of: as_of.or(statements_end).unwrap_or(chrono::NaiveDate::MIN),
    };
    // 银行存款余额调节表: adjusted balances that disagree are a discrepancy of their own.
    if let Some(rec) = crate::report::reconciliation::build(&result)
        && !rec.difference().is_zero()
    {
        result.discrepancies.push(crate::discrepancy::Discrepancy {
            kind: crate::discrepancy::Kind::BalanceBreak,
            account_no: acct.number.clone(),
            entry: None,
            record: None,
            statement: None,
            bank_ref: None,
            voucher_no: None,
            date: rec.date,
            amount: Some(rec.adjusted_bank()),
            expected: Some(rec.adjusted_book()),
            rule: "reconciliation".into(),
            detail: format!(
                "银行存款余额调节表 at {}: adjusted bank balance {} vs adjusted book balance {} (difference {})",
                rec.date,
                crate::money::canonical(rec.adjusted_bank()),
                crate::money::canonical(rec.adjusted_book()),
                crate::money::canonical(rec.difference())
            ),
        });
    }
    review::annotate(decided, &result.entries, &result.records, &mut result.matches, &mut result.discrepancies);
    result
}
