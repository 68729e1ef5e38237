//! The certificates register: numbers, issuance (one, and from a batch's results after a
//! preview), and the states a certificate moves through.

use crate::both;
use crate::exams::{answer_everything_right, login, schedule_full};
use crate::helpers::*;
use serde_json::json;

/// The MOD 11-2 check character of a number's digits (the register's rule, computed here
/// independently).
pub fn check_char(digits: &str) -> char {
    let mut sum = 0u32;
    for c in digits.chars() {
        sum = (sum + c.to_digit(10).unwrap()) * 2 % 11;
    }
    match (12 - sum % 11) % 11 {
        10 => 'X',
        d => char::from_digit(d, 10).unwrap(),
    }
}

both!(
    a_certificate_is_issued_suspended_lifted_and_revoked_on_the_record,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "ZJ", "证件测试局", "220702", None).await;
        let o = app
            .officer(&admin, "持证人", &id("220702", "1980-02-02", 1), unit)
            .await;
        let r = app
            .post(
                "/api/v1/certificates",
                &admin,
                json!({"officer_id": o, "reason": ""}),
            )
            .await;
        assert_eq!(r.status, 422);
        let c = app
            .post(
                "/api/v1/certificates",
                &admin,
                json!({"officer_id": o, "issued_on": "2026-03-01", "reason": "2026年第一批资格考试合格"}),
            )
            .await
            .expect(201);
        let number = c["number"].as_str().unwrap().to_string();
        // region of the unit, two-digit year, serial, MOD 11-2 check character
        assert_eq!(&number[..13], "2207022600001");
        assert_eq!(number.chars().last().unwrap(), check_char(&number[..13]));
        assert_eq!(c["state"], "有效");
        assert_eq!(
            c["valid_until"], "2031-02-28",
            "five years, to the day before"
        );
        assert_eq!(c["events"][0]["action"], "核发");
        // the roster shows the officer's current certificate
        let officer = app
            .get(&format!("/api/v1/officers/{o}"), &admin)
            .await
            .expect(200);
        assert_eq!(officer["officer"]["cert_number"], number.as_str());
        // one valid certificate at a time
        let r = app
            .post(
                "/api/v1/certificates",
                &admin,
                json!({"officer_id": o, "reason": "再发一张"}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.body.to_string().contains("已持有执法证"), "{}", r.body);

        let path = format!("/api/v1/certificates/{number}/state");
        let r = app
            .post(
                &path,
                &admin,
                json!({"action": "suspend", "reason": "涉嫌违法执法，停职调查"}),
            )
            .await;
        assert_eq!(r.status, 422, "a suspension needs its legal basis");
        let c = app
            .post(&path, &admin, json!({"action": "suspend", "reason": "涉嫌违法执法，停职调查", "basis": "《某省行政执法证件管理办法》第二十条"}))
            .await
            .expect(200);
        assert_eq!(c["state"], "暂扣");
        let c = app
            .post(
                &path,
                &admin,
                json!({"action": "lift", "reason": "调查结束，未发现违法"}),
            )
            .await
            .expect(200);
        assert_eq!(c["state"], "有效");
        let c = app
            .post(&path, &admin, json!({"action": "revoke", "reason": "以暴力方式执法", "basis": "《某省行政执法证件管理办法》第二十一条"}))
            .await
            .expect(200);
        assert_eq!(c["state"], "吊销");
        let actions: Vec<&str> = c["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions, ["核发", "暂扣", "解除暂扣", "吊销"]);
        assert_eq!(
            c["events"][3]["basis"],
            "《某省行政执法证件管理办法》第二十一条"
        );
        // a revocation is final
        let r = app
            .post(&path, &admin, json!({"action": "lift", "reason": "复议"}))
            .await;
        assert_eq!(r.status, 409);
        assert!(r.body.to_string().contains("不可撤销"));
        // the roster no longer shows it, and no new one within the ban
        let officer = app
            .get(&format!("/api/v1/officers/{o}"), &admin)
            .await
            .expect(200);
        assert!(officer["officer"]["cert_number"].is_null(), "{officer}");
        let r = app
            .post(
                "/api/v1/certificates",
                &admin,
                json!({"officer_id": o, "reason": "重新考试合格"}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(
            r.body.to_string().contains("2 年内不得重新核发"),
            "{}",
            r.body
        );
        // every change is in the audit trail
        let log = app
            .get("/api/v1/audit?action=cert.revoke", &admin)
            .await
            .expect(200);
        assert!(
            log["items"][0]["summary"]
                .as_str()
                .unwrap()
                .contains(&number)
        );
        // the register lists it by state; a liaison may not change it
        let list = app
            .get("/api/v1/certificates?state=吊销", &admin)
            .await
            .expect(200);
        assert_eq!(list["total"], 1);
        let r = app.get("/api/v1/certificates/2207022600009X", &admin).await;
        assert_eq!(r.status, 404);
        let r = app
            .get("/api/v1/certificates?page=9223372036854775806", &admin)
            .await;
        assert_eq!(
            r.status, 400,
            "a page past the end is a bad request, not a crash"
        );
    }
);

both!(
    a_batch_s_results_issue_certificates_after_a_preview,
    config = |c| c.seed_question_bank = true,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let s = schedule_full(&app, &admin, 3, true).await;
        let batch = s["batch_id"].as_i64().unwrap();
        // two pass, one hands in a blank paper
        for (i, t) in s["tickets"].as_array().unwrap().iter().enumerate() {
            let token = login(&app, t).await;
            let a = app
                .post("/api/v1/exam/attempt", &token, json!({}))
                .await
                .expect(200);
            if i < 2 {
                answer_everything_right(&app, &token, &a).await;
            }
            app.post("/api/v1/exam/attempt/submit", &token, json!({}))
                .await
                .expect(200);
        }
        let path = format!("/api/v1/exam/batches/{batch}/certificates");
        let preview = app.get(&path, &admin).await.expect(200);
        let will: Vec<i64> = preview["will_issue"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["officer_id"].as_i64().unwrap())
            .collect();
        assert_eq!(will.len(), 2);
        assert_eq!(preview["refused"].as_array().unwrap().len(), 0);
        // nothing written by the preview
        let list = app.get("/api/v1/certificates", &admin).await.expect(200);
        assert_eq!(list["total"], 0);
        // confirming someone who did not pass is refused, and nothing is written
        let failed = s["tickets"][2]["officer_id"].as_i64().unwrap();
        let r = app
            .post(&path, &admin, json!({"officer_ids": [will[0], failed]}))
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(
            app.get("/api/v1/certificates", &admin).await.expect(200)["total"],
            0
        );
        let r = app
            .post(&path, &admin, json!({"officer_ids": will}))
            .await
            .expect(201);
        let issued: Vec<String> = r["issued"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        assert_eq!(issued.len(), 2);
        let year = chrono::Utc::now().format("%y").to_string();
        let serials: Vec<&str> = issued.iter().map(|n| &n[8..13]).collect();
        assert_eq!(serials, ["00001", "00002"], "gap-free per region and year");
        assert!(issued.iter().all(|n| n[6..8] == year));
        // issued once: a second preview lists them as holders
        let again = app.get(&path, &admin).await.expect(200);
        assert_eq!(again["will_issue"].as_array().unwrap().len(), 0);
        assert!(
            again["refused"][0]["reason"]
                .as_str()
                .unwrap()
                .contains("已持有执法证")
        );
        // the batch's cards print together: one A4 sheet of fronts and one of backs
        let r = app
            .client
            .post(app.url("/api/v1/cards"))
            .bearer_auth(&admin)
            .json(&json!({"batch": batch}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-card-count"], "2");
        let pdf = r.bytes().await.unwrap().to_vec();
        assert_eq!(pdf_pages(&pdf), 2);
        let text = pdf_text(&pdf);
        assert!(issued.iter().all(|n| text.contains(n.as_str())), "{text}");
    }
);

both!(
    numbers_stay_unique_and_gap_free_when_issued_at_once,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "BF", "并发测试局", "220703", None).await;
        let mut ids = Vec::new();
        for (i, name) in "甲乙丙丁戊己庚辛壬癸子丑".chars().enumerate() {
            ids.push(
                app.officer(
                    &admin,
                    &format!("并发{name}"),
                    &id("220703", "1990-01-01", i as u16 + 1),
                    unit,
                )
                .await,
            );
        }
        // two replicas issuing at the same time
        let other = app.replica();
        let mut tasks = Vec::new();
        for (i, o) in ids.iter().enumerate() {
            let (a, t) = if i % 2 == 0 {
                (app.client.clone(), app.url("/api/v1/certificates"))
            } else {
                (other.client.clone(), other.url("/api/v1/certificates"))
            };
            let token = admin.clone();
            let o = *o;
            tasks.push(tokio::spawn(async move {
                a.post(t)
                    .bearer_auth(token)
                    .json(&json!({"officer_id": o, "reason": "并发核发"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 201);
        }
        let list = app.get("/api/v1/certificates", &admin).await.expect(200);
        let mut serials: Vec<u32> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["number"].as_str().unwrap()[8..13].parse().unwrap())
            .collect();
        serials.sort_unstable();
        assert_eq!(serials, (1..=12).collect::<Vec<u32>>());
    }
);

both!(
    certificates_expire_by_themselves_are_replaced_and_leavers_are_listed_to_cancel,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "GQ", "期满测试局", "220704", None).await;
        let old = app
            .officer(&admin, "老证", &id("220704", "1970-07-07", 1), unit)
            .await;
        let moved = app
            .officer(&admin, "调走", &id("220704", "1970-07-07", 2), unit)
            .await;
        let lost = app
            .officer(&admin, "丢证", &id("220704", "1970-07-07", 3), unit)
            .await;
        let issue = |o: i64, on: &'static str| {
            let app = &app;
            let admin = admin.clone();
            async move {
                app.post(
                    "/api/v1/certificates",
                    &admin,
                    json!({"officer_id": o, "issued_on": on, "reason": "核发"}),
                )
                .await
                .expect(201)["number"]
                    .as_str()
                    .unwrap()
                    .to_string()
            }
        };
        let expired = issue(old, "2019-05-01").await;
        let leaving = issue(moved, "2026-01-10").await;
        let lost_one = issue(lost, "2026-01-10").await;

        // the expiry job ends the one past its validity, on the record
        let n = zhifa::certs::expire_due(&mut app.conn(), chrono::Utc::now().date_naive()).unwrap();
        assert_eq!(n, 1);
        let c = app
            .get(&format!("/api/v1/certificates/{expired}"), &admin)
            .await
            .expect(200);
        assert_eq!(c["state"], "过期");
        assert_eq!(c["events"][1]["action"], "到期失效");
        assert_eq!(
            zhifa::certs::expire_due(&mut app.conn(), chrono::Utc::now().date_naive()).unwrap(),
            0
        );

        // an officer transferred out lands on the bureau's to-do list
        app.patch(
            &format!("/api/v1/officers/{moved}"),
            &admin,
            json!({"status": "调出"}),
        )
        .await
        .expect(200);
        let todo = app
            .get("/api/v1/certificates/to-do", &admin)
            .await
            .expect(200);
        let items = todo["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{todo}");
        assert_eq!(items[0]["number"], leaving.as_str());
        assert_eq!(
            items[0]["status"], "调离",
            "the roster files 调出 under 调离"
        );
        app.post(
            &format!("/api/v1/certificates/{leaving}/state"),
            &admin,
            json!({"action": "cancel", "reason": "调出执法岗位"}),
        )
        .await
        .expect(200);
        let todo = app
            .get("/api/v1/certificates/to-do", &admin)
            .await
            .expect(200);
        assert_eq!(todo["items"].as_array().unwrap().len(), 0);

        // 补发 needs the loss notice; then the old card is cancelled and linked to the new one
        let path = format!("/api/v1/certificates/{lost_one}/replacement");
        let r = app
            .post(&path, &admin, json!({"kind": "补发", "reason": "证件遗失"}))
            .await;
        assert_eq!(r.status, 422);
        assert!(r.body.to_string().contains("遗失声明"));
        let new = app
            .post(&path, &admin, json!({"kind": "补发", "reason": "证件遗失", "loss_notice": "《松原日报》2026年11月20日第4版"}))
            .await
            .expect(201);
        let new_number = new["number"].as_str().unwrap().to_string();
        assert_ne!(new_number, lost_one);
        assert_eq!(new["replaces"], lost_one.as_str());
        let old_card = app
            .get(&format!("/api/v1/certificates/{lost_one}"), &admin)
            .await
            .expect(200);
        assert_eq!(old_card["state"], "注销");
        assert_eq!(old_card["replaced_by"], new_number.as_str());
        let officer = app
            .get(&format!("/api/v1/officers/{lost}"), &admin)
            .await
            .expect(200);
        assert_eq!(officer["officer"]["cert_number"], new_number.as_str());
        // a cancelled card is not replaced again
        assert_eq!(
            app.post(&path, &admin, json!({"kind": "换发", "reason": "再换"}))
                .await
                .status,
            409
        );
    }
);

both!(
    the_public_listing_shows_valid_holders_and_changes_with_their_state,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let parent = app.unit(&admin, "GS", "公示测试局", "220705", None).await;
        let child = app
            .unit(&admin, "GS-1", "公示测试局一队", "220705", Some(parent))
            .await;
        let a = app
            .officer(&admin, "公示甲", &id("220705", "1981-01-01", 1), parent)
            .await;
        let b = app
            .officer(&admin, "公示乙", &id("220705", "1981-01-01", 2), child)
            .await;
        app.officer(&admin, "无证丙", &id("220705", "1981-01-01", 3), child)
            .await;
        let mut numbers = Vec::new();
        for o in [a, b] {
            numbers.push(
                app.post(
                    "/api/v1/certificates",
                    &admin,
                    json!({"officer_id": o, "reason": "核发"}),
                )
                .await
                .expect(201)["number"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        // no sign-in needed; the unit and the units under it
        let l = app
            .get("/api/v1/public/units/GS/officers", "")
            .await
            .expect(200);
        assert_eq!(l["unit"], "公示测试局");
        assert_eq!(l["total"], 2);
        let text = l.to_string();
        assert!(text.contains("公示甲") && text.contains("公示乙") && !text.contains("无证丙"));
        assert!(text.contains(&numbers[1]));
        assert!(
            !text.contains(&id("220705", "1981-01-01", 1)),
            "no ID numbers in public"
        );
        // search by name; a sub-unit's own page
        let l = app
            .get("/api/v1/public/units/GS/officers?q=公示乙", "")
            .await
            .expect(200);
        assert_eq!(l["total"], 1);
        assert_eq!(
            app.get("/api/v1/public/units/GS-1/officers", "")
                .await
                .expect(200)["total"],
            1
        );
        // a suspension takes the holder off at once
        app.post(
            &format!("/api/v1/certificates/{}/state", numbers[0]),
            &admin,
            json!({"action": "suspend", "reason": "停职调查", "basis": "《某省行政执法证件管理办法》第二十条"}),
        )
        .await
        .expect(200);
        let l = app
            .get("/api/v1/public/units/GS/officers", "")
            .await
            .expect(200);
        assert_eq!(l["total"], 1);
        assert!(!l.to_string().contains("公示甲"));
        // the page, without signing in
        let (status, html) = app.page("/public/units/GS").await;
        assert_eq!(status, 200);
        assert!(html.contains("公示测试局 行政执法人员公示") && html.contains("公示乙"));
        assert_eq!(
            app.get("/api/v1/public/units/NOPE/officers", "")
                .await
                .status,
            404
        );
    }
);

both!(
    imported_certificates_keep_their_numbers_and_read_every_date_shape,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "DR", "导入测试局", "220706", None).await;
        let ids: Vec<String> = (1..=3).map(|i| id("220706", "1975-05-05", i)).collect();
        let mut officers = Vec::new();
        for (i, name) in ["旧甲", "旧乙", "旧丙"].iter().enumerate() {
            officers.push(app.officer(&admin, name, &ids[i], unit).await);
        }
        let csv = format!(
            "执法证编号,身份证号码,发证机关,有效期限,证件状态\n\
             吉A0001,{},吉林省人民政府,2020.02-2026.02,\n\
             松原执字第00123号,{},松原市人民政府,2023年1月1日至2028年12月31日,\n\
             吉A0003,{},,2028.6,暂扣\n",
            ids[0], ids[1], ids[2]
        );
        let r = zhifa::certs::import::import(
            &mut app.conn(),
            &zhifa::auth::Grant::system("测试"),
            "某某市司法局",
            "certs.csv",
            csv.as_bytes(),
            false,
            false,
        )
        .unwrap();
        assert_eq!((r.imported, r.invalid_rows), (3, 0), "{:?}", r.errors);
        let get = |n: &str| {
            let n = urlencoding::encode(n).into_owned();
            let app = &app;
            let admin = admin.clone();
            async move {
                app.get(&format!("/api/v1/certificates/{n}"), &admin)
                    .await
                    .expect(200)
            }
        };
        let a = get("吉A0001").await;
        assert_eq!(a["state"], "过期", "validity ended in February 2026");
        assert_eq!(a["issued_on"], "2020-02-01");
        assert_eq!(a["valid_until"], "2026-02-28");
        assert_eq!(a["source"], "导入");
        let b = get("松原执字第00123号").await;
        assert_eq!(b["state"], "有效");
        assert_eq!(b["issued_on"], "2023-01-01");
        assert_eq!(b["valid_until"], "2028-12-31");
        assert_eq!(b["issuer"], "松原市人民政府");
        let c = get("吉A0003").await;
        assert_eq!(c["state"], "暂扣");
        assert_eq!(c["valid_until"], "2028-06-30");
        assert_eq!(
            c["issuer"], "某某市司法局",
            "no issuer in the sheet: the bureau"
        );
        // the roster shows each holder's current certificate (none for the expired one)
        let o = app
            .get(&format!("/api/v1/officers/{}", officers[1]), &admin)
            .await
            .expect(200);
        assert_eq!(o["officer"]["cert_number"], "松原执字第00123号");
        let o = app
            .get(&format!("/api/v1/officers/{}", officers[0]), &admin)
            .await
            .expect(200);
        assert!(o["officer"]["cert_number"].is_null());
    }
);

both!(
    certificates_import_over_the_api_reports_first_and_writes_on_apply,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "DRA", "接口导入局", "220707", None).await;
        let idn = id("220707", "1977-07-07", 1);
        app.officer(&admin, "接口甲", &idn, unit).await;
        let csv = format!(
            "证号,身份证号,证件有效期\nJL-0001,{idn},2029.12\nJL-0002,110101199003071234,2029.12\n"
        );
        let r = app
            .upload(
                "/api/v1/imports/certificates?filename=c.csv",
                &admin,
                csv.clone().into_bytes(),
            )
            .await
            .expect(200);
        assert_eq!(r["imported"], 1);
        assert_eq!(r["errors"][0]["row"], 3);
        assert_eq!(r["written"], false);
        let r = app
            .upload(
                "/api/v1/imports/certificates?filename=c.csv&apply=true",
                &admin,
                csv.clone().into_bytes(),
            )
            .await;
        assert_eq!(r.status, 422);
        assert_eq!(r.body["error"]["code"], "import_blocked");
        assert_eq!(
            app.get("/api/v1/certificates", &admin).await.expect(200)["total"],
            0
        );
        let r = app
            .upload(
                "/api/v1/imports/certificates?filename=c.csv&apply=true&skip_invalid=true",
                &admin,
                csv.into_bytes(),
            )
            .await
            .expect(200);
        assert_eq!(r["written"], true);
        let c = app
            .get("/api/v1/certificates/JL-0001", &admin)
            .await
            .expect(200);
        assert_eq!(c["valid_until"], "2029-12-31");
        // not without signing in
        let r = app
            .upload(
                "/api/v1/imports/certificates?filename=c.csv",
                "",
                b"x".to_vec(),
            )
            .await;
        assert_eq!(r.status, 401);
    }
);

both!(
    leavers_certificates_are_cleaned_up_in_bulk_after_the_preview,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "QL", "清理测试局", "220708", None).await;
        let mut numbers = Vec::new();
        let mut ids = Vec::new();
        for (i, name) in ["退休甲", "调离乙", "在岗丙"].iter().enumerate() {
            let o = app
                .officer(
                    &admin,
                    name,
                    &id("220708", "1966-06-06", i as u16 + 1),
                    unit,
                )
                .await;
            ids.push(o);
            numbers.push(
                app.post(
                    "/api/v1/certificates",
                    &admin,
                    json!({"officer_id": o, "reason": "核发"}),
                )
                .await
                .expect(201)["number"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        app.patch(
            &format!("/api/v1/officers/{}", ids[0]),
            &admin,
            json!({"status": "退休"}),
        )
        .await
        .expect(200);
        app.patch(
            &format!("/api/v1/officers/{}", ids[1]),
            &admin,
            json!({"status": "调出"}),
        )
        .await
        .expect(200);
        // the preview is the to-do list
        let todo = app
            .get("/api/v1/certificates/to-do", &admin)
            .await
            .expect(200);
        assert_eq!(todo["items"].as_array().unwrap().len(), 2);
        // someone still serving is refused by number, and nothing changes
        let r = app
            .post(
                "/api/v1/certificates/cleanup",
                &admin,
                json!({"numbers": [numbers[0], numbers[2]], "reason": "年度清理"}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.body.to_string().contains(&numbers[2]));
        let r = app
            .post(
                "/api/v1/certificates/cleanup",
                &admin,
                json!({"numbers": [numbers[0], numbers[1]], "reason": "年度清理"}),
            )
            .await
            .expect(200);
        assert_eq!(r["cancelled"].as_array().unwrap().len(), 2);
        for n in &numbers[..2] {
            let c = app
                .get(&format!("/api/v1/certificates/{n}"), &admin)
                .await
                .expect(200);
            assert_eq!(c["state"], "注销");
        }
        let c = app
            .get(&format!("/api/v1/certificates/{}", numbers[2]), &admin)
            .await
            .expect(200);
        assert_eq!(c["state"], "有效");
        assert_eq!(
            app.get("/api/v1/certificates/to-do", &admin)
                .await
                .expect(200)["items"]
                .as_array()
                .unwrap()
                .len(),
            0
        );
        let log = app
            .get("/api/v1/audit?action=cert.cleanup", &admin)
            .await
            .expect(200);
        assert!(
            log["items"][0]["summary"]
                .as_str()
                .unwrap()
                .contains("2 张")
        );
    }
);

both!(
    the_public_listing_shows_only_what_the_bureau_publishes,
    config = |c| c.public_fields = vec!["category".into(), "valid_until".into()],
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "GK", "公示选择局", "220702", None).await;
        let o = app
            .officer(&admin, "公示丙", &id("220702", "1979-09-09", 1), unit)
            .await;
        let number = app
            .post(
                "/api/v1/certificates",
                &admin,
                json!({"officer_id": o, "issued_on": "2026-01-05", "reason": "资格考试合格"}),
            )
            .await
            .expect(201)["number"]
            .as_str()
            .unwrap()
            .to_string();
        let l = app
            .get("/api/v1/public/units/GK/officers", "")
            .await
            .expect(200);
        assert_eq!(l["published"], json!(["category", "valid_until"]));
        let item = &l["items"][0];
        assert_eq!(item["name"], "公示丙");
        assert_eq!(item["valid_until"], "2031-01-04");
        assert!(item.get("number").is_none(), "{item}");
        assert!(item.get("region").is_none(), "{item}");
        // an unpublished number cannot be searched for either
        let l = app
            .get(&format!("/api/v1/public/units/GK/officers?q={number}"), "")
            .await
            .expect(200);
        assert_eq!(l["total"], 0);
        let (status, html) = app.page("/public/units/GK").await;
        assert_eq!(status, 200);
        assert!(html.contains("有效期至") && html.contains("2031年1月4日"));
        assert!(!html.contains(&number));
    }
);

both!(
    the_bureau_issues_and_replaces_on_its_pages,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "YM", "页面办证局", "220702", None).await;
        let idn = id("220702", "1983-04-04", 1);
        app.officer(&admin, "页面持证人", &idn, unit).await;
        app.browser_login("admin", ADMIN_PASSWORD).await;
        let (status, page) = app.page("/certificates/to-do").await;
        assert_eq!(status, 200);
        let csrf = csrf_of(&page);
        let post = |path: &'static str, form: Vec<(&'static str, String)>| {
            let c = app.client.clone();
            let url = app.url(path);
            async move { c.post(url).form(&form).send().await.unwrap() }
        };
        let r = post(
            "/certificates/issue",
            vec![
                ("csrf", csrf.clone()),
                ("id_number", "110105194912310000".into()),
                ("reason", "资格考试合格".into()),
            ],
        )
        .await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("身份证号"));
        let r = post(
            "/certificates/issue",
            vec![
                ("csrf", csrf.clone()),
                ("id_number", idn.clone()),
                ("reason", "资格考试合格".into()),
            ],
        )
        .await;
        assert_eq!(r.status(), 303);
        let at = r.headers()["location"].to_str().unwrap().to_string();
        let number = urlencoding::decode(at.trim_start_matches("/certificates/"))
            .unwrap()
            .into_owned();
        // 补发 needs the loss notice, said on the page; with it, a new number replaces the old
        let c = app.client.clone();
        let url = app.url(&format!(
            "/certificates/{}/replacement",
            urlencoding::encode(&number)
        ));
        let form = |notice: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("kind", "补发".to_string()),
                ("reason", "执法证遗失".to_string()),
                ("loss_notice", notice.to_string()),
            ]
        };
        let r = c.post(&url).form(&form("")).send().await.unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("遗失声明"));
        let r = c
            .post(&url)
            .form(&form("2026年11月1日《某日报》"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let new_at = r.headers()["location"].to_str().unwrap().to_string();
        let (_, html) = app.page(&new_at).await;
        assert!(
            html.contains("替换的原证") && html.contains(&number),
            "{html}"
        );
        let old = app
            .get(&format!("/api/v1/certificates/{number}"), &admin)
            .await
            .expect(200);
        assert_eq!(old["state"], "注销");
    }
);
