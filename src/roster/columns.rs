//! The roster's columns: the fields a roster sheet has, the headers bureaus write for them, and
//! which row of a sheet is the header (the sheet reader itself is `crate::sheet`).

use crate::roster::rules::unit_name_key;
use crate::sheet::{Header, Layout, Row, SheetError, column_letter, header_keys};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Name,
    IdNumber,
    Unit,
    UnitCode,
    Sex,
    BirthDate,
    Post,
    Category,
    Region,
    EmploymentType,
    Phone,
    Status,
    Rank,
    CertNumber,
    CertIssuer,
    CertValidity,
}

impl Field {
    pub const ALL: [Field; 16] = [
        Field::Name,
        Field::IdNumber,
        Field::Unit,
        Field::UnitCode,
        Field::Sex,
        Field::BirthDate,
        Field::Post,
        Field::Category,
        Field::Region,
        Field::EmploymentType,
        Field::Phone,
        Field::Status,
        Field::Rank,
        Field::CertNumber,
        Field::CertIssuer,
        Field::CertValidity,
    ];

    /// The header the template uses.
    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "姓名",
            Field::IdNumber => "身份证号",
            Field::Unit => "所在单位",
            Field::UnitCode => "单位代码",
            Field::Sex => "性别",
            Field::BirthDate => "出生日期",
            Field::Post => "职务",
            Field::Category => "执法类别",
            Field::Region => "执法区域",
            Field::EmploymentType => "人员性质",
            Field::Phone => "联系电话",
            Field::Status => "在岗状态",
            Field::Rank => "职级",
            Field::CertNumber => "执法证号",
            Field::CertIssuer => "发证机关",
            Field::CertValidity => "证件有效期",
        }
    }

    /// Which field a header cell names, if any: spaces, stars, full-width forms and a trailing
    /// note in brackets ("身份证号（必填）") are ignored. "证件号码" alone answers `IdNumber`;
    /// in a header row that also has an ID-number column it is the certificate number.
    pub fn from_header(raw: &str) -> Option<Field> {
        classify_header(raw).map(|(f, _)| f)
    }
}

/// The roster's sheet layout, for `crate::sheet::read`.
pub struct RosterSheet;

impl Layout<Field> for RosterSheet {
    fn header_in(&self, row: &Row) -> Result<Option<Header<Field>>, SheetError> {
        header_in(row)
    }

    fn no_header(&self) -> String {
        "找不到表头：前 30 行中没有同时包含“姓名”和“身份证号”两列的行。请确认表头写法（如 姓名、身份证号、所在单位）".into()
    }

    fn sheet_name(&self) -> &'static str {
        "名册"
    }
}

/// Reads a roster sheet (see `crate::sheet::read`).
pub fn read(filename: &str, bytes: &[u8]) -> Result<(Header<Field>, Vec<Row>), SheetError> {
    crate::sheet::read(&RosterSheet, filename, bytes)
}

/// The roster sheet written back with notes (see `crate::sheet::annotate`).
pub fn annotate(
    filename: &str,
    bytes: &[u8],
    notes: &std::collections::BTreeMap<usize, String>,
) -> Result<Vec<u8>, SheetError> {
    crate::sheet::annotate(&RosterSheet, filename, bytes, notes)
}

impl Field {
    /// The headers bureaus write for this field (compared after [`classify_header`] cleans them).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Name => &["姓名", "名字", "人员姓名", "执法人员姓名", "执法人员"],
            // "证件号码" is listed here and under CertNumber: which one it means depends on the
            // rest of the header row (see `header_in`).
            Field::IdNumber => &[
                "身份证号",
                "身份证号码",
                "公民身份号码",
                "身份证",
                "证件号码",
                "身份证件号码",
                "公民身份证号码",
                "身份号码",
            ],
            Field::Unit => &[
                "单位",
                "所在单位",
                "执法单位",
                "工作单位",
                "单位名称",
                "执法主体",
                "所属单位",
                "执法主体名称",
                "所在执法单位",
            ],
            Field::UnitCode => &[
                "单位代码",
                "统一社会信用代码",
                "执法主体代码",
                "单位编码",
                "机构代码",
                "组织机构代码",
            ],
            Field::Sex => &["性别"],
            Field::BirthDate => &["出生日期", "出生年月", "出生年月日", "生日"],
            Field::Post => &[
                "职务",
                "职务(岗位)",
                "岗位",
                "职务岗位",
                "职位",
                "职务职级",
                "现任职务",
                "职务/岗位",
            ],
            Field::Category => &["执法类别", "执法门类", "执法种类", "执法领域", "执法类型"],
            Field::Region => &["执法区域", "执法地域", "管辖区域", "执法范围"],
            Field::EmploymentType => &[
                "人员性质",
                "人员类别",
                "编制性质",
                "编制类型",
                "人员身份",
                "用工性质",
                "编制情况",
                "身份类别",
                "编制类别",
                "执法人员性质",
            ],
            Field::Phone => &[
                "联系电话",
                "电话",
                "手机",
                "手机号",
                "手机号码",
                "联系方式",
                "电话号码",
            ],
            Field::Status => &["在岗状态", "状态", "人员状态", "在职状态", "在岗情况"],
            Field::Rank => &["职级"],
            Field::CertNumber => &[
                "执法证号",
                "证件编号",
                "证号",
                "证件号码",
                "行政执法证号",
                "执法证编号",
                "执法证件号码",
                "执法证件编号",
            ],
            Field::CertIssuer => &["发证机关", "发证单位", "发证部门"],
            Field::CertValidity => &[
                "证件有效期",
                "有效期",
                "有效期至",
                "证件有效期至",
                "有效期限",
                "有效日期",
            ],
        }
    }
}

/// The field a header cell names, and whether it was the ambiguous "证件号码".
fn classify_header(raw: &str) -> Option<(Field, bool)> {
    let matches = |s: &str| {
        Field::ALL
            .into_iter()
            .find(|f| f.aliases().contains(&s))
            .map(|f| (f, s == AMBIGUOUS_ID_HEADER))
    };
    let (whole, stripped) = header_keys(raw);
    matches(&whole).or_else(|| matches(&stripped))
}

/// Means the ID number unless the row has another ID-number column; then the certificate number.
const AMBIGUOUS_ID_HEADER: &str = "证件号码";

/// The header this row is, if it names both the name and the ID-number columns.
fn header_in(row: &Row) -> Result<Option<Header<Field>>, SheetError> {
    let named: Vec<(usize, Option<(Field, bool)>)> = row
        .cells
        .iter()
        .enumerate()
        .map(|(i, c)| (i, classify_header(&c.text)))
        .collect();
    // "证件号码" next to an ID-number column is the certificate number.
    let other_id = named
        .iter()
        .any(|(_, f)| matches!(f, Some((Field::IdNumber, false))));
    let mut columns: Vec<(usize, Field)> = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    for (i, f) in named {
        match f {
            Some((f, ambiguous)) => {
                let f = if ambiguous && other_id {
                    Field::CertNumber
                } else {
                    f
                };
                if let Some((j, _)) = columns.iter().find(|(_, g)| *g == f)
                    && (columns.iter().any(|(_, g)| *g == Field::Name) || f == Field::Name)
                {
                    return Err(SheetError::DuplicateColumn(
                        f.label().to_string(),
                        column_letter(*j),
                        column_letter(i),
                    ));
                }
                columns.push((i, f));
            }
            None => {
                let t = row.cells[i].text.trim();
                if !t.is_empty()
                    && !matches!(unit_name_key(t).as_str(), "序号" | "编号" | "备注" | "序")
                    && !ignored.iter().any(|x| x == t)
                {
                    ignored.push(t.to_string());
                }
            }
        }
    }
    let has = |f: Field| columns.iter().any(|(_, g)| *g == f);
    if has(Field::Name) && has(Field::IdNumber) {
        return Ok(Some(Header {
            row: row.number,
            columns,
            ignored,
            notes: Vec::new(),
        }));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::{Field, read};
    use crate::sheet::testkit::{ID, xlsx_of};

    #[test]
    fn header_aliases() {
        assert_eq!(Field::from_header("姓 名"), Some(Field::Name));
        assert_eq!(Field::from_header("公民身份号码"), Some(Field::IdNumber));
        assert_eq!(Field::from_header("职务（岗位）"), Some(Field::Post));
        assert_eq!(Field::from_header("*身份证号(必填)"), Some(Field::IdNumber));
        assert_eq!(Field::from_header("序号"), None);
    }

    #[test]
    fn new_header_aliases() {
        for (h, f) in [
            ("职级", Field::Rank),
            ("执法证号", Field::CertNumber),
            ("证件编号", Field::CertNumber),
            ("证号", Field::CertNumber),
            ("行政执法证号", Field::CertNumber),
            ("执法证编号", Field::CertNumber),
            ("执法证件号码", Field::CertNumber),
            ("执法证件编号", Field::CertNumber),
            ("发证机关", Field::CertIssuer),
            ("发证单位", Field::CertIssuer),
            ("发证部门", Field::CertIssuer),
            ("证件有效期", Field::CertValidity),
            ("有效期", Field::CertValidity),
            ("有效期至", Field::CertValidity),
            ("证件有效期至", Field::CertValidity),
            ("有效期限", Field::CertValidity),
            ("有效日期", Field::CertValidity),
            ("执法人员性质", Field::EmploymentType),
            ("人员类别", Field::EmploymentType),
            ("编制性质", Field::EmploymentType),
            ("职务", Field::Post),
            ("现任职务", Field::Post),
            ("职务（岗位）", Field::Post),
            ("出生年月", Field::BirthDate),
            // without context, 证件号码 is the ID number
            ("证件号码", Field::IdNumber),
        ] {
            assert_eq!(Field::from_header(h), Some(f), "{h}");
        }
        assert_eq!(Field::ALL.len(), 16);
        assert_eq!(
            &Field::ALL[12..],
            &[
                Field::Rank,
                Field::CertNumber,
                Field::CertIssuer,
                Field::CertValidity
            ]
        );
        assert_eq!(Field::CertNumber.label(), "执法证号");
        assert_eq!(Field::CertValidity.label(), "证件有效期");
    }

    /// The 24-column template of a real enforcement-personnel system.
    #[test]
    fn the_24_column_layout_maps() {
        let header = vec![
            "序号",
            "姓名",
            "单位",
            "身份证号",
            "性别",
            "出生日期",
            "政治面貌",
            "职级",
            "民族",
            "最高学历",
            "学历专业",
            "是否监督人员",
            "是否具有法律职业资格",
            "联系电话",
            "执法人员性质",
            "执法证号",
            "发证机关",
            "执法区域",
            "执法类别",
            "证件有效期",
            "省",
            "市（区）",
            "发布状态",
            "发布日期",
        ];
        let data = vec![
            "1",
            "张三",
            "松原市宁江区市场监督管理局",
            ID,
            "男",
            "1985-06-15",
            "中共党员",
            "四级主任科员",
            "汉族",
            "大学本科",
            "法学",
            "否",
            "是",
            "13804381234",
            "行政编制",
            "22070012345",
            "松原市人民政府",
            "松原市宁江区",
            "市场监管",
            "2028-06-30",
            "吉林省",
            "松原市",
            "已发布",
            "2023-07-01",
        ];
        let bytes = xlsx_of(&[header, data]);
        let (h, rows) = read("x.xlsx", &bytes).unwrap();
        let expect = [
            (1, Field::Name),
            (2, Field::Unit),
            (3, Field::IdNumber),
            (4, Field::Sex),
            (5, Field::BirthDate),
            (7, Field::Rank),
            (13, Field::Phone),
            (14, Field::EmploymentType),
            (15, Field::CertNumber),
            (16, Field::CertIssuer),
            (17, Field::Region),
            (18, Field::Category),
            (19, Field::CertValidity),
        ];
        assert_eq!(h.columns, expect.to_vec());
        assert_eq!(
            h.ignored,
            [
                "政治面貌",
                "民族",
                "最高学历",
                "学历专业",
                "是否监督人员",
                "是否具有法律职业资格",
                "省",
                "市（区）",
                "发布状态",
                "发布日期"
            ]
        );
        let row = &rows[1];
        assert_eq!(
            row.cells[h.col(Field::CertNumber).unwrap()].text,
            "22070012345"
        );
        assert_eq!(
            row.cells[h.col(Field::CertValidity).unwrap()].text,
            "2028-06-30"
        );
        // unmapped columns hold nothing
        assert!(row.cells.get(6).is_none_or(|c| c.text.is_empty()));
    }

    /// 证件号码 is the certificate number next to an ID-number column, else the ID number.
    #[test]
    fn the_certificate_number_header_is_read_in_context() {
        let (h, _) = read(
            "x.csv",
            format!("姓名,身份证号,证件号码\n张三,{ID},22070012345\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(h.col(Field::IdNumber), Some(1));
        assert_eq!(h.col(Field::CertNumber), Some(2));
        let (h, _) = read(
            "x.csv",
            format!("姓名,证件号码,单位\n张三,{ID},宁江区\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(h.col(Field::IdNumber), Some(1));
        assert_eq!(h.col(Field::CertNumber), None);
        // the ID column may come after it
        let (h, _) = read(
            "x.csv",
            format!("姓名,证件号码（执法证）,公民身份号码\n张三,22070012345,{ID}\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(h.col(Field::CertNumber), Some(1));
        assert_eq!(h.col(Field::IdNumber), Some(2));
    }

    #[test]
    fn ignored_headers_are_listed_once() {
        let (h, _) = read(
            "x.csv",
            format!("序号,姓名,身份证号,民族,民族,备注\n1,张三,{ID},汉,汉,\n").as_bytes(),
        )
        .unwrap();
        assert_eq!(h.ignored, vec!["民族".to_string()]);
    }
}
