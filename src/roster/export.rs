//! Writing rosters to XLSX: the filtered roster, and the blank import template.

use super::columns::Field;
use super::db;
use crate::audit::{self, Change};
use crate::auth::{Capability, Grant};
use crate::db::DbConn;
use crate::error::{Error, Result};
use rust_xlsxwriter::{Format, FormatAlign, FormatBorder, Workbook, Worksheet};

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_font_name("宋体")
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter)
        .set_border(FormatBorder::Thin)
        .set_background_color("D9E1F2")
}

fn xlsx_err(e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Internal(anyhow::anyhow!("生成 Excel 文件失败：{e}"))
}

const EXPORT_COLUMNS: [(&str, f64); 17] = [
    ("序号", 6.0),
    ("姓名", 10.0),
    ("性别", 6.0),
    ("身份证号", 21.0),
    ("出生日期", 12.0),
    ("所在单位", 30.0),
    ("职务", 14.0),
    ("执法类别", 14.0),
    ("执法区域", 16.0),
    ("人员性质", 16.0),
    ("联系电话", 14.0),
    ("在岗状态", 10.0),
    ("职级", 12.0),
    ("执法证号", 16.0),
    ("发证机关", 20.0),
    ("证件有效期", 12.0),
    ("申领资格", 10.0),
];

fn write_title(ws: &mut Worksheet, title: &str, ncols: u16) -> Result<()> {
    let f = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_font_name("黑体")
        .set_align(FormatAlign::Center);
    ws.merge_range(0, 0, 0, ncols - 1, title, &f)
        .map_err(xlsx_err)?;
    ws.set_row_height(0, 28).map_err(xlsx_err)?;
    Ok(())
}

/// The roster as the search selects it (every page), one row per officer. The export is in the
/// audit log: a file of thousands of ID numbers is exactly what an auditor needs to see.
pub fn officers_xlsx(conn: &mut DbConn, grant: &Grant, search: &db::Search) -> Result<Vec<u8>> {
    let f = super::resolve_search(conn, grant, search)?;
    let mut wb = Workbook::new();
    // constant memory: rows stream to a temporary file instead of the heap (a 73,450-row export
    // peaked at 364 MB without it)
    let ws = wb
        .add_worksheet_with_constant_memory()
        .map_err(xlsx_err)?
        .set_name("行政执法人员名录")
        .map_err(xlsx_err)?;
    let today = super::rules::chinese_date(chrono::Local::now().date_naive());
    write_title(
        ws,
        &format!("行政执法人员名录（导出日期：{today}）"),
        EXPORT_COLUMNS.len() as u16,
    )?;
    let hf = header_format();
    let text = Format::new()
        .set_num_format("@")
        .set_border(FormatBorder::Thin);
    let plain = Format::new().set_border(FormatBorder::Thin);
    for (i, (h, w)) in EXPORT_COLUMNS.iter().enumerate() {
        ws.write_with_format(1, i as u16, *h, &hf)
            .map_err(xlsx_err)?;
        ws.set_column_width(i as u16, *w).map_err(xlsx_err)?;
        // ID and phone columns are text, so Excel never turns them into numbers
        if matches!(*h, "身份证号" | "联系电话" | "执法证号") {
            ws.set_column_format(i as u16, &text).map_err(xlsx_err)?;
        }
    }
    ws.set_freeze_panes(2, 2).map_err(xlsx_err)?;
    let mut r = 2u32;
    let mut offset = 0;
    const CHUNK: i64 = 5000;
    loop {
        let rows = db::page(conn, &f, &search.sort, search.dir == "desc", offset, CHUNK)?;
        if rows.is_empty() {
            break;
        }
        offset += rows.len() as i64;
        for (o, unit) in rows {
            let eligibility = o.eligibility();
            let valid_until = o
                .cert_valid_until
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            let vals: [&str; 16] = [
                &o.name,
                &o.sex,
                &o.id_number,
                &o.birth_date.format("%Y-%m-%d").to_string(),
                &unit,
                &o.post,
                &o.category,
                &o.region,
                &o.employment_type,
                &o.phone,
                &o.status,
                &o.grade,
                o.cert_number.as_deref().unwrap_or(""),
                &o.cert_issuer,
                &valid_until,
                eligibility.label(),
            ];
            ws.write_number_with_format(r, 0, (r - 1) as f64, &plain)
                .map_err(xlsx_err)?;
            for (i, v) in vals.iter().enumerate() {
                let fmt = if matches!(i, 2 | 9 | 12) {
                    &text
                } else {
                    &plain
                };
                ws.write_string_with_format(r, (i + 1) as u16, *v, fmt)
                    .map_err(xlsx_err)?;
            }
            r += 1;
        }
    }
    ws.autofilter(
        1,
        0,
        r.saturating_sub(1).max(1),
        EXPORT_COLUMNS.len() as u16 - 1,
    )
    .map_err(xlsx_err)?;
    let bytes = wb.save_to_buffer().map_err(xlsx_err)?;
    let exported = r - 2;
    audit::transaction(conn, grant.actor(), |conn, rec| {
        rec.record(
            conn,
            Change::new(
                "officer.export",
                "export",
                "officers.xlsx",
                format!("导出名录库 {exported} 人"),
            )
            .after(&serde_json::json!({
                "rows": exported,
                "q": search.q, "unit_id": search.unit_id, "only_unit": search.only_unit,
                "category": search.category, "status": search.status,
                "employment_type": search.employment_type, "unclassified": search.unclassified,
            })),
        )
    })?;
    Ok(bytes)
}

/// A blank sheet with the recognised headers, an example row and the rules on a second sheet.
pub fn template_xlsx(grant: &Grant) -> Result<Vec<u8>> {
    grant.require(Capability::WriteRoster)?;
    let mut wb = Workbook::new();
    let cols: Vec<Field> = Field::ALL
        .into_iter()
        .filter(|f| *f != Field::UnitCode)
        .collect();
    {
        let ws = wb.add_worksheet().set_name("人员名单").map_err(xlsx_err)?;
        write_title(ws, "行政执法人员信息导入表", cols.len() as u16)?;
        let hf = header_format();
        let text = Format::new().set_num_format("@");
        let example = [
            "张三",
            "220702198506150013",
            "松原市宁江区市场监督管理局",
            "男",
            "1985-06-15",
            "科员",
            "市场监管",
            "松原市宁江区",
            "行政编制",
            "13804381234",
            "在岗",
            "一级科员",
            "",
            "",
            "",
        ];
        for (i, f) in cols.iter().enumerate() {
            let c = i as u16;
            let label = if matches!(f, Field::Name | Field::IdNumber | Field::Unit) {
                format!("{}*", f.label())
            } else {
                f.label().to_string()
            };
            ws.write_with_format(1, c, label, &hf).map_err(xlsx_err)?;
            ws.set_column_width(
                c,
                if *f == Field::Unit {
                    30.0
                } else if *f == Field::IdNumber {
                    21.0
                } else {
                    12.0
                },
            )
            .map_err(xlsx_err)?;
            ws.set_column_format(c, &text).map_err(xlsx_err)?;
            ws.write_string_with_format(2, c, example.get(i).copied().unwrap_or(""), &text)
                .map_err(xlsx_err)?;
        }
    }
    {
        let ws = wb.add_worksheet().set_name("填表说明").map_err(xlsx_err)?;
        let notes = [
            "填表说明",
            "1. 带 * 的列必须填写（导入时选定了单位的，所在单位可以不填）；第一行标题可以保留，表头须在前 30 行内。其他列可以没有，缺少的在导入报告中说明。",
            "2. 身份证号请填 18 位，整列设为“文本”格式，否则 Excel 会把末尾几位变成 0，且无法恢复。",
            "3. 性别、出生日期可以不填，系统按身份证号自动得出；填了则会与身份证号核对。",
            "4. 所在单位须与系统“单位管理”中的名称一致；同名单位请另加“单位代码”列。",
            "5. 人员性质：行政编制、参照公务员法管理、事业编制、辅助人员、劳动合同、劳务派遣、临时人员；其他写法照原样保存并标为“待归类”，不填则能否申领执法证显示“待确认”。",
            "6. 在岗状态：在岗、借调、长期病休、调离、退休、辞职辞退、死亡；不填视为在岗。",
            "7. 已在名录库中的人员（身份证号相同）将被更新，空白单元格保留原有内容。",
            "8. 证件有效期可写 2028-06-01、2028.6 或 2020.02-2026.02（取截止日期）。",
            "9. 示例行（张三）请删除后再导入。",
        ];
        ws.set_column_width(0, 100).map_err(xlsx_err)?;
        for (i, n) in notes.iter().enumerate() {
            ws.write(i as u32, 0, *n).map_err(xlsx_err)?;
        }
    }
    wb.save_to_buffer().map_err(xlsx_err)
}
