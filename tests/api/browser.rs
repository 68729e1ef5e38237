//! The UI in a real headless Chromium (Debian's chromium + chromium-driver), driven over
//! WebDriver. Skipped with a message when the browser isn't installed, except in CI.

use crate::both;
use crate::helpers::*;
use std::process::{Child, Command, Stdio};
use thirtyfour::prelude::*;

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn chromedriver() -> Option<Driver> {
    let path = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
    if !std::path::Path::new(&path).exists() {
        if std::env::var("CI").is_ok() {
            panic!("CI 中缺少 chromedriver（{path}）");
        }
        eprintln!("跳过浏览器测试：没有 {path}（apt-get install chromium chromium-driver）");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    Some(Driver { child, port })
}

/// Clicks a submit button and waits until the next page has replaced this one.
async fn submit(b: &WebDriver, by: By) -> WebDriverResult<()> {
    let page = b.find(By::Tag("html")).await?;
    b.find(by).await?.click().await?;
    page.wait_until().stale().await?;
    Ok(())
}

async fn browser(d: &Driver) -> WebDriver {
    let mut caps = DesiredCapabilities::chrome();
    for arg in [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
    ] {
        caps.add_arg(arg).unwrap();
    }
    let url = format!("http://127.0.0.1:{}", d.port);
    for _ in 0..50 {
        if let Ok(b) = WebDriver::new(&url, caps.clone()).await {
            return b;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

both!(
    log_in_search_and_import_in_a_browser,
    |app: TestApp| async move {
        let Some(driver) = chromedriver() else { return };
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "NJSJ", "宁江区市场监督管理局", "220702", None)
            .await;
        let existing = id("220702", "1968-12-12", 55);
        app.officer(&admin, "周九", &existing, unit).await;
        app.officer(&admin, "王䶮", &id("220702", "1991-01-01", 3), unit)
            .await;
        let b = browser(&driver).await;
        let run = async {
            b.goto(app.url("/officers")).await?;
            // not signed in: the login page
            assert!(b.current_url().await?.as_str().ends_with("/login"));
            b.find(By::Id("username")).await?.send_keys("admin").await?;
            b.find(By::Id("password"))
                .await?
                .send_keys("wrong-password")
                .await?;
            submit(&b, By::Id("login-submit")).await?;
            assert!(
                b.find(By::Id("login-error"))
                    .await?
                    .text()
                    .await?
                    .contains("用户名或密码错误")
            );
            b.find(By::Id("password"))
                .await?
                .send_keys(ADMIN_PASSWORD)
                .await?;
            submit(&b, By::Id("login-submit")).await?;
            assert!(b.current_url().await?.as_str().ends_with("/officers"));

            // search by a name with a rare character
            b.find(By::Id("q")).await?.send_keys("王䶮").await?;
            submit(&b, By::Id("search-submit")).await?;
            let count = b.find(By::Id("result-count")).await?.text().await?;
            assert!(count.contains("共 1 人"), "{count}");
            assert!(
                b.find(By::Id("officers"))
                    .await?
                    .text()
                    .await?
                    .contains("王䶮")
            );

            // import a messy sheet: upload, preview with errors, confirm the valid rows
            // one file per run: the SQLite and PostgreSQL runs of this test go at the same time
            let path = std::env::temp_dir().join(format!(
                "zhifa-browser-{}-{}.xlsx",
                std::process::id(),
                &zhifa::auth::rules::new_token()[..12]
            ));
            std::fs::write(&path, crate::imports::messy_sheet(&existing)).unwrap();
            b.goto(app.url("/imports")).await?;
            b.find(By::Id("import-file"))
                .await?
                .send_keys(path.to_str().unwrap())
                .await?;
            submit(&b, By::Id("import-submit")).await?;
            assert_eq!(b.find(By::Id("count-new")).await?.text().await?, "2");
            assert_eq!(b.find(By::Id("count-invalid")).await?.text().await?, "4");
            let errors = b.find(By::Id("import-errors")).await?.text().await?;
            assert!(
                errors.contains("第 7 行") && errors.contains("存成了数字"),
                "{errors}"
            );
            // confirming without skipping changes nothing
            submit(&b, By::Id("apply-submit")).await?;
            assert!(
                b.find(By::Id("import-blocked"))
                    .await?
                    .text()
                    .await?
                    .contains("未导入任何数据")
            );
            b.find(By::Css("#apply-form input[name=skip_invalid]"))
                .await?
                .click()
                .await?;
            submit(&b, By::Id("apply-submit")).await?;
            assert!(
                b.find(By::Id("import-done"))
                    .await?
                    .text()
                    .await?
                    .contains("新增 2 人，更新 1 人")
            );
            let _ = std::fs::remove_file(&path);

            b.goto(app.url("/officers")).await?;
            assert!(
                b.find(By::Id("result-count"))
                    .await?
                    .text()
                    .await?
                    .contains("共 4 人")
            );
            WebDriverResult::Ok(())
        };
        let result = run.await;
        if result.is_err()
            && let Ok(png) = b.screenshot_as_png().await
        {
            let _ = std::fs::write(std::env::temp_dir().join("zhifa-browser-failure.png"), png);
        }
        b.quit().await.unwrap();
        result.unwrap();
    }
);

/// Signs the browser in as the administrator.
async fn sign_in(b: &WebDriver, app: &TestApp) -> WebDriverResult<()> {
    b.goto(app.url("/login")).await?;
    b.find(By::Id("username")).await?.send_keys("admin").await?;
    b.find(By::Id("password"))
        .await?
        .send_keys(ADMIN_PASSWORD)
        .await?;
    submit(b, By::Id("login-submit")).await
}

both!(
    browse_edit_and_practise_the_question_bank,
    config = |c| c.seed_question_bank = true,
    |app: TestApp| async move {
        let Some(driver) = chromedriver() else { return };
        let b = browser(&driver).await;
        let run = async {
            sign_in(&b, &app).await?;
            // browse: filter by law and type, open a question
            b.goto(app.url("/bank")).await?;
            assert!(
                b.find(By::Id("bank-summary"))
                    .await?
                    .text()
                    .await?
                    .contains("在用")
            );
            b.find(By::Id("bank-law"))
                .await?
                .find(By::XPath("./option[text()='行政处罚法']"))
                .await?
                .click()
                .await?;
            b.find(By::Id("bank-type"))
                .await?
                .find(By::XPath("./option[text()='判断']"))
                .await?
                .click()
                .await?;
            submit(&b, By::Id("bank-search")).await?;
            let count = b.find(By::Id("bank-count")).await?.text().await?;
            assert!(
                count.starts_with("共 ") && !count.starts_with("共 0 "),
                "{count}"
            );
            let table = b.find(By::Id("questions")).await?.text().await?;
            assert!(table.contains("CF-") && table.contains("判断"), "{table}");
            assert!(!table.contains("多选"), "{table}");

            // edit CF-001: version 2 appears, version 1 stays in the history
            b.goto(app.url("/bank/questions/CF-001")).await?;
            let old_stem = b.find(By::Id("question-stem")).await?.text().await?;
            submit(&b, By::Id("edit-question")).await?;
            let stem = b.find(By::Id("q-stem")).await?;
            stem.send_keys("（修订）").await?;
            b.find(By::Id("q-note"))
                .await?
                .send_keys("浏览器测试修改")
                .await?;
            submit(&b, By::Id("save-question")).await?;
            let h1 = b.find(By::Tag("h1")).await?.text().await?;
            assert!(h1.contains("第 2 版"), "{h1}");
            let versions = b.find(By::Id("versions")).await?.text().await?;
            assert!(
                versions.contains("第 2 版") && versions.contains("第 1 版"),
                "{versions}"
            );
            assert!(
                versions.contains("浏览器测试修改") && versions.contains(&old_stem),
                "{versions}"
            );
            // a wrong answer is refused on the form, field by field
            submit(&b, By::Id("edit-question")).await?;
            let answer = b.find(By::Id("q-answer")).await?;
            answer.clear().await?;
            answer.send_keys("G").await?;
            submit(&b, By::Id("save-question")).await?;
            assert!(
                b.find(By::Id("form-alert"))
                    .await?
                    .text()
                    .await?
                    .contains("1 处错误")
            );
            assert!(
                b.find(By::Id("question-form"))
                    .await?
                    .text()
                    .await?
                    .contains("不在选项之中")
            );

            // practice: check one answer on the page, then hand the paper in
            b.goto(app.url("/practice")).await?;
            b.find(By::Id("practice-part"))
                .await?
                .find(By::XPath("./option[text()='公共法律知识']"))
                .await?
                .click()
                .await?;
            submit(&b, By::Id("practice-start")).await?;
            let first = b.find(By::Css(".practice-q")).await?;
            let id = first.attr("data-id").await?.unwrap();
            first.find(By::Css("input")).await?.click().await?;
            first
                .find(By::Css("button.check-one"))
                .await?
                .click()
                .await?;
            let result = b.find(By::Id(format!("result-{id}"))).await?;
            result
                .wait_until()
                .condition(Box::new(|e: WebElement| {
                    Box::pin(async move { Ok(e.text().await?.contains("正确答案")) })
                }))
                .await?;
            let text = result.text().await?;
            assert!(
                text.contains("回答正确") || text.contains("回答错误"),
                "{text}"
            );
            assert!(text.contains("法律依据"), "{text}");
            submit(&b, By::Id("practice-submit")).await?;
            let h1 = b.find(By::Tag("h1")).await?.text().await?;
            assert!(h1.contains("答对") && h1.contains("/ 20 题"), "{h1}");
            WebDriverResult::Ok(())
        };
        let result = run.await;
        if result.is_err()
            && let Ok(png) = b.screenshot_as_png().await
        {
            let _ = std::fs::write(
                std::env::temp_dir().join("zhifa-bank-browser-failure.png"),
                png,
            );
        }
        b.quit().await.unwrap();
        result.unwrap();
    }
);

/// Fills in and sends the exam room's login form with a ticket.
async fn exam_login(b: &WebDriver, t: &serde_json::Value) -> WebDriverResult<()> {
    for id in ["ticket_no", "id_number", "access_code"] {
        b.find(By::Id(id))
            .await?
            .send_keys(t[id].as_str().unwrap())
            .await?;
    }
    b.find(By::Id("exam-login-submit")).await?.click().await
}

/// Polls until the element's text satisfies `ok` (at most ~15 s).
async fn wait_text(b: &WebDriver, by: By, ok: impl Fn(&str) -> bool) -> WebDriverResult<String> {
    let mut last = String::new();
    for _ in 0..150 {
        if let Ok(e) = b.find(by.clone()).await
            && let Ok(t) = e.text().await
        {
            if ok(&t) {
                return Ok(t);
            }
            last = t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("waited in vain; last text: {last:?}");
}

fn saved_answer(app: &TestApp, ticket: &str, position: i32) -> Option<String> {
    use diesel::prelude::*;
    use zhifa::db::schema::{exam_answers as ea, exam_attempts as at, exam_candidates as ec};
    let mut conn = app.conn();
    ec::table
        .inner_join(at::table.on(at::candidate_id.eq(ec::id)))
        .inner_join(ea::table.on(ea::attempt_id.eq(at::id)))
        .filter(ec::ticket_no.eq(ticket))
        .filter(ea::position.eq(position))
        .select(ea::answer)
        .first(&mut *conn)
        .ok()
}

both!(
    a_candidate_sits_the_exam_in_a_browser,
    config = |c| c.seed_question_bank = true,
    |app: TestApp| async move {
        let Some(driver) = chromedriver() else { return };
        let admin = app.admin().await;
        let tickets = crate::exams::schedule(&app, &admin, 2, true).await;
        let t = tickets[0].clone();
        let ticket = t["ticket_no"].as_str().unwrap().to_string();
        let b = browser(&driver).await;
        let run = async {
            b.goto(app.url("/exam")).await?;
            exam_login(&b, &t).await?;
            wait_text(&b, By::Id("stem"), |s| s.starts_with("1.")).await?;
            // answer question 1: "已保存" only once the server has it
            b.find(By::Css("#question input")).await?.click().await?;
            wait_text(&b, By::Id("save-status"), |s| s == "已保存").await?;
            let first = saved_answer(&app, &ticket, 1).expect("question 1 saved");
            let left = b.find(By::Id("countdown")).await?.text().await?;

            // a reload keeps the answer and the time
            b.refresh().await?;
            wait_text(&b, By::Id("stem"), |s| s.starts_with("1.")).await?;
            let checked = b
                .find(By::Css("#question input:checked"))
                .await?
                .value()
                .await?;
            assert_eq!(checked.as_deref(), Some(first.as_str()));
            let after = wait_text(&b, By::Id("countdown"), |s| s.contains(':')).await?;
            let minutes = |s: &str| s.split(':').next().unwrap().parse::<i64>().unwrap();
            assert!(
                minutes(&after) <= minutes(&left) && minutes(&after) >= 85,
                "{left} → {after}"
            );

            // the network drops: the answer waits in the page, then is saved when it returns
            let dev = b.cdp();
            dev.send_raw("Network.enable", ()).await?;
            let offline = |on: bool| serde_json::json!({"offline": on, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1});
            dev.send_raw("Network.emulateNetworkConditions", offline(true))
                .await?;
            b.find(By::Id("next")).await?.click().await?;
            wait_text(&b, By::Id("stem"), |s| s.starts_with("2.")).await?;
            b.find(By::Css("#question input")).await?.click().await?;
            wait_text(&b, By::Id("save-status"), |s| s.contains("网络已断开")).await?;
            assert!(saved_answer(&app, &ticket, 2).is_none());
            dev.send_raw("Network.emulateNetworkConditions", offline(false))
                .await?;
            wait_text(&b, By::Id("save-status"), |s| s == "已保存").await?;
            assert!(saved_answer(&app, &ticket, 2).is_some());

            // a second login elsewhere takes over: this page says so and stops
            crate::exams::login(&app, &t).await;
            b.find(By::Id("next")).await?.click().await?;
            b.find(By::Css("#question input")).await?.click().await?;
            wait_text(&b, By::Id("ended-title"), |s| s.contains("其他设备")).await?;

            // back on this computer: sign in again, hand in
            b.refresh().await?;
            exam_login(&b, &t).await?;
            wait_text(&b, By::Id("stem"), |s| s.contains('.')).await?;
            b.find(By::Id("submit")).await?.click().await?;
            b.accept_alert().await?;
            let done = wait_text(&b, By::Id("ended-title"), |s| s.contains("已交卷")).await?;
            assert!(done.contains("已交卷"));
            let text = b.find(By::Id("ended-text")).await?.text().await?;
            assert!(text.contains("得分"), "{text}");
            WebDriverResult::Ok(())
        };
        let result = run.await;
        if result.is_err()
            && let Ok(png) = b.screenshot_as_png().await
        {
            let _ = std::fs::write(
                std::env::temp_dir().join("zhifa-exam-browser-failure.png"),
                png,
            );
        }
        b.quit().await.unwrap();
        result.unwrap();
    }
);

/// Sets a form field by name (date and datetime inputs take their value this way in every locale).
async fn set_value(b: &WebDriver, name: &str, value: &str) -> WebDriverResult<()> {
    b.execute(
        "document.querySelector(`[name=\"${arguments[0]}\"]`).value = arguments[1];",
        vec![serde_json::json!(name), serde_json::json!(value)],
    )
    .await?;
    Ok(())
}

both!(
    an_administrator_runs_plan_approval_batch_and_results_in_the_browser,
    config = |c| c.seed_question_bank = true,
    |app: TestApp| async move {
        let Some(driver) = chromedriver() else { return };
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "KS-LL", "考试流程局", "220702", None)
            .await;
        let mut ids = Vec::new();
        for (i, name) in ["甲一", "乙二", "丙三"].iter().enumerate() {
            let idn = id("220702", "1985-05-05", i as u16 + 1);
            app.officer(&admin, name, &idn, unit).await;
            ids.push(idn);
        }
        let b = browser(&driver).await;
        let run = async {
            sign_in(&b, &app).await?;
            // A unit's plan: three officers and one ID number not in the roster.
            b.goto(app.url("/exams")).await?;
            submit(&b, By::Id("new-plan")).await?;
            b.find(By::Name("title"))
                .await?
                .send_keys("2026年第四批资格考试")
                .await?;
            set_value(&b, "period_start", "2026-12-01").await?;
            set_value(&b, "period_end", "2026-12-31").await?;
            let lines = format!(
                "{}\n{}，持法律职业资格，免考公共法律知识\n{}\n110101199003077777",
                ids[0], ids[1], ids[2]
            );
            b.find(By::Id("plan-candidates"))
                .await?
                .send_keys(&lines)
                .await?;
            submit(&b, By::Id("plan-submit")).await?;
            assert_eq!(b.find(By::Id("plan-status")).await?.text().await?, "待审批");
            let refused = b.find(By::Id("refused")).await?.text().await?;
            assert!(refused.contains("110101199003077777"), "{refused}");
            let table = b.find(By::Id("plan-candidates")).await?.text().await?;
            assert!(table.contains("免考公共法律知识"), "{table}");

            // The bureau approves two of the three collectively.
            b.find(By::XPath(
                "//tr[td[text()='乙二']]//input[@type='checkbox']",
            ))
            .await?
            .click()
            .await?;
            b.find(By::Name("meeting_ref"))
                .await?
                .send_keys("局务会〔2026〕9号")
                .await?;
            set_value(&b, "meeting_date", "2026-11-20").await?;
            b.find(By::Name("deciders"))
                .await?
                .send_keys("张局长、李副局长")
                .await?;
            b.find(By::Name("note"))
                .await?
                .send_keys("乙二免考公共法律知识，另行安排专业科目考试")
                .await?;
            submit(&b, By::Id("approve")).await?;
            assert!(b.current_url().await?.path().starts_with("/exams/plans/"));
            assert_eq!(
                b.find(By::Id("plan-status")).await?.text().await?,
                "部分批准"
            );
            assert!(
                b.find(By::Id("plan-decision"))
                    .await?
                    .text()
                    .await?
                    .contains("局务会〔2026〕9号")
            );

            // A batch from the approved plan, with a session open now.
            b.goto(app.url("/exams")).await?;
            submit(&b, By::Id("new-batch")).await?;
            b.find(By::Name("title"))
                .await?
                .send_keys("2026年第四批行政执法资格考试")
                .await?;
            b.find(By::XPath("//ul[@id='batch-plans']//input"))
                .await?
                .click()
                .await?;
            let now = chrono::Local::now().naive_local();
            let fmt = |t: chrono::NaiveDateTime| t.format("%Y-%m-%dT%H:%M").to_string();
            set_value(
                &b,
                "session_start1",
                &fmt(now - chrono::Duration::minutes(10)),
            )
            .await?;
            set_value(
                &b,
                "session_end1",
                &fmt(now + chrono::Duration::minutes(150)),
            )
            .await?;
            submit(&b, By::Id("batch-submit")).await?;
            assert!(
                b.find(By::Id("scheduled"))
                    .await?
                    .text()
                    .await?
                    .contains("已安排")
            );
            let tally = b.find(By::Id("tally")).await?.text().await?;
            assert!(tally.contains("2 人"), "{tally}");
            let batch_url = b.current_url().await?;
            let batch: i64 = batch_url
                .path()
                .rsplit('/')
                .next()
                .unwrap()
                .parse()
                .unwrap();

            // One candidate sits (tickets printed over the API) and hands in a blank paper.
            let (_, _, pdf) = app
                .download(
                    &format!("/api/v1/exam/batches/{batch}/tickets"),
                    &admin,
                    serde_json::json!({}),
                )
                .await;
            let text = pdf_text(&pdf);
            let ticket = format!(
                "{}-00001",
                text.split("批次 ").nth(1).unwrap().trim().get(..7).unwrap()
            );
            let code = crate::exams::printed_code(&text, &ticket);
            let name_line = text
                .split(&ticket)
                .nth(1)
                .unwrap()
                .split("准 考 证")
                .next()
                .unwrap();
            let idn = ids.iter().find(|i| name_line.contains(i.as_str())).unwrap();
            let token = app
                .post(
                    "/api/v1/exam/login",
                    "",
                    serde_json::json!({"ticket_no": ticket, "id_number": idn, "access_code": code}),
                )
                .await
                .expect(200)["token"]
                .as_str()
                .unwrap()
                .to_string();
            app.post("/api/v1/exam/attempt", &token, serde_json::json!({}))
                .await
                .expect(200);
            app.post("/api/v1/exam/attempt/submit", &token, serde_json::json!({}))
                .await
                .expect(200);

            // The results show it; the statistics page draws the distribution.
            b.goto(batch_url.as_str()).await?;
            let results = b.find(By::Id("results")).await?.text().await?;
            assert!(
                results.contains("已交卷")
                    && results.contains("不合格")
                    && results.contains("未开始"),
                "{results}"
            );
            b.find(By::LinkText("PDF")).await?;
            submit(&b, By::Id("analysis-link")).await?;
            assert!(b.find(By::Css("#distribution svg")).await.is_ok());
            assert!(
                b.find(By::Id("items"))
                    .await?
                    .text()
                    .await?
                    .contains("作答人数不足")
            );
            WebDriverResult::Ok(())
        };
        let outcome = run.await;
        b.quit().await.ok();
        outcome.expect("the exam administration flow works in the browser");
    }
);

/// Submits the certificate page's change form (an empty basis is left blank).
async fn change_state(
    b: &WebDriver,
    action: &str,
    reason: &str,
    basis: &str,
) -> WebDriverResult<()> {
    b.find(By::Id("cert-action"))
        .await?
        .find(By::XPath(format!("./option[@value='{action}']")))
        .await?
        .click()
        .await?;
    b.find(By::Id("cert-reason"))
        .await?
        .send_keys(reason)
        .await?;
    if !basis.is_empty() {
        b.find(By::Id("cert-basis")).await?.send_keys(basis).await?;
    }
    submit(b, By::Id("cert-submit")).await
}

both!(
    certificates_are_issued_from_results_suspended_lifted_and_revoked_in_the_browser,
    config = |c| c.seed_question_bank = true,
    |app: TestApp| async move {
        let Some(driver) = chromedriver() else { return };
        let admin = app.admin().await;
        let s = crate::exams::schedule_full(&app, &admin, 2, true).await;
        let batch = s["batch_id"].as_i64().unwrap();
        for t in s["tickets"].as_array().unwrap() {
            let token = crate::exams::login(&app, t).await;
            let a = app
                .post("/api/v1/exam/attempt", &token, serde_json::json!({}))
                .await
                .expect(200);
            crate::exams::answer_everything_right(&app, &token, &a).await;
            app.post("/api/v1/exam/attempt/submit", &token, serde_json::json!({}))
                .await
                .expect(200);
        }
        let b = browser(&driver).await;
        let run = async {
            sign_in(&b, &app).await?;
            // from the batch page to the preview, then confirm
            b.goto(app.url(&format!("/exams/batches/{batch}"))).await?;
            submit(&b, By::Id("issue-link")).await?;
            let will = b.find(By::Id("will-issue")).await?.text().await?;
            for t in s["tickets"].as_array().unwrap() {
                assert!(will.contains(t["name"].as_str().unwrap()), "{will}");
            }
            submit(&b, By::Id("issue-confirm")).await?;
            let issued = b.find(By::Id("issued")).await?.text().await?;
            assert!(issued.contains("已核发 2 张"), "{issued}");
            let public = |b: &WebDriver| {
                let url = app.url("/public/units/KS-SFJ");
                let b = b.clone();
                async move {
                    b.goto(url).await?;
                    b.find(By::Id("public-count")).await?.text().await
                }
            };
            assert!(public(&b).await?.starts_with("共 2 人"));

            // suspend the first: it leaves the public listing at once
            b.goto(app.url("/certificates?state=有效")).await?;
            b.find(By::Css("#certs tbody tr a")).await?.click().await?;
            let page = b.current_url().await?;
            change_state(&b, "suspend", "涉嫌违法执法，停职调查", "").await?;
            assert!(
                b.find(By::Id("cert-error"))
                    .await?
                    .text()
                    .await?
                    .contains("法律依据")
            );
            change_state(
                &b,
                "suspend",
                "涉嫌违法执法，停职调查",
                "《某省行政执法证件管理办法》第二十条",
            )
            .await?;
            assert_eq!(
                b.find(By::Id("cert-state-now")).await?.text().await?,
                "暂扣"
            );
            assert!(public(&b).await?.starts_with("共 1 人"));

            // lift it: back on the listing; revoke it: off for good
            b.goto(page.as_str()).await?;
            change_state(&b, "lift", "调查结束", "").await?;
            assert_eq!(
                b.find(By::Id("cert-state-now")).await?.text().await?,
                "有效"
            );
            assert!(public(&b).await?.starts_with("共 2 人"));
            b.goto(page.as_str()).await?;
            change_state(
                &b,
                "revoke",
                "以暴力方式执法",
                "《某省行政执法证件管理办法》第二十一条",
            )
            .await?;
            assert_eq!(
                b.find(By::Id("cert-state-now")).await?.text().await?,
                "吊销"
            );
            let events = b.find(By::Id("cert-events")).await?.text().await?;
            assert!(
                events.contains("核发")
                    && events.contains("暂扣")
                    && events.contains("解除暂扣")
                    && events.contains("吊销"),
                "{events}"
            );
            assert!(public(&b).await?.starts_with("共 1 人"));
            WebDriverResult::Ok(())
        };
        let outcome = run.await;
        b.quit().await.ok();
        outcome.expect("certificates work in the browser");
    }
);

both!(
    the_bureau_runs_an_annual_review_in_the_browser,
    |app: TestApp| async move {
        let Some(driver) = chromedriver() else { return };
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "NSB", "年审浏览器局", "220702", None)
            .await;
        let mut numbers = Vec::new();
        for (i, name) in ["甲合格", "乙违纪", "丙未报"].iter().enumerate() {
            let o = app
                .officer(
                    &admin,
                    name,
                    &id("220702", "1982-03-03", i as u16 + 1),
                    unit,
                )
                .await;
            numbers.push(
                app.post(
                    "/api/v1/certificates",
                    &admin,
                    serde_json::json!({"officer_id": o, "issued_on": "2024-05-01", "reason": "资格考试合格"}),
                )
                .await
                .expect(201)["number"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        // the unit's 初审统计表 as the liaison fills it in (two of three; one has a violation)
        let dir = tempfile::tempdir().unwrap();
        let sheet = dir.path().join("初审统计表.csv");
        std::fs::write(
            &sheet,
            format!(
                "序号,姓名,执法证号,是否在行政执法岗位,本年度是否有违纪违法行为,初审意见,备注\n1,甲合格,{},是,否,合格,\n2,乙违纪,{},是,是,合格,\n",
                numbers[0], numbers[1]
            ),
        )
        .unwrap();
        let b = browser(&driver).await;
        let run = async {
            sign_in(&b, &app).await?;
            b.goto(app.url("/reviews")).await?;
            b.find(By::Id("review-year")).await?.clear().await?;
            b.find(By::Id("review-year"))
                .await?
                .send_keys("2026")
                .await?;
            submit(&b, By::Id("review-open-submit")).await?;
            b.find(By::Id("first-file"))
                .await?
                .send_keys(sheet.to_str().unwrap())
                .await?;
            submit(&b, By::Id("first-submit")).await?;
            let said = b.find(By::Id("first-result")).await?.text().await?;
            assert!(said.contains("已记录初审意见 2 条"), "{said}");
            assert_eq!(b.find(By::Id("count-due")).await?.text().await?, "3");
            assert_eq!(b.find(By::Id("count-pass")).await?.text().await?, "1");
            assert_eq!(b.find(By::Id("count-fail")).await?.text().await?, "1");
            assert_eq!(b.find(By::Id("count-missing")).await?.text().await?, "1");
            let items = b.find(By::Id("review-items")).await?.text().await?;
            assert!(items.contains("本年度有违纪违法行为"), "{items}");
            assert!(items.contains("所在单位未报送初审意见"), "{items}");
            // the dashboard shows the round under way
            b.goto(app.url("/")).await?;
            let dash = b.find(By::Id("dash-review")).await?.text().await?;
            assert!(dash.contains("2026 年度"), "{dash}");
            assert_eq!(b.find(By::Id("dash-valid")).await?.text().await?, "3");
            // confirm, overriding the violation with a reason
            b.goto(app.url("/reviews/2026")).await?;
            b.find(By::Id("review-overrides"))
                .await?
                .send_keys(format!("{} 合格 情节轻微，经局务会研究", numbers[1]))
                .await?;
            submit(&b, By::Id("review-apply-submit")).await?;
            let state = wait_text(&b, By::Id("job-state"), |t| t == "完成").await?;
            assert_eq!(state, "完成");
            assert_eq!(b.find(By::Id("job-progress")).await?.text().await?, "3 / 3");
            b.goto(app.url(&format!("/certificates/{}", numbers[2])))
                .await?;
            assert_eq!(
                b.find(By::Id("cert-state-now")).await?.text().await?,
                "暂扣"
            );
            let reviews = b.find(By::Id("cert-reviews")).await?.text().await?;
            assert!(
                reviews.contains("2026") && reviews.contains("未年审"),
                "{reviews}"
            );
            b.goto(app.url(&format!("/certificates/{}", numbers[1])))
                .await?;
            assert_eq!(
                b.find(By::Id("cert-state-now")).await?.text().await?,
                "有效"
            );
            let reviews = b.find(By::Id("cert-reviews")).await?.text().await?;
            assert!(reviews.contains("情节轻微"), "{reviews}");
            WebDriverResult::Ok(())
        };
        let outcome = run.await;
        b.quit().await.ok();
        outcome.expect("the annual review works in the browser");
    }
);

/// What the page fetches from `path` (same session), as text: a JSON answer, or a file in base64.
async fn fetch_in_page(
    b: &WebDriver,
    path: &str,
    form: Option<&str>,
    base64: bool,
) -> WebDriverResult<String> {
    let r = b
        .execute_async(
            r#"
            const [path, form, base64, done] = arguments;
            const init = form ? { method: 'POST', body: new URLSearchParams(new FormData(document.getElementById(form))) } : {};
            fetch(path, init).then(async (r) => {
                if (!base64) { done(await r.text()); return; }
                const bytes = new Uint8Array(await r.arrayBuffer());
                let s = '';
                for (let i = 0; i < bytes.length; i += 0x8000) {
                    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
                }
                done(btoa(s));
            }).catch((e) => done('ERROR ' + e));
            "#,
            vec![serde_json::json!(path), serde_json::json!(form), serde_json::json!(base64)],
        )
        .await?;
    Ok(r.json().as_str().unwrap_or_default().to_string())
}

both!(
    a_card_is_printed_and_verified_online_and_offline_in_the_browser,
    |app: TestApp| async move {
        use base64::Engine;
        use zhifa::verify::rules::{Verdict, check_offline};
        let Some(driver) = chromedriver() else { return };
        let admin = app.admin().await;
        let unit = app
            .unit(
                &admin,
                "LL",
                "松原市宁江区城市管理综合执法局",
                "220702",
                None,
            )
            .await;
        let o = app
            .officer(&admin, "王𬌗䶮", &id("220702", "1979-09-09", 9), unit)
            .await;
        let r = app
            .client
            .put(app.url(&format!("/api/v1/officers/{o}/photo")))
            .bearer_auth(&admin)
            .body(photo_jpeg(300, 400))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        let number = app
            .post(
                "/api/v1/certificates",
                &admin,
                serde_json::json!({"officer_id": o, "issued_on": "2026-03-01", "reason": "考试合格"}),
            )
            .await
            .expect(201)["number"]
            .as_str()
            .unwrap()
            .to_string();
        let b = browser(&driver).await;
        let run = async {
            sign_in(&b, &app).await?;
            // from the certificate to the printing page: previews drawn
            b.goto(app.url(&format!("/certificates/{number}"))).await?;
            submit(&b, By::Id("cert-print-link")).await?;
            let loaded = b
                .execute_async(
                    r#"const done = arguments[0];
                    const imgs = [...document.querySelectorAll('img.card-preview')];
                    Promise.all(imgs.map(i => i.complete ? 0 : new Promise(r => { i.onload = r; i.onerror = r; })))
                      .then(() => done(imgs.map(i => i.naturalWidth)));"#,
                    Vec::new(),
                )
                .await?;
            let widths: Vec<u64> = loaded.convert()?;
            assert_eq!(widths.len(), 2, "front and back previews");
            assert!(widths.iter().all(|w| *w > 0), "{widths:?}");
            // print: the rare name is in the PDF's text layer
            let pdf = fetch_in_page(&b, "/cards/print", Some("cards-form"), true).await?;
            let pdf = base64::engine::general_purpose::STANDARD
                .decode(pdf)
                .expect("a PDF");
            assert!(pdf.starts_with(b"%PDF"));
            assert!(pdf_text(&pdf).contains("王𬌗䶮"));

            // what an inspector takes along before going offline
            let qr: serde_json::Value = serde_json::from_str(
                &fetch_in_page(
                    &b,
                    &format!("/api/v1/certificates/{number}/qr"),
                    None,
                    false,
                )
                .await?,
            )
            .unwrap();
            let link = qr["link"].as_str().unwrap().to_string();
            let keys: zhifa::verify::PublishedKeys =
                serde_json::from_str(&fetch_in_page(&b, "/api/v1/keys", None, false).await?)
                    .unwrap();
            let keys = keys.to_public_keys();
            let before: zhifa::verify::StatusList =
                serde_json::from_str(&fetch_in_page(&b, "/api/v1/status-list", None, false).await?)
                    .unwrap();

            // the QR's page and the typed number both say valid
            b.goto(app.url(&format!("/v/{}", qr["payload"].as_str().unwrap())))
                .await?;
            assert!(
                b.find(By::Id("verify-qr"))
                    .await?
                    .text()
                    .await?
                    .contains("签名有效")
            );
            assert!(
                b.find(By::Id("verify-state"))
                    .await?
                    .text()
                    .await?
                    .contains("有效")
            );
            b.goto(app.url("/verify")).await?;
            b.find(By::Id("verify-input"))
                .await?
                .send_keys(&number)
                .await?;
            submit(&b, By::Id("verify-submit")).await?;
            assert!(
                b.find(By::Id("verify-state"))
                    .await?
                    .text()
                    .await?
                    .contains("有效")
            );
            assert_eq!(b.find(By::Id("verify-name")).await?.text().await?, "王*䶮");

            // revoked on the certificate page: the verification page changes
            b.goto(app.url(&format!("/certificates/{number}"))).await?;
            change_state(
                &b,
                "revoke",
                "以暴力方式执法",
                "某省行政执法证件管理办法第二十一条",
            )
            .await?;
            b.goto(app.url(&format!("/verify?number={number}"))).await?;
            assert!(
                b.find(By::Id("verify-state"))
                    .await?
                    .text()
                    .await?
                    .contains("吊销")
            );
            let after: zhifa::verify::StatusList =
                serde_json::from_str(&fetch_in_page(&b, "/api/v1/status-list", None, false).await?)
                    .unwrap();

            // offline: the list from before the revocation misses it, the one after catches it
            let today = chrono::Utc::now().date_naive();
            let v = check_offline(&link, &keys, Some(&before.open(&keys).unwrap()), today);
            assert_eq!(v.verdict, Verdict::Valid);
            let v = check_offline(&link, &keys, Some(&after.open(&keys).unwrap()), today);
            assert_eq!(v.verdict, Verdict::Revoked);
            WebDriverResult::Ok(())
        };
        let outcome = run.await;
        b.quit().await.ok();
        outcome.expect("cards print and verify in the browser");
    }
);
