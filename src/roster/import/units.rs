//! Finding the unit a sheet row names: by code, by exact name, or by the abbreviations bureaus
//! write (市市场监管局 for 攀枝花市市场监督管理局). Pure: the units are handed in.

use crate::roster::Scope;
use crate::roster::model::Unit;
use crate::roster::rules::{self, unit_name_key};
use std::collections::HashMap;

/// Common short forms of bureau names, expanded before comparing (both sides).
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("市场监管", "市场监督管理"),
    ("综合执法", "综合行政执法"),
    ("人社", "人力资源和社会保障"),
    ("住建", "住房和城乡建设"),
    ("卫健委", "卫生健康委员会"),
    ("卫健局", "卫生健康局"),
    ("发改委", "发展和改革委员会"),
    ("发改局", "发展和改革局"),
    ("交通局", "交通运输局"),
    ("文广旅", "文化广电和旅游"),
    ("文旅", "文化和旅游"),
    ("林草", "林业和草原"),
    ("应急局", "应急管理局"),
    ("城管局", "城市管理局"),
    ("资规局", "自然资源和规划局"),
    ("教体局", "教育和体育局"),
    ("医保局", "医疗保障局"),
    ("退役军人局", "退役军人事务局"),
    ("民宗局", "民族宗教事务局"),
    ("农业农村局", "农业农村局"),
];

/// Where a region name ends: a sheet writes "市" for "the city's own" unit.
const LEVELS: [char; 7] = ['省', '市', '区', '县', '州', '旗', '盟'];

/// A unit name in the form names are compared in: no spaces, half-width, short forms expanded.
pub fn expanded_key(name: &str) -> String {
    let mut s = unit_name_key(name);
    for (short, long) in ABBREVIATIONS {
        if short != long && s.contains(short) && !s.contains(long) {
            s = s.replace(short, long);
        }
    }
    s
}

/// Whether a name as written (`w`, expanded) can only mean the unit named `u` (expanded): the
/// same name; the name without its region ("市场监督管理局" for "攀枝花市市场监督管理局"); or
/// with the region shortened to its level ("市市场监督管理局", "区交通运输局").
pub fn abbreviates(w: &str, u: &str) -> bool {
    if w == u {
        return true;
    }
    let region_before = |rest: &str, level: Option<char>| {
        u.len() > rest.len()
            && u.ends_with(rest)
            && u[..u.len() - rest.len()]
                .chars()
                .last()
                .is_some_and(|c| level.map_or(LEVELS.contains(&c), |l| c == l))
    };
    // the region left out entirely (at least a bureau's name must remain)
    if w.chars().count() >= 4 && region_before(w, None) {
        return true;
    }
    // the region shortened to its level
    let mut chars = w.chars();
    if let Some(level) = chars.next().filter(|c| LEVELS.contains(c)) {
        let rest = chars.as_str();
        if rest.chars().count() >= 3 && region_before(rest, Some(level)) {
            return true;
        }
    }
    false
}

/// The units an import can name, indexed.
pub struct UnitIndex {
    units: Vec<Unit>,
    by_key: HashMap<String, Vec<usize>>,
    by_code: HashMap<String, usize>,
    by_id: HashMap<i64, usize>,
    expanded: Vec<String>,
    /// Abbreviated names already resolved: written key → unit positions that fit.
    abbreviated: HashMap<String, Vec<usize>>,
}

pub enum UnitLookup<'a> {
    /// Named exactly (or by code).
    Found(&'a Unit),
    /// Named by an abbreviation that fits exactly one unit.
    Matched(&'a Unit),
    /// Not in the roster: the name as it should be created.
    Missing(String),
    Problem(String),
}

impl UnitIndex {
    pub fn new(units: Vec<Unit>) -> Self {
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_code = HashMap::new();
        let mut by_id = HashMap::new();
        let mut expanded = Vec::with_capacity(units.len());
        for (i, u) in units.iter().enumerate() {
            by_key.entry(unit_name_key(&u.name)).or_default().push(i);
            by_code.insert(u.code.clone(), i);
            by_id.insert(u.id, i);
            expanded.push(expanded_key(&u.name));
        }
        UnitIndex {
            units,
            by_key,
            by_code,
            by_id,
            expanded,
            abbreviated: HashMap::new(),
        }
    }

    pub fn by_id(&self, id: i64) -> Option<&Unit> {
        self.by_id.get(&id).map(|i| &self.units[*i])
    }

    /// The unit a row names by `code` (preferred) or `name`, as the caller (`scope`) may use it.
    pub fn lookup(&mut self, scope: &Scope, name: &str, code: &str) -> UnitLookup<'_> {
        let usable = |u: &Unit| scope.covers_unit(u) && u.active;
        let pos = if !code.is_empty() {
            match rules::parse_unit_code(code)
                .ok()
                .and_then(|c| self.by_code.get(&c).copied())
            {
                Some(i) if scope.covers_unit(&self.units[i]) => i,
                // a code outside the caller's scope reads as one that doesn't exist
                _ => {
                    return UnitLookup::Problem(format!(
                        "单位代码“{}”不在单位库中（或不在您的管理范围内）",
                        shorten(code)
                    ));
                }
            }
        } else {
            let key = unit_name_key(name);
            match self.by_key.get(&key).map(Vec::as_slice) {
                Some([i]) if scope.covers_unit(&self.units[*i]) => *i,
                Some(many) if !many.is_empty() => {
                    let fit: Vec<usize> = many
                        .iter()
                        .copied()
                        .filter(|i| usable(&self.units[*i]))
                        .collect();
                    match fit[..] {
                        [i] => i,
                        [] => {
                            return UnitLookup::Problem(format!(
                                "单位“{}”不在您的管理范围内，或已停用",
                                shorten(name)
                            ));
                        }
                        _ => {
                            return UnitLookup::Problem(format!(
                                "有 {} 个单位都叫“{}”，请在表中增加“单位代码”列加以区分",
                                fit.len(),
                                shorten(name)
                            ));
                        }
                    }
                }
                _ => return self.by_abbreviation(scope, name),
            }
        };
        let unit = &self.units[pos];
        if !unit.active {
            return UnitLookup::Problem(format!("单位“{}”已停用", unit.name));
        }
        UnitLookup::Found(unit)
    }

    fn by_abbreviation(&mut self, scope: &Scope, name: &str) -> UnitLookup<'_> {
        let written = expanded_key(name);
        let fits = match self.abbreviated.get(&written) {
            Some(v) => v.clone(),
            None => {
                let v: Vec<usize> = (0..self.units.len())
                    .filter(|i| {
                        let u = &self.units[*i];
                        scope.covers_unit(u)
                            && u.active
                            && abbreviates(&written, &self.expanded[*i])
                    })
                    .collect();
                self.abbreviated.insert(written, v.clone());
                v
            }
        };
        match fits[..] {
            [] => UnitLookup::Missing(rules::clean_text(name)),
            [i] => UnitLookup::Matched(&self.units[i]),
            ref many => UnitLookup::Problem(format!(
                "单位“{}”可能是 {} 中的任何一个，请写出全称或增加“单位代码”列",
                shorten(name),
                many.iter()
                    .take(5)
                    .map(|i| format!("“{}”", self.units[*i].name))
                    .collect::<Vec<_>>()
                    .join("、")
            )),
        }
    }
}

/// A value as it may be quoted back to the user: at most 40 characters.
pub fn shorten(s: &str) -> String {
    let s = s.trim();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> String {
        expanded_key(s)
    }

    #[test]
    fn abbreviations_that_fit_one_unit() {
        let full = k("攀枝花市市场监督管理局");
        assert!(abbreviates(&k("市市场监管局"), &full));
        assert!(abbreviates(&k("攀枝花市市场监管局"), &full));
        assert!(abbreviates(&k("市场监督管理局"), &full));
        assert!(!abbreviates(&k("区市场监管局"), &full));
        assert!(!abbreviates(&k("局"), &full));
        assert!(abbreviates(&k("区交通局"), &k("东区交通运输局")));
        assert!(abbreviates(&k("县住建局"), &k("米易县住房和城乡建设局")));
        assert!(!abbreviates(&k("县住建局"), &k("东区住房和城乡建设局")));
        assert!(abbreviates(&k("市城管局"), &k("攀枝花市城市管理局")));
    }
}
