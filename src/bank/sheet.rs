//! Question banks as bureaus keep them in Excel: 题型, 题干, 选项A…F, 答案, 难度, 法律依据, 解析,
//! with the header variants real templates use. Read with the bounded sheet reader; written back
//! in the same layout (so an export imports again unchanged).

use super::file::Incoming;
use super::laws::{Laws, article_key, law_key};
use super::rules::{Content, Draft, GENERAL_CATEGORY, OPTION_LETTERS, Part, QuestionStatus};
use crate::sheet::{self, Header, Layout, Row, SheetError, column_letter, header_keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    Code,
    Part,
    Category,
    Kind,
    Stem,
    /// All options in one cell ("A.… B.…" or one per line).
    Options,
    Option(usize),
    Answer,
    Difficulty,
    Basis,
    Quote,
    Explanation,
    Status,
}

impl Col {
    fn all() -> Vec<Col> {
        let mut v = vec![
            Col::Code,
            Col::Part,
            Col::Category,
            Col::Kind,
            Col::Stem,
            Col::Options,
        ];
        v.extend((0..OPTION_LETTERS.len()).map(Col::Option));
        v.extend([
            Col::Answer,
            Col::Difficulty,
            Col::Basis,
            Col::Quote,
            Col::Explanation,
            Col::Status,
        ]);
        v
    }

    pub fn label(self) -> String {
        match self {
            Col::Code => "编号".into(),
            Col::Part => "科目".into(),
            Col::Category => "类别".into(),
            Col::Kind => "题型".into(),
            Col::Stem => "题干".into(),
            Col::Options => "选项".into(),
            Col::Option(i) => format!("选项{}", OPTION_LETTERS[i]),
            Col::Answer => "答案".into(),
            Col::Difficulty => "难度".into(),
            Col::Basis => "法律依据".into(),
            Col::Quote => "依据原文".into(),
            Col::Explanation => "解析".into(),
            Col::Status => "状态".into(),
        }
    }

    fn matches(self, key: &str) -> bool {
        let fixed: &[&str] = match self {
            Col::Code => &[
                "编号",
                "试题编号",
                "题目编号",
                "题号",
                "试题ID",
                "题目ID",
                "ID",
                "试题代码",
            ],
            Col::Part => &[
                "科目",
                "考试科目",
                "试题科目",
                "所属科目",
                "知识类型",
                "题库类型",
            ],
            Col::Category => &[
                "类别",
                "执法类别",
                "专业类别",
                "专业",
                "分类",
                "题目分类",
                "所属分类",
                "试题分类",
                "试题类别",
                "题目类别",
                "所属类别",
                "执法领域",
                "所属专业",
            ],
            Col::Kind => &[
                "题型",
                "试题类型",
                "题目类型",
                "类型",
                "题类",
                "试题题型",
                "题目题型",
            ],
            Col::Stem => &[
                "题干",
                "题目",
                "试题内容",
                "题目内容",
                "试题",
                "问题",
                "题干内容",
                "试题题干",
                "题目名称",
                "试题题目",
                "内容",
            ],
            Col::Options => &["选项", "备选项", "选项内容", "备选答案"],
            Col::Option(i) => {
                let l = OPTION_LETTERS[i];
                let cn = ["一", "二", "三", "四", "五", "六"][i];
                return [
                    format!("选项{l}"),
                    l.to_string(),
                    format!("{l}选项"),
                    format!("选项{cn}"),
                    format!("答案{l}"),
                    format!("{}", l.to_ascii_lowercase()),
                    format!("选项{}", l.to_ascii_lowercase()),
                ]
                .iter()
                .any(|a| a == key);
            }
            Col::Answer => &[
                "答案",
                "正确答案",
                "参考答案",
                "标准答案",
                "答案选项",
                "试题答案",
            ],
            Col::Difficulty => &[
                "难度",
                "难易程度",
                "难度系数",
                "难易度",
                "难度等级",
                "难易",
                "难度级别",
            ],
            Col::Basis => &[
                "法律依据",
                "依据",
                "出处",
                "法条依据",
                "法规依据",
                "参考依据",
                "试题依据",
                "政策依据",
                "法律法规依据",
                "依据条款",
            ],
            Col::Quote => &[
                "依据原文",
                "法条原文",
                "条文原文",
                "原文",
                "法条内容",
                "条文内容",
            ],
            Col::Explanation => &[
                "解析",
                "答案解析",
                "试题解析",
                "题目解析",
                "说明",
                "解题思路",
                "分析",
            ],
            Col::Status => &["状态", "试题状态", "题目状态"],
        };
        fixed.contains(&key)
    }

    fn of_header(raw: &str) -> Option<Col> {
        let (whole, stripped) = header_keys(raw);
        let all = Col::all();
        all.iter()
            .copied()
            .find(|c| c.matches(&whole))
            .or_else(|| all.iter().copied().find(|c| c.matches(&stripped)))
    }
}

pub struct BankSheet;

impl Layout<Col> for BankSheet {
    fn header_in(&self, row: &Row) -> Result<Option<Header<Col>>, SheetError> {
        let mut columns: Vec<(usize, Col)> = Vec::new();
        let mut ignored = Vec::new();
        for (i, c) in row.cells.iter().enumerate() {
            match Col::of_header(&c.text) {
                Some(col) => {
                    if let Some((j, _)) = columns.iter().find(|(_, g)| *g == col) {
                        return Err(SheetError::DuplicateColumn(
                            col.label(),
                            column_letter(*j),
                            column_letter(i),
                        ));
                    }
                    columns.push((i, col));
                }
                None => {
                    let t = c.text.trim();
                    if !t.is_empty() && !matches!(t, "序号" | "序" | "备注") {
                        ignored.push(t.to_string());
                    }
                }
            }
        }
        let has = |c: Col| columns.iter().any(|(_, g)| *g == c);
        Ok((has(Col::Stem) && has(Col::Answer)).then(|| Header {
            row: row.number,
            columns,
            ignored,
            notes: Vec::new(),
        }))
    }

    fn no_header(&self) -> String {
        "找不到表头：前 30 行中没有同时包含“题干”和“答案”两列的行。请确认表头写法（如 题型、题干、选项A…选项F、答案、难度、法律依据、解析）".into()
    }

    fn sheet_name(&self) -> &'static str {
        "题库"
    }
}

/// What applies to every row of a sheet that lacks the column.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub part: Option<Part>,
    pub category: Option<String>,
}

/// Reads a bureau's sheet into questions (not yet checked), with remarks on the file.
pub fn read(
    filename: &str,
    bytes: &[u8],
    defaults: &Defaults,
) -> Result<(Vec<Incoming>, Vec<String>), SheetError> {
    let (header, rows) = sheet::read(&BankSheet, filename, bytes)?;
    let mut notes = header.notes.clone();
    if !header.ignored.is_empty() {
        notes.push(format!("以下列未导入：{}", header.ignored.join("、")));
    }
    let col = |c: Col| header.col(c);
    if col(Col::Kind).is_none() {
        notes.push("表中没有“题型”列：没有选项的题目记为判断题，答案有两个以上字母的记为多选题，其余记为单选题".into());
    }
    if col(Col::Part).is_none() && defaults.part.is_none() {
        notes.push(
            "表中没有“科目”列：类别为空或“通用”的题目记为公共法律知识，其余记为专业法律知识".into(),
        );
    }
    if col(Col::Difficulty).is_none() {
        notes.push("表中没有“难度”列：难度均记为 3（中等）".into());
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows.iter().filter(|r| r.number > header.row) {
        let cell = |c: Col| {
            col(c)
                .and_then(|i| row.cells.get(i))
                .map(|c| c.text.trim().to_string())
                .unwrap_or_default()
        };
        let mut options: Vec<String> = (0..OPTION_LETTERS.len())
            .map(|i| cell(Col::Option(i)))
            .collect();
        if options.iter().all(String::is_empty) && col(Col::Options).is_some() {
            options = split_options(&cell(Col::Options));
        }
        let answer = cell(Col::Answer);
        let kind = match cell(Col::Kind) {
            k if !k.is_empty() => k,
            _ if col(Col::Kind).is_some() => String::new(),
            _ => infer_kind(&options, &answer).into(),
        };
        let category = match cell(Col::Category) {
            c if !c.is_empty() => c,
            _ => defaults.category.clone().unwrap_or_default(),
        };
        let part = match cell(Col::Part) {
            p if !p.is_empty() => p,
            _ => match defaults.part {
                Some(p) => p.label().into(),
                None if category.is_empty() || category == GENERAL_CATEGORY => {
                    Part::Public.label().into()
                }
                None => Part::Professional.label().into(),
            },
        };
        let (law, article) = split_basis(&cell(Col::Basis));
        let difficulty = match cell(Col::Difficulty) {
            d if d.is_empty() && col(Col::Difficulty).is_none() => "3".into(),
            d => d,
        };
        let status = cell(Col::Status);
        let code = cell(Col::Code);
        out.push(Incoming {
            location: format!("第 {} 行", row.number),
            code: (!code.is_empty()).then_some(code),
            draft: Draft {
                part,
                category,
                kind,
                stem: cell(Col::Stem),
                options,
                answer,
                difficulty,
                law,
                article,
                quote: cell(Col::Quote)
                    .split('\n')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                explanation: cell(Col::Explanation),
            },
            status: if status.is_empty() {
                None
            } else {
                QuestionStatus::parse(&status)
            },
        });
    }
    Ok((out, notes))
}

fn infer_kind(options: &[String], answer: &str) -> &'static str {
    if options.iter().all(String::is_empty) {
        return "判断";
    }
    let letters = answer
        .chars()
        .filter(|c| {
            c.is_ascii_alphabetic() || ('Ａ'..='Ｆ').contains(c) || ('ａ'..='ｆ').contains(c)
        })
        .count();
    if letters >= 2 { "多选" } else { "单选" }
}

/// "A.三日 B.五日" or one option per line (with or without letters).
fn split_options(cell: &str) -> Vec<String> {
    let lines: Vec<&str> = cell
        .split(['\n', '|', '｜'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if lines.len() > 1 {
        return lines.into_iter().map(str::to_string).collect();
    }
    // one line: cut before each "B." "C、" … in order
    let mut out = Vec::new();
    let mut rest = cell.trim();
    for next in OPTION_LETTERS.iter().skip(1) {
        let cut = rest.char_indices().find(|(i, c)| {
            *i > 0
                && (*c == *next || *c == char::from_u32(*next as u32 + 0xFEE0).unwrap_or(*next))
                && rest[i + c.len_utf8()..]
                    .chars()
                    .next()
                    .is_some_and(|d| matches!(d, '.' | '．' | '、' | ':' | '：' | ' '))
        });
        match cut {
            Some((i, _)) => {
                out.push(rest[..i].trim().to_string());
                rest = &rest[i..];
            }
            None => break,
        }
    }
    out.push(rest.trim().to_string());
    out.retain(|s| !s.is_empty());
    out
}

/// 《中华人民共和国行政处罚法》第五十一条第一款 → (行政处罚法, 第五十一条).
pub fn split_basis(raw: &str) -> (String, String) {
    let raw = raw.trim();
    if raw.is_empty() {
        return (String::new(), String::new());
    }
    // the first 第…条 after the law's name
    let after_name = raw.rfind('》').map(|i| i + '》'.len_utf8()).unwrap_or(0);
    let article_at = raw[after_name..].find('第').map(|i| i + after_name);
    match article_at {
        Some(i) => {
            let article = article_key(&raw[i..]).unwrap_or_default();
            (law_key(&raw[..i]), article)
        }
        None => (law_key(raw), String::new()),
    }
}

/// The import template: the layout's headers with one example of each type (from the shipped
/// bank, so the examples are right).
pub fn template(laws: &Laws) -> Result<Vec<u8>, SheetError> {
    let shipped = super::shipped::incoming().map_err(|e| SheetError::Write(e.to_string()))?;
    let mut rows = Vec::new();
    for kind in ["单选", "多选", "判断"] {
        if let Some(c) = shipped
            .iter()
            .filter(|q| q.draft.kind == kind)
            .find_map(|q| Content::parse(&q.draft, laws, super::rules::Strictness::Proof).ok())
        {
            rows.push((String::new(), QuestionStatus::Active, c));
        }
    }
    write(&rows, laws)
}

/// Writes questions in the import layout.
pub fn write(
    rows: &[(String, QuestionStatus, Content)],
    laws: &Laws,
) -> Result<Vec<u8>, SheetError> {
    let err = |e: rust_xlsxwriter::XlsxError| SheetError::Write(e.to_string());
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("题库").map_err(err)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let wrap = rust_xlsxwriter::Format::new().set_text_wrap();
    let mut headers: Vec<String> = vec!["编号", "状态", "科目", "类别", "题型", "题干"]
        .into_iter()
        .map(String::from)
        .collect();
    headers.extend(OPTION_LETTERS.iter().map(|l| format!("选项{l}")));
    headers.extend(["答案", "难度", "法律依据", "依据原文", "解析"].map(String::from));
    for (i, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, h, &bold)
            .map_err(err)?;
    }
    ws.set_freeze_panes(1, 0).map_err(err)?;
    ws.set_column_width(5, 60).map_err(err)?;
    ws.set_column_width(15, 40).map_err(err)?;
    ws.set_column_width(16, 40).map_err(err)?;
    for (r, (code, status, c)) in rows.iter().enumerate() {
        let r = r as u32 + 1;
        let mut cells: Vec<String> = vec![
            code.clone(),
            status.label().into(),
            c.part.label().into(),
            c.category.clone(),
            c.kind.label().into(),
            c.stem.clone(),
        ];
        cells.extend(
            (0..OPTION_LETTERS.len()).map(|i| c.options.get(i).cloned().unwrap_or_default()),
        );
        cells.extend([
            c.answer.clone(),
            c.difficulty.to_string(),
            c.basis(laws),
            c.quote.join("\n"),
            c.explanation.clone(),
        ]);
        for (i, v) in cells.iter().enumerate() {
            if i == 13 {
                ws.write_number(r, i as u16, c.difficulty as f64)
                    .map_err(err)?;
            } else if !v.is_empty() {
                ws.write_string_with_format(r, i as u16, v, &wrap)
                    .map_err(err)?;
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bank::rules::Strictness;
    use crate::sheet::testkit::xlsx_of;

    #[test]
    fn a_bureau_template_with_variant_headers() {
        let bytes = xlsx_of(&[
            vec!["XX市行政执法人员资格考试题库"],
            vec![
                "序号",
                "试题类型",
                "试题内容",
                "A",
                "B",
                "C",
                "D",
                "正确答案",
                "难易程度",
                "出处",
                "答案解析",
            ],
            vec![
                "1",
                "单项选择题",
                "当事人要求听证的，应当在行政机关告知后（　）内提出。",
                "三日",
                "五日",
                "七日",
                "十日",
                "b",
                "中等",
                "《中华人民共和国行政处罚法》第64条",
                "",
            ],
            vec![
                "2",
                "判断题",
                "行政处罚决定书应当当场交付当事人。",
                "",
                "",
                "",
                "",
                "√",
                "易",
                "",
                "",
            ],
        ]);
        let (qs, notes) = read("题库.xlsx", &bytes, &Defaults::default()).unwrap();
        assert_eq!(qs.len(), 2);
        assert!(notes.iter().any(|n| n.contains("科目")), "{notes:?}");
        let c = Content::parse(&qs[0].draft, Laws::shipped(), Strictness::Bureau).unwrap();
        assert_eq!(c.answer, "B");
        assert_eq!(c.difficulty, 3);
        assert_eq!(
            (c.law.as_str(), c.article.as_str()),
            ("行政处罚法", "第六十四条")
        );
        assert_eq!(qs[0].location, "第 3 行");
        let j = Content::parse(&qs[1].draft, Laws::shipped(), Strictness::Bureau).unwrap();
        assert_eq!(j.answer, "正确");
    }

    #[test]
    fn options_in_one_cell() {
        assert_eq!(
            split_options("A.三日 B.五日 C.七日 D.十日"),
            ["A.三日", "B.五日", "C.七日", "D.十日"]
        );
        assert_eq!(split_options("甲\n乙\n丙"), ["甲", "乙", "丙"]);
        assert_eq!(
            split_basis("行政许可法第四十二条第一款"),
            ("行政许可法".into(), "第四十二条".into())
        );
        assert_eq!(split_basis("《宪法》"), ("宪法".into(), String::new()));
    }
}
