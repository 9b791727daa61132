//! People's decisions on matching: confirm, reject, match by hand, unmatch, annotate.
//!
//! Decisions are an append-only audit trail (table `decisions`, triggers refuse UPDATE
//! and DELETE, each row hash-chained to the one before). Matching never edits them: each
//! pass *replays* the trail ([`replay`]) into the [`State`] people have decided, takes
//! those items out of automatic matching and puts the people's matches back, so a rerun
//! keeps every decision and never rematches what a person decided.
//!
//! Items are named by stable identities, never row ids: a bank entry by its `entry_key`
//! (bank reference + occurrence), a book record by [`record_key`] (direction + voucher).
//!
//! Pure: no I/O, no clock (the job layer stamps `decided_at`).

use crate::book::Direction;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Limits on one decision, so a typo cannot write a giant row.
pub const MAX_ITEMS: usize = 1_000;
pub const MAX_REASON_CHARS: usize = 2_000;
pub const MAX_NAME_CHARS: usize = 100;

/// The hash the first row's `prev_hash` carries.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Keep an automatic match as it is (it is locked: no rule will redo it), or accept an
    /// open item as explained (it stays reported, and no longer needs attention).
    Confirm,
    /// An automatic match is wrong: its items are held out of automatic matching and stay
    /// open until a person matches them by hand (or withdraws the rejection).
    Reject,
    /// Match by hand: these entries and records belong together.
    Match,
    /// Withdraw an earlier decision (`undoes`): the items go back to automatic matching.
    Unmatch,
    /// A note on items; changes nothing else.
    Annotate,
}

impl Action {
    pub const ALL: [Action; 5] = [Action::Confirm, Action::Reject, Action::Match, Action::Unmatch, Action::Annotate];

    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Confirm => "confirm",
            Action::Reject => "reject",
            Action::Match => "match",
            Action::Unmatch => "unmatch",
            Action::Annotate => "annotate",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }

    pub fn label_zh(&self) -> &'static str {
        match self {
            Action::Confirm => "确认",
            Action::Reject => "否决",
            Action::Match => "手工勾对",
            Action::Unmatch => "撤销",
            Action::Annotate => "备注",
        }
    }
}

/// The identity of a book record in decisions: `disbursement:V-1`.
pub fn record_key(direction: Direction, voucher_no: &str) -> String {
    format!("{}:{voucher_no}", direction.as_str())
}

/// The direction and voucher of a record key (`disbursement:V-1`); `None` when the text
/// does not start with a direction (a bare voucher number).
pub fn parse_record_key(key: &str) -> Option<(Direction, &str)> {
    let (d, v) = key.split_once(':')?;
    Some((Direction::parse(d)?, v))
}

/// One item a decision names.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Item {
    Entry(String),
    Record(String),
}

impl std::fmt::Display for Item {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Item::Entry(k) => write!(f, "entry {k}"),
            Item::Record(k) => write!(f, "record {k}"),
        }
    }
}

/// A decision before it is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDecision {
    pub account_no: String,
    pub action: Action,
    pub entries: Vec<String>,
    pub records: Vec<String>,
    /// Confirm/reject of an automatic match: the rule that made it.
    pub rule: Option<String>,
    pub undoes: Option<i64>,
    pub reason: String,
    pub by: String,
}

impl NewDecision {
    /// Shape checks every writer (CLI, web page) goes through; errors say what to fix.
    pub fn check(&self) -> Result<(), String> {
        let by = self.by.trim();
        if by.is_empty() {
            return Err("who decides is required (--by, or FUNDRECON_USER)".into());
        }
        if by.chars().count() > MAX_NAME_CHARS || by.chars().any(char::is_control) {
            return Err(format!("the name {by:?} is too long or holds control characters"));
        }
        if self.reason.trim().is_empty() {
            return Err(format!("`{}` needs a reason (--why)", self.action.as_str()));
        }
        if self.reason.chars().count() > MAX_REASON_CHARS {
            return Err(format!("the reason is longer than {MAX_REASON_CHARS} characters"));
        }
        let n = self.entries.len() + self.records.len();
        if n > MAX_ITEMS {
            return Err(format!("{n} items in one decision; at most {MAX_ITEMS}"));
        }
        if self.action != Action::Unmatch && n == 0 {
            return Err(format!("`{}` names at least one entry or record", self.action.as_str()));
        }
        if self.action == Action::Unmatch && self.undoes.is_none() {
            return Err("an unmatch names the decision it withdraws".into());
        }
        Ok(())
    }
}

/// A stored decision (an audit row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub id: i64,
    pub new: NewDecision,
    pub at: DateTime<Utc>,
    pub prev_hash: String,
    pub row_hash: String,
}

impl Decision {
    pub fn items(&self) -> impl Iterator<Item = Item> + '_ {
        self.new
            .entries
            .iter()
            .map(|k| Item::Entry(k.clone()))
            .chain(self.new.records.iter().map(|k| Item::Record(k.clone())))
    }

    /// `#12 match by 张三 2024-03-25T09:00:00Z: why`
    pub fn summary(&self) -> String {
        format!(
            "#{} {} by {} at {}: {}",
            self.id,
            self.new.action.as_str(),
            self.new.by,
            self.at.format("%Y-%m-%d %H:%M:%S UTC"),
            self.new.reason
        )
    }
}

/// The SHA-256 (hex) of the previous row's hash and this row's fields, each
/// length-prefixed so no two field lists hash alike. `at` in RFC 3339 with microseconds.
pub fn chain_hash(prev_hash: &str, d: &NewDecision, at: DateTime<Utc>) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    field(prev_hash);
    field(&d.account_no);
    field(d.action.as_str());
    field(&d.entries.join("\n"));
    field(&d.records.join("\n"));
    field(d.rule.as_deref().unwrap_or(""));
    field(&d.undoes.map(|u| u.to_string()).unwrap_or_default());
    field(&d.reason);
    field(&d.by);
    field(&at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    hex::encode(h.finalize())
}

/// Checks the chain of all rows in id order: the first broken row and why.
pub fn verify(rows: &[Decision]) -> Result<(), (i64, String)> {
    let mut prev = GENESIS.to_string();
    for r in rows {
        if r.prev_hash != prev {
            return Err((r.id, format!("prev_hash {} is not the previous row's hash {prev}", r.prev_hash)));
        }
        let want = chain_hash(&r.prev_hash, &r.new, r.at);
        if r.row_hash != want {
            return Err((r.id, "the row's fields do not give its row_hash: it was changed".into()));
        }
        prev = r.row_hash.clone();
    }
    Ok(())
}

/// The rule whose records are links, not holdings: a 退汇 (`return`) names the voucher
/// whose money came back, and that voucher's own debit is usually paired by another rule
/// (its 代发 batch, its reference). Deciding on the return therefore decides on its
/// entries only; the voucher stays where the other rule put it.
pub const LINK_RULE: &str = "return";

/// Whether a decision with `rule` holds its records (`false` for [`LINK_RULE`]).
pub fn holds_records(rule: Option<&str>) -> bool {
    rule != Some(LINK_RULE)
}

/// Items people put together: a match by hand, or a confirmed automatic match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub decision: i64,
    /// `Some(rule)`: a confirmed automatic match; `None`: matched by hand.
    pub confirmed_rule: Option<String>,
    pub entries: Vec<String>,
    pub records: Vec<String>,
    pub by: String,
    pub reason: String,
}

impl Group {
    /// Whether the group holds its records (not a confirmed return, [`holds_records`]).
    pub fn holds_records(&self) -> bool {
        holds_records(self.confirmed_rule.as_deref())
    }

    /// Whether the group holds an item: every entry, and its records unless they are the
    /// links of a confirmed return ([`holds_records`]).
    pub fn holds(&self, item: &Item) -> bool {
        match item {
            Item::Entry(k) => self.entries.contains(k),
            Item::Record(k) => holds_records(self.confirmed_rule.as_deref()) && self.records.contains(k),
        }
    }
}

/// What the trail says now, after every withdrawal.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub groups: Vec<Group>,
    /// Items of rejected automatic matches → the rejecting decision.
    pub held: BTreeMap<Item, i64>,
    /// Open items accepted as explained → the confirming decision.
    pub acknowledged: BTreeMap<Item, i64>,
    /// Notes per item (decision ids, oldest first).
    pub notes: BTreeMap<Item, Vec<i64>>,
    /// Decisions that could not take effect (an item already decided by another): id, why.
    pub ignored: Vec<(i64, String)>,
    /// Every decision by id, for wording.
    pub by_id: BTreeMap<i64, Decision>,
}

impl State {
    /// The active decision that holds an item (group, rejection or acknowledgement).
    pub fn holder(&self, item: &Item) -> Option<i64> {
        self.group_of(item)
            .map(|g| g.decision)
            .or_else(|| self.held.get(item).copied())
            .or_else(|| self.acknowledged.get(item).copied())
    }

    /// The group that holds an item (a confirmed return's voucher is a link, not held).
    pub fn group_of(&self, item: &Item) -> Option<&Group> {
        self.groups.iter().find(|g| g.holds(item))
    }

    /// `张三 (#12, 2024-03-25): why` for a decision id.
    pub fn words(&self, id: i64) -> String {
        match self.by_id.get(&id) {
            Some(d) => format!("{} (#{}, {}): {}", d.new.by, d.id, d.at.format("%Y-%m-%d"), d.new.reason),
            None => format!("#{id}"),
        }
    }
}

/// Replays the decisions of one account, oldest first. A decision that names an item
/// already held by another active decision does not take effect and is listed in
/// `ignored` (writers refuse such decisions; this guards against concurrent writers).
pub fn replay(decisions: &[Decision]) -> State {
    let mut st = State::default();
    let mut sorted: Vec<&Decision> = decisions.iter().collect();
    sorted.sort_by_key(|d| d.id);
    for d in sorted {
        st.by_id.insert(d.id, d.clone());
        let items: Vec<Item> = d.items().collect();
        match d.new.action {
            Action::Annotate => {
                for i in items {
                    st.notes.entry(i).or_default().push(d.id);
                }
            }
            Action::Unmatch => {
                let Some(target) = d.new.undoes else { continue };
                let before = (st.groups.len(), st.held.len(), st.acknowledged.len());
                st.groups.retain(|g| g.decision != target);
                st.held.retain(|_, v| *v != target);
                st.acknowledged.retain(|_, v| *v != target);
                if before == (st.groups.len(), st.held.len(), st.acknowledged.len()) {
                    st.ignored.push((d.id, format!("decision #{target} was not in effect")));
                }
            }
            Action::Match | Action::Confirm | Action::Reject => {
                // A match by hand may take items a rejection holds out or an
                // acknowledgement explains (that is what they wait for); nothing may take
                // items another group holds.
                let holder = |i: &Item| match d.new.action {
                    Action::Match => st.group_of(i).map(|g| g.decision),
                    _ => st.holder(i),
                };
                // A return's voucher is a link: confirming or rejecting the return holds
                // only its entries (see `LINK_RULE`).
                let links =
                    matches!(d.new.action, Action::Confirm | Action::Reject) && !holds_records(d.new.rule.as_deref());
                let held_items: Vec<Item> =
                    items.iter().filter(|i| !(links && matches!(i, Item::Record(_)))).cloned().collect();
                if let Some((i, h)) = held_items.iter().find_map(|i| holder(i).map(|h| (i, h))) {
                    st.ignored.push((d.id, format!("{i} was already decided by #{h}")));
                    continue;
                }
                let group = d.new.action == Action::Match || (d.new.action == Action::Confirm && d.new.rule.is_some());
                if group {
                    st.groups.push(Group {
                        decision: d.id,
                        confirmed_rule: if d.new.action == Action::Confirm { d.new.rule.clone() } else { None },
                        entries: d.new.entries.clone(),
                        records: d.new.records.clone(),
                        by: d.new.by.clone(),
                        reason: d.new.reason.clone(),
                    });
                } else {
                    let map = if d.new.action == Action::Reject { &mut st.held } else { &mut st.acknowledged };
                    for i in held_items {
                        map.insert(i, d.id);
                    }
                }
            }
        }
    }
    st
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(
        id: i64,
        action: Action,
        entries: &[&str],
        records: &[&str],
        rule: Option<&str>,
        undoes: Option<i64>,
    ) -> Decision {
        let new = NewDecision {
            account_no: "A".into(),
            action,
            entries: entries.iter().map(|s| s.to_string()).collect(),
            records: records.iter().map(|s| s.to_string()).collect(),
            rule: rule.map(str::to_string),
            undoes,
            reason: "why".into(),
            by: "张三".into(),
        };
        let at = DateTime::from_timestamp(1_700_000_000 + id, 0).unwrap();
        Decision { id, new, at, prev_hash: String::new(), row_hash: String::new() }
    }

    #[test]
    fn match_confirm_reject_and_their_withdrawal() {
        let ds = vec![
            dec(1, Action::Match, &["R1#1"], &["disbursement:V1"], None, None),
            dec(2, Action::Confirm, &["R2#1"], &["disbursement:V2"], Some("reference"), None),
            dec(3, Action::Reject, &["R3#1"], &["receipt:V3"], Some("amount_counterparty_date"), None),
            dec(4, Action::Confirm, &["FEE#1"], &[], None, None),
            dec(5, Action::Annotate, &["R1#1"], &[], None, None),
        ];
        let st = replay(&ds);
        assert_eq!(st.groups.len(), 2);
        assert_eq!(st.groups[0].confirmed_rule, None);
        assert_eq!(st.groups[1].confirmed_rule.as_deref(), Some("reference"));
        assert_eq!(st.held.get(&Item::Record("receipt:V3".into())), Some(&3));
        assert_eq!(st.acknowledged.get(&Item::Entry("FEE#1".into())), Some(&4));
        assert_eq!(st.notes.get(&Item::Entry("R1#1".into())), Some(&vec![5]));
        assert!(st.ignored.is_empty());

        // Withdrawing each puts its items back; order of the slice does not matter.
        let mut more = ds.clone();
        more.push(dec(8, Action::Unmatch, &["R3#1"], &[], None, Some(3)));
        more.push(dec(7, Action::Unmatch, &["R1#1"], &[], None, Some(1)));
        more.reverse();
        let st = replay(&more);
        assert_eq!(st.groups.len(), 1);
        assert!(st.held.is_empty());
        assert_eq!(st.holder(&Item::Entry("R1#1".into())), None);
        assert_eq!(st.holder(&Item::Entry("R2#1".into())), Some(2));
    }

    #[test]
    fn a_second_decision_on_a_held_item_does_not_take_effect() {
        let ds = vec![
            dec(1, Action::Match, &["R1#1"], &["disbursement:V1"], None, None),
            dec(2, Action::Match, &["R9#1"], &["disbursement:V1"], None, None),
            dec(3, Action::Unmatch, &[], &[], None, Some(42)),
        ];
        let st = replay(&ds);
        assert_eq!(st.groups.len(), 1);
        assert_eq!(st.ignored.len(), 2);
        assert!(st.ignored[0].1.contains("record disbursement:V1 was already decided by #1"), "{:?}", st.ignored);
        assert!(st.ignored[1].1.contains("#42 was not in effect"));
    }

    #[test]
    fn a_match_by_hand_takes_rejected_items_and_the_group_wins() {
        let ds = vec![
            dec(1, Action::Reject, &["R1#1"], &["disbursement:V1"], Some("amount_counterparty_date"), None),
            dec(2, Action::Match, &["R1#1"], &["disbursement:V2"], None, None),
            dec(3, Action::Confirm, &["R1#1"], &[], None, None),
        ];
        let st = replay(&ds);
        assert_eq!(st.groups.len(), 1);
        assert_eq!(st.holder(&Item::Entry("R1#1".into())), Some(2));
        assert_eq!(st.ignored.len(), 1, "confirming an item a group holds is refused: {:?}", st.ignored);
    }

    #[test]
    fn the_chain_detects_a_changed_row() {
        let mut rows = Vec::new();
        let mut prev = GENESIS.to_string();
        for (i, d) in [
            dec(1, Action::Match, &["R1#1"], &["disbursement:V1"], None, None),
            dec(2, Action::Annotate, &["R1#1"], &[], None, None),
        ]
        .into_iter()
        .enumerate()
        {
            let h = chain_hash(&prev, &d.new, d.at);
            rows.push(Decision { id: i as i64 + 1, prev_hash: prev.clone(), row_hash: h.clone(), ..d });
            prev = h;
        }
        assert_eq!(verify(&rows), Ok(()));
        let mut bad = rows.clone();
        bad[0].new.reason = "changed".into();
        assert_eq!(verify(&bad).unwrap_err().0, 1);
        let removed = vec![rows[1].clone()];
        assert_eq!(verify(&removed).unwrap_err().0, 2);
        // Field boundaries count: moving text between fields changes the hash.
        let mut a = rows[0].new.clone();
        let mut b = a.clone();
        a.reason = "ab".into();
        a.by = "c".into();
        b.reason = "a".into();
        b.by = "bc".into();
        assert_ne!(chain_hash(GENESIS, &a, rows[0].at), chain_hash(GENESIS, &b, rows[0].at));
    }

    #[test]
    fn record_keys_round_trip_and_bare_vouchers_are_not_keys() {
        let k = record_key(Direction::Disbursement, "V:1");
        assert_eq!(parse_record_key(&k), Some((Direction::Disbursement, "V:1")));
        assert_eq!(parse_record_key("V-1"), None);
        assert_eq!(parse_record_key("payment:V-1"), None, "not a direction");
    }

    #[test]
    fn shape_checks_say_what_to_fix() {
        let mut d = dec(1, Action::Match, &["R1#1"], &["disbursement:V1"], None, None).new;
        assert_eq!(d.check(), Ok(()));
        d.reason = "  ".into();
        assert!(d.check().unwrap_err().contains("needs a reason"));
        d.reason = "ok".into();
        d.by = "".into();
        assert!(d.check().unwrap_err().contains("--by"));
        d.by = "x\u{7}".into();
        assert!(d.check().unwrap_err().contains("control"));
        d.by = "x".into();
        d.entries.clear();
        d.records.clear();
        assert!(d.check().unwrap_err().contains("at least one"));
    }
}
