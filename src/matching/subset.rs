//! Bounded subset sums on fen (integers, never floating point).
//!
//! Used where the bank moved the sum of part of a group: a 代发 debit after some payees
//! failed, a 代发余额退款 for several persons, a payment the bank split in parts. A subset
//! is only taken when it is the **only** one that fits; two fitting subsets mean the data
//! cannot say which items belong, and nothing is matched.

/// Exact search is done up to this many items (meet in the middle, 2^(n/2) per half).
pub const EXACT_MAX: usize = 30;

/// Result of a search: none fits, exactly one fits (item indexes, ascending), or several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    None,
    One(Vec<usize>),
    Several,
}

/// The subset of `items` (at least `min_size` of them) whose sum is `target`, if exactly one
/// exists. `items.len()` must be at most [`EXACT_MAX`]; beyond that, `Found::None`.
pub fn unique_subset(items: &[i64], target: i64, min_size: usize) -> Found {
    let n = items.len();
    if n > EXACT_MAX || n < min_size {
        return Found::None;
    }
    let h = n / 2;
    let (a, b) = items.split_at(h);
    let sums = |xs: &[i64]| -> Vec<(i64, u32)> {
        let mut v = Vec::with_capacity(1 << xs.len());
        v.push((0i64, 0u32));
        for (k, &x) in xs.iter().enumerate() {
            let len = v.len();
            for j in 0..len {
                let (s, m) = v[j];
                v.push((s.saturating_add(x), m | (1 << k)));
            }
        }
        v
    };
    let mut sa = sums(a);
    sa.sort_unstable();
    let sb = sums(b);
    let mut found: Option<(u32, u32)> = None;
    for &(s, mb) in &sb {
        let need = target.saturating_sub(s);
        let lo = sa.partition_point(|&(x, _)| x < need);
        for &(x, ma) in &sa[lo..] {
            if x != need {
                break;
            }
            if (ma.count_ones() + mb.count_ones()) as usize >= min_size {
                if found.is_some() {
                    return Found::Several;
                }
                found = Some((ma, mb));
            }
        }
    }
    match found {
        None => Found::None,
        Some((ma, mb)) => {
            let mut idx: Vec<usize> = (0..h).filter(|&k| ma & (1 << k) != 0).collect();
            idx.extend((0..n - h).filter(|&k| mb & (1 << k) != 0).map(|k| k + h));
            Found::One(idx)
        }
    }
}

/// For groups of any size: the items to leave out (at most two) so that the rest sums to
/// `target`, if the smallest such set is unique at its size. Returns the indexes to KEEP.
/// Linear in `items` (hash of amounts).
pub fn unique_complement(items: &[i64], target: i64) -> Found {
    let total: i64 = items.iter().fold(0i64, |a, &x| a.saturating_add(x));
    let gap = total.saturating_sub(target);
    let keep_all_but = |out: &[usize]| -> Found { Found::One((0..items.len()).filter(|i| !out.contains(i)).collect()) };
    if gap == 0 {
        return Found::One((0..items.len()).collect());
    }
    // One item out.
    let ones: Vec<usize> = (0..items.len()).filter(|&i| items[i] == gap).collect();
    match ones.len() {
        1 => return keep_all_but(&ones),
        0 => {}
        _ => return Found::Several,
    }
    // Two items out: count the pairs i < j with items[i] + items[j] == gap.
    let mut count: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();
    for &x in items {
        *count.entry(x).or_default() += 1;
    }
    let mut pairs: u64 = 0;
    for &x in items {
        let y = gap.saturating_sub(x);
        if let Some(&c) = count.get(&y) {
            pairs += u64::from(c) - u64::from(y == x);
        }
    }
    pairs /= 2;
    match pairs {
        0 => Found::None,
        1 => {
            for i in 0..items.len() {
                let y = gap.saturating_sub(items[i]);
                if let Some(j) = (i + 1..items.len()).find(|&j| items[j] == y) {
                    return keep_all_but(&[i, j]);
                }
            }
            Found::None
        }
        _ => Found::Several,
    }
}

/// [`unique_complement`] first (fewest items left out), then an exact search for small
/// groups. Returns the indexes to keep.
pub fn keep_for_sum(items: &[i64], target: i64) -> Found {
    match unique_complement(items, target) {
        Found::None if items.len() <= EXACT_MAX => unique_subset(items, target, 1),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_unique_and_ambiguous() {
        assert_eq!(unique_subset(&[100, 250, 400], 500, 1), Found::One(vec![0, 2]));
        assert_eq!(unique_subset(&[100, 100, 400], 500, 1), Found::Several);
        assert_eq!(unique_subset(&[100, 250], 7, 1), Found::None);
        assert_eq!(unique_subset(&[-100, -250, -400], -650, 2), Found::One(vec![1, 2]));
        let many: Vec<i64> = (0..30).map(|i| 1i64 << i).collect();
        assert_eq!(unique_subset(&many, (1 << 29) | 5, 1), Found::One(vec![0, 2, 29]));
    }

    #[test]
    fn complement() {
        let items: Vec<i64> = (1..=100).map(|i| i * 100_003 + i * i * i * 7).collect();
        let total: i64 = items.iter().sum();
        assert_eq!(unique_complement(&items, total), Found::One((0..100).collect()));
        let Found::One(k) = unique_complement(&items, total - items[7]) else { panic!() };
        assert_eq!(k.len(), 99);
        assert!(!k.contains(&7));
        let Found::One(k) = unique_complement(&items, total - items[3] - items[90]) else { panic!() };
        assert!(!k.contains(&3) && !k.contains(&90) && k.len() == 98);
        assert_eq!(unique_complement(&[5, 5, 7], 12), Found::Several);
    }
}
