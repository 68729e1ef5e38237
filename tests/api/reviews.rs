//! The annual review: a round's rules, the units' first review (over the API and as the
//! 初审统计表), the bureau's preview and confirmation with an override, what failing or missing
//! it does to a certificate, training hours, and the long jobs that apply it.

use crate::both;
use crate::helpers::*;
use serde_json::{Value, json};

async fn issue(app: &TestApp, admin: &str, officer: i64, on: &str) -> String {
    app.post(
        "/api/v1/certificates",
        admin,
        json!({"officer_id": officer, "issued_on": on, "reason": "资格考试合格"}),
    )
    .await
    .expect(201)["number"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn cert(app: &TestApp, admin: &str, number: &str) -> Value {
    app.get(&format!("/api/v1/certificates/{number}"), admin)
        .await
        .expect(200)
}

both!(
    the_annual_review_goes_from_the_units_first_review_to_the_bureaus_decision,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "NS", "年审测试局", "220702", None).await;
        let other = app.unit(&admin, "QT", "其他局", "220702", None).await;
        let names = ["合格者", "考核不称职", "有违纪", "久未考试", "未报送"];
        let mut numbers = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let o = app
                .officer(&admin, n, &id("220702", "1980-01-01", i as u16 + 1), unit)
                .await;
            // the fourth has held the certificate four years: the year's exam is asked of them
            let on = if i == 3 { "2022-12-01" } else { "2024-03-01" };
            numbers.push(issue(&app, &admin, o, on).await);
        }
        // issued this year: not reviewed this year
        let fresh = app
            .officer(&admin, "新发证", &id("220702", "1980-01-01", 9), unit)
            .await;
        issue(&app, &admin, fresh, "2026-02-01").await;

        let r = app
            .post(
                "/api/v1/reviews",
                &admin,
                json!({"year": 2026, "rules": {"exam_pass_score": 120}}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.body["error"]["fields"]["rules.exam_pass_score"].is_string());
        let round = app
            .post("/api/v1/reviews", &admin, json!({"year": 2026}))
            .await
            .expect(201);
        assert_eq!(round["deadline"], "2027-03-31");
        assert_eq!(round["rules"]["on_fail"], "暂扣");
        assert_eq!(
            app.post("/api/v1/reviews", &admin, json!({"year": 2026}))
                .await
                .status,
            409
        );

        // the unit's liaison downloads the 初审统计表, pre-filled, in the official columns
        let (_, pw) = app
            .user(&admin, "ns_liaison", "liaison", Some(unit), None)
            .await;
        let liaison = app.token("ns_liaison", &pw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        let (status, ctype, bytes) = app
            .get_file("/api/v1/reviews/2026/first-review.xlsx", &liaison)
            .await;
        assert_eq!(status, 200);
        assert!(ctype.contains("spreadsheetml"));
        let (entries, errors, _) =
            zhifa::reviews::sheet::read_first_review("初审统计表.xlsx", &bytes).unwrap();
        assert!(entries.is_empty(), "nobody has an opinion yet");
        assert_eq!(errors.len(), 5, "five certificates due: {errors:?}");
        assert!(errors[0].message.contains("未填写初审意见"));

        // a list with mistakes records nothing, and says which entry and why
        let r = app
            .post(
                "/api/v1/reviews/2026/first-review",
                &liaison,
                json!({"entries": [
                    {"number": numbers[0], "opinion": "合格"},
                    {"number": "2207022699999X", "opinion": "合格"},
                    {"number": numbers[1], "opinion": "还行"},
                ]}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.error_code(), "import_blocked");
        let errs = r.body["report"]["errors"].as_array().unwrap();
        assert_eq!(errs.len(), 2);
        assert_eq!(errs[0]["row"], 2);
        assert_eq!(errs[1]["column"], "初审意见");
        let p = app
            .get("/api/v1/reviews/2026/preview", &admin)
            .await
            .expect(200);
        assert_eq!(p["counts"]["first_reviewed"], 0);

        // another unit's liaison cannot review these certificates
        let (_, pw2) = app
            .user(&admin, "qt_liaison", "liaison", Some(other), None)
            .await;
        let stranger = app.token("qt_liaison", &pw2).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        let r = app
            .post(
                "/api/v1/reviews/2026/first-review",
                &stranger,
                json!({"entries": [{"number": numbers[0], "opinion": "合格"}]}),
            )
            .await;
        assert_eq!(r.status, 422);

        app.post(
            "/api/v1/reviews/2026/first-review",
            &liaison,
            json!({"entries": [
                {"number": numbers[0], "in_post": true, "violation": false, "opinion": "合格"},
                {"number": numbers[1], "in_post": true, "violation": false, "opinion": "不合格", "note": "年度考核不称职"},
                {"number": numbers[2], "in_post": true, "violation": true, "opinion": "合格"},
                {"number": numbers[3], "in_post": true, "violation": false, "opinion": "合格"},
            ]}),
        )
        .await
        .expect(200);
        // a liaison may not decide
        assert_eq!(
            app.get("/api/v1/reviews/2026/preview", &liaison)
                .await
                .status,
            403
        );

        let p = app
            .get("/api/v1/reviews/2026/preview", &admin)
            .await
            .expect(200);
        assert_eq!(p["counts"]["due"], 5);
        assert_eq!(p["counts"]["first_reviewed"], 4);
        assert_eq!(p["counts"]["pass"], 1);
        assert_eq!(p["counts"]["fail"], 3);
        assert_eq!(p["counts"]["missing"], 1);
        let finding = |n: &str| -> String {
            p["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["number"] == n)
                .map(|i| i["findings"].to_string())
                .unwrap()
        };
        assert!(finding(&numbers[1]).contains("年度考核不称职"));
        assert!(finding(&numbers[2]).contains("本年度有违纪违法行为"));
        assert!(finding(&numbers[3]).contains("本年度未参加考试"));
        assert!(finding(&numbers[4]).contains("未报送初审意见"));

        // a stale preview is refused; an override needs its reason
        let r = app
            .post(
                "/api/v1/reviews/2026/apply",
                &admin,
                json!({"expected_due": 4}),
            )
            .await;
        assert_eq!(r.status, 409);
        let r = app
            .post(
                "/api/v1/reviews/2026/apply",
                &admin,
                json!({"expected_due": 5, "overrides": [{"number": numbers[2], "result": "合格", "reason": ""}]}),
            )
            .await;
        assert_eq!(r.status, 422);
        let job = app
            .post(
                "/api/v1/reviews/2026/apply",
                &admin,
                json!({"expected_due": 5, "overrides": [{"number": numbers[2], "result": "合格", "reason": "违纪情节轻微，经局务会研究"}]}),
            )
            .await
            .expect(200);
        assert_eq!(job["state"], "完成");
        assert_eq!(job["done"], 5);

        let c = cert(&app, &admin, &numbers[0]).await;
        assert_eq!(c["state"], "有效");
        assert_eq!(c["reviews"][0]["year"], 2026);
        assert_eq!(c["reviews"][0]["result"], "合格");
        let c = cert(&app, &admin, &numbers[1]).await;
        assert_eq!(c["state"], "暂扣");
        assert_eq!(c["reviews"][0]["result"], "不合格");
        let last = c["events"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["action"], "暂扣");
        assert!(
            last["reason"]
                .as_str()
                .unwrap()
                .contains("2026 年度年审不合格")
        );
        assert_eq!(last["basis"], "本局行政执法证件年审规定");
        let c = cert(&app, &admin, &numbers[2]).await;
        assert_eq!(c["state"], "有效", "the bureau's override stands");
        assert_eq!(
            c["reviews"][0]["override_reason"],
            "违纪情节轻微，经局务会研究"
        );
        assert_eq!(cert(&app, &admin, &numbers[3]).await["state"], "暂扣");
        let c = cert(&app, &admin, &numbers[4]).await;
        assert_eq!(c["state"], "暂扣");
        assert_eq!(c["reviews"][0]["result"], "未年审");

        // decided once: a second confirmation has nothing left to decide
        let p = app
            .get("/api/v1/reviews/2026/preview", &admin)
            .await
            .expect(200);
        assert_eq!(p["counts"]["due"], 0);
        assert_eq!(p["decided"], 5);
        let round = app.get("/api/v1/reviews/2026", &admin).await.expect(200);
        assert!(round["applied_at"].is_string());
        let log = app
            .get("/api/v1/audit?action=review.done", &admin)
            .await
            .expect(200);
        assert!(
            log["items"][0]["summary"]
                .as_str()
                .unwrap()
                .contains("合格 2 张，不合格 2 张，未年审 1 张")
        );
    }
);

both!(
    training_hours_are_imported_whole_and_checked_by_the_review,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "PX", "培训测试局", "220702", None).await;
        let a = id("220702", "1985-05-05", 1);
        let b = id("220702", "1985-05-05", 2);
        let oa = app.officer(&admin, "学时够", &a, unit).await;
        let ob = app.officer(&admin, "学时少", &b, unit).await;
        let na = issue(&app, &admin, oa, "2024-01-10").await;
        let nb = issue(&app, &admin, ob, "2024-01-10").await;
        app.post(
            "/api/v1/reviews",
            &admin,
            json!({"year": 2026, "rules": {"training_hours": 40, "require_first_review": false}}),
        )
        .await
        .expect(201);
        let bad = format!(
            "身份证号,姓名,学时\n{a},学时够,40\n{b},张冠李戴,12\n110105194912310099,无此人,3\n"
        );
        let r = app
            .upload(
                "/api/v1/imports/training?year=2026&filename=学时.csv&apply=true",
                &admin,
                bad.into_bytes(),
            )
            .await;
        assert_eq!(r.status, 422);
        let errs = r.body["report"]["errors"].as_array().unwrap();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0]["row"], 3);
        assert_eq!(errs[0]["column"], "姓名");
        let good = format!("身份证号,姓名,培训学时\n{a},学时够,40\n{b},学时少,12.5\n");
        let r = app
            .upload(
                "/api/v1/imports/training?year=2026&filename=学时.csv&apply=true",
                &admin,
                good.into_bytes(),
            )
            .await
            .expect(200);
        assert_eq!(r["recorded"], 2);
        assert_eq!(r["written"], true);
        let p = app
            .get("/api/v1/reviews/2026/preview?outcome=不合格", &admin)
            .await
            .expect(200);
        assert_eq!(p["counts"]["pass"], 1);
        assert_eq!(p["counts"]["fail"], 1);
        assert_eq!(p["items"][0]["number"], nb.as_str());
        assert_eq!(
            p["items"][0]["findings"][0],
            "本年度培训 12.5 学时，不足 40 学时"
        );
        assert_ne!(p["items"][0]["number"], na.as_str());
    }
);

both!(
    a_long_job_stopped_half_way_is_finished_by_the_runner_exactly_once,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "CQ", "续做测试局", "220702", None).await;
        let mut numbers = Vec::new();
        for i in 0..3 {
            let o = app
                .officer(&admin, "离岗者", &id("220702", "1970-07-07", i + 1), unit)
                .await;
            numbers.push(issue(&app, &admin, o, "2025-01-01").await);
            app.patch(
                &format!("/api/v1/officers/{o}"),
                &admin,
                json!({"status": "退休"}),
            )
            .await
            .expect(200);
        }
        use zhifa::jobs::work;
        let plan = work::Plan::CleanUp(zhifa::certs::CleanUpPlan {
            numbers: numbers.iter().map(|n| (n.clone(), "退休".into())).collect(),
            reason: "年度清理".into(),
        });
        let actor = zhifa::audit::Actor::system("测试");
        let mut conn = app.conn();
        let job = work::submit(&mut conn, &actor, "清理 3 张", &plan).unwrap();
        // one step of one item, then the process "dies" (its lease is let go on return)
        let st = work::drive_with(
            &mut conn,
            &app.state.certs,
            job,
            "replica-a",
            std::time::Duration::ZERO,
            1,
        )
        .unwrap();
        assert_eq!(st.done, 1);
        assert_eq!(st.state, "进行中");
        drop(conn);
        // the server's own runner carries it on from where it stopped
        let mut state = String::new();
        for _ in 0..100 {
            let j = app
                .get(&format!("/api/v1/jobs/{job}"), &admin)
                .await
                .expect(200);
            state = j["state"].as_str().unwrap().to_string();
            if state == "完成" {
                assert_eq!(j["done"], 3);
                assert_eq!(j["skipped"], 0);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert_eq!(state, "完成");
        for n in &numbers {
            let c = cert(&app, &admin, n).await;
            assert_eq!(c["state"], "注销");
            let cancels = c["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["action"] == "注销")
                .count();
            assert_eq!(cancels, 1, "each applied once");
        }
        // a finished job cannot be taken again
        let mut conn = app.conn();
        let st = work::drive(
            &mut conn,
            &app.state.certs,
            job,
            "replica-b",
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(st.done, 3);
    }
);

both!(
    the_dashboard_counts_the_callers_units_only,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let city = app.unit(&admin, "SJ", "市司法局", "220700", None).await;
        let east = app
            .unit(&admin, "DQ", "东区执法局", "220702", Some(city))
            .await;
        let west = app
            .unit(&admin, "XQ", "西区执法局", "220703", Some(city))
            .await;
        for (i, u) in [east, east, west].iter().enumerate() {
            let o = app
                .officer(
                    &admin,
                    "概览人员",
                    &id("220702", "1988-08-08", i as u16 + 1),
                    *u,
                )
                .await;
            app.post(
                "/api/v1/certificates",
                &admin,
                json!({"officer_id": o, "reason": "资格考试合格"}),
            )
            .await
            .expect(201);
        }
        let (_, pw) = app
            .user(&admin, "east_liaison", "liaison", Some(east), None)
            .await;
        app.browser_login("east_liaison", &pw).await;
        let (status, html) = app.page("/").await;
        assert_eq!(status, 200);
        assert!(html.contains("东区执法局"), "{html}");
        assert!(
            !html.contains("西区执法局"),
            "another district's figures leak"
        );
        assert!(html.contains(r#"<dd id="dash-valid">2</dd>"#), "{html}");
        assert!(html.contains("<svg"), "server-rendered charts");
    }
);
