//! Exam statistics, as pure functions: item analysis, a screen for answer copying, and a score
//! histogram as SVG.
//!
//! Every candidate has their own paper drawn from a pool, so all figures are per question over
//! the sheets that had it, and a candidate's total is the *proportion correct on their own
//! paper*. Answers arrive in canonical terms (stored option index, or the caller's id of a
//! chosen set), so they are comparable across papers.
//!
//! **Copying screen.** The index is Wollack's (1997) ω restricted to identical *incorrect*
//! answers: for an ordered pair (copier C, source S) it compares how often C gave exactly S's
//! wrong answer with how often an honest candidate of C's ability would. Identical right answers
//! mostly reflect knowledge, identical wrong ones are the classic evidence; ω conditions on the
//! source's answers and the copier's ability, which is the model of "C copied from S". Instead of
//! fitting a nominal-response IRT model (unstable when each question is seen by a few hundred
//! candidates), option-choice probabilities are estimated non-parametrically: candidates fall in
//! quantile strata of proportion correct, and P(stratum g picks a on q) = (count of a + 0.5) /
//! (sheets that had q + 0.5·(distinct answers seen on q + 1)) among stratum-g sheets, leaving out
//! the pair's own two answers so a pair does not inflate its own probability. The p-value is the
//! exact upper tail of the number of matches as a sum of independent Bernoulli variables
//! (Poisson-binomial), not the normal approximation: with ~1 expected match the normal tail is
//! far too thin (in simulation it flagged ~14× more honest pairs). A flag is grounds for review
//! by a person, never proof; `alpha` is per pair, so large sessions yield chance flags.
//!
//! Cost: pairs are pre-screened through an inverted index (question, wrong answer) → sheets, so
//! only pairs with at least `min_shared_wrong` identical wrong answers are examined in full.

use std::collections::BTreeMap;
use std::fmt::Write as _;

#[cfg(test)]
use super::paper::Mix;

/// Items with fewer responses get only [`Flag::FewResponses`].
pub const MIN_RESPONSES: usize = 30;
/// Facility below which an item is flagged [`Flag::AlmostNobodyRight`].
pub const LOW_FACILITY: f64 = 0.2;
/// Facility above which an item is flagged [`Flag::AlmostEverybodyRight`].
pub const HIGH_FACILITY: f64 = 0.95;
/// Share of candidates in each of the upper and lower groups.
pub const GROUP_FRACTION: f64 = 0.27;

/// One candidate's graded paper, in canonical terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Sheet {
    /// Caller's index of the candidate.
    pub candidate: usize,
    /// Caller's session index (copying is screened within a session).
    pub session: usize,
    /// Sorted by question, no duplicates (otherwise sorted here, first of a question kept).
    pub responses: Vec<Response>,
}

/// One answered (or blank) question of a sheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    /// Dense index `0..n_questions`; responses outside it are ignored.
    pub question: usize,
    /// Canonical answer pattern id; `None` = blank.
    pub answer: Option<u32>,
    /// Whether the answer is right (a blank never is).
    pub correct: bool,
}

/// Result of [`item_analysis`].
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// One entry per question `0..n_questions`.
    pub items: Vec<ItemStats>,
    /// KR-20, pooled form for per-candidate papers (see [`item_analysis`]).
    pub kr20: Option<f64>,
    /// Sheets with at least one response.
    pub candidates: usize,
    /// Mean proportion correct.
    pub mean: f64,
    /// Standard deviation (population) of proportion correct.
    pub sd: f64,
    /// Mean number of questions per paper.
    pub mean_length: f64,
}

/// Statistics of one question.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemStats {
    /// Question index.
    pub question: usize,
    /// Sheets that had this question.
    pub n: usize,
    /// Proportion correct (`None` if `n == 0`).
    pub facility: Option<f64>,
    /// Proportion correct in the upper 27 % minus the lower 27 % (by proportion correct).
    pub discrimination: Option<f64>,
    /// Correlation of the item with the proportion correct on the candidate's other questions.
    pub point_biserial: Option<f64>,
    /// Answers given (blank = `None`) with counts, most frequent first.
    pub answers: Vec<(Option<u32>, usize)>,
    /// Most-chosen wrong answer in the upper group and its share of the upper group.
    pub upper_top_wrong: Option<(u32, f64)>,
    /// Warnings for the question's author.
    pub flags: Vec<Flag>,
}

/// Warnings raised by [`item_analysis`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// Point-biserial or discrimination below zero: abler candidates do worse.
    NegativeDiscrimination,
    /// Facility below [`LOW_FACILITY`].
    AlmostNobodyRight,
    /// Facility above [`HIGH_FACILITY`].
    AlmostEverybodyRight,
    /// The upper group picks a wrong answer more often than the key: check the key.
    KeySuspect,
    /// Fewer than [`MIN_RESPONSES`] responses: nothing else is judged.
    FewResponses,
}

/// Settings of [`screen`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScreenConfig {
    /// Pairs with fewer identical wrong answers are not reported (default 5).
    pub min_shared_wrong: usize,
    /// One-sided significance level per pair (default 1e-4). A session of N candidates can
    /// yield up to about `alpha·N(N−1)` chance flags (a quarter of that in simulation): lower it
    /// for large sessions.
    pub alpha: f64,
    /// Number of ability strata, quantile bins of proportion correct (default 10).
    pub strata: usize,
}

impl Default for ScreenConfig {
    fn default() -> Self {
        ScreenConfig {
            min_shared_wrong: 5,
            alpha: 1e-4,
            strata: 10,
        }
    }
}

/// A pair of sheets whose identical wrong answers are unlikely to be chance.
#[derive(Debug, Clone, PartialEq)]
pub struct Suspect {
    /// Sheet index (into the input) of the presumed copier.
    pub copier: usize,
    /// Sheet index of the presumed source; the direction reported is the one with larger ω.
    pub source: usize,
    /// Questions both had.
    pub shared: usize,
    /// Questions where both gave the same wrong (non-blank) answer.
    pub identical_wrong: usize,
    /// Questions where both gave the same non-blank answer, right or wrong.
    pub identical: usize,
    /// Expected identical wrong answers for an honest candidate of the copier's stratum.
    pub expected: f64,
    /// ω = (observed − expected) / sd.
    pub index: f64,
    /// Exact one-sided P(matches ≥ observed) if honest (Poisson-binomial, no approximation).
    pub p_value: f64,
    /// Each shared question where both gave the same wrong answer, by question.
    pub evidence: Vec<Evidence>,
}

/// One identical wrong answer of a [`Suspect`] pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    /// Question index.
    pub question: usize,
    /// The shared wrong answer (canonical id).
    pub answer: u32,
    /// Chance that the copier's stratum picks this answer honestly.
    pub probability: f64,
}

/// Usable responses of a sheet: in range, sorted, one per question, blanks never right.
fn clean(sheet: &Sheet, n_questions: usize) -> Vec<Response> {
    let mut r: Vec<Response> = sheet.responses.clone();
    r.retain(|r| r.question < n_questions);
    r.sort_by_key(|r| r.question);
    r.dedup_by_key(|r| r.question);
    r.iter_mut().for_each(|x| x.correct &= x.answer.is_some());
    r
}

fn right_count(p: &[Response]) -> usize {
    p.iter().filter(|r| r.correct).count()
}

fn ratio(k: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| k as f64 / of as f64)
}

/// Mean and population variance (0, 0 when empty).
fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n)
}

/// Adds one to `key`'s count.
fn bump<K: PartialEq>(counts: &mut Vec<(K, usize)>, key: K) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some(e) => e.1 += 1,
        None => counts.push((key, 1)),
    }
}

/// Running Pearson correlation (Welford's updates, stable for tiny variances).
#[derive(Default)]
struct Corr {
    n: f64,
    mx: f64,
    my: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Corr {
    fn push(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        let (dx, dy) = (x - self.mx, y - self.my);
        self.mx += dx / self.n;
        self.my += dy / self.n;
        self.sxx += dx * (x - self.mx);
        self.syy += dy * (y - self.my);
        self.sxy += dx * (y - self.my);
    }

    fn get(&self) -> Option<f64> {
        let den = (self.sxx * self.syy).sqrt();
        (self.sxx > 0.0 && self.syy > 0.0).then(|| self.sxy / den)
    }
}

/// Per-question tallies of [`item_analysis`].
#[derive(Default)]
struct Tally {
    n: usize,
    right: usize,
    /// `[upper, lower]` × `[had the question, right]`.
    groups: [[usize; 2]; 2],
    answers: Vec<(Option<u32>, usize)>,
    upper_wrong: Vec<(u32, usize)>,
    rest: Corr,
}

/// Item statistics over all sheets (sheets without responses are left out).
///
/// Upper and lower groups are the top and bottom [`GROUP_FRACTION`] of candidates by proportion
/// correct (ties by input order). KR-20 uses the pooled form for per-candidate papers:
/// `k/(k−1)·(1 − mean over candidates of Σ_{i∈paper} p_i(1−p_i) / σ²)`, with `k` the mean paper
/// length, `p_i` the facility and `σ²` the population variance of number correct; `None` with
/// fewer than two candidates or no variance.
pub fn item_analysis(sheets: &[Sheet], n_questions: usize) -> Analysis {
    let papers: Vec<Vec<Response>> = sheets.iter().map(|s| clean(s, n_questions)).collect();
    let papers: Vec<Vec<Response>> = papers.into_iter().filter(|p| !p.is_empty()).collect();
    let n = papers.len();
    let right: Vec<f64> = papers.iter().map(|p| right_count(p) as f64).collect();
    let prop: Vec<f64> = papers
        .iter()
        .zip(&right)
        .map(|(p, r)| r / p.len() as f64)
        .collect();
    let (mean, var_prop) = mean_var(&prop);
    let mean_length = papers.iter().map(Vec::len).sum::<usize>() as f64 / n.max(1) as f64;

    // Group of each candidate: 1 = upper, 2 = lower, 0 = neither.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| prop[b].total_cmp(&prop[a]).then(a.cmp(&b)));
    let g = ((n as f64 * GROUP_FRACTION).round() as usize)
        .max(1)
        .min(n / 2);
    let mut group = vec![0u8; n];
    order[..g].iter().for_each(|&i| group[i] = 1);
    order[n - g..].iter().for_each(|&i| group[i] = 2);

    let mut tally: Vec<Tally> = (0..n_questions).map(|_| Tally::default()).collect();
    for (i, p) in papers.iter().enumerate() {
        for r in p {
            let t = &mut tally[r.question];
            t.n += 1;
            t.right += usize::from(r.correct);
            bump(&mut t.answers, r.answer);
            if group[i] > 0 {
                let gr = &mut t.groups[usize::from(group[i] - 1)];
                gr[0] += 1;
                gr[1] += usize::from(r.correct);
            }
            if let (1, Some(a), false) = (group[i], r.answer, r.correct) {
                bump(&mut t.upper_wrong, a);
            }
            if p.len() > 1 {
                let x = f64::from(u8::from(r.correct));
                t.rest.push(x, (right[i] - x) / (p.len() - 1) as f64);
            }
        }
    }

    let items: Vec<ItemStats> = (tally.into_iter().enumerate())
        .map(|(q, t)| item(q, t))
        .collect();
    let (_, var) = mean_var(&right);
    let pq = papers
        .iter()
        .flatten()
        .filter_map(|r| items[r.question].facility);
    let pq = pq.map(|p| p * (1.0 - p)).sum::<f64>() / n.max(1) as f64;
    let k = mean_length;
    let kr20 = (n >= 2 && var > 0.0 && k > 1.0).then(|| k / (k - 1.0) * (1.0 - pq / var));
    let (candidates, sd) = (n, var_prop.sqrt());
    Analysis {
        items,
        kr20,
        candidates,
        mean,
        sd,
        mean_length,
    }
}

/// Statistics and flags of question `question` from its tallies.
fn item(question: usize, mut t: Tally) -> ItemStats {
    let facility = ratio(t.right, t.n);
    let [[up_n, up_right], [low_n, low_right]] = t.groups;
    let upper = ratio(up_right, up_n);
    let discrimination = upper.zip(ratio(low_right, low_n)).map(|(u, l)| u - l);
    let point_biserial = t.rest.get();
    t.answers.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let top = t
        .upper_wrong
        .iter()
        .max_by(|x, y| x.1.cmp(&y.1).then(y.0.cmp(&x.0)));
    let upper_top_wrong = top.and_then(|&(a, k)| Some((a, ratio(k, up_n)?)));
    let flags = if t.n < MIN_RESPONSES {
        vec![Flag::FewResponses]
    } else {
        let negative = point_biserial.is_some_and(|r| r < 0.0);
        let negative = negative || discrimination.is_some_and(|d| d < 0.0);
        let f = facility.unwrap_or(f64::NAN);
        let key = matches!((upper_top_wrong, upper), (Some((_, s)), Some(u)) if s > u);
        let all = [
            (negative, Flag::NegativeDiscrimination),
            (f < LOW_FACILITY, Flag::AlmostNobodyRight),
            (f > HIGH_FACILITY, Flag::AlmostEverybodyRight),
            (key, Flag::KeySuspect),
        ];
        all.into_iter()
            .filter_map(|(c, f)| c.then_some(f))
            .collect()
    };
    let (n, answers) = (t.n, t.answers);
    ItemStats {
        question,
        n,
        facility,
        discrimination,
        point_biserial,
        answers,
        upper_top_wrong,
        flags,
    }
}

const BLANK: u16 = u16::MAX;

/// A response with its answer as an index into the question's distinct answers; 8 bytes for
/// cache-friendly pair scans (a question's 65,535th and later distinct answers count as blank).
#[derive(Clone, Copy)]
struct Cell {
    q: u32,
    a: u16,
    right: bool,
}

impl Cell {
    fn wrong(self) -> bool {
        !self.right && self.a != BLANK
    }
}

/// Stratified answer counts: the honest-choice model of [`screen`].
struct Model {
    /// Distinct non-blank answers of each question, ascending.
    seen: Vec<Vec<u32>>,
    /// Offset of each question's answers in the flat (question, answer) key space.
    base: Vec<usize>,
    keys: usize,
    /// `cnt[g·keys + key]`: stratum-g sheets giving that answer.
    cnt: Vec<u32>,
    /// `tot[g·n_questions + q]`: stratum-g sheets that had q.
    tot: Vec<u32>,
}

impl Model {
    fn key(&self, c: Cell) -> usize {
        self.base[c.q as usize] + usize::from(c.a)
    }

    /// P(a candidate of stratum `g` answers `a` on `q`), leaving out that candidate's own answer
    /// `own` and, if `pair` (the source is in stratum `g` too), the source's answer, which is `a`.
    fn prob(&self, g: usize, q: u32, a: u16, own: u16, pair: bool) -> f64 {
        let q = q as usize;
        let c = self.cnt[g * self.keys + self.base[q] + usize::from(a)];
        let c = c.saturating_sub(u32::from(own == a) + u32::from(pair));
        let n = self.tot[g * self.seen.len() + q].saturating_sub(1 + u32::from(pair));
        (f64::from(c) + 0.5) / (f64::from(n) + 0.5 * (self.seen[q].len() as f64 + 1.0))
    }
}

/// Exact P(X ≥ k) for X a sum of independent Bernoulli(p_i); `dp` is scratch space.
fn upper_tail(probs: &[f64], k: usize, dp: &mut Vec<f64>) -> f64 {
    if k == 0 {
        return 1.0;
    }
    // dp[j] = P(j matches so far) for j < k; dp[k] = P(at least k so far).
    dp.clear();
    dp.resize(k + 1, 0.0);
    dp[0] = 1.0;
    for &p in probs {
        dp[k] += dp[k - 1] * p;
        for j in (1..k).rev() {
            dp[j] = dp[j] * (1.0 - p) + dp[j - 1] * p;
        }
        dp[0] *= 1.0 - p;
    }
    dp[k].min(1.0)
}

/// Screens each session for pairs with improbably many identical wrong answers (method in the
/// module documentation). Strata are formed over the whole input, pairs within a session; each
/// unordered pair appears at most once, in its direction of larger ω. Sorted by ω, largest first.
pub fn screen(sheets: &[Sheet], n_questions: usize, cfg: &ScreenConfig) -> Vec<Suspect> {
    let raw: Vec<Vec<Response>> = sheets.iter().map(|s| clean(s, n_questions)).collect();
    let mut seen: Vec<Vec<u32>> = vec![Vec::new(); n_questions];
    for r in raw.iter().flatten() {
        seen[r.question].extend(r.answer);
    }
    let (mut base, mut keys) = (Vec::with_capacity(n_questions), 0);
    for s in &mut seen {
        s.sort_unstable();
        s.dedup();
        base.push(keys);
        keys += s.len();
    }
    let cell = |r: &Response| {
        let a = r
            .answer
            .and_then(|a| seen[r.question].binary_search(&a).ok());
        let a = a.and_then(|i| u16::try_from(i).ok()).unwrap_or(BLANK);
        Cell {
            q: r.question as u32,
            a,
            right: r.correct,
        }
    };
    let papers: Vec<Vec<Cell>> = raw.iter().map(|p| p.iter().map(cell).collect()).collect();

    // Strata: quantile bins of proportion correct; tied scores share a stratum.
    let strata = cfg.strata.max(1);
    let score = |i: usize| right_count(&raw[i]) as f64 / raw[i].len() as f64;
    let mut order: Vec<usize> = (0..raw.len()).filter(|&i| !raw[i].is_empty()).collect();
    order.sort_by(|&a, &b| score(a).total_cmp(&score(b)).then(a.cmp(&b)));
    let (mut stratum, mut first) = (vec![0usize; raw.len()], 0);
    for (rank, &i) in order.iter().enumerate() {
        if rank > 0 && score(i) != score(order[rank - 1]) {
            first = rank;
        }
        stratum[i] = (first * strata / order.len()).min(strata - 1);
    }

    let (cnt, tot) = (vec![0; strata * keys], vec![0; strata * n_questions]);
    let mut model = Model {
        seen,
        base,
        keys,
        cnt,
        tot,
    };
    for (p, &g) in papers.iter().zip(&stratum) {
        for &c in p {
            model.tot[g * n_questions + c.q as usize] += 1;
            if c.a != BLANK {
                let k = model.key(c);
                model.cnt[g * keys + k] += 1;
            }
        }
    }

    // Both directions of pair (i, j) in one pass over j's cells; `slot[q]` is 1 + the position of
    // q among i's cells (0: i did not have q). Keeps the direction of larger ω and its tail.
    let (mut probs, mut dp) = ([Vec::new(), Vec::new()], Vec::new());
    let mut omega = |i: usize, j: usize, slot: &[u32]| {
        let (gi, gj, pair) = (stratum[i], stratum[j], stratum[i] == stratum[j]);
        probs.iter_mut().for_each(Vec::clear);
        let (mut shared, mut identical, mut observed) = (0, 0, [0, 0]);
        for &y in &papers[j] {
            let k = (slot[y.q as usize] as usize).checked_sub(1);
            let Some(&x) = k.and_then(|k| papers[i].get(k)) else {
                continue;
            };
            shared += 1;
            let hit = x.a != BLANK && x.a == y.a;
            identical += usize::from(hit);
            if y.wrong() {
                probs[0].push(model.prob(gi, y.q, y.a, x.a, pair));
                observed[0] += usize::from(hit);
            }
            if x.wrong() {
                probs[1].push(model.prob(gj, x.q, x.a, y.a, pair));
                observed[1] += usize::from(hit);
            }
        }
        let index = |d: usize| {
            let var: f64 = probs[d].iter().map(|p| p * (1.0 - p)).sum();
            let expected: f64 = probs[d].iter().sum();
            (var > 0.0).then(|| ((observed[d] as f64 - expected) / var.sqrt(), expected))
        };
        let (d, (index, expected)) = match (index(0), index(1)) {
            (Some(a), Some(b)) if b.0 > a.0 => (1, b),
            (Some(a), _) => (0, a),
            (None, b) => (1, b?),
        };
        let p_value = upper_tail(&probs[d], observed[d], &mut dp);
        let (copier, source) = if d == 0 { (i, j) } else { (j, i) };
        let identical_wrong = observed[d];
        let evidence = Vec::new();
        Some(Suspect {
            copier,
            source,
            shared,
            identical_wrong,
            identical,
            expected,
            index,
            p_value,
            evidence,
        })
    };

    let mut sessions: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, s) in sheets.iter().enumerate() {
        sessions.entry(s.session).or_default().push(i);
    }
    let threshold = cfg.min_shared_wrong.max(1);
    let mut out = Vec::new();
    let mut slot = vec![0u32; n_questions];
    for members in sessions.values() {
        // Inverted index (question, wrong answer) → local sheet indices, ascending (CSR).
        let wrong = |i: &usize| papers[*i].iter().copied().filter(|c| c.wrong());
        let mut start = vec![0usize; keys + 1];
        members
            .iter()
            .flat_map(wrong)
            .for_each(|c| start[model.key(c) + 1] += 1);
        for k in 0..keys {
            start[k + 1] += start[k];
        }
        let (mut fill, mut post) = (start.clone(), vec![0u32; start[keys]]);
        for (local, i) in members.iter().enumerate() {
            for c in wrong(i) {
                post[fill[model.key(c)]] = local as u32;
                fill[model.key(c)] += 1;
            }
        }
        // For each sheet, identical wrong answers with each later sheet: a dense counter whose
        // touched entries alone are visited and reset.
        let (mut counter, mut touched) = (vec![0u32; members.len()], Vec::new());
        for (s, &i) in members.iter().enumerate() {
            for (k, c) in papers[i].iter().enumerate() {
                slot[c.q as usize] = k as u32 + 1;
            }
            for c in wrong(&i) {
                let list = &post[start[model.key(c)]..start[model.key(c) + 1]];
                for &o in &list[list.partition_point(|&o| o as usize <= s)..] {
                    if counter[o as usize] == 0 {
                        touched.push(o);
                    }
                    counter[o as usize] += 1;
                }
            }
            for o in touched.drain(..) {
                let hits = std::mem::take(&mut counter[o as usize]) as usize;
                let found = (hits >= threshold).then(|| omega(i, members[o as usize], &slot));
                if let Some(Some(w)) = found
                    && w.p_value < cfg.alpha
                    && w.identical_wrong >= cfg.min_shared_wrong
                {
                    out.push(w);
                }
            }
            papers[i].iter().for_each(|c| slot[c.q as usize] = 0);
        }
    }

    for w in &mut out {
        let (c, s) = (&papers[w.copier], &papers[w.source]);
        let pair = stratum[w.copier] == stratum[w.source];
        for y in s.iter().filter(|y| y.wrong()) {
            let Ok(k) = c.binary_search_by_key(&y.q, |x| x.q) else {
                continue;
            };
            if c[k].a == y.a {
                let (question, answer) = (y.q as usize, model.seen[y.q as usize][usize::from(y.a)]);
                let probability = model.prob(stratum[w.copier], y.q, y.a, y.a, pair);
                w.evidence.push(Evidence {
                    question,
                    answer,
                    probability,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        let key = |s: &Suspect| (s.copier, s.source);
        b.index.total_cmp(&a.index).then(key(a).cmp(&key(b)))
    });
    out
}

/// Number without needless decimals ("60", "62.5").
fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.2}").trim_end_matches('0').to_string()
    }
}

/// Appends a `<text>` element; `body` is trusted (numbers and fixed words only).
fn text(svg: &mut String, (x, y): (f64, f64), attrs: &str, body: &str) {
    let _ = writeln!(svg, r#"<text x="{x:.1}" y="{y:.1}" {attrs}>{body}</text>"#);
}

/// A self-contained 640×280 SVG histogram of `scores` on `0..=max`, one bar (`<rect>`) per bin
/// of width `bin` (the last bin includes `max`), counts over bars at least 12 px wide, axis
/// titles and a dashed pass-mark line labelled "合格线 {pass_mark}". Scores outside `0..=max`
/// are clamped, NaN skipped; degenerate `max`/`bin` fall back to 100 and `max/10`, and at most
/// 200 bins are drawn.
pub fn histogram_svg(scores: &[f64], max: f64, pass_mark: f64, bin: f64) -> String {
    let max = Some(max)
        .filter(|m| m.is_finite() && *m > 0.0)
        .unwrap_or(100.0);
    let bin = Some(bin)
        .filter(|b| b.is_finite() && *b > 0.0)
        .unwrap_or(max / 10.0);
    let bin = bin.max(max / 200.0);
    let bins = ((max / bin - 1e-9).ceil() as usize).max(1);
    let mut counts = vec![0usize; bins];
    for &s in scores.iter().filter(|s| !s.is_nan()) {
        counts[((s.clamp(0.0, max) / bin) as usize).min(bins - 1)] += 1;
    }
    let (w, h, left, top) = (640.0, 280.0, 56.0, 32.0);
    let (pw, ph) = (w - left - 16.0, h - top - 48.0);
    let (bottom, x_of) = (top + ph, |v: f64| left + pw * v / max);
    let peak = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let magnitude = 10f64.powf((peak / 5.0).log10().floor().max(0.0));
    let steps = [1.0, 2.0, 5.0, 10.0].map(|m| m * magnitude);
    let step = steps.into_iter().find(|s| peak / s <= 5.0).unwrap_or(peak);
    let y_top = (peak / step).ceil() * step;
    let y_of = |c: f64| bottom - ph * c / y_top;
    let (mid, end) = (r#"text-anchor="middle""#, r#"text-anchor="end""#);

    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="11">"#
    );
    svg.push('\n');
    for t in (0..=(y_top / step).round() as usize).map(|i| i as f64 * step) {
        let (y, x2) = (y_of(t), left + pw);
        let grid = r##"stroke="#e5e5e5""##;
        let _ = writeln!(
            svg,
            r#"<line x1="{left}" y1="{y:.1}" x2="{x2}" y2="{y:.1}" {grid}/>"#
        );
        text(&mut svg, (left - 6.0, y + 4.0), end, &num(t));
    }
    for (i, &c) in counts.iter().enumerate() {
        let (x, y) = (x_of(i as f64 * bin), y_of(c as f64));
        let width = (x_of(bin) - left).min(x_of(max) - x);
        let (bw, bh) = ((width - 2.0).max(1.0), bottom - y);
        let fill = r##"fill="#4a7ab7""##;
        let _ = writeln!(
            svg,
            r#"<rect x="{:.1}" y="{y:.1}" width="{bw:.1}" height="{bh:.1}" {fill}/>"#,
            x + 1.0
        );
        if c > 0 && width >= 12.0 {
            text(&mut svg, (x + width / 2.0, y - 3.0), mid, &c.to_string());
        }
    }
    let axis = r##"stroke="#333""##;
    let _ = writeln!(
        svg,
        r#"<line x1="{left}" y1="{bottom}" x2="{}" y2="{bottom}" {axis}/>"#,
        left + pw
    );
    let _ = writeln!(
        svg,
        r#"<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" {axis}/>"#
    );
    let stride = (30.0 / (x_of(bin) - left)).ceil().max(1.0) as usize;
    let mut ticks: Vec<f64> = (0..bins).step_by(stride).map(|i| i as f64 * bin).collect();
    if ticks.last().is_none_or(|&l| x_of(max) - x_of(l) >= 24.0) {
        ticks.push(max);
    }
    for v in ticks {
        text(&mut svg, (x_of(v), bottom + 15.0), mid, &num(v));
    }
    text(
        &mut svg,
        (left + pw / 2.0, h - 8.0),
        &format!(r#"{mid} font-size="12""#),
        "分数",
    );
    let turn = format!(
        r#"{mid} font-size="12" transform="rotate(-90 14 {:.1})""#,
        top + ph / 2.0
    );
    text(&mut svg, (14.0, top + ph / 2.0), &turn, "人数");
    if pass_mark.is_finite() && (0.0..=max).contains(&pass_mark) {
        let x = x_of(pass_mark);
        let style = r##"stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5,4""##;
        let _ = writeln!(
            svg,
            r#"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" {style}/>"#
        );
        let (anchor, dx) = if x > left + pw - 80.0 {
            ("end", -4.0)
        } else {
            ("start", 4.0)
        };
        let attrs = format!(r##"text-anchor="{anchor}" fill="#c0392b""##);
        text(
            &mut svg,
            (x + dx, top - 10.0),
            &attrs,
            &format!("合格线 {}", num(pass_mark)),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unif(r: &mut Mix) -> f64 {
        (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(r: &mut Mix, n: usize) -> usize {
        (r.next_u64() % n as u64) as usize
    }
    fn normal(r: &mut Mix) -> f64 {
        let u = unif(r).max(1e-300);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * unif(r)).cos()
    }
    fn resp(question: usize, answer: Option<u32>) -> Response {
        let correct = answer == Some(0);
        Response {
            question,
            answer,
            correct,
        }
    }
    fn sheet(candidate: usize, responses: Vec<Response>) -> Sheet {
        Sheet {
            candidate,
            session: 0,
            responses,
        }
    }

    /// Honest answer to a question of difficulty `b` with distractor weights `w` (key 0):
    /// 1 % blank, else right with 0.2 + 0.8·logistic(1.7(θ − b)), else a weighted distractor.
    fn answer(r: &mut Mix, q: usize, (b, w): (f64, [f64; 3]), theta: f64) -> Response {
        if unif(r) < 0.01 {
            return resp(q, None);
        }
        if unif(r) < 0.2 + 0.8 / (1.0 + (-1.7 * (theta - b)).exp()) {
            return resp(q, Some(0));
        }
        let u = unif(r);
        resp(
            q,
            Some(1 + u32::from(u >= w[0]) + u32::from(u >= w[0] + w[1])),
        )
    }

    type Planted = Vec<(usize, usize)>;

    /// `n` candidates, papers of `len` drawn from `pool` questions; planted (copier, source)
    /// pairs: `same` copiers given the source's paper copying 50 % of answers, `own` copiers
    /// with their own papers copying 80 % of the shared questions.
    fn simulate(
        seed: u64,
        n: usize,
        pool: usize,
        len: usize,
        same: usize,
        own: usize,
    ) -> (Vec<Sheet>, Planted, Planted) {
        let mut r = Mix::new(seed);
        let bank: Vec<(f64, [f64; 3])> = (0..pool)
            .map(|_| {
                let mut w = [0.5, 0.3, 0.2];
                (1..3).rev().for_each(|i| w.swap(i, below(&mut r, i + 1)));
                (normal(&mut r), w)
            })
            .collect();
        // `k` of `0..from` at random (partial Fisher–Yates).
        let draw = |r: &mut Mix, from: usize, k: usize| {
            let mut all: Vec<usize> = (0..from).collect();
            (0..k).for_each(|i| all.swap(i, i + below(r, from - i)));
            all.truncate(k);
            all
        };
        let mut papers: Vec<Vec<usize>> = (0..n).map(|_| draw(&mut r, pool, len)).collect();
        papers.iter_mut().for_each(|p| p.sort_unstable());
        let ids = draw(&mut r, n, 2 * (same + own));
        let pairs: Planted = ids.chunks(2).map(|c| (c[0], c[1])).collect();
        for &(c, s) in &pairs[..same] {
            papers[c] = papers[s].clone();
        }
        let mut sheets: Vec<Sheet> = Vec::new();
        for (i, p) in papers.iter().enumerate() {
            let theta = normal(&mut r);
            sheets.push(sheet(
                i,
                p.iter()
                    .map(|&q| answer(&mut r, q, bank[q], theta))
                    .collect(),
            ));
        }
        for (k, &(c, s)) in pairs.iter().enumerate() {
            let (source, rate) = (sheets[s].clone(), if k < same { 0.5 } else { 0.8 });
            for x in &mut sheets[c].responses {
                if let Ok(j) = source
                    .responses
                    .binary_search_by_key(&x.question, |y| y.question)
                    && unif(&mut r) < rate
                {
                    *x = source.responses[j];
                }
            }
        }
        (sheets, pairs[..same].to_vec(), pairs[same..].to_vec())
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn item_analysis_by_hand() {
        let rows: [&[Option<u32>]; 7] = [
            &[Some(0), Some(0), Some(0), Some(0)],
            &[Some(0), Some(0), Some(0), Some(1)],
            &[Some(0), Some(1), Some(0), Some(2)],
            &[Some(0), Some(1), None, Some(1)],
            &[Some(1), Some(2), Some(1), Some(1)],
            &[Some(0), Some(0), Some(1)],
            &[],
        ];
        let sheets: Vec<Sheet> = (rows.iter().enumerate())
            .map(|(c, a)| sheet(c, a.iter().enumerate().map(|(q, &a)| resp(q, a)).collect()))
            .collect();
        let a = item_analysis(&sheets, 4);
        assert_eq!((a.candidates, a.items.len()), (6, 4));
        // Computed independently in Python (population variance, Pearson correlation).
        assert!(close(Some(a.mean_length), 23.0 / 6.0) && close(Some(a.mean), 19.0 / 36.0));
        assert!(close(a.kr20, 0.726_078_431_372_549_1));
        let expect = [
            (5.0 / 6.0, 0.5, 0.522_232_967_867_093_5),
            (0.5, 1.0, 0.626_099_033_699_941_4),
            (0.5, 1.0, 0.301_511_344_577_763_6),
            (0.2, 0.5, 0.514_495_755_427_526_5),
        ];
        for (i, (f, d, r)) in a.items.iter().zip(expect) {
            assert!(close(i.facility, f) && close(i.discrimination, d), "{i:?}");
            assert!(
                close(i.point_biserial, r) && i.flags == [Flag::FewResponses],
                "{i:?}"
            );
        }
        assert_eq!(a.items[0].answers, vec![(Some(0), 5), (Some(1), 1)]);
        assert_eq!(a.items[2].answers[2], (None, 1));
        assert_eq!(a.items[3].upper_top_wrong, Some((1, 0.5)));
        // Empty inputs do not panic.
        let e = item_analysis(&[], 3);
        assert_eq!((e.candidates, e.kr20, e.items[0].facility), (0, None, None));
        assert!(screen(&sheets[6..], 0, &ScreenConfig::default()).is_empty());
    }

    #[test]
    fn wrong_key_is_suspect() {
        let (mut sheets, _, _) = simulate(7, 300, 20, 20, 0, 0);
        // The stored key of question 3 is 1, but the truly right answer is 0.
        for r in sheets
            .iter_mut()
            .flat_map(|s| &mut s.responses)
            .filter(|r| r.question == 3)
        {
            r.correct = r.answer == Some(1);
        }
        let a = item_analysis(&sheets, 20);
        let q = &a.items[3];
        assert!(q.flags.contains(&Flag::KeySuspect), "{q:?}");
        assert!(q.flags.contains(&Flag::NegativeDiscrimination), "{q:?}");
        assert_eq!(q.upper_top_wrong.map(|u| u.0), Some(0));
        let suspects = a
            .items
            .iter()
            .filter(|i| i.flags.contains(&Flag::KeySuspect));
        assert_eq!(suspects.count(), 1);
        assert!(a.kr20.is_some_and(|k| k > 0.6));
    }

    /// Copying 50 % of a source's answers leaves half the source's wrong answers as evidence:
    /// with a strong source there is too little for any wrong-answer index at α = 1e-4 (an oracle
    /// using the true generating probabilities also finds only ~82 % of random sources), so the
    /// 90 % target applies to sources with ≥ 30 wrong answers.
    #[test]
    fn simulation_detects_copiers_not_honest_pairs() {
        let cfg = ScreenConfig::default();
        let (mut all, mut evident) = ((0, 0), (0, 0));
        for seed in [1, 2, 3] {
            let (sheets, same, own) = simulate(seed, 2000, 500, 100, 20, 20);
            let found = screen(&sheets, 500, &cfg);
            let flagged = |&&(c, s): &&(usize, usize)| {
                (found.iter()).any(|f| [(c, s), (s, c)].contains(&(f.copier, f.source)))
            };
            let wrong = |s: usize| {
                sheets[s]
                    .responses
                    .iter()
                    .filter(|r| r.answer.is_some() && !r.correct)
            };
            let strong: Planted = same
                .iter()
                .copied()
                .filter(|p| wrong(p.1).count() >= 30)
                .collect();
            let hits = [&same, &strong, &own].map(|p| p.iter().filter(flagged).count());
            let false_alarms = found.len() - hits[0] - hits[2];
            let honest_ordered = sheets.len() * (sheets.len() - 1) - 2 * (same.len() + own.len());
            let bound = 0.5 * cfg.alpha * honest_ordered as f64 + 3.0;
            println!(
                "seed {seed}: same-paper copiers flagged {}/{} ({}/{} with sources ≥ 30 wrong), \
                 own-paper copiers {}/{}, honest pairs flagged {false_alarms} of \
                 {honest_ordered} ordered (bound {bound:.0})",
                hits[0],
                same.len(),
                hits[1],
                strong.len(),
                hits[2],
                own.len()
            );
            assert!(false_alarms as f64 <= bound);
            for f in &found {
                assert_eq!(f.evidence.len(), f.identical_wrong);
                assert!(f.identical_wrong >= cfg.min_shared_wrong && f.p_value < cfg.alpha);
            }
            all = (all.0 + hits[0], all.1 + same.len());
            evident = (evident.0 + hits[1], evident.1 + strong.len());
        }
        assert!(evident.0 * 10 >= evident.1 * 9, "{evident:?}");
        assert!(all.0 * 10 >= all.1 * 7, "{all:?}");
    }

    #[test]
    fn deterministic_and_exact() {
        let (mut sheets, _, _) = simulate(5, 400, 120, 40, 5, 5);
        sheets
            .iter_mut()
            .enumerate()
            .for_each(|(i, s)| s.session = i % 2);
        let cfg = ScreenConfig::default();
        let found = screen(&sheets, 120, &cfg);
        assert!(!found.is_empty() && found == screen(&sheets, 120, &cfg));
        assert_eq!(item_analysis(&sheets, 120), item_analysis(&sheets, 120));
        assert!(
            found
                .iter()
                .all(|f| sheets[f.copier].session == sheets[f.source].session)
        );
        assert!(found.windows(2).all(|w| w[0].index >= w[1].index));
        let mut dp = Vec::new();
        assert!((upper_tail(&[0.5, 0.5, 0.5], 2, &mut dp) - 0.5).abs() < 1e-15);
        assert_eq!(
            (
                upper_tail(&[0.3], 0, &mut dp),
                upper_tail(&[0.3], 2, &mut dp)
            ),
            (1.0, 0.0)
        );
    }

    /// Tags balance (a simple check, enough for the generated markup).
    fn balanced(svg: &str) -> bool {
        let (mut stack, mut rest) = (Vec::new(), svg);
        while let Some(i) = rest.find('<') {
            let Some(j) = rest[i..].find('>') else {
                return false;
            };
            let tag = &rest[i + 1..i + j];
            rest = &rest[i + j + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name.trim()) {
                    return false;
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().unwrap_or(""));
            }
        }
        stack.is_empty()
    }

    #[test]
    fn histogram() {
        let scores = [
            0.0,
            4.99,
            5.0,
            59.0,
            60.0,
            61.5,
            100.0,
            100.0,
            f64::NAN,
            130.0,
            -3.0,
        ];
        let svg = histogram_svg(&scores, 100.0, 60.0, 5.0);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && balanced(&svg));
        assert_eq!(svg.matches("<rect").count(), 20);
        assert!(svg.contains("合格线 60") && svg.contains(">人数<") && svg.contains(">分数<"));
        // Bars of 3 (bin 0 with −3 clamped, last bin with 130 clamped) and the y tick "3".
        assert_eq!(svg.matches(">3</text>").count(), 3);
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
        let odd = histogram_svg(&[], f64::NAN, f64::NAN, 0.0);
        assert!(balanced(&odd) && odd.matches("<rect").count() == 10);
        assert_eq!(
            histogram_svg(&[1.0], 10.0, 6.0, 3.0)
                .matches("<rect")
                .count(),
            4
        );
    }

    #[test]
    #[ignore = "timing; run with --release --ignored --nocapture"]
    fn timing_10000() {
        let (sheets, _, _) = simulate(11, 10_000, 530, 100, 20, 0);
        let t = std::time::Instant::now();
        let found = screen(&sheets, 530, &ScreenConfig::default());
        let screen_time = t.elapsed();
        let t = std::time::Instant::now();
        let a = item_analysis(&sheets, 530);
        println!(
            "10,000 sheets × 100 of 530 questions, one session: screen {screen_time:?} \
             ({} pairs flagged), item analysis {:?} (KR-20 {:?})",
            found.len(),
            t.elapsed(),
            a.kr20
        );
    }
}
