//! The question bank over HTTP: the shipped bank on first start, versions, retiring, imports
//! by row, export round trips, blueprint feasibility, practice, and who may do what.

use crate::both;
use crate::helpers::*;
use serde_json::{Value, json};

fn seeded(c: &mut zhifa::config::Config) {
    c.seed_question_bank = true;
}

fn question(stem: &str, answer: &str) -> Value {
    json!({
        "part": "公共法律知识",
        "type": "单选",
        "stem": stem,
        "options": ["五十元", "一百元", "二百元", "五百元"],
        "answer": answer,
        "difficulty": 2,
        "law": "《中华人民共和国行政处罚法》",
        "article": "第51条",
        "quote": ["对公民处以二百元以下"],
        "explanation": "当场处罚的罚款上限为公民二百元。"
    })
}

/// A bureau's sheet: a title row, variant headers, one option column per letter.
pub fn bureau_sheet(rows: &[[&str; 9]]) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write(0, 0, "某市行政执法资格考试题库（2026年）")
        .unwrap();
    let header = [
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
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write(1, c as u16, *h).unwrap();
    }
    for (r, row) in rows.iter().enumerate() {
        ws.write(r as u32 + 2, 0, (r + 1) as f64).unwrap();
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                ws.write(r as u32 + 2, c as u16 + 1, *v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

async fn total(app: &TestApp, token: &str, query: &str) -> i64 {
    app.get(&format!("/api/v1/questions?{query}"), token)
        .await
        .expect(200)["total"]
        .as_i64()
        .unwrap()
}

both!(
    the_shipped_bank_loads_on_first_start_once,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let s = app.get("/api/v1/bank/summary", &admin).await.expect(200);
        let active = s["active"].as_i64().unwrap();
        assert!(active >= 500, "{s}");
        let public: i64 = s["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["part"] == "公共法律知识")
            .map(|r| r["total"].as_i64().unwrap())
            .sum();
        assert!(public >= 350, "{s}");
        // a second start finds questions and loads nothing
        let again = zhifa::bank::seed_if_new(&mut app.conn()).unwrap();
        assert!(again.is_none());
        assert_eq!(total(&app, &admin, "").await, active);
        // the 2021 hearing deadline is in the bank, with its proof
        let q = app
            .get("/api/v1/questions?law=行政处罚法&q=听证", &admin)
            .await
            .expect(200);
        assert!(q["total"].as_i64().unwrap() > 0, "{q}");
        let cf = app
            .get("/api/v1/questions/CF-001", &admin)
            .await
            .expect(200);
        assert_eq!(cf["law_version"], "2021年1月22日修订");
        assert!(!cf["quote"].as_array().unwrap().is_empty());
        // loading the shipped files again changes nothing
        let bank =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("question-bank/行政处罚法.toml");
        let r = app
            .upload(
                "/api/v1/imports/questions?filename=行政处罚法.toml&apply=true",
                &admin,
                std::fs::read(bank).unwrap(),
            )
            .await
            .expect(200);
        assert_eq!(r["created"], 0, "{r}");
        assert_eq!(r["updated"], 0, "{r}");
        assert!(r["unchanged"].as_i64().unwrap() >= 50, "{r}");
    }
);

both!(
    an_edit_is_a_new_version_and_the_old_one_stays,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let stem =
            "违法事实确凿并有法定依据，对公民处以（　）以下罚款的，可以当场作出行政处罚决定。";
        let q = app
            .post("/api/v1/questions", &admin, json!({"code": "T-001", "part": "公共", "type": "单选题", "stem": stem,
                "options": ["五十元", "一百元", "二百元", "五百元"], "answer": "c", "difficulty": 2,
                "law": "行政处罚法", "article": "第五十一条", "quote": ["对公民处以二百元以下"], "explanation": "x"}))
            .await
            .expect(201);
        assert_eq!(q["version"], 1);
        assert_eq!(q["answer"], "C");
        assert_eq!(q["category"], "通用");
        let v1 = q["version_id"].as_i64().unwrap();

        // a quote that isn't in the article, an answer outside the options: said field by field
        let mut bad = question(stem, "E");
        bad["quote"] = json!(["对公民处以五十元以下"]);
        bad["version"] = json!(1);
        let r = app.put("/api/v1/questions/T-001", &admin, bad).await;
        assert_eq!(r.status, 422, "{}", r.body);
        let f = &r.body["error"]["fields"];
        assert!(f["quote"].as_str().unwrap().contains("找不到"), "{f}");
        assert!(f["answer"].as_str().unwrap().contains("A 至 D"), "{f}");

        // a real edit: version 2; the old version is kept as it was
        let mut edit = question(&format!("{stem}（2021年修订）"), "C");
        edit["version"] = json!(1);
        edit["note"] = json!("按现行法补充");
        let q2 = app
            .put("/api/v1/questions/T-001", &admin, edit.clone())
            .await
            .expect(200);
        assert_eq!(q2["version"], 2);
        assert_ne!(q2["version_id"].as_i64().unwrap(), v1);
        // someone still editing version 1 is refused, not silently overwritten
        edit["stem"] = json!("另一处修改");
        let r = app.put("/api/v1/questions/T-001", &admin, edit).await;
        assert_eq!(r.status, 409, "{}", r.body);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("第 2 版")
        );

        let d = app.get("/api/v1/questions/T-001", &admin).await.expect(200);
        let versions = d["versions"].as_array().unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0]["version"], 2);
        assert_eq!(versions[0]["note"], "按现行法补充");
        assert_eq!(versions[0]["changed"], json!(["题干", "解析"]));
        assert_eq!(versions[1]["version_id"].as_i64().unwrap(), v1);
        assert_eq!(versions[1]["stem"], stem);

        // retire: a reason is required; a retired question is not practised
        let r = app
            .post(
                "/api/v1/questions/T-001/status",
                &admin,
                json!({"status": "停用"}),
            )
            .await;
        assert_eq!(r.status, 422);
        app.post(
            "/api/v1/questions/T-001/status",
            &admin,
            json!({"status": "停用", "reason": "法律修改"}),
        )
        .await
        .expect(200);
        assert_eq!(total(&app, &admin, "status=停用").await, 1);
        assert_eq!(total(&app, &admin, "status=在用").await, 0);
        let r = app.get("/api/v1/practice?count=5", &admin).await;
        assert_eq!(r.status, 404, "{}", r.body);

        // every change is in the audit trail
        let log = app
            .get("/api/v1/audit?entity_type=question", &admin)
            .await
            .expect(200);
        let actions: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        for a in ["question.create", "question.update", "question.retire"] {
            assert!(actions.contains(&a), "{actions:?}");
        }
        // the duplicate code is a conflict
        let mut dup = question("别的题", "C");
        dup["code"] = json!("T-001");
        assert_eq!(app.post("/api/v1/questions", &admin, dup).await.status, 409);
    }
);

both!(
    a_bureau_sheet_is_checked_whole_reported_by_row_and_imported_once,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let good: [[&str; 9]; 3] = [
            [
                "单项选择题",
                "当事人要求听证的，应当在行政机关告知后（　）内提出。",
                "三日",
                "五日",
                "七日",
                "十日",
                "B",
                "中等",
                "《中华人民共和国行政处罚法》第六十四条",
            ],
            [
                "多项选择题",
                "下列属于行政处罚种类的有（　）。",
                "警告",
                "罚款",
                "行政拘留",
                "记过",
                "A、B、C",
                "易",
                "行政处罚法第9条",
            ],
            [
                "判断题",
                "行政机关可以对同一个违法行为给予两次以上罚款的行政处罚。",
                "",
                "",
                "",
                "",
                "×",
                "2",
                "行政处罚法第二十九条",
            ],
        ];
        let mut bad = good;
        bad[0][6] = "E";
        bad[1][8] = "行政处罚法第二百条";
        let url = "/api/v1/imports/questions?filename=%E9%A2%98%E5%BA%93.xlsx&apply=true";
        let r = app.upload(url, &admin, bureau_sheet(&bad)).await;
        assert_eq!(r.status, 422, "{}", r.body);
        assert_eq!(r.body["error"]["code"], "import_blocked");
        let errors = r.body["report"]["errors"].as_array().unwrap();
        assert_eq!(errors[0]["location"], "第 3 行", "{errors:?}");
        assert_eq!(errors[0]["field"], "答案");
        assert!(
            errors[1]["message"]
                .as_str()
                .unwrap()
                .contains("没有第二百条"),
            "{errors:?}"
        );
        assert_eq!(total(&app, &admin, "").await, 0, "nothing is written");

        let r = app
            .upload(url, &admin, bureau_sheet(&good))
            .await
            .expect(200);
        assert_eq!(
            (r["created"].as_i64(), r["applied"].as_bool()),
            (Some(3), Some(true)),
            "{r}"
        );
        assert!(
            r["notes"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n.as_str().unwrap().contains("科目"))
        );
        // the same sheet again: nothing new
        let r = app
            .upload(url, &admin, bureau_sheet(&good))
            .await
            .expect(200);
        assert_eq!(
            (r["created"].as_i64(), r["unchanged"].as_i64()),
            (Some(0), Some(3)),
            "{r}"
        );
        let judge = app
            .get("/api/v1/questions?type=判断", &admin)
            .await
            .expect(200);
        assert_eq!(judge["items"][0]["answer"], "错误");

        // export and import again, in both formats: unchanged
        for format in ["xlsx", "toml"] {
            let bytes = app
                .client
                .get(app.url(&format!("/api/v1/exports/questions?format={format}")))
                .bearer_auth(&admin)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec();
            let r = app
                .upload(
                    &format!("/api/v1/imports/questions?filename=export.{format}&apply=true"),
                    &admin,
                    bytes,
                )
                .await
                .expect(200);
            assert_eq!(
                (r["created"].as_i64(), r["unchanged"].as_i64()),
                (Some(0), Some(3)),
                "{format}: {r}"
            );
        }
        // a TOML file with a syntax error says where
        let r = app
            .upload(
                "/api/v1/imports/questions?filename=x.toml",
                &admin,
                b"[[questions]]\nid = \n".to_vec(),
            )
            .await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("第 2 行"),
            "{}",
            r.body
        );
    }
);

both!(
    blueprints_say_what_is_short_and_how_varied_papers_are,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        // the shipped bank has hardly any level-1 multiple choice or level-5 questions
        let mix = json!([0, 40, 45, 15, 0]);
        let ok = app
            .post(
                "/api/v1/bank/feasibility",
                &admin,
                json!({"sections": [
                    {"part": "公共法律知识", "type": "单选", "count": 40, "points": 1},
                    {"part": "公共法律知识", "type": "多选", "count": 20, "points": 2},
                    {"part": "公共法律知识", "type": "判断", "count": 20, "points": 1}
                ], "difficulty_mix": mix}),
            )
            .await
            .expect(200);
        assert_eq!(ok["feasible"], true, "{ok}");
        assert_eq!(ok["total_points"], 100.0);
        assert!(ok["distinct_papers_log10"].as_f64().unwrap() > 20.0, "{ok}");
        let shared = ok["expected_shared"].as_f64().unwrap();
        assert!(shared > 0.0 && shared < 80.0, "{ok}");

        let short = app
            .post(
                "/api/v1/bank/feasibility",
                &admin,
                json!({"sections": [{"part": "专业法律知识", "category": "交通运输", "type": "单选", "count": 100, "points": 1}]}),
            )
            .await
            .expect(200);
        assert_eq!(short["feasible"], false);
        let s = &short["sections"][0];
        assert!(
            s["short"].as_i64().unwrap() > 0 && s["available"].as_i64().unwrap() > 0,
            "{short}"
        );
        assert!(
            short["problems"][0].as_str().unwrap().contains("交通运输"),
            "{short}"
        );

        let r = app
            .post(
                "/api/v1/bank/feasibility",
                &admin,
                json!({"sections": [{"part": "其他", "type": "问答", "count": 0, "points": 1}]}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
    }
);

both!(
    officers_practise_and_never_see_an_answer_before_answering,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "PZH-SFJ", "攀枝花市司法局", "510400", None)
            .await;
        let officer = app
            .officer(&admin, "张三", &id("510402", "1990-05-01", 7), unit)
            .await;
        let (_, pw) = app
            .user(&admin, "zhangsan", "officer", None, Some(officer))
            .await;
        let token = app.token("zhangsan", &pw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();

        let paper = app
            .get(
                "/api/v1/practice?part=专业法律知识&category=生态环境&count=5",
                &token,
            )
            .await
            .expect(200);
        let items = paper["items"].as_array().unwrap();
        assert_eq!(items.len(), 5);
        for q in items {
            assert_eq!(q["category"], "生态环境");
            assert!(
                q.get("answer").is_none() && q.get("explanation").is_none(),
                "{q}"
            );
        }
        let vid = items[0]["version_id"].as_i64().unwrap();
        let wrong = if items[0]["type"] == "判断" {
            "正确"
        } else {
            "F"
        };
        let r = app
            .post(
                "/api/v1/practice/check",
                &token,
                json!({"version_id": vid, "answer": wrong}),
            )
            .await
            .expect(200);
        let right = r["answer"].as_str().unwrap().to_string();
        assert!(!r["explanation"].as_str().unwrap().is_empty());
        assert!(r["article_text"].as_str().unwrap().starts_with('第'), "{r}");
        assert!(r["basis"].as_str().unwrap().contains("环境保护法"), "{r}");
        let r = app
            .post(
                "/api/v1/practice/check",
                &token,
                json!({"version_id": vid, "answer": right}),
            )
            .await
            .expect(200);
        assert_eq!(r["correct"], true);

        // an officer may not browse or change the bank; an auditor may read it only
        assert_eq!(app.get("/api/v1/questions", &token).await.status, 403);
        let (_, apw) = app.user(&admin, "shenji", "auditor", None, None).await;
        let auditor = app.token("shenji", &apw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        app.get("/api/v1/questions/CF-001", &auditor)
            .await
            .expect(200);
        let r = app
            .post("/api/v1/questions", &auditor, question("审计员录入", "C"))
            .await;
        assert_eq!(r.status, 403);
        // practice never touches the bank
        let before = app.get("/api/v1/bank/summary", &admin).await.expect(200);
        assert_eq!(before["retired"], 0);
    }
);

both!(
    blueprint_and_import_pages,
    config = seeded,
    |app: TestApp| async move {
        app.browser_login("admin", ADMIN_PASSWORD).await;
        let (status, html) = app.page("/bank/blueprint").await;
        assert_eq!(status, 200);
        assert!(
            html.contains("在用题库可以组出这样的试卷") && html.contains("可组出的不同试卷"),
            "{html}"
        );
        let (status, html) = app
            .page("/bank/blueprint?part1=专业法律知识&category1=交通运输&type1=单选&count1=100&points1=1")
            .await;
        assert_eq!(status, 200);
        assert!(
            html.contains("不足以组出") && html.contains("交通运输"),
            "{html}"
        );

        let (_, form) = app.page("/bank/import").await;
        let csrf = csrf_of(&form);
        let bad = bureau_sheet(&[["单选", "题干", "甲", "乙", "", "", "C", "3", ""]]);
        let mp = reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .text("mode", "apply")
            .part(
                "file",
                reqwest::multipart::Part::bytes(bad).file_name("题库.xlsx"),
            );
        let r = app
            .client
            .post(app.url("/bank/import"))
            .multipart(mp)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        let html = r.text().await.unwrap();
        assert!(
            html.contains("第 3 行") && html.contains("未导入任何题目"),
            "{html}"
        );
    }
);
