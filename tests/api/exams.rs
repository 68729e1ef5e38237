//! Exams, first slice: scheduling against the bank, the exam room's pinned API (login, start or
//! resume, durable answers, one device at a time, hand-in), deadlines, and grading.

use crate::both;
use crate::helpers::*;
use serde_json::{Value, json};

fn seeded(c: &mut zhifa::config::Config) {
    c.seed_question_bank = true;
}

fn blueprint() -> Value {
    json!({"sections": [
        {"part": "公共法律知识", "type": "单选", "count": 10, "points": 4},
        {"part": "公共法律知识", "type": "多选", "count": 5, "points": 6},
        {"part": "公共法律知识", "type": "判断", "count": 10, "points": 3}
    ], "difficulty_mix": [0, 40, 45, 15, 0]})
}

/// Schedules a batch for `n` new officers in a session open now; returns the tickets.
pub async fn schedule(app: &TestApp, admin: &str, n: usize, show_score: bool) -> Vec<Value> {
    schedule_full(app, admin, n, show_score).await["tickets"]
        .as_array()
        .unwrap()
        .clone()
}

/// The whole scheduling answer (sessions, tickets).
pub async fn schedule_full(app: &TestApp, admin: &str, n: usize, show_score: bool) -> Value {
    let unit = app
        .unit(admin, "KS-SFJ", "考试测试局", "220702", None)
        .await;
    let mut ids = vec![];
    let names = ["赵一", "钱二", "孙三", "李四", "周五", "吴六"];
    for (i, name) in names.iter().take(n).enumerate() {
        ids.push(
            app.officer(admin, name, &id("220702", "1988-03-04", i as u16 + 1), unit)
                .await,
        );
    }
    let now = chrono::Utc::now().naive_utc();
    let body = json!({
        "title": "2026年第一批行政执法资格考试",
        "blueprint": blueprint(),
        "duration_minutes": 90,
        "show_score": show_score,
        "sessions": [{"name": "第一场", "starts_at": now - chrono::Duration::minutes(5),
                      "ends_at": now + chrono::Duration::minutes(120), "capacity": n}],
        "officer_ids": ids,
        "return_access_codes": true,
    });
    let r = app
        .post("/api/v1/exam/batches", admin, body)
        .await
        .expect(201);
    assert_eq!(r["candidates"], n);
    r
}

pub async fn login(app: &TestApp, t: &Value) -> String {
    let r = app
        .post(
            "/api/v1/exam/login",
            "",
            json!({"ticket_no": t["ticket_no"], "id_number": t["id_number"], "access_code": t["access_code"]}),
        )
        .await
        .expect(200);
    r["token"].as_str().unwrap().to_string()
}

/// Saves the right answer to every question of the attempt, worked out the way the server grades
/// (never sent to the page); returns the question version at position 1.
pub async fn answer_everything_right(app: &TestApp, token: &str, attempt: &Value) -> i64 {
    let (keys, first_version) = {
        let mut conn = app.conn();
        let c = zhifa::exams::candidate(&mut conn, token).unwrap();
        let p = app.state.papers.get(&mut conn, c.batch_id).unwrap();
        let items = p.paper(&c);
        let keys: Vec<String> = items
            .iter()
            .map(|it| {
                let q = &p.questions[&it.version_id];
                zhifa::exams::paper::paper_answer(
                    q.content.kind,
                    &q.content.answer,
                    &it.option_order,
                )
            })
            .collect();
        (keys, items[0].version_id)
    };
    assert_eq!(keys.len(), attempt["questions"].as_array().unwrap().len());
    for (i, k) in keys.iter().enumerate() {
        let q = &attempt["questions"][i];
        let answer = if q["type"] == "多选" {
            json!(k.chars().map(|c| c.to_string()).collect::<Vec<_>>())
        } else {
            json!(k)
        };
        app.put(
            &format!("/api/v1/exam/attempt/answers/{}", i + 1),
            token,
            json!({"answer": answer}),
        )
        .await
        .expect(200);
    }
    first_version
}

both!(
    scheduling_refuses_what_the_bank_cannot_fill,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "KS", "考试局", "220702", None).await;
        let o = app
            .officer(&admin, "甲", &id("220702", "1980-01-01", 1), unit)
            .await;
        let now = chrono::Utc::now().naive_utc();
        let r = app
            .post(
                "/api/v1/exam/batches",
                &admin,
                json!({"title": "专业考试", "duration_minutes": 60,
                  "blueprint": {"sections": [{"part": "专业法律知识", "category": "交通运输", "type": "单选", "count": 200, "points": 0.5}]},
                  "sessions": [{"name": "一", "starts_at": now, "ends_at": now + chrono::Duration::hours(2), "capacity": 10}],
                  "officer_ids": [o]}),
            )
            .await;
        assert_eq!(r.status, 422, "{}", r.body);
        let m = r.body["error"]["message"].as_str().unwrap();
        assert!(m.contains("交通运输") && m.contains("缺"), "{m}");
        // capacity short of the candidates
        let r = app
            .post(
                "/api/v1/exam/batches",
                &admin,
                json!({"title": "公共", "duration_minutes": 60, "blueprint": blueprint(),
                  "sessions": [{"name": "一", "starts_at": now, "ends_at": now + chrono::Duration::hours(2), "capacity": 0}],
                  "officer_ids": [o]}),
            )
            .await;
        assert_eq!(r.status, 422);
    }
);

both!(
    a_candidate_sits_the_exam_through_the_pinned_api,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let tickets = schedule(&app, &admin, 3, true).await;
        let t = &tickets[0];
        // wrong code, wrong ID number: the same answer
        for body in [
            json!({"ticket_no": t["ticket_no"], "id_number": t["id_number"], "access_code": "AAAAAAAAAA"}),
            json!({"ticket_no": t["ticket_no"], "id_number": tickets[1]["id_number"], "access_code": t["access_code"]}),
        ] {
            let r = app.post("/api/v1/exam/login", "", body).await;
            assert_eq!(r.status, 401);
            assert_eq!(r.body["error"]["code"], "bad_credentials");
        }
        let token = login(&app, t).await;
        let a = app
            .post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        let qs = a["questions"].as_array().unwrap();
        assert_eq!(qs.len(), 25);
        assert!(a["remaining_seconds"].as_i64().unwrap() > 80 * 60);
        // sections in order; no answer key anywhere in the paper
        assert_eq!(qs[0]["type"], "单选");
        assert_eq!(qs[24]["type"], "判断");
        assert!(qs.iter().all(|q| q["answer"].is_null()));
        let text = a.to_string();
        assert!(
            !text.contains("explanation")
                && !text.contains("quote")
                && !text.contains("version_id"),
            "{text}"
        );

        // answers are durable and come back on resume; a late, older save never wins
        app.put(
            "/api/v1/exam/attempt/answers/1",
            &token,
            json!({"answer": "b"}),
        )
        .await
        .expect(200);
        app.put(
            "/api/v1/exam/attempt/answers/11",
            &token,
            json!({"answer": ["C", "A"]}),
        )
        .await
        .expect(200);
        app.put(
            "/api/v1/exam/attempt/answers/2",
            &token,
            json!({"answer": "A", "seq": 10}),
        )
        .await
        .expect(200);
        app.put(
            "/api/v1/exam/attempt/answers/2",
            &token,
            json!({"answer": "C", "seq": 9}),
        )
        .await
        .expect(200);
        let r = app
            .put(
                "/api/v1/exam/attempt/answers/1",
                &token,
                json!({"answer": ["A", "B"]}),
            )
            .await;
        assert_eq!(r.status, 422, "single choice takes one key: {}", r.body);
        let r = app
            .put(
                "/api/v1/exam/attempt/answers/99",
                &token,
                json!({"answer": "A"}),
            )
            .await;
        assert_eq!(r.status, 404);
        let r = app
            .put(
                "/api/v1/exam/attempt/answers/20",
                &token,
                json!({"answer": "C"}),
            )
            .await;
        assert_eq!(r.status, 422, "判断 has keys A and B only: {}", r.body);

        // a second device takes over; the first stops
        let token2 = login(&app, t).await;
        let r = app.post("/api/v1/exam/attempt", &token, json!({})).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["error"]["code"], "session_ended");
        let a2 = app
            .post("/api/v1/exam/attempt", &token2, json!({}))
            .await
            .expect(200);
        assert_eq!(a2["resumed"], true);
        assert_eq!(a2["attempt_id"], a["attempt_id"]);
        assert_eq!(
            a2["deadline"], a["deadline"],
            "the time left is the server's"
        );
        let q = a2["questions"].as_array().unwrap();
        assert_eq!(q[0]["answer"], "B");
        assert_eq!(q[10]["answer"], json!(["A", "C"]));
        assert_eq!(q[1]["answer"], "A");
        assert!(q[2]["answer"].is_null());

        // the same question set, the same paper: another candidate's differs in order or content
        let other = login(&app, &tickets[1]).await;
        let b = app
            .post("/api/v1/exam/attempt", &other, json!({}))
            .await
            .expect(200);
        assert_ne!(b["questions"], a2["questions"]);

        // hand in: graded; nothing more is accepted
        let s = app
            .post("/api/v1/exam/attempt/submit", &token2, json!({}))
            .await
            .expect(200);
        assert_eq!(s["submitted"], true);
        assert!(s["score"].is_number() && s["passed"].is_boolean(), "{s}");
        let r = app
            .put(
                "/api/v1/exam/attempt/answers/3",
                &token2,
                json!({"answer": "A"}),
            )
            .await;
        assert_eq!(r.status, 409);
        assert_eq!(r.body["error"]["code"], "closed");
        let r = app
            .post("/api/v1/exam/login", "", json!({"ticket_no": t["ticket_no"], "id_number": t["id_number"], "access_code": t["access_code"]}))
            .await;
        assert_eq!(r.status, 409, "{}", r.body);
        // the lifecycle is in the audit trail (starts within seconds, in batches)
        zhifa::exams::record_starts(&mut app.conn()).unwrap();
        assert_eq!(
            zhifa::exams::record_starts(&mut app.conn()).unwrap(),
            0,
            "each start once"
        );
        let log = app
            .get("/api/v1/audit?entity_type=exam_candidate", &admin)
            .await
            .expect(200);
        let actions: Vec<&str> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert!(
            actions.contains(&"exam.start") && actions.contains(&"exam.submit"),
            "{actions:?}"
        );
    }
);

both!(
    right_answers_score_full_marks_and_time_up_closes_the_attempt,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let tickets = schedule(&app, &admin, 2, false).await;
        let token = login(&app, &tickets[0]).await;
        let a = app
            .post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        answer_everything_right(&app, &token, &a).await;
        let s = app
            .post("/api/v1/exam/attempt/submit", &token, json!({}))
            .await
            .expect(200);
        assert!(
            s["score"].is_null(),
            "this batch does not show the score: {s}"
        );
        let mut conn = app.conn();
        let c = zhifa::exams::candidate(&mut conn, &token).unwrap();
        let attempt = zhifa::exams::db::attempt_of(&mut conn, c.id)
            .unwrap()
            .unwrap();
        assert_eq!(attempt.score, Some(100.0));
        assert_eq!(attempt.passed, Some(true));
        drop(conn);

        // the second candidate starts, saves, and runs out of time: the server closes the attempt
        let token = login(&app, &tickets[1]).await;
        app.post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        app.put(
            "/api/v1/exam/attempt/answers/1",
            &token,
            json!({"answer": "A"}),
        )
        .await
        .expect(200);
        app.sql("UPDATE exam_attempts SET deadline = started_at WHERE submitted_at IS NULL");
        let r = app
            .put(
                "/api/v1/exam/attempt/answers/2",
                &token,
                json!({"answer": "A"}),
            )
            .await;
        assert_eq!(r.status, 409);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("时间已到")
        );
        let closed = zhifa::exams::close_all_expired(&mut app.conn(), &app.state.papers).unwrap();
        assert_eq!(closed, 1);
        let mut conn = app.conn();
        let c = zhifa::exams::candidate(&mut conn, &token).unwrap();
        let attempt = zhifa::exams::db::attempt_of(&mut conn, c.id)
            .unwrap()
            .unwrap();
        assert_eq!(attempt.closed_by.as_deref(), Some("到时"));
        assert!(attempt.score.is_some());
        // a second run finds nothing to close
        assert_eq!(
            zhifa::exams::close_all_expired(&mut conn, &app.state.papers).unwrap(),
            0
        );
    }
);

both!(
    a_unit_plans_the_bureau_decides_and_the_batch_enrols_the_approved,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let city = app.unit(&admin, "SJ", "松原市司法局", "220700", None).await;
        let unit = app
            .unit(
                &admin,
                "SJ-SCJ",
                "宁江区市场监督管理局",
                "220702",
                Some(city),
            )
            .await;
        let other = app
            .unit(&admin, "SJ-HBJ", "宁江区生态环境局", "220702", Some(city))
            .await;
        let ok1 = app
            .officer(&admin, "王一", &id("220702", "1985-01-01", 1), unit)
            .await;
        let ok2 = app
            .officer(&admin, "王二", &id("220702", "1985-01-02", 2), unit)
            .await;
        let aux = app
            .post("/api/v1/officers", &admin, json!({"name": "辅三", "id_number": id("220702", "1990-01-03", 3), "unit_id": unit, "employment_type": "辅助人员"}))
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        let holder = app
            .post("/api/v1/officers", &admin, json!({"name": "证四", "id_number": id("220702", "1980-01-04", 4), "unit_id": unit,
                "employment_type": "行政编制", "cert_number": "吉A0001", "cert_valid_until": "2030-06-30"}))
            .await
            .expect(201)["id"]
            .as_i64()
            .unwrap();
        let elsewhere = id("220702", "1982-01-05", 5);
        app.officer(&admin, "外五", &elsewhere, other).await;
        let (_, pw) = app
            .user(&admin, "lianluo", "liaison", Some(unit), None)
            .await;
        let liaison = app.token("lianluo", &pw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();

        let r = app
            .post(
                "/api/v1/exam/plans",
                &liaison,
                json!({"unit_id": unit, "title": "2026年第四季度执法资格考试计划", "categories": ["市场监管"],
                  "period_start": "2026-12-01", "period_end": "2026-12-31",
                  "candidates": [
                    {"officer_id": ok1},
                    {"id_number": id("220702", "1985-01-02", 2), "exemption": "持法律职业资格，免考公共法律知识"},
                    {"officer_id": aux},
                    {"officer_id": holder},
                    {"id_number": elsewhere},
                    {"id_number": "220702198501011234"}
                  ]}),
            )
            .await
            .expect(201);
        let plan = r["plan"]["id"].as_i64().unwrap();
        assert_eq!(r["plan"]["status"], "待审批");
        assert_eq!(r["plan"]["candidates"].as_array().unwrap().len(), 2);
        let refused = r["refused"].as_array().unwrap();
        let reason = |name: &str| {
            refused
                .iter()
                .find(|x| x["name"] == name)
                .map(|x| x["reason"].as_str().unwrap().to_string())
                .unwrap_or_default()
        };
        assert!(reason("辅三").contains("辅助"), "{refused:?}");
        assert!(reason("证四").contains("有效的执法证"), "{refused:?}");
        assert!(
            refused
                .iter()
                .any(|x| x["reason"].as_str().unwrap().contains("没有此人")),
            "{refused:?}"
        );
        assert_eq!(refused.len(), 4, "{refused:?}");
        let exempt = r["plan"]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["officer_id"] == ok2)
            .unwrap()
            .clone();
        assert_eq!(exempt["exemption"], "持法律职业资格，免考公共法律知识");

        // the liaison cannot decide; the bureau decides collectively
        let decision = json!({"approve": true, "approved_officer_ids": [ok1], "meeting_ref": "松司会〔2026〕12号",
            "meeting_date": "2026-11-20", "deciders": ["张局长", "李副局长", "赵科长"], "note": ""});
        assert_eq!(
            app.post(
                &format!("/api/v1/exam/plans/{plan}/decision"),
                &liaison,
                decision.clone()
            )
            .await
            .status,
            403
        );
        let mut one = decision.clone();
        one["deciders"] = json!(["张局长"]);
        assert_eq!(
            app.post(&format!("/api/v1/exam/plans/{plan}/decision"), &admin, one)
                .await
                .status,
            422
        );
        let r = app
            .post(
                &format!("/api/v1/exam/plans/{plan}/decision"),
                &admin,
                decision.clone(),
            )
            .await;
        assert_eq!(
            r.status, 422,
            "leaving someone out needs the reason: {}",
            r.body
        );
        let mut with_note = decision.clone();
        with_note["note"] = json!("王二的法律职业资格证书尚未核验");
        app.post(
            &format!("/api/v1/exam/plans/{plan}/decision"),
            &admin,
            with_note.clone(),
        )
        .await
        .expect(200);
        assert_eq!(
            app.post(
                &format!("/api/v1/exam/plans/{plan}/decision"),
                &admin,
                with_note
            )
            .await
            .status,
            409
        );
        // the unit sees the decision and its reasons
        let v = app
            .get(&format!("/api/v1/exam/plans/{plan}"), &liaison)
            .await
            .expect(200);
        assert_eq!(v["status"], "部分批准");
        assert_eq!(v["decision_ref"], "松司会〔2026〕12号");
        assert_eq!(v["deciders"], json!(["张局长", "李副局长", "赵科长"]));
        let no = v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["officer_id"] == ok2)
            .unwrap()
            .clone();
        assert_eq!(no["approved"], false);
        assert!(no["reason"].as_str().unwrap().contains("尚未核验"));

        // a batch enrols the plan's approved candidates only
        let now = chrono::Utc::now().naive_utc();
        let s = app
            .post(
                "/api/v1/exam/batches",
                &admin,
                json!({"title": "2026年第四季度", "blueprint": blueprint(), "duration_minutes": 90, "plan_ids": [plan],
                  "sessions": [{"name": "第一场", "starts_at": now, "ends_at": now + chrono::Duration::hours(2), "capacity": 50}]}),
            )
            .await
            .expect(201);
        assert_eq!(s["candidates"], 1);
        assert_eq!(s["tickets"][0]["officer_id"], ok1);
        assert!(
            s["tickets"][0].get("access_code").is_none(),
            "access codes exist only on printed tickets unless asked for"
        );
    }
);

both!(
    extra_time_and_session_extensions_move_deadlines_on_the_record,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let s = schedule_full(&app, &admin, 2, false).await;
        let t = &s["tickets"][0];
        let session = s["sessions"][0]["id"].as_i64().unwrap();
        let token = login(&app, t).await;
        let a = app
            .post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        let deadline = |v: &Value| {
            chrono::NaiveDateTime::parse_from_str(v.as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.f")
                .unwrap()
        };
        let d0 = deadline(&a["deadline"]);
        let url = format!(
            "/api/v1/exam/candidates/{}/extra-time",
            t["ticket_no"].as_str().unwrap()
        );
        assert_eq!(
            app.post(&url, &admin, json!({"minutes": 15, "reason": ""}))
                .await
                .status,
            422
        );
        let r = app
            .post(
                &url,
                &admin,
                json!({"minutes": 15, "reason": "视力障碍，经批准延时"}),
            )
            .await
            .expect(200);
        assert_eq!(deadline(&r["deadline"]) - d0, chrono::Duration::minutes(15));
        let r = app
            .post(
                &format!("/api/v1/exam/sessions/{session}/extension"),
                &admin,
                json!({"minutes": 10, "reason": "考场停电 10 分钟"}),
            )
            .await
            .expect(200);
        assert_eq!(r["attempts"], 1, "only the started attempt moves");
        let a = app
            .post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        assert_eq!(deadline(&a["deadline"]) - d0, chrono::Duration::minutes(25));
        let log = app
            .get("/api/v1/audit?action=exam.extend", &admin)
            .await
            .expect(200);
        assert!(
            log["items"][0]["summary"]
                .as_str()
                .unwrap()
                .contains("考场停电")
        );
        let log = app
            .get("/api/v1/audit?action=exam.extra_time", &admin)
            .await
            .expect(200);
        assert!(
            log["items"][0]["summary"]
                .as_str()
                .unwrap()
                .contains("视力障碍")
        );
        assert_eq!(
            app.post(&url, &token, json!({"minutes": 5, "reason": "x"}))
                .await
                .status,
            401
        );
    }
);

both!(
    results_per_batch_per_unit_and_for_the_officer,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let s = schedule_full(&app, &admin, 3, false).await;
        let batch = s["batch_id"].as_i64().unwrap();
        let tickets = s["tickets"].as_array().unwrap().clone();
        // one hands in, one starts and runs out of time, one never comes
        let t0 = login(&app, &tickets[0]).await;
        app.post("/api/v1/exam/attempt", &t0, json!({}))
            .await
            .expect(200);
        app.post("/api/v1/exam/attempt/submit", &t0, json!({}))
            .await
            .expect(200);
        let t1 = login(&app, &tickets[1]).await;
        app.post("/api/v1/exam/attempt", &t1, json!({}))
            .await
            .expect(200);
        app.sql("UPDATE exam_attempts SET deadline = started_at WHERE submitted_at IS NULL");
        zhifa::exams::close_all_expired(&mut app.conn(), &app.state.papers).unwrap();
        let r = app
            .get(&format!("/api/v1/exam/batches/{batch}/results"), &admin)
            .await
            .expect(200);
        assert_eq!(r["summary"]["enrolled"], 3);
        assert_eq!(r["summary"]["sat"], 2);
        assert_eq!(r["summary"]["absent"], 1);
        let statuses: Vec<&str> = r["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["status"].as_str().unwrap())
            .collect();
        for s in ["已交卷", "到时收卷", "未开始"] {
            assert!(statuses.contains(&s), "{statuses:?}");
        }
        assert_eq!(r["units"][0]["unit"], "考试测试局");
        let sheet = app
            .client
            .get(app.url(&format!("/api/v1/exam/batches/{batch}/results?format=xlsx")))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        assert_eq!(sheet.status(), 200);
        assert!(sheet.bytes().await.unwrap().starts_with(b"PK"));
        // the officer sees their own result
        let officer = tickets[0]["officer_id"].as_i64().unwrap();
        let (_, pw) = app
            .user(&admin, "kaosheng", "officer", None, Some(officer))
            .await;
        let token = app.token("kaosheng", &pw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        let mine = app.get("/api/v1/me/exam-results", &token).await.expect(200);
        assert_eq!(mine["items"][0]["status"], "已交卷");
        assert!(mine["items"][0]["score"].is_number());
        assert_eq!(
            app.get(&format!("/api/v1/exam/batches/{batch}/results"), &token)
                .await
                .status,
            403
        );
    }
);

both!(
    a_corrected_question_regrades_the_batch_on_the_record,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let s = schedule_full(&app, &admin, 1, true).await;
        let batch = s["batch_id"].as_i64().unwrap();
        let token = login(&app, &s["tickets"][0]).await;
        let a = app
            .post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        let first_version = answer_everything_right(&app, &token, &a).await;
        let r = app
            .post("/api/v1/exam/attempt/submit", &token, json!({}))
            .await
            .expect(200);
        assert_eq!(r["score"], 100.0);
        // the bureau finds question 1's key wrong and corrects it in the bank (same options)
        let code = {
            let mut conn = app.conn();
            zhifa::bank::db::by_version_id(&mut conn, first_version)
                .unwrap()
                .unwrap()
                .0
                .code
        };
        let q = app
            .get(&format!("/api/v1/questions/{code}"), &admin)
            .await
            .expect(200);
        let corrected = match q["answer"].as_str().unwrap() {
            "A" => "B",
            "正确" => "错误",
            "错误" => "正确",
            s if s.len() > 1 => "AB",
            _ => "A",
        };
        let corrected = if corrected == q["answer"].as_str().unwrap() {
            "AC"
        } else {
            corrected
        };
        let mut edit = q.clone();
        edit["answer"] = json!(corrected);
        edit["version"] = q["version"].clone();
        edit["note"] = json!("答案更正");
        app.put(&format!("/api/v1/questions/{code}"), &admin, edit)
            .await
            .expect(200);
        let r = app
            .post(
                &format!("/api/v1/exam/batches/{batch}/regrade"),
                &admin,
                json!({}),
            )
            .await
            .expect(200);
        assert_eq!(r["attempts"], 1);
        let change = &r["changed"][0];
        assert_eq!(change["before"], 100.0);
        assert!(change["after"].as_f64().unwrap() < 100.0, "{r}");
        let log = app
            .get("/api/v1/audit?action=exam.regrade", &admin)
            .await
            .expect(200);
        assert!(
            log["items"][0]["summary"]
                .as_str()
                .unwrap()
                .contains("100 →"),
            "{log}"
        );
        // nothing more changes on a second run
        let r = app
            .post(
                &format!("/api/v1/exam/batches/{batch}/regrade"),
                &admin,
                json!({}),
            )
            .await
            .expect(200);
        assert_eq!(r["changed"].as_array().unwrap().len(), 0);

        // The score report shows the sections, the corrected total and the correction.
        let ticket = s["tickets"][0]["ticket_no"].as_str().unwrap();
        let (status, ct, pdf) = app
            .get_file(&format!("/api/v1/exam/candidates/{ticket}/report"), &admin)
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
        assert_eq!(ct, "application/pdf");
        let text = pdf_text(&pdf);
        let after = change["after"].as_f64().unwrap();
        for want in [
            "成 绩 报 告 单".to_string(),
            s["tickets"][0]["name"].as_str().unwrap().to_string(),
            "公共法律知识（通用） · 单选".to_string(),
            format!("总分：{after} 分"),
            "成绩更正记录".to_string(),
            "100 →".to_string(),
        ] {
            assert!(text.contains(&want), "{want} not in {text}");
        }
        let (status, _, _) = app
            .get_file("/api/v1/exam/candidates/2099001-00001/report", &admin)
            .await;
        assert_eq!(status, 404);
        let (status, _, _) = app
            .get_file(&format!("/api/v1/exam/candidates/{ticket}/report"), "")
            .await;
        assert_eq!(status, 401);
    }
);

both!(
    a_candidate_switching_replicas_resumes_and_one_device_holds_across_them,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let t = schedule(&app, &admin, 1, false).await[0].clone();
        let other = app.replica();
        let token = login(&app, &t).await;
        let a = app
            .post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        app.put(
            "/api/v1/exam/attempt/answers/1",
            &token,
            json!({"answer": "A"}),
        )
        .await
        .expect(200);
        // the balancer sends the next requests to the other replica: same attempt, same time
        let b = other
            .post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        assert_eq!(b["attempt_id"], a["attempt_id"]);
        assert_eq!(b["deadline"], a["deadline"]);
        assert_eq!(b["questions"][0]["answer"], "A");
        other
            .put(
                "/api/v1/exam/attempt/answers/2",
                &token,
                json!({"answer": "B"}),
            )
            .await
            .expect(200);
        // a new device signs in through the other replica: the first device stops on both
        let newer = login(&other, &t).await;
        for replica in [&app, &other] {
            let r = replica
                .put(
                    "/api/v1/exam/attempt/answers/3",
                    &token,
                    json!({"answer": "A"}),
                )
                .await;
            assert_eq!(r.status, 401);
            assert_eq!(r.body["error"]["code"], "session_ended");
        }
        let c = app
            .post("/api/v1/exam/attempt", &newer, json!({}))
            .await
            .expect(200);
        assert_eq!(c["questions"][1]["answer"], "B");
        app.post("/api/v1/exam/attempt/submit", &newer, json!({}))
            .await
            .expect(200);
        let r = other
            .put(
                "/api/v1/exam/attempt/answers/3",
                &newer,
                json!({"answer": "A"}),
            )
            .await;
        assert_eq!(
            r.status, 409,
            "handed in on one replica is handed in on all"
        );
    }
);

/// The access code printed on a ticket: the 10 characters after 访问码, spaces removed.
pub fn printed_code(text: &str, ticket_no: &str) -> String {
    let page = text
        .split(ticket_no)
        .nth(1)
        .unwrap_or_else(|| panic!("{ticket_no} not printed"));
    let after = page.split("访 问 码").nth(1).expect("访问码 printed");
    after
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(10)
        .collect()
}

both!(
    tickets_print_as_pdf_and_reissue_the_access_code,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let s = schedule_full(&app, &admin, 3, true).await;
        let batch = s["batch_id"].as_i64().unwrap();
        let tickets = s["tickets"].as_array().unwrap().clone();
        let path = format!("/api/v1/exam/batches/{batch}/tickets");

        // The first candidate starts with the code the scheduling gave.
        let token = login(&app, &tickets[0]).await;
        app.post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);

        // One file for the batch: a page per candidate not yet started.
        let (status, ct, pdf) = app.download(&path, &admin, json!({})).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
        assert_eq!(ct, "application/pdf");
        assert_eq!(pdf_pages(&pdf), 2, "the started candidate is not reprinted");
        let text = pdf_text(&pdf);
        let name = |i: usize| tickets[i]["name"].as_str().unwrap().to_string();
        for want in [
            "准 考 证",
            "2026年第一批行政执法资格考试",
            &name(1),
            &name(2),
            "考试测试局",
            "考 场 规 则",
            "公共法律知识",
            "司法局",
        ] {
            assert!(text.contains(want), "{want} not in {text}");
        }
        assert!(!text.contains(&name(0)));
        let t1 = &tickets[1];
        let code = printed_code(&text, t1["ticket_no"].as_str().unwrap());
        assert_eq!(code.len(), 10, "{code}");
        assert_ne!(code, t1["access_code"].as_str().unwrap());

        // The old code stops working, the printed one works.
        let r = app
            .post(
                "/api/v1/exam/login",
                "",
                json!({"ticket_no": t1["ticket_no"], "id_number": t1["id_number"], "access_code": t1["access_code"]}),
            )
            .await;
        assert_eq!(r.status, 401);
        let mut reprinted = t1.clone();
        reprinted["access_code"] = json!(code);
        login(&app, &reprinted).await;

        // One ticket by number; a number not in the batch is named.
        let (status, _, one) = app
            .download(
                &path,
                &admin,
                json!({"ticket_nos": [tickets[2]["ticket_no"]]}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(pdf_pages(&one), 1);
        assert!(one.len() < 200_000, "{} bytes", one.len());
        let r = app
            .post(&path, &admin, json!({"ticket_nos": ["X-00009"]}))
            .await;
        assert_eq!(r.status, 422);
        assert!(r.body.to_string().contains("X-00009"));

        // One PDF per unit in a zip.
        let (status, ct, zip) = app.download(&path, &admin, json!({"format": "zip"})).await;
        assert_eq!(status, 200);
        assert_eq!(ct, "application/zip");
        assert!(zip.starts_with(b"PK"));
        assert!(String::from_utf8_lossy(&zip).contains("考试测试局-准考证.pdf"));

        // Only the bureau prints tickets; the reprint is on the record.
        let r = app.post(&path, "", json!({})).await;
        assert_eq!(r.status, 401);
        let n: i64 = {
            use diesel::prelude::*;
            let mut c = app.conn();
            zhifa::db::schema::audit_log::table
                .filter(zhifa::db::schema::audit_log::action.eq("exam.tickets"))
                .count()
                .get_result(&mut c)
                .unwrap()
        };
        assert_eq!(n, 3);
    }
);

both!(
    the_batch_analysis_reports_items_distribution_and_the_copying_screen,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let s = schedule_full(&app, &admin, 4, true).await;
        let batch = s["batch_id"].as_i64().unwrap();
        // Two know everything, one hands in a blank paper, one never comes.
        for t in &s["tickets"].as_array().unwrap()[..3] {
            let token = login(&app, t).await;
            let a = app
                .post("/api/v1/exam/attempt", &token, json!({}))
                .await
                .expect(200);
            if t != &s["tickets"][2] {
                answer_everything_right(&app, &token, &a).await;
            }
            app.post("/api/v1/exam/attempt/submit", &token, json!({}))
                .await
                .expect(200);
        }
        let r = app
            .get(&format!("/api/v1/exam/batches/{batch}/analysis"), &admin)
            .await
            .expect(200);
        assert_eq!(r["candidates"], 3);
        let bins = r["score_bins"].as_array().unwrap();
        assert_eq!(bins.len(), 20);
        assert_eq!(
            bins.iter()
                .map(|b| b["count"].as_u64().unwrap())
                .sum::<u64>(),
            3
        );
        assert_eq!(bins[19]["count"], 2, "100 falls in the last bin");
        assert_eq!(bins[0]["count"], 1);
        let items = r["items"].as_array().unwrap();
        assert!(
            items.len() >= 25,
            "every question of the papers: {}",
            items.len()
        );
        let it = &items[0];
        assert!(
            it["code"].as_str().unwrap().starts_with("Q-")
                || !it["code"].as_str().unwrap().is_empty()
        );
        assert_eq!(
            it["flags"][0], "作答人数不足",
            "three papers are too few to judge"
        );
        assert!(
            it["answers"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["answer"] == "未作答")
        );
        assert!(r["screen_method"].as_str().unwrap().contains("ω"));
        assert_eq!(r["suspects"].as_array().unwrap().len(), 0);
        let (status, ct, svg) = app
            .get_file(
                &format!("/api/v1/exam/batches/{batch}/distribution.svg"),
                &admin,
            )
            .await;
        assert_eq!(status, 200);
        assert!(ct.starts_with("image/svg+xml"));
        let svg = String::from_utf8(svg).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("合格线 60"),
            "{svg}"
        );
        let r = app
            .get(&format!("/api/v1/exam/batches/{batch}/analysis"), "")
            .await;
        assert_eq!(r.status, 401);
    }
);

both!(
    a_background_job_runs_on_one_replica_at_a_time_and_moves_when_its_holder_dies,
    |app: TestApp| async move {
        use zhifa::jobs;
        let mut c = app.conn();
        let now = zhifa::db::now();
        assert!(jobs::try_lease(&mut c, "test.lease", "replica-a", now).unwrap());
        assert!(!jobs::try_lease(&mut c, "test.lease", "replica-b", now).unwrap());
        // the holder renews
        assert!(jobs::try_lease(&mut c, "test.lease", "replica-a", now).unwrap());
        // once it lapses (the holder died), another replica takes it
        let later = now + jobs::LEASE + chrono::TimeDelta::seconds(1);
        assert!(jobs::try_lease(&mut c, "test.lease", "replica-b", later).unwrap());
        assert!(!jobs::try_lease(&mut c, "test.lease", "replica-a", later).unwrap());

        // The server's own runner holds the exam closer: another replica stands by...
        let job = jobs::all()
            .into_iter()
            .find(|j| j.name == "exam.close")
            .unwrap();
        let mut held = false;
        for _ in 0..50 {
            if jobs::status(&mut c)
                .unwrap()
                .iter()
                .any(|s| s.name == "exam.close" && s.runs > 0)
            {
                held = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(held, "the server's runner ran the exam closer");
        assert_eq!(
            jobs::run_once(&mut c, &app.state, &job, "replica-b").unwrap(),
            None
        );
        // ...and takes over when the lease lapses.
        app.sql(
            "UPDATE job_leases SET expires_at = '2000-01-01 00:00:00' WHERE name = 'exam.close'",
        );
        let done = jobs::run_once(&mut c, &app.state, &job, "replica-b").unwrap();
        assert!(done.unwrap().contains("到时收卷 0 份"));
        let st = jobs::status(&mut c).unwrap();
        let s = st.iter().find(|s| s.name == "exam.close").unwrap();
        assert_eq!(s.holder, "replica-b");
        assert!(s.last_ok);
    }
);

both!(
    candidates_are_spread_or_placed_by_hand_and_moved_before_they_start,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "KS-FP", "分配测试局", "220702", None)
            .await;
        let mut ids = vec![];
        for (i, name) in ["一", "二", "三", "四"].iter().enumerate() {
            ids.push(
                app.officer(
                    &admin,
                    name,
                    &id("220702", "1979-09-09", i as u16 + 1),
                    unit,
                )
                .await,
            );
        }
        let now = chrono::Utc::now().naive_utc();
        let window = |name: &str, cap: i64| {
            json!({"name": name, "starts_at": now - chrono::Duration::minutes(5),
            "ends_at": now + chrono::Duration::minutes(120), "capacity": cap})
        };
        let mut body = json!({
            "title": "分配测试", "blueprint": blueprint(), "duration_minutes": 60,
            "sessions": [window("上午场", 2), window("下午场", 3)],
            "officer_ids": ids, "allocation": "spread", "return_access_codes": true,
            "assignments": [{"officer_id": ids[3], "session": 1}],
        });
        body["allocation"] = json!("sideways");
        let r = app.post("/api/v1/exam/batches", &admin, body.clone()).await;
        assert_eq!(r.status, 422);
        assert!(r.body.to_string().contains("spread"));
        body["allocation"] = json!("spread");
        let s = app
            .post("/api/v1/exam/batches", &admin, body)
            .await
            .expect(201);
        let session_of = |officer: i64| {
            let t = s["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["officer_id"] == officer)
                .unwrap()
                .clone();
            (t["session"].as_str().unwrap().to_string(), t)
        };
        assert_eq!(session_of(ids[3]).0, "上午场", "placed by hand");
        let morning = s["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["session"] == "上午场")
            .count();
        assert_eq!(morning, 2);

        // Move an afternoon candidate to the morning: full. Move a morning one to the afternoon.
        let afternoon_id = s["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "下午场")
            .unwrap()["id"]
            .clone();
        let morning_id = s["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "上午场")
            .unwrap()["id"]
            .clone();
        let (_, t0) = session_of(ids[3]);
        let later = s["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["session"] == "下午场")
            .unwrap()
            .clone();
        let path = |t: &Value| {
            format!(
                "/api/v1/exam/candidates/{}/session",
                t["ticket_no"].as_str().unwrap()
            )
        };
        let r = app
            .post(
                &path(&later),
                &admin,
                json!({"session_id": morning_id, "reason": "单位申请"}),
            )
            .await;
        assert_eq!(r.status, 422);
        assert!(r.body.to_string().contains("已满"));
        let r = app
            .post(
                &path(&t0),
                &admin,
                json!({"session_id": afternoon_id, "reason": ""}),
            )
            .await;
        assert_eq!(r.status, 422);
        app.post(
            &path(&t0),
            &admin,
            json!({"session_id": afternoon_id, "reason": "考生出差，申请调整"}),
        )
        .await
        .expect(200);
        // the moved candidate sits in the afternoon; once started, no more moves
        let token = login(&app, &t0).await;
        app.post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        let r = app
            .post(
                &path(&t0),
                &admin,
                json!({"session_id": morning_id, "reason": "再调"}),
            )
            .await;
        assert_eq!(r.status, 409);
        let log = app
            .get("/api/v1/audit?action=exam.move", &admin)
            .await
            .expect(200);
        assert!(
            log["items"][0]["summary"]
                .as_str()
                .unwrap()
                .contains("考生出差")
        );
    }
);

both!(
    an_exempt_candidate_sits_only_the_rest_and_is_scored_on_it,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "KS-MK", "免考测试局", "220702", None)
            .await;
        let a = app
            .officer(&admin, "全考", &id("220702", "1983-03-03", 1), unit)
            .await;
        let b = app
            .officer(&admin, "免公", &id("220702", "1983-03-03", 2), unit)
            .await;
        let r = app
            .post(
                "/api/v1/exam/plans",
                &admin,
                json!({"unit_id": unit, "title": "含免考人员的计划", "categories": ["生态环境"],
                  "period_start": "2026-12-01", "period_end": "2026-12-31",
                  "candidates": [{"officer_id": a}, {"officer_id": b, "exemption": "持法律职业资格，免考公共法律知识"}]}),
            )
            .await
            .expect(201);
        let plan = r["plan"]["id"].as_i64().unwrap();
        app.post(
            &format!("/api/v1/exam/plans/{plan}/decision"),
            &admin,
            json!({"approve": true, "meeting_ref": "会〔2026〕3号", "meeting_date": "2026-11-20",
                   "deciders": ["甲", "乙"], "note": ""}),
        )
        .await
        .expect(200);
        let now = chrono::Utc::now().naive_utc();
        let mut body = json!({
            "title": "公共加专业", "duration_minutes": 60, "plan_ids": [plan], "return_access_codes": true,
            "blueprint": {"sections": [
                {"part": "公共法律知识", "type": "单选", "count": 10, "points": 4},
                {"part": "专业法律知识", "category": "生态环境", "type": "单选", "count": 15, "points": 4}]},
            "sessions": [{"name": "一场", "starts_at": now - chrono::Duration::minutes(5),
                          "ends_at": now + chrono::Duration::hours(2), "capacity": 10}],
        });
        // a batch of the public part only has nothing for the exempt candidate to sit
        let only_public = json!({"sections": [{"part": "公共法律知识", "type": "单选", "count": 25, "points": 4}]});
        let mut wrong = body.clone();
        wrong["blueprint"] = only_public;
        let r = app.post("/api/v1/exam/batches", &admin, wrong).await;
        assert_eq!(r.status, 422);
        assert!(
            r.body.to_string().contains("免公 免考公共法律知识"),
            "{}",
            r.body
        );
        body["show_score"] = json!(true);
        let s = app
            .post("/api/v1/exam/batches", &admin, body)
            .await
            .expect(201);
        let ticket = |officer: i64| {
            s["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["officer_id"] == officer)
                .unwrap()
                .clone()
        };
        let full = login(&app, &ticket(a)).await;
        let paper = app
            .post("/api/v1/exam/attempt", &full, json!({}))
            .await
            .expect(200);
        assert_eq!(paper["questions"].as_array().unwrap().len(), 25);
        let exempt = login(&app, &ticket(b)).await;
        let paper = app
            .post("/api/v1/exam/attempt", &exempt, json!({}))
            .await
            .expect(200);
        assert_eq!(
            paper["questions"].as_array().unwrap().len(),
            15,
            "the public part is left out"
        );
        answer_everything_right(&app, &exempt, &paper).await;
        let r = app
            .post("/api/v1/exam/attempt/submit", &exempt, json!({}))
            .await
            .expect(200);
        assert_eq!(
            r["score"], 100.0,
            "60 of 60 points, scaled to the batch's 100"
        );
        assert_eq!(r["passed"], true);
        let t = ticket(b)["ticket_no"].as_str().unwrap().to_string();
        let (_, _, pdf) = app
            .get_file(&format!("/api/v1/exam/candidates/{t}/report"), &admin)
            .await;
        let text = pdf_text(&pdf);
        assert!(
            text.contains("免考公共法律知识：总分按其余部分的得分折算为 100 分制"),
            "{text}"
        );
    }
);

both!(
    a_resit_is_a_new_enrolment_with_the_earlier_one_kept,
    config = seeded,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let first = schedule_full(&app, &admin, 2, true).await;
        // one fails (hands in a blank paper), the other never comes
        let token = login(&app, &first["tickets"][0]).await;
        app.post("/api/v1/exam/attempt", &token, json!({}))
            .await
            .expect(200);
        app.post("/api/v1/exam/attempt/submit", &token, json!({}))
            .await
            .expect(200);
        let officers: Vec<i64> = first["tickets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["officer_id"].as_i64().unwrap())
            .collect();
        // the first session is over: the one who never came is absent
        app.sql(&format!(
            "UPDATE exam_sessions SET starts_at = '2001-01-01 00:00:00', ends_at = '2001-01-01 02:00:00' WHERE batch_id = {}",
            first["batch_id"]
        ));
        let now = chrono::Utc::now().naive_utc();
        let second = app
            .post(
                "/api/v1/exam/batches",
                &admin,
                json!({"title": "补考批次", "blueprint": blueprint(), "duration_minutes": 60, "officer_ids": officers,
                  "sessions": [{"name": "补考场", "starts_at": now, "ends_at": now + chrono::Duration::hours(1), "capacity": 5}]}),
            )
            .await
            .expect(201);
        let r = app
            .get(
                &format!("/api/v1/exam/batches/{}/results", second["batch_id"]),
                &admin,
            )
            .await
            .expect(200);
        let rows = r["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|x| x["resit"] == true), "{r}");
        // the first batch's results stay as they were
        let r = app
            .get(
                &format!("/api/v1/exam/batches/{}/results", first["batch_id"]),
                &admin,
            )
            .await
            .expect(200);
        assert_eq!(r["summary"]["sat"], 1);
        assert_eq!(r["summary"]["absent"], 1);
        assert!(
            r["rows"]
                .as_array()
                .unwrap()
                .iter()
                .all(|x| x["resit"] == false)
        );
    }
);
