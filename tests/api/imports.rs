use crate::both;
use crate::helpers::*;
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};

/// A roster as bureaus really send it: a title, a note row, an aliased header, a padded name,
/// full-width digits, an ID that Excel turned into a number, an empty row, a footer.
pub fn messy_sheet(existing_id: &str) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write(0, 0, "松原市宁江区行政执法人员信息表").unwrap();
    ws.write(1, 0, "填报单位（盖章）：            填报日期：2026年11月")
        .unwrap();
    for (c, h) in [
        "序号",
        "姓 名",
        "性别",
        "公民身份号码",
        "所在单位",
        "职务（岗位）",
        "人员类别",
        "联系电话",
        "备注",
    ]
    .iter()
    .enumerate()
    {
        ws.write(2, c as u16, *h).unwrap();
    }
    let zhang = id("220702", "1985-06-15", 11);
    let full_width: String = zhang
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    let rows: Vec<(u32, Vec<&str>)> = vec![
        (
            3,
            vec![
                "1",
                "张  三",
                "男",
                &full_width,
                "宁江区市场监督管理局",
                "科员",
                "在编",
                "13800000000",
            ],
        ),
        (
            4,
            vec![
                "2",
                "王䶮",
                "女",
                "",
                "宁江区市场监督管理局",
                "科长",
                "参公",
                "",
            ],
        ),
        (
            6,
            vec![
                "3",
                "李四",
                "男",
                "",
                "宁江区市场监督管理局",
                "科员",
                "在编",
                "",
            ],
        ),
        (
            7,
            vec![
                "4",
                "赵六",
                "男",
                &zhang,
                "宁江区市场监督管理局",
                "科员",
                "在编",
                "",
            ],
        ),
        (
            8,
            vec![
                "5",
                "钱七",
                "男",
                "",
                "宁江区不存在的局",
                "科员",
                "在编",
                "",
            ],
        ),
        (
            9,
            vec![
                "6",
                "孙八",
                "男",
                "",
                "宁江区市场监督管理局",
                "科员",
                "在编",
                "",
            ],
        ),
        (
            10,
            vec![
                "7",
                "周九",
                "",
                existing_id,
                " 宁江区 市场监督管理局",
                "副科长",
                "",
                "",
            ],
        ),
    ];
    let wang = id("220702", "1990-02-02", 22);
    let qian = id("220702", "1970-03-03", 33);
    let sun = id("220702", "1992-04-04", 44);
    for (r, cells) in rows {
        for (c, v) in cells.iter().enumerate() {
            let v = match (r, c) {
                (4, 3) => wang.as_str(),
                (8, 3) => qian.as_str(),
                (9, 3) => sun.as_str(),
                _ => v,
            };
            if !v.is_empty() {
                ws.write_string(r, c as u16, v).unwrap();
            }
        }
    }
    // what Excel does to an 18-digit number typed into a General cell
    ws.write_number(6, 3, 220702198506150000.0).unwrap();
    ws.write(11, 0, "注：本表由各单位联络员填写，身份证号请用文本格式。")
        .unwrap();
    wb.save_to_buffer().unwrap()
}

pub async fn import(app: &TestApp, token: &str, name: &str, query: &str, bytes: Vec<u8>) -> Resp {
    app.upload(
        &format!(
            "/api/v1/imports/officers?filename={}&{query}",
            urlencoding::encode(name)
        ),
        token,
        bytes,
    )
    .await
}

fn error_for(report: &Value, row: u64) -> (String, String) {
    let e = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["row"] == row)
        .unwrap_or_else(|| panic!("no error for row {row}: {report}"));
    (
        e["column"].as_str().unwrap().to_string(),
        e["reason"].as_str().unwrap().to_string(),
    )
}

both!(
    messy_sheet_is_validated_then_imported,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "NJSJ", "宁江区市场监督管理局", "220702", None)
            .await;
        let existing = id("220702", "1968-12-12", 55);
        app.officer(&admin, "周九", &existing, unit).await;
        let sheet = messy_sheet(&existing);

        let report = import(&app, &admin, "宁江区名单.xlsx", "", sheet.clone())
            .await
            .expect(200);
        assert_eq!(report["header_row"], 3);
        assert_eq!(report["data_rows"], 7);
        assert_eq!(report["new_count"], 2);
        assert_eq!(report["update_count"], 1);
        assert_eq!(report["invalid_rows"], 4);
        assert_eq!(report["applied"], false);
        let (col, why) = error_for(&report, 7);
        assert_eq!(col, "D 列（身份证号）");
        assert!(why.contains("存成了数字") && why.contains("文本"), "{why}");
        assert!(error_for(&report, 8).1.contains("与第 4 行的身份证号重复"));
        let (col, why) = error_for(&report, 9);
        assert_eq!(col, "E 列（所在单位）");
        assert!(
            why.contains("宁江区不存在的局") && why.contains("不在单位库中"),
            "{why}"
        );
        let (col, why) = error_for(&report, 10);
        assert_eq!(col, "C 列（性别）");
        assert!(why.contains("身份证号显示为“女”"), "{why}");
        assert_eq!(report["updates"][0]["row"], 11);
        assert_eq!(report["updates"][0]["changes"], json!(["职务"]));
        assert_eq!(report["missing_units"][0]["name"], "宁江区不存在的局");

        // by default invalid rows stop the whole import and nothing changes
        let r = import(&app, &admin, "宁江区名单.xlsx", "apply=true", sheet.clone()).await;
        assert_eq!(r.status, 422);
        assert_eq!(r.error_code(), "import_blocked");
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("有 4 行数据有误")
        );
        assert_eq!(
            app.get("/api/v1/officers", &admin).await.expect(200)["total"],
            1
        );

        // by explicit choice only the valid rows go in, and the existing person is updated
        let report = import(
            &app,
            &admin,
            "宁江区名单.xlsx",
            "apply=true&skip_invalid=true",
            sheet.clone(),
        )
        .await
        .expect(200);
        assert_eq!(report["applied"], true);
        let page = app
            .get("/api/v1/officers?sort=name", &admin)
            .await
            .expect(200);
        assert_eq!(page["total"], 3);
        let names: Vec<&str> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"张三") && names.contains(&"王䶮"),
            "{names:?}"
        );
        let zhou = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["name"] == "周九")
            .unwrap();
        assert_eq!(zhou["post"], "副科长");
        assert_eq!(
            zhou["employment_type"], "行政编制",
            "a column the sheet left blank keeps what was stored"
        );

        // the same sheet again: nobody is duplicated
        let report = import(
            &app,
            &admin,
            "宁江区名单.xlsx",
            "apply=true&skip_invalid=true",
            sheet,
        )
        .await
        .expect(200);
        assert_eq!(report["new_count"], 0);
        assert_eq!(report["update_count"], 0);
        assert_eq!(report["unchanged_count"], 3);
        assert_eq!(
            app.get("/api/v1/officers", &admin).await.expect(200)["total"],
            3
        );
        let log = app
            .get("/api/v1/audit?entity_type=import", &admin)
            .await
            .expect(200);
        assert_eq!(
            log["items"].as_array().unwrap().len(),
            1,
            "a blocked or empty import leaves no import record"
        );
    }
);

both!(gbk_csv_with_new_units, |app: TestApp| async move {
    let admin = app.admin().await;
    app.unit(&admin, "SY", "松原市", "220700", None).await;
    let text = format!(
        "姓名,身份证号码,执法单位,人员性质,在岗状态\n刘一,{},松原市林业局,行政编制,在岗\n陈二,{},松原市水利局,辅助人员,\n",
        id("220700", "1983-01-01", 1),
        id("220700", "1984-01-01", 2)
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let r = import(&app, &admin, "名单.csv", "apply=true", gbk.to_vec()).await;
    assert_eq!(r.status, 422, "units missing: {}", r.body);
    assert_eq!(
        r.body["report"]["missing_units"].as_array().unwrap().len(),
        2
    );
    let report = import(
        &app,
        &admin,
        "名单.csv",
        "apply=true&create_units=true",
        gbk.to_vec(),
    )
    .await
    .expect(200);
    assert_eq!(report["new_count"], 2);
    assert_eq!(
        report["created_units"],
        json!(["松原市林业局", "松原市水利局"])
    );
    let units = app.get("/api/v1/units", &admin).await.expect(200);
    let forestry = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["name"] == "松原市林业局")
        .unwrap();
    assert_eq!(
        forestry["region_code"], "220700",
        "a new unit sits under the bureau's root"
    );
    let page = app
        .get(
            &format!("/api/v1/officers?q={}", urlencoding::encode("陈")),
            &admin,
        )
        .await
        .expect(200);
    assert_eq!(
        page["items"][0]["may_hold_certificate"], false,
        "auxiliary staff can't hold a certificate"
    );
});

both!(unreadable_files_say_why, |app: TestApp| async move {
    let admin = app.admin().await;
    let r = import(
        &app,
        &admin,
        "名单.xlsx",
        "",
        b"this is not a workbook".to_vec(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Excel"),
        "{}",
        r.body
    );
    let r = import(
        &app,
        &admin,
        "名单.csv",
        "",
        "编号,名字\n1,张三\n".as_bytes().to_vec(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("找不到表头")
    );
    let r = import(&app, &admin, "名单.csv", "", Vec::new()).await;
    assert_eq!(r.status, 400);
    // the template is itself importable once the example row is filled in for a real unit
    let bytes = app
        .client
        .get(app.url("/api/v1/templates/officers.xlsx"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let r = import(&app, &admin, "模板.xlsx", "", bytes.to_vec())
        .await
        .expect(200);
    assert_eq!(r["header_row"], 2);
    assert_eq!(
        r["invalid_rows"], 1,
        "the example names a unit that does not exist: {r}"
    );
    assert!(error_for(&r, 3).1.contains("不在单位库中"));
});
