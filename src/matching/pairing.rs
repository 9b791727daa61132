//! Pairs that are each other's unique best candidate.
//!
//! The rules that pair on evidence weaker than a reference (equal amount and counterparty
//! account, name or kind within a window) produce candidate edges between records and
//! entries. A pair is made only when the entry is the record's one best candidate and
//! the record the entry's one best candidate: nearest date first, then shared reference
//! evidence. So `1,000,000.00` from the same 财政局 on the 7th and the 12th pairs each
//! credit with its own day's record, and where two candidates are equally good nothing is
//! paired: the items stay open and their candidates are reported (a wrong match is worse
//! than an open item).
//!
//! One exception keeps truly interchangeable items from staying open: when the tied
//! candidates are indistinguishable from one another (same date, amount, counterparty
//! and texts, on both sides), any pairing is the same pairing, and they are paired in
//! order (two identical payments of one day against two identical vouchers).

/// A candidate pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edge {
    pub ri: u32,
    pub ei: u32,
    /// Calendar days between the record's and the entry's dates.
    pub dist: u32,
    /// The two share a reference token (not necessarily a unique one).
    pub evidence: bool,
}

impl Edge {
    /// Lower is better: nearer first, then with evidence.
    fn score(&self) -> u64 {
        (u64::from(self.dist) << 1) | u64::from(!self.evidence)
    }
}

/// What [`resolve`] decided.
#[derive(Debug, Default)]
pub(crate) struct Resolution {
    pub pairs: Vec<(u32, u32)>,
    /// Items left open because candidates tied: (is a record, position, the tied
    /// candidates on the other side).
    pub ties: Vec<(bool, u32, Vec<u32>)>,
}

/// Rounds of pairing per group at most: each round pairs at least one item, and groups
/// are the items of one amount (and counterparty) within reach of each other's windows.
const MAX_ROUNDS: usize = 4096;

/// Resolves one group's edges. `same_entry(a, b)` / `same_record(a, b)` tell whether two
/// entries (records) are interchangeable. Deterministic: the result depends on the
/// positions, never on the order of `edges`.
pub(crate) fn resolve(
    mut edges: Vec<Edge>,
    same_entry: impl Fn(u32, u32) -> bool,
    same_record: impl Fn(u32, u32) -> bool,
) -> Resolution {
    let mut out = Resolution::default();
    edges.sort_unstable_by_key(|e| (e.ri, e.score(), e.ei));
    edges.dedup_by_key(|e| (e.ri, e.ei));
    let mut used_r: Vec<u32> = Vec::new();
    let mut used_e: Vec<u32> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        if edges.is_empty() {
            break;
        }
        let (by_r, by_e) = bests(&edges);
        let mut made = Vec::new();
        for (&ri, b) in &by_r {
            if let [ei] = b.as_slice()
                && by_e.get(ei).is_some_and(|x| x.as_slice() == [ri])
            {
                made.push((ri, *ei));
            }
        }
        if made.is_empty() {
            // Interchangeable ties: the first record whose tied entries are all alike and
            // whose entries' tied records are all alike and alike to it.
            for (&ri, b) in &by_r {
                if b.len() < 2 || !b.iter().all(|&e| same_entry(b[0], e)) {
                    continue;
                }
                let alike = b
                    .iter()
                    .all(|e| by_e.get(e).is_some_and(|rs| rs.contains(&ri) && rs.iter().all(|&r| same_record(ri, r))));
                if alike {
                    made.push((ri, b[0]));
                    break;
                }
            }
        }
        if made.is_empty() {
            for (&ri, b) in &by_r {
                if b.len() > 1 {
                    out.ties.push((true, ri, b.clone()));
                }
            }
            for (&ei, b) in &by_e {
                if b.len() > 1 {
                    out.ties.push((false, ei, b.clone()));
                }
            }
            break;
        }
        made.sort_unstable();
        for &(ri, ei) in &made {
            used_r.push(ri);
            used_e.push(ei);
        }
        out.pairs.extend_from_slice(&made);
        used_r.sort_unstable();
        used_e.sort_unstable();
        edges.retain(|e| used_r.binary_search(&e.ri).is_err() && used_e.binary_search(&e.ei).is_err());
    }
    out.pairs.sort_unstable();
    out.ties.sort_unstable();
    out
}

type Bests = std::collections::BTreeMap<u32, Vec<u32>>;

/// For every record its best entries, for every entry its best records (ties kept).
fn bests(edges: &[Edge]) -> (Bests, Bests) {
    let mut by_r: Bests = Bests::new();
    let mut best_r: std::collections::BTreeMap<u32, u64> = Default::default();
    let mut by_e: Bests = Bests::new();
    let mut best_e: std::collections::BTreeMap<u32, u64> = Default::default();
    for e in edges {
        let s = e.score();
        for (node, other, best, by) in [(e.ri, e.ei, &mut best_r, &mut by_r), (e.ei, e.ri, &mut best_e, &mut by_e)] {
            match best.get(&node) {
                Some(&b) if b < s => {}
                Some(&b) if b == s => by.entry(node).or_default().push(other),
                _ => {
                    best.insert(node, s);
                    by.insert(node, vec![other]);
                }
            }
        }
    }
    for v in by_e.values_mut().chain(by_r.values_mut()) {
        v.sort_unstable();
        v.dedup();
    }
    (by_r, by_e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(ri: u32, ei: u32, dist: u32) -> Edge {
        Edge { ri, ei, dist, evidence: false }
    }

    #[test]
    fn nearest_date_pairs_each_day_with_its_own() {
        // Records on the 7th (r0) and the 12th (r1); credits on the 7th (e0) and the 12th (e1).
        let r = resolve(vec![e(0, 0, 0), e(0, 1, 5), e(1, 0, 5), e(1, 1, 0)], |_, _| false, |_, _| false);
        assert_eq!(r.pairs, [(0, 0), (1, 1)]);
        assert!(r.ties.is_empty());
    }

    #[test]
    fn a_tie_stays_open_with_its_candidates() {
        // One record, two entries two days either side of it.
        let r = resolve(vec![e(0, 0, 2), e(0, 1, 2)], |_, _| false, |_, _| false);
        assert!(r.pairs.is_empty());
        assert_eq!(r.ties, [(true, 0, vec![0, 1])]);
        // Evidence breaks a tie of distance.
        let r = resolve(vec![e(0, 0, 2), Edge { evidence: true, ..e(0, 1, 2) }], |_, _| false, |_, _| false);
        assert_eq!(r.pairs, [(0, 1)]);
    }

    #[test]
    fn pairs_made_free_the_next_best() {
        // e0 is nearest to r0 (1 day) and to r1 (2 days): r0–e0 first, then r1–e1.
        let r = resolve(vec![e(0, 0, 1), e(1, 0, 2), e(1, 1, 3)], |_, _| false, |_, _| false);
        assert_eq!(r.pairs, [(0, 0), (1, 1)]);
    }

    #[test]
    fn interchangeable_twins_pair_in_order() {
        let edges = vec![e(0, 0, 0), e(0, 1, 0), e(1, 0, 0), e(1, 1, 0)];
        let r = resolve(edges.clone(), |_, _| true, |_, _| true);
        assert_eq!(r.pairs, [(0, 0), (1, 1)]);
        // Told apart by something: they stay open.
        let r = resolve(edges, |_, _| false, |_, _| true);
        assert!(r.pairs.is_empty());
        assert_eq!(r.ties.len(), 4);
    }

    #[test]
    fn order_of_edges_does_not_matter() {
        let edges = vec![e(0, 0, 1), e(1, 0, 2), e(1, 1, 3), e(2, 1, 0), e(2, 2, 4)];
        let a = resolve(edges.clone(), |_, _| false, |_, _| false);
        let mut rev = edges;
        rev.reverse();
        let b = resolve(rev, |_, _| false, |_, _| false);
        assert_eq!(a.pairs, b.pairs);
        assert_eq!(a.ties, b.ties);
    }
}
