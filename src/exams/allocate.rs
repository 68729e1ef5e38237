//! Placing candidates in sessions, as a pure function.
//!
//! - `unit` (default): sessions are filled in order with candidates in roster order, so a unit's
//!   candidates sit together (one trip for the unit, one room to supervise);
//! - `spread`: candidates are dealt round the sessions in roster order, so colleagues of one unit
//!   sit in different sessions (fewer chances to share answers);
//! - by hand: a candidate named with a session goes there, whatever the mode.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    ByUnit,
    Spread,
}

impl Mode {
    pub fn parse(s: Option<&str>) -> Option<Mode> {
        match s.map(str::trim) {
            None | Some("") | Some("unit") => Some(Mode::ByUnit),
            Some("spread") => Some(Mode::Spread),
            _ => None,
        }
    }
}

/// The session (index) of each candidate. `fixed[i]`: candidate `i` placed by hand. Fails with
/// the session's number when hand placements overfill it.
pub fn allocate(
    capacities: &[usize],
    mode: Mode,
    fixed: &[Option<usize>],
) -> Result<Vec<usize>, String> {
    let mut left: Vec<usize> = capacities.to_vec();
    for s in fixed.iter().flatten() {
        let slot = left
            .get_mut(*s)
            .ok_or_else(|| format!("没有第 {} 个场次", s + 1))?;
        if *slot == 0 {
            return Err(format!("第 {} 个场次指定的考生超过了容量", s + 1));
        }
        *slot -= 1;
    }
    let free: usize = left.iter().sum();
    let unplaced = fixed.iter().filter(|f| f.is_none()).count();
    if free < unplaced {
        return Err(format!(
            "场次剩余容量 {free} 人，少于待安排的考生 {unplaced} 人"
        ));
    }
    let mut next = 0usize;
    let mut out = Vec::with_capacity(fixed.len());
    for f in fixed {
        let s = match f {
            Some(s) => *s,
            None => {
                match mode {
                    Mode::ByUnit => {
                        while left[next] == 0 {
                            next += 1;
                        }
                    }
                    Mode::Spread => {
                        while left[next % left.len()] == 0 {
                            next += 1;
                        }
                        next %= left.len();
                    }
                }
                let s = next;
                left[s] -= 1;
                if mode == Mode::Spread {
                    next += 1;
                }
                s
            }
        };
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn by_unit_fills_in_order_spread_deals_round() {
        let none = vec![None; 5];
        assert_eq!(
            allocate(&[3, 3], Mode::ByUnit, &none).unwrap(),
            [0, 0, 0, 1, 1]
        );
        assert_eq!(
            allocate(&[3, 3], Mode::Spread, &none).unwrap(),
            [0, 1, 0, 1, 0]
        );
        let fixed = [None, Some(1), None, None, None];
        assert_eq!(
            allocate(&[3, 3], Mode::ByUnit, &fixed).unwrap(),
            [0, 1, 0, 0, 1]
        );
        assert!(
            allocate(&[1, 3], Mode::ByUnit, &[Some(0), Some(0)])
                .unwrap_err()
                .contains("第 1 个场次")
        );
        assert!(allocate(&[1, 1], Mode::ByUnit, &[None, None, None]).is_err());
    }

    proptest! {
        #[test]
        fn everyone_is_placed_within_capacity(
            caps in proptest::collection::vec(0usize..20, 1..6),
            picks in proptest::collection::vec(proptest::option::weighted(0.2, 0usize..6), 0..60),
            spread in any::<bool>(),
        ) {
            let mode = if spread { Mode::Spread } else { Mode::ByUnit };
            let fixed: Vec<Option<usize>> = picks.iter().map(|p| p.filter(|s| *s < caps.len())).collect();
            match allocate(&caps, mode, &fixed) {
                Ok(out) => {
                    prop_assert_eq!(out.len(), fixed.len());
                    for (o, f) in out.iter().zip(&fixed) {
                        if let Some(f) = f { prop_assert_eq!(o, f); }
                    }
                    for (s, cap) in caps.iter().enumerate() {
                        prop_assert!(out.iter().filter(|o| **o == s).count() <= *cap);
                    }
                }
                Err(_) => {
                    let over = caps.iter().enumerate().any(|(s, c)| fixed.iter().filter(|f| **f == Some(s)).count() > *c);
                    prop_assert!(over || fixed.len() > caps.iter().sum::<usize>());
                }
            }
        }
    }
}
