//! The hardening issue's defects, each reproduced: real-world sheets, hostile input, leaks,
//! lost updates and the answers actix gave by itself.

use crate::both;
use crate::helpers::*;
use crate::imports::import;
use rust_xlsxwriter::Workbook;
use serde_json::{Value, json};

/// A workbook with one header row and data rows, all cells as text.
fn workbook(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32 + 1, c as u16, v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

fn officer_named<'a>(page: &'a Value, name: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {page}"))
}

/// The 24-column layout of a real enforcement-personnel system's import template.
const LAYOUT_24: [&str; 24] = [
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

both!(
    real_24_column_layout_goes_in_without_hand_editing,
    |app: TestApp| async move {
        let admin = app.admin().await;
        app.unit(&admin, "PZH", "攀枝花市市场监督管理局", "510400", None)
            .await;
        let row = |n: u16, name: &str, id: String, nature: &str, cert: &str, validity: &str| {
            vec![
                n.to_string(),
                name.into(),
                "攀枝花市市场监督管理局".into(),
                id,
                "".into(),
                "".into(),
                "中共党员".into(),
                "一级科员".into(),
                "汉族".into(),
                "大学本科".into(),
                "法学".into(),
                "否".into(),
                "是".into(),
                "13980000000".into(),
                nature.into(),
                cert.into(),
                "攀枝花市人民政府".into(),
                "攀枝花市".into(),
                "市场监管".into(),
                validity.into(),
                "四川省".into(),
                "攀枝花市".into(),
                "已发布".into(),
                "2023-01-01".into(),
            ]
        };
        let rows = vec![
            row(
                1,
                "张三",
                id("510402", "1985-06-15", 11),
                "行政编制",
                "51040023000001",
                "2020.02-2026.02",
            ),
            row(
                2,
                "李四",
                id("510402", "1986-07-16", 13),
                "受委托组织事业编制",
                "川执 0002",
                "2028.6",
            ),
            row(
                3,
                "王五",
                id("510402", "1987-08-17", 15),
                "参照公务员法管理事业编制",
                "",
                "",
            ),
            row(4, "赵六", "51040219880818001".into(), "行政编制", "", ""),
        ];
        let sheet = workbook(&LAYOUT_24, &rows);
        let r = import(
            &app,
            &admin,
            "24列.xlsx",
            "apply=true&skip_invalid=true",
            sheet,
        )
        .await
        .expect(200);
        assert_eq!(r["new_count"], 3, "{r}");
        assert_eq!(
            r["invalid_rows"], 1,
            "only the unusable ID number is refused: {r}"
        );
        // the columns the roster doesn't keep are listed once, not per row
        let ignored: Vec<&str> = r["ignored_columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for c in ["政治面貌", "民族", "最高学历", "发布状态"] {
            assert!(
                ignored.contains(&c),
                "{c} not listed as ignored: {ignored:?}"
            );
        }
        assert!(!r.to_string().contains("表中没有“人员性质”列"), "{r}");
        // an unknown vocabulary value is kept as written and flagged, not refused
        let flagged: Vec<&Value> = r["warnings"].as_array().unwrap().iter().collect();
        assert!(
            flagged
                .iter()
                .any(|w| w["row"] == 3 && w["kind"] == "人员性质待归类"),
            "{r}"
        );
        let page = app
            .get("/api/v1/officers?per_page=10", &admin)
            .await
            .expect(200);
        let li = officer_named(&page, "李四");
        assert_eq!(li["employment_type"], "受委托组织事业编制");
        assert_eq!(li["eligibility_label"], "待确认");
        assert_eq!(li["grade"], "一级科员");
        assert_eq!(li["cert_number"], "川执 0002");
        assert_eq!(li["cert_issuer"], "攀枝花市人民政府");
        assert_eq!(li["cert_valid_until"], "2028-06-30");
        let zhang = officer_named(&page, "张三");
        assert_eq!(zhang["cert_valid_until"], "2026-02-28");
        assert_eq!(zhang["eligibility_label"], "可申领");
        // 参照公务员法管理事业编制 is a known alias
        assert_eq!(
            officer_named(&page, "王五")["employment_type"],
            "参照公务员法管理"
        );
    }
);

both!(
    a_sheet_with_only_the_missions_columns_goes_in,
    |app: TestApp| async move {
        let admin = app.admin().await;
        app.unit(&admin, "PZH", "攀枝花市市场监督管理局", "510400", None)
            .await;
        let header = [
            "姓名",
            "身份证号",
            "单位",
            "职务",
            "执法类别",
            "执法区域",
            "联系电话",
        ];
        let mut rows: Vec<Vec<String>> = (0..300u16)
            .map(|i| {
                vec![
                    format!(
                        "人员{}",
                        "甲乙丙丁戊己庚辛壬癸"
                            .chars()
                            .nth((i % 10) as usize)
                            .unwrap()
                    ),
                    id("510402", "1980-01-01", i),
                    "攀枝花市市场监督管理局".into(),
                    "科员".into(),
                    "市场监管".into(),
                    "攀枝花市".into(),
                    "".into(),
                ]
            })
            .collect();
        // a bad phone is left out and flagged; the row still goes in
        rows[5][6] = "12345".into();
        // unusable ID numbers refuse their rows, and only those
        for r in rows.iter_mut().skip(200).take(250) {
            r[1] = "1234".into();
        }
        let sheet = workbook(&header, &rows);
        let preview = import(&app, &admin, "名单.xlsx", "", sheet.clone())
            .await
            .expect(200);
        // the missing column is said once, at the top
        let notes = preview["file_notes"].to_string();
        assert!(notes.contains("人员性质"), "{preview}");
        assert_eq!(
            preview.to_string().matches("表中没有“人员性质”列").count(),
            1
        );
        assert_eq!(preview["invalid_rows"], 100);
        assert_eq!(preview["errors_total"], 100);
        assert_eq!(preview["error_counts"][0]["kind"], "身份证号有误");
        assert_eq!(preview["error_counts"][0]["count"], 100);
        assert!(
            preview["warnings"].to_string().contains("联系电话"),
            "{preview}"
        );
        // the dry run of the real thing: blocked without skip_invalid
        let r = import(&app, &admin, "名单.xlsx", "apply=true", sheet.clone()).await;
        assert_eq!(r.status, 422);
        let r = import(
            &app,
            &admin,
            "名单.xlsx",
            "apply=true&skip_invalid=true",
            sheet.clone(),
        )
        .await
        .expect(200);
        assert_eq!(r["new_count"], 200);
        let page = app
            .get(
                &format!("/api/v1/officers?q={}", urlencoding::encode("人员")),
                &admin,
            )
            .await
            .expect(200);
        assert_eq!(page["total"], 200);
        assert_eq!(page["items"][0]["employment_type"], "");
        assert_eq!(page["items"][0]["eligibility_label"], "待确认");
        // the flagged people can be found to fill in
        let todo = app
            .get("/api/v1/officers?unclassified=true", &admin)
            .await
            .expect(200);
        assert_eq!(todo["total"], 200);
        // the full list as the sheet itself with a 错误说明 column
        let annotated = app
            .client
            .post(app.url("/api/v1/imports/officers?filename=x.xlsx&format=xlsx"))
            .bearer_auth(&admin)
            .body(sheet)
            .send()
            .await
            .unwrap();
        assert_eq!(annotated.status(), 200);
        let bytes = annotated.bytes().await.unwrap().to_vec();
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let name = book.sheet_names()[0].clone();
        let range = book.worksheet_range(&name).unwrap();
        let header_row: Vec<String> = range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect();
        let col = header_row
            .iter()
            .position(|h| h == "错误说明")
            .expect("错误说明 column");
        let noted = range
            .rows()
            .filter(|r| {
                r.get(col)
                    .is_some_and(|c| c.to_string().contains("身份证号"))
            })
            .count();
        assert_eq!(noted, 100);
    }
);

both!(
    abbreviated_unit_names_are_matched_when_unambiguous,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let city = app
            .unit(&admin, "PZH", "攀枝花市人民政府", "510400", None)
            .await;
        app.unit(
            &admin,
            "PZHSJ",
            "攀枝花市市场监督管理局",
            "510400",
            Some(city),
        )
        .await;
        app.unit(&admin, "DQJT", "东区交通运输局", "510402", Some(city))
            .await;
        app.unit(&admin, "XQJT", "西区交通运输局", "510403", Some(city))
            .await;
        let rows = vec![
            vec![
                "张三".into(),
                id("510402", "1985-06-15", 11),
                "市市场监管局".into(),
                "行政编制".into(),
            ],
            vec![
                "李四".into(),
                id("510402", "1985-06-15", 13),
                "交通局".into(),
                "行政编制".into(),
            ],
        ];
        let sheet = workbook(&["姓名", "身份证号", "单位", "人员性质"], &rows);
        let r = import(&app, &admin, "简称.xlsx", "", sheet)
            .await
            .expect(200);
        assert_eq!(r["unit_matches"][0]["written"], "市市场监管局");
        assert_eq!(r["unit_matches"][0]["unit"], "攀枝花市市场监督管理局");
        assert_eq!(r["new_count"], 1);
        // "交通局" could be either district's: said, with both names
        let why = r["errors"][0]["reason"].as_str().unwrap();
        assert!(
            why.contains("东区交通运输局") && why.contains("西区交通运输局"),
            "{why}"
        );
        // a unit created from a sheet follows the API's name rules
        let long = "局".repeat(150);
        let rows = vec![vec![
            "王五".into(),
            id("510402", "1985-06-15", 15),
            long.clone(),
            "行政编制".into(),
        ]];
        let sheet = workbook(&["姓名", "身份证号", "单位", "人员性质"], &rows);
        let r = import(&app, &admin, "长.xlsx", "create_units=true", sheet)
            .await
            .expect(200);
        assert_eq!(r["invalid_rows"], 1);
        assert!(
            r["errors"][0]["reason"].as_str().unwrap().contains("过长"),
            "{r}"
        );
        assert!(
            r.to_string().len() < 20_000,
            "a long name is not echoed back whole"
        );
    }
);

both!(
    a_unit_chosen_for_the_whole_file_stands_in_for_the_column,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "PZH", "攀枝花市市场监督管理局", "510400", None)
            .await;
        let rows = vec![vec!["张三".into(), id("510402", "1985-06-15", 11)]];
        let sheet = workbook(&["姓名", "身份证号"], &rows);
        let r = import(&app, &admin, "无单位.xlsx", "", sheet.clone()).await;
        assert_eq!(r.status, 400);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("所在单位")
        );
        let r = import(
            &app,
            &admin,
            "无单位.xlsx",
            &format!("apply=true&unit_id={unit}"),
            sheet,
        )
        .await
        .expect(200);
        assert_eq!(r["new_count"], 1);
        assert!(
            r["file_notes"]
                .to_string()
                .contains("攀枝花市市场监督管理局")
        );
    }
);

/// A workbook whose sheet has a cell at A1 and one at XFD1048576: 1.6 KB that a dense reader
/// turns into 549 GB.
fn far_corner_workbook() -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "姓名").unwrap();
    ws.write_string(0, 1, "身份证号").unwrap();
    ws.write_string(1_048_575, 16_383, "x").unwrap();
    wb.save_to_buffer().unwrap()
}

both!(
    hostile_workbooks_are_refused_and_the_server_stays_up,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let r = import(&app, &admin, "炸弹.xlsx", "", far_corner_workbook()).await;
        assert!(r.status.is_client_error() || r.status == 200, "{}", r.body);
        assert_ne!(r.status, 500);
        // still serving
        app.get("/api/v1/me", &admin).await.expect(200);
        // 50 MB of commas: answered within the upload limit, never by growing without bound
        let commas = vec![b','; 8 * 1024 * 1024];
        let r = import(&app, &admin, "逗号.csv", "", commas).await;
        assert_eq!(r.status, 400, "{}", r.body);
        app.get("/api/v1/me", &admin).await.expect(200);
    }
);

both!(
    out_of_scope_people_and_units_are_not_revealed,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let a = app
            .unit(&admin, "A", "甲区市场监督管理局", "220702", None)
            .await;
        let b = app
            .unit(&admin, "B", "乙区市场监督管理局", "220702", None)
            .await;
        let secret = id("220702", "1970-01-01", 99);
        app.officer(&admin, "隐秘人", &secret, b).await;
        let (_, pw) = app.user(&admin, "liaisona", "liaison", Some(a), None).await;
        let liaison = app.token("liaisona", &pw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        // creating someone with that ID number: taken, but not by whom or where
        let r = app
            .post(
                "/api/v1/officers",
                &liaison,
                json!({"name": "张三", "id_number": secret, "unit_id": a}),
            )
            .await;
        assert_eq!(r.status, 409);
        let text = r.body.to_string();
        assert!(!text.contains("隐秘人") && !text.contains("乙区"), "{text}");
        // the import preview doesn't name them either
        let sheet = workbook(
            &["姓名", "身份证号", "单位"],
            &[vec![
                "张三".into(),
                secret.clone(),
                "甲区市场监督管理局".into(),
            ]],
        );
        let r = import(&app, &liaison, "x.xlsx", "", sheet)
            .await
            .expect(200);
        let text = r.to_string();
        assert!(!text.contains("隐秘人") && !text.contains("乙区"), "{text}");
        assert_eq!(r["invalid_rows"], 1);
        // an out-of-scope unit and a missing one answer alike
        let body = |unit: i64| json!({"name": "李四", "id_number": id("220702", "1971-01-01", 11), "unit_id": unit});
        let other = app.post("/api/v1/officers", &liaison, body(b)).await;
        let missing = app.post("/api/v1/officers", &liaison, body(999_999)).await;
        assert_eq!(other.status, missing.status);
        assert_eq!(other.body, missing.body);
        let other = app
            .get(&format!("/api/v1/officers?unit_id={b}"), &liaison)
            .await;
        let missing = app.get("/api/v1/officers?unit_id=999999", &liaison).await;
        assert_eq!(other.status, 404);
        assert_eq!(other.body, missing.body);
    }
);

both!(
    lock_out_counts_every_name_and_every_parallel_guess,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "A", "松原市", "220700", None).await;
        app.user(&admin, "realuser", "liaison", Some(unit), None)
            .await;
        // a name that doesn't exist locks the same way as one that does
        for name in ["realuser", "ghostuser"] {
            for _ in 0..4 {
                assert_eq!(app.token(name, "Wrong-Password-1").await.status, 401);
            }
            assert_eq!(
                app.token(name, "Wrong-Password-1").await.status,
                423,
                "{name}"
            );
        }
        // parallel wrong passwords each count
        app.user(&admin, "paralleluser", "liaison", Some(unit), None)
            .await;
        let guesses = (0..5).map(|_| app.token("paralleluser", "Wrong-Password-1"));
        futures_util::future::join_all(guesses).await;
        assert_eq!(
            app.token("paralleluser", "Wrong-Password-1").await.status,
            423
        );
    }
);

both!(
    uploads_are_capped_paging_bounded_and_errors_are_json,
    |app: TestApp| async move {
        let admin = app.admin().await;
        // paging beyond any roster is refused, not wrapped round to page 1
        let r = app
            .get("/api/v1/officers?page=6148914691236517206", &admin)
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(
            app.get("/api/v1/officers?per_page=100000", &admin)
                .await
                .status,
            422
        );
        // a body over the limit is JSON like every other API error
        let big = vec![b'x'; 65 * 1024 * 1024];
        let r = app.upload("/api/v1/imports/officers", &admin, big).await;
        assert_eq!(r.status, 413, "{}", r.body);
        assert_eq!(r.error_code(), "too_large", "{}", r.body);
        // a browser form that isn't a form, an empty logout: pages, not plain text or 415
        app.browser_login("admin", ADMIN_PASSWORD).await;
        let r = app.client.post(app.url("/logout")).send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        // the browser's uploads: at most three wait per user
        let (_, page) = app.page("/imports").await;
        let csrf = csrf_of(&page);
        for i in 0..5 {
            let sheet = workbook(
                &["姓名", "身份证号", "单位"],
                &[vec![
                    format!("张{i}"),
                    id("220702", "1980-01-01", i),
                    "x".into(),
                ]],
            );
            let form = reqwest::multipart::Form::new()
                .text("csrf", csrf.clone())
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(sheet).file_name("x.xlsx"),
                );
            let r = app
                .client
                .post(app.url("/imports"))
                .multipart(form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 303);
        }
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let n: N = diesel::sql_query("SELECT COUNT(*) AS n FROM import_jobs")
            .get_result(&mut *app.conn())
            .unwrap();
        assert_eq!(n.n, 3);
        // uploads and exports are on the record
        let log = app
            .get("/api/v1/audit?action=import.upload", &admin)
            .await
            .expect(200);
        assert_eq!(log["items"].as_array().unwrap().len(), 5);
        app.client
            .get(app.url("/api/v1/exports/officers.xlsx"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        let log = app
            .get("/api/v1/audit?action=officer.export", &admin)
            .await
            .expect(200);
        assert_eq!(log["items"].as_array().unwrap().len(), 1);
        let log = app
            .get("/api/v1/audit?action=session.login", &admin)
            .await
            .expect(200);
        assert!(log["items"].as_array().unwrap().len() >= 2);
        // a failed sign-in and a sign-out are on the record too
        assert_eq!(app.token("admin", "Wrong-Password-1").await.status, 401);
        let log = app
            .get("/api/v1/audit?action=session.login_failed", &admin)
            .await
            .expect(200);
        assert_eq!(log["items"].as_array().unwrap().len(), 1);
        app.send(
            reqwest::Method::DELETE,
            "/api/v1/auth/token",
            &admin,
            json!({}),
        )
        .await
        .expect(204);
        let admin = app.admin().await;
        let log = app
            .get("/api/v1/audit?action=session.logout", &admin)
            .await
            .expect(200);
        assert_eq!(log["items"].as_array().unwrap().len(), 1);
        // a login form that can't be read is a page saying so, not plain text
        let r = app
            .client
            .post(app.url("/login"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("username=%ZZ")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secure_cookies_when_configured() {
    let Some(app) = spawn_app_with(zhifa::db::Backend::Sqlite, |c| c.secure_cookies = true).await
    else {
        return;
    };
    // a client that keeps no cookies: Secure cookies are not sent back over plain HTTP
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(app.url("/login")).send().await.unwrap();
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set.contains("Secure"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let csrf = csrf_of(&r.text().await.unwrap());
    let r = client
        .post(app.url("/login"))
        .header("Cookie", cookie)
        .form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("csrf", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let session = r.headers()["set-cookie"].to_str().unwrap();
    assert!(
        session.starts_with("zhifa_session=") && session.contains("Secure"),
        "{session}"
    );
}

both!(
    throttled_and_busy_answers_say_when_to_retry,
    |app: TestApp| async move {
        // one address failing with many names waits, and is told how long
        let mut last = None;
        for i in 0..45 {
            let r = app.token(&format!("guess{i}"), "Wrong-Password-1").await;
            if r.status == 429 {
                last = Some(r);
                break;
            }
        }
        let r = last.expect("the address is throttled");
        assert_eq!(r.error_code(), "too_many_requests");
        let r = app
            .client
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"username": "guess", "password": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 429);
        let wait: u64 = r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(wait >= 1);
    }
);

both!(
    a_busy_database_answers_503_with_retry_after,
    |app: TestApp| async move {
        use diesel::RunQueryDsl;
        let admin = app.admin().await;
        // another writer holds the write lock (SQLite) or the audit chain's head (PostgreSQL)
        let mut holder = app.conn();
        let lock = match app.backend {
            zhifa::db::Backend::Sqlite => "BEGIN IMMEDIATE",
            zhifa::db::Backend::Postgres => "BEGIN; SELECT seq FROM audit_head FOR UPDATE",
        };
        for stmt in lock.split("; ") {
            diesel::sql_query(stmt).execute(&mut *holder).unwrap();
        }
        let r = app
            .client
            .post(app.url("/api/v1/units"))
            .bearer_auth(&admin)
            .json(&json!({"code": "A", "name": "甲局", "region_code": "220702"}))
            .send()
            .await
            .unwrap();
        diesel::sql_query("ROLLBACK").execute(&mut *holder).unwrap();
        assert_eq!(r.status(), 503);
        assert!(r.headers().contains_key("retry-after"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "busy");
        // and once the lock is gone, the same request goes through
        app.post(
            "/api/v1/units",
            &admin,
            json!({"code": "A", "name": "甲局", "region_code": "220702"}),
        )
        .await
        .expect(201);
    }
);

both!(
    a_unit_patch_is_all_or_nothing_and_officer_patches_merge,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let a = app.unit(&admin, "A", "甲局", "220702", None).await;
        app.unit(&admin, "B", "乙局", "220702", None).await;
        // the rename and the code change go together or not at all
        let r = app
            .patch(
                &format!("/api/v1/units/{a}"),
                &admin,
                json!({"name": "甲局新名", "code": "B"}),
            )
            .await;
        assert_eq!(r.status, 409);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("单位代码")
        );
        let u = app
            .get(&format!("/api/v1/units/{a}"), &admin)
            .await
            .expect(200);
        assert_eq!(u["name"], "甲局");
        let r = app
            .patch(
                &format!("/api/v1/units/{a}"),
                &admin,
                json!({"name": "甲局新名", "active": false, "parent_id": 999999}),
            )
            .await;
        assert_eq!(r.status, 422);
        let u = app
            .get(&format!("/api/v1/units/{a}"), &admin)
            .await
            .expect(200);
        assert_eq!(u["name"], "甲局");
        // concurrent patches of different fields both survive
        let o = app
            .officer(&admin, "张三", &id("220702", "1985-06-15", 11), a)
            .await;
        let path = format!("/api/v1/officers/{o}");
        let mut tasks = Vec::new();
        for i in 0..8 {
            let body = if i % 2 == 0 {
                json!({"post": format!("职务{i}")})
            } else {
                json!({"phone": "13800000000"})
            };
            tasks.push(app.patch(&path, &admin, body));
        }
        for r in futures_util::future::join_all(tasks).await {
            assert_eq!(r.status, 200, "{}", r.body);
        }
        let got = app.get(&path, &admin).await.expect(200);
        assert_eq!(got["officer"]["phone"], "13800000000");
        assert!(got["officer"]["post"].as_str().unwrap().starts_with("职务"));
    }
);

both!(
    history_shows_officers_what_changed_not_who,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let a = app.unit(&admin, "A", "甲局", "220702", None).await;
        let o = app
            .officer(&admin, "张三", &id("220702", "1985-06-15", 11), a)
            .await;
        app.patch(
            &format!("/api/v1/officers/{o}"),
            &admin,
            json!({"post": "科长"}),
        )
        .await
        .expect(200);
        let (_, pw) = app.user(&admin, "liaisona", "liaison", Some(a), None).await;
        let liaison = app.token("liaisona", &pw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        let h = app
            .get(&format!("/api/v1/officers/{o}/history"), &liaison)
            .await
            .expect(200);
        let change = &h["changes"][0];
        assert!(change["summary"].as_str().unwrap().contains("职务"));
        assert!(
            change.get("actor").is_none() && change.get("ip").is_none(),
            "{h}"
        );
        assert!(!h.to_string().contains("hash"));
        let h = app
            .get(&format!("/api/v1/officers/{o}/history"), &admin)
            .await
            .expect(200);
        assert_eq!(h["changes"][0]["actor"], "admin");
    }
);
