//! A realistic synthetic roster: the units of 松原市 (Jilin) and plausible officers with valid
//! ID numbers. For demos, load tests and benchmarks; seeded, so runs repeat.

use super::db;
use super::model::Unit;
use super::rules::make_id_number;
use crate::audit::{self, Actor};
use crate::db::DbConn;
use crate::error::Result;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CITY: (&str, &str, &str) = ("松原市", "220700", "SY");
const DISTRICTS: [(&str, &str); 5] = [
    ("宁江区", "220702"),
    ("前郭尔罗斯蒙古族自治县", "220721"),
    ("长岭县", "220722"),
    ("乾安县", "220723"),
    ("扶余市", "220781"),
];
/// Enforcement bodies and the category their officers enforce.
const DEPARTMENTS: [(&str, &str); 20] = [
    ("市场监督管理局", "市场监管"),
    ("生态环境局", "生态环境"),
    ("交通运输局", "交通运输"),
    ("城市管理综合执法局", "城市管理"),
    ("自然资源局", "自然资源"),
    ("应急管理局", "应急管理"),
    ("卫生健康委员会", "卫生健康"),
    ("农业农村局", "农业农村"),
    ("文化广播电视和旅游局", "文化市场"),
    ("住房和城乡建设局", "住房城乡建设"),
    ("水利局", "水利"),
    ("林业局", "林业和草原"),
    ("人力资源和社会保障局", "劳动保障"),
    ("教育局", "教育"),
    ("商务局", "商务"),
    ("民政局", "民政"),
    ("财政局", "财政"),
    ("司法局", "司法行政"),
    ("医疗保障局", "医疗保障"),
    ("粮食和物资储备局", "粮食流通"),
];
const SUB_UNITS: [&str; 20] = [
    "第一执法大队",
    "第二执法大队",
    "第三执法大队",
    "第四执法大队",
    "城区执法中队",
    "开发区执法中队",
    "北部执法中队",
    "南部执法中队",
    "稽查支队",
    "监察大队",
    "综合执法队",
    "执法监督科",
    "东部执法中队",
    "西部执法中队",
    "机动执法中队",
    "第五执法大队",
    "第六执法大队",
    "第七执法大队",
    "第八执法大队",
    "第九执法大队",
];

const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤包乌";
const GIVEN: &str = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅文斌宇浩凯鹏飞丹博鑫雪琳晨阳海波新宏春晓东亮辉婷颖佳慧欣然子涵思雨若雯瑞成俊峰立永庆福德胜利民庆云龙";
/// Rare characters real people have (CJK Extension A and B): a handful of officers get one.
const RARE: [&str; 4] = ["䶮", "𬌗", "𠇔", "堃"];
const POSTS: [&str; 10] = [
    "科员",
    "一级科员",
    "四级主任科员",
    "三级主任科员",
    "科长",
    "副科长",
    "执法队员",
    "中队长",
    "副大队长",
    "大队长",
];

pub struct Demo {
    /// Leaf enforcement units, with the region code and category of each.
    pub units: Vec<(Unit, String, &'static str, String)>,
}

fn ensure_unit(
    conn: &mut DbConn,
    rec: &mut audit::Recorder,
    code: &str,
    name: &str,
    region: &str,
    parent: Option<&Unit>,
) -> Result<Unit> {
    if let Some(u) = db::unit_by_code(conn, code)? {
        return Ok(u);
    }
    super::add_unit(conn, rec, code, name, region, parent, "示例数据：新建单位")
}

/// Creates (or finds) enough units for `officers` people: about 24 officers per enforcement body.
pub fn units(conn: &mut DbConn, actor: &Actor, officers: usize) -> Result<Demo> {
    let bodies_wanted = (officers / 24).max(DEPARTMENTS.len() * 6);
    let per_dept = (bodies_wanted / (DEPARTMENTS.len() * 6))
        .saturating_sub(1)
        .min(SUB_UNITS.len());
    audit::transaction(conn, actor, |conn, rec| {
        let city = ensure_unit(conn, rec, CITY.2, CITY.0, CITY.1, None)?;
        let mut leaves = Vec::new();
        let mut areas = vec![(
            city.clone(),
            CITY.0.to_string(),
            CITY.1.to_string(),
            CITY.2.to_string(),
        )];
        for (i, (name, region)) in DISTRICTS.iter().enumerate() {
            let code = format!("{}{:02}", CITY.2, i + 1);
            let u = ensure_unit(
                conn,
                rec,
                &code,
                &format!("{}{name}", CITY.0),
                region,
                Some(&city),
            )?;
            areas.push((u, format!("{}{name}", CITY.0), region.to_string(), code));
        }
        for (area, area_name, region, code) in &areas {
            for (j, (dept, category)) in DEPARTMENTS.iter().enumerate() {
                let dcode = format!("{code}D{:02}", j + 1);
                let d = ensure_unit(
                    conn,
                    rec,
                    &dcode,
                    &format!("{area_name}{dept}"),
                    region,
                    Some(area),
                )?;
                leaves.push((d.clone(), region.clone(), *category, area_name.clone()));
                for (k, sub) in SUB_UNITS.iter().take(per_dept).enumerate() {
                    let s = ensure_unit(
                        conn,
                        rec,
                        &format!("{dcode}S{:02}", k + 1),
                        &format!("{area_name}{dept}{sub}"),
                        region,
                        Some(&d),
                    )?;
                    leaves.push((s, region.clone(), *category, area_name.clone()));
                }
            }
        }
        Ok(Demo { units: leaves })
    })
}

/// The officers as sheet rows (the import template's columns), `n` of them, seeded.
pub fn officer_rows(demo: &Demo, n: usize, seed: u64) -> Vec<[String; 11]> {
    let mut rng = StdRng::seed_from_u64(seed);
    let surnames: Vec<char> = SURNAMES.chars().collect();
    let given: Vec<char> = GIVEN.chars().collect();
    let mut seen = std::collections::HashSet::new();
    let mut rows = Vec::with_capacity(n);
    while rows.len() < n {
        let (unit, region, category, area) = &demo.units[rng.random_range(0..demo.units.len())];
        let mut name = String::new();
        if rng.random_ratio(1, 200) {
            name.push_str(["欧阳", "司马", "上官", "诸葛"][rng.random_range(0..4)]);
        } else {
            name.push(surnames[rng.random_range(0..surnames.len())]);
        }
        if rng.random_ratio(1, 2000) {
            name.push_str(RARE[rng.random_range(0..RARE.len())]);
        } else {
            name.push(given[rng.random_range(0..given.len())]);
        }
        if rng.random_ratio(2, 3) {
            name.push(given[rng.random_range(0..given.len())]);
        }
        let birth = chrono::NaiveDate::from_ymd_opt(1964, 1, 1).expect("date")
            + chrono::TimeDelta::days(rng.random_range(0..(36 * 365)));
        let id = make_id_number(region, birth, rng.random_range(0..1000));
        if !seen.insert(id.clone()) {
            continue;
        }
        let employment = match rng.random_range(0..100) {
            0..70 => "行政编制",
            70..85 => "参照公务员法管理",
            85..93 => "事业编制",
            _ => "辅助人员",
        };
        let status = match rng.random_range(0..100) {
            0..94 => "在岗",
            94..96 => "借调",
            96..98 => "调离",
            _ => "退休",
        };
        let phone = format!(
            "1{}{:09}",
            ["39", "38", "58", "86", "35", "51"][rng.random_range(0..6)],
            rng.random_range(0..1_000_000_000u32)
        )[..11]
            .to_string();
        rows.push([
            name,
            id,
            unit.name.clone(),
            String::new(),
            String::new(),
            POSTS[rng.random_range(0..POSTS.len())].to_string(),
            category.to_string(),
            area.clone(),
            employment.to_string(),
            phone,
            status.to_string(),
        ]);
    }
    rows
}

pub const SHEET_HEADERS: [&str; 11] = [
    "姓名",
    "身份证号",
    "所在单位",
    "性别",
    "出生日期",
    "职务",
    "执法类别",
    "执法区域",
    "人员性质",
    "联系电话",
    "在岗状态",
];

/// The rows as an XLSX workbook with a title row, as a bureau would send it.
pub fn rows_to_xlsx(rows: &[[String; 11]]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| {
        crate::error::Error::Internal(anyhow::anyhow!("生成 Excel 失败：{e}"))
    };
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write(0, 0, "松原市行政执法人员名录（示例数据）")
        .map_err(err)?;
    let text = Format::new().set_num_format("@");
    for (i, h) in SHEET_HEADERS.iter().enumerate() {
        ws.write(1, i as u16, *h).map_err(err)?;
        ws.set_column_format(i as u16, &text).map_err(err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32 + 2, c as u16, v).map_err(err)?;
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}

/// The rows as UTF-8 CSV (what `demo-data` imports directly).
pub fn rows_to_csv(rows: &[[String; 11]]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(SHEET_HEADERS);
    for r in rows {
        let _ = w.write_record(r);
    }
    w.into_inner().unwrap_or_default()
}

/// Gives every officer of a unit (and the units under it) a synthetic ID photo (a figure on a
/// blue or white ground, with a real photo's grain so the files weigh what real ones do), for
/// demos and the card-printing benchmark. Officers who have a photo keep it.
pub fn photos(conn: &mut DbConn, unit_code: &str, seed: u64) -> Result<usize> {
    use crate::db::schema::{officers, units};
    use diesel::prelude::*;
    let unit = db::unit_by_code(conn, unit_code)?.ok_or_else(|| {
        crate::error::Error::invalid("unit", format!("单位代码 {unit_code} 不存在"))
    })?;
    let ids: Vec<i64> = officers::table
        .inner_join(units::table.on(units::id.eq(officers::unit_id)))
        .filter(units::path.like(format!("{}%", unit.path)))
        .filter(officers::has_photo.eq(false))
        .select(officers::id)
        .load(conn)?;
    let variants: Vec<Vec<u8>> = (0..24)
        .map(|v| portrait(seed.wrapping_add(v)))
        .collect::<Result<_>>()?;
    let now = crate::db::now();
    for chunk in ids.chunks(1000) {
        conn.transaction(|conn| {
            for id in chunk {
                let bytes = &variants[(*id as usize) % variants.len()];
                db::save_photo(conn, *id, "image/jpeg", (300, 400), bytes, now)?;
            }
            Ok::<_, crate::error::Error>(())
        })?;
    }
    Ok(ids.len())
}

fn portrait(seed: u64) -> Result<Vec<u8>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let ground = [[67u8, 142, 219], [250, 250, 250], [200, 30, 40]][rng.random_range(0..3)];
    let skin = [
        rng.random_range(200..235),
        rng.random_range(160..190),
        rng.random_range(130..160),
    ];
    let (w, h) = (300u32, 400u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let face = ((fx - 150.0) / 62.0).powi(2) + ((fy - 165.0) / 82.0).powi(2) <= 1.0;
        let hair =
            ((fx - 150.0) / 70.0).powi(2) + ((fy - 130.0) / 72.0).powi(2) <= 1.0 && fy < 140.0;
        let body =
            fy > 255.0 && ((fx - 150.0) / 140.0).powi(2) + ((fy - 420.0) / 170.0).powi(2) <= 1.0;
        let base = if hair {
            [25, 22, 20]
        } else if face {
            skin
        } else if body {
            [28, 38, 62]
        } else {
            ground
        };
        // grain
        let n = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503) ^ seed as u32) % 23)
            as i16
            - 11;
        image::Rgb(base.map(|c| (c as i16 + n).clamp(0, 255) as u8))
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 88)
        .encode_image(&img)
        .map_err(|e| crate::error::Error::Internal(anyhow::anyhow!("示例照片无法编码：{e}")))?;
    Ok(out)
}
