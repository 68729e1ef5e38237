//! The register as one XLSX sheet, a row per certificate (the columns `import` reads back).

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{certificates as ct, officers, units};
use crate::error::{Error, Result};
use crate::roster::rules::chinese_date;

const HEADERS: [&str; 12] = [
    "序号",
    "执法证号",
    "姓名",
    "身份证号",
    "工作单位",
    "执法类别",
    "执法区域",
    "发证机关",
    "发证日期",
    "证件有效期",
    "证件状态",
    "来源",
];

type Listed = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveDate>,
    String,
    String,
);

pub fn xlsx(conn: &mut DbConn) -> Result<Vec<u8>> {
    let err = |e: rust_xlsxwriter::XlsxError| Error::Internal(anyhow::anyhow!("{e}"));
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let ws = wb.add_worksheet_with_constant_memory().map_err(err)?;
    ws.set_name("执法证").map_err(err)?;
    for (i, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &bold)
            .map_err(err)?;
    }
    let mut row = 1u32;
    let mut last = 0i64;
    loop {
        let page: Vec<(i64, Listed)> = ct::table
            .inner_join(officers::table)
            .inner_join(units::table)
            .filter(ct::id.gt(last))
            .order(ct::id.asc())
            .limit(5000)
            .select((
                ct::id,
                (
                    ct::number,
                    officers::name,
                    officers::id_number,
                    units::name,
                    ct::category,
                    ct::region,
                    ct::issuer,
                    ct::issued_on,
                    ct::valid_until,
                    ct::state,
                    ct::source,
                ),
            ))
            .load(conn)?;
        let Some((id, _)) = page.last() else { break };
        last = *id;
        for (
            _,
            (number, name, idn, unit, category, region, issuer, issued, until, state, source),
        ) in &page
        {
            let date = |d: &Option<chrono::NaiveDate>| d.map(chinese_date).unwrap_or_default();
            let cells = [
                row.to_string(),
                number.clone(),
                name.clone(),
                idn.clone(),
                unit.clone(),
                category.clone(),
                region.clone(),
                issuer.clone(),
                date(issued),
                date(until),
                state.clone(),
                source.clone(),
            ];
            for (i, c) in cells.iter().enumerate() {
                ws.write_string(row, i as u16, c).map_err(err)?;
            }
            row += 1;
        }
    }
    wb.save_to_buffer().map_err(err)
}
