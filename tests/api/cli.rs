//! The binary as an operator runs it (SQLite in a temporary directory).

use std::process::Command;

fn zhifa(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let (code, text) = zhifa_code(dir, args);
    (code == 0, text)
}

/// `zhifa` with its exit code, and what it printed (stdout, then stderr).
fn zhifa_code(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhifa"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("ZHIFA_DATA_DIR", dir.join("data"))
        .env("ZHIFA_LOG", "warn")
        .output()
        .expect("run zhifa");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `zhifa serve` over the data directory in `d` on `port`, its output discarded.
fn serve_in(d: &std::path::Path, port: u16, admin_password: Option<&str>) -> std::process::Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zhifa"));
    cmd.arg("serve")
        .current_dir(d)
        .env_remove("DATABASE_URL")
        .env("ZHIFA_DATA_DIR", d.join("data"))
        .env("ZHIFA_BIND", format!("127.0.0.1:{port}"))
        .env("ZHIFA_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    if let Some(pw) = admin_password {
        cmd.env("ZHIFA_ADMIN_PASSWORD", pw);
    }
    cmd.spawn().unwrap()
}

/// Waits until the server answers /healthz with 200.
async fn wait_healthy(client: &reqwest::Client, base: &str) {
    for _ in 0..400 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("server did not start");
}

#[test]
fn demo_data_import_export_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out) = zhifa(d, &["migrate"]);
    assert!(ok, "{out}");
    assert!(d.join("data/zhifa.db").exists());
    let (ok, out) = zhifa(d, &["demo-data", "--officers", "300"]);
    assert!(ok, "{out}");
    assert!(out.contains("新增 300 人"), "{out}");
    let (ok, out) = zhifa(
        d,
        &[
            "demo-data",
            "--officers",
            "50",
            "--seed",
            "7",
            "--sheet",
            "more.xlsx",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = zhifa(d, &["import", "officers", "more.xlsx"]);
    assert!(ok, "{out}");
    assert!(out.contains("新增：50"), "{out}");
    // a sheet with errors: the report names the row, and the exit code says it failed
    std::fs::write(
        d.join("bad.csv"),
        "姓名,身份证号,所在单位,人员性质\n张三,110105194912310021,松原市,行政编制\n",
    )
    .unwrap();
    let (ok, out) = zhifa(d, &["import", "officers", "bad.csv"]);
    assert!(!ok);
    assert!(
        out.contains("第 2 行") && out.contains("校验位错误"),
        "{out}"
    );
    // a dry run of the same file fails the same way, and can write the sheet to send back
    let (ok, out) = zhifa(
        d,
        &[
            "import",
            "officers",
            "bad.csv",
            "--dry-run",
            "--errors",
            "back.xlsx",
        ],
    );
    assert!(!ok, "{out}");
    assert!(out.contains("校验位错误"), "{out}");
    assert!(d.join("back.xlsx").exists());
    let (ok, out) = zhifa(
        d,
        &[
            "import",
            "officers",
            "bad.csv",
            "--dry-run",
            "--skip-invalid",
        ],
    );
    assert!(ok, "{out}");
    let (ok, out) = zhifa(d, &["export", "officers", "all.xlsx"]);
    assert!(ok, "{out}");
    assert!(std::fs::metadata(d.join("all.xlsx")).unwrap().len() > 10_000);
    let (ok, out) = zhifa(d, &["audit", "verify"]);
    assert!(ok && out.contains("审计日志完整"), "{out}");
    let (ok, out) = zhifa(d, &["admin", "create", "chief"]);
    assert!(ok && out.contains("只显示这一次"), "{out}");
    let (ok, out) = zhifa(d, &["admin", "reset-password", "chief"]);
    assert!(ok && out.contains("只显示这一次"), "{out}");
}

/// A server killed (SIGKILL) in the middle of a large import leaves all of it or none of it, and an
/// intact audit chain; the restarted server serves the same database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_import_leaves_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out) = zhifa(
        d,
        &["demo-data", "--officers", "20000", "--sheet", "big.xlsx"],
    );
    assert!(ok, "{out}");
    let port = free_port();
    let start = || serve_in(d, port, Some("Kill-Test-2026"));
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let wait_ready = || wait_healthy(&client, &base);
    let token = || async {
        let r: serde_json::Value = client
            .post(format!("{base}/api/v1/auth/token"))
            .json(&serde_json::json!({"username": "admin", "password": "Kill-Test-2026"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        r["token"].as_str().unwrap().to_string()
    };
    let mut server = start();
    wait_ready().await;
    let t = token().await;
    let sheet = std::fs::read(d.join("big.xlsx")).unwrap();
    let upload = {
        let client = client.clone();
        let url = format!("{base}/api/v1/imports/officers?filename=big.xlsx&apply=true");
        let t = t.clone();
        tokio::spawn(async move { client.post(url).bearer_auth(t).body(sheet).send().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    // answered before the kill: it must have committed; cut off: all or nothing
    let answered = matches!(upload.await, Ok(Ok(r)) if r.status() == 200);
    eprintln!("import answered before the kill: {answered}");

    let mut server = start();
    wait_ready().await;
    let t = token().await;
    let page: serde_json::Value = client
        .get(format!("{base}/api/v1/officers?per_page=1"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let total = page["total"].as_i64().unwrap();
    assert!(
        total == 0 || total == 20000,
        "a partial import survived: {total}"
    );
    if answered {
        assert_eq!(total, 20000, "an acknowledged import was lost");
    }
    let v: serde_json::Value = client
        .get(format!("{base}/api/v1/audit/verify"))
        .bearer_auth(&t)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["intact"], true, "{v}");
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn the_question_bank_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bank = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("question-bank");
    let bank = bank.to_str().unwrap();
    let (ok, out) = zhifa(d, &["import", "questions", bank]);
    assert!(ok, "{out}");
    assert!(out.contains("更新（生成新版本）0，未改动 0"), "{out}");
    // idempotent: nothing is duplicated
    let (ok, out) = zhifa(d, &["import", "questions", bank]);
    assert!(ok, "{out}");
    assert!(out.contains("新增 0，更新（生成新版本）0"), "{out}");
    // export and re-import both formats unchanged
    for name in ["bank.xlsx", "bank.toml"] {
        let (ok, out) = zhifa(d, &["export", "questions", name]);
        assert!(ok, "{out}");
        let (ok, out) = zhifa(d, &["import", "questions", name]);
        assert!(ok && out.contains("新增 0，更新（生成新版本）0"), "{out}");
    }
    // a file with an error: non-zero exit, the row named, nothing written
    std::fs::write(
        d.join("bad.toml"),
        "[[questions]]\nid = \"B-1\"\ntype = \"单选\"\npart = \"公共\"\nstem = \"x\"\noptions = [\"甲\", \"乙\"]\nanswer = \"C\"\ndifficulty = 3\n",
    )
    .unwrap();
    let (ok, out) = zhifa(d, &["import", "questions", "bad.toml", "--dry-run"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("bad.toml 第 1 题（B-1）") && out.contains("不在选项之中"),
        "{out}"
    );
    // the audit chain still verifies after the imports
    let (ok, out) = zhifa(d, &["audit", "verify"]);
    assert!(ok, "{out}");
}

/// The server killed with SIGKILL mid-exam: every acknowledged answer is there after the
/// restart, and the candidate resumes with the time they had left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_server_loses_no_acknowledged_answer() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out) = zhifa(d, &["demo-data", "--officers", "60"]);
    assert!(ok, "{out}");
    let (ok, out) = zhifa(
        d,
        &[
            "exam",
            "demo",
            "--candidates",
            "5",
            "--tickets",
            "t.csv",
            "--minutes",
            "30",
        ],
    );
    assert!(ok, "{out}");
    let csv = std::fs::read_to_string(d.join("t.csv")).unwrap();
    let line: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    let port = free_port();
    let serve = || serve_in(d, port, None);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let login = |client: reqwest::Client, base: String| {
        let body =
            serde_json::json!({"ticket_no": line[0], "id_number": line[1], "access_code": line[2]});
        async move {
            let r: serde_json::Value = client
                .post(format!("{base}/api/v1/exam/login"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            r["token"].as_str().unwrap().to_string()
        }
    };
    let mut server = serve();
    wait_healthy(&client, &base).await;
    let token = login(client.clone(), base.clone()).await;
    let attempt: serde_json::Value = client
        .post(format!("{base}/api/v1/exam/attempt"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut acknowledged = vec![];
    for q in attempt["questions"].as_array().unwrap().iter().take(30) {
        let pos = q["position"].as_i64().unwrap();
        let answer = if q["type"] == "多选" {
            serde_json::json!(["A", "B"])
        } else {
            serde_json::json!("A")
        };
        let r = client
            .put(format!("{base}/api/v1/exam/attempt/answers/{pos}"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"answer": answer}))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            acknowledged.push((pos, answer));
        }
    }
    assert_eq!(acknowledged.len(), 30);
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();

    let mut server = serve();
    wait_healthy(&client, &base).await;
    let token = login(client.clone(), base.clone()).await;
    let again: serde_json::Value = client
        .post(format!("{base}/api/v1/exam/attempt"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again["resumed"], true);
    assert_eq!(again["deadline"], attempt["deadline"]);
    for (pos, answer) in &acknowledged {
        assert_eq!(
            &again["questions"][(*pos - 1) as usize]["answer"],
            answer,
            "position {pos}"
        );
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn existing_certificates_import_checked_whole_then_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ids: Vec<String> = (1..=3)
        .map(|i| crate::helpers::id("220702", "1982-04-04", i))
        .collect();
    std::fs::write(
        d.join("roster.csv"),
        format!(
            "姓名,身份证号,所在单位,人员性质\n甲一,{},松原市司法局,行政编制\n乙二,{},松原市司法局,行政编制\n丙三,{},松原市司法局,行政编制\n",
            ids[0], ids[1], ids[2]
        ),
    )
    .unwrap();
    let (ok, out) = zhifa(d, &["import", "officers", "roster.csv", "--create-units"]);
    assert!(ok, "{out}");
    let stranger = crate::helpers::id("220702", "1982-04-04", 9);
    std::fs::write(
        d.join("certs.csv"),
        format!(
            "序号,姓名,身份证号,证件号码,发证机关,证件有效期\n\
             1,甲一,{},吉A0001,吉林省人民政府,2020.02-2026.02\n\
             2,乙二,{},松原执字第00123号,松原市人民政府,2028-06-01\n\
             3,丙三,{},吉A0003,,2028.6\n\
             4,丁四,{stranger},吉A0004,,2028.6\n\
             5,乙二,{},吉A0001,,2030年12月\n",
            ids[0], ids[1], ids[2], ids[1]
        ),
    )
    .unwrap();
    // errors: reported by row and column, nothing written, non-zero exit
    let (ok, out) = zhifa(d, &["import", "certificates", "certs.csv"]);
    assert!(!ok, "{out}");
    assert!(out.contains("第 5 行 身份证号：名录库中没有此人"), "{out}");
    assert!(
        out.contains("第 6 行 执法证号：与第 2 行的执法证号重复"),
        "{out}"
    );
    assert!(out.contains("未导入任何执法证"), "{out}");
    let (ok, out) = zhifa(
        d,
        &[
            "import",
            "certificates",
            "certs.csv",
            "--dry-run",
            "--skip-invalid",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("可导入 3 张"), "{out}");
    // the good rows, and the numbers kept as written
    let (ok, out) = zhifa(
        d,
        &["import", "certificates", "certs.csv", "--skip-invalid"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("可导入 3 张"), "{out}");
    let (ok, out) = zhifa(
        d,
        &["import", "certificates", "certs.csv", "--skip-invalid"],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("可导入 0 张，已登记 3 张"),
        "importing again adds nothing: {out}"
    );
    let (ok, out) = zhifa(d, &["export", "certificates", "register.xlsx"]);
    assert!(ok, "{out}");
    let bytes = std::fs::read(d.join("register.xlsx")).unwrap();
    assert!(bytes.starts_with(b"PK"));
}

#[test]
fn demo_data_makes_a_register_that_exports_and_imports_back() {
    let a = tempfile::tempdir().unwrap();
    let (ok, out) = zhifa(
        a.path(),
        &["demo-data", "--officers", "300", "--certificates"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("执法证：核发"), "{out}");
    let (ok, out) = zhifa(a.path(), &["export", "certificates", "certs.xlsx"]);
    assert!(ok, "{out}");
    // the same roster elsewhere takes the register back, once
    let b = tempfile::tempdir().unwrap();
    std::fs::copy(a.path().join("certs.xlsx"), b.path().join("certs.xlsx")).unwrap();
    let (ok, out) = zhifa(b.path(), &["demo-data", "--officers", "300"]);
    assert!(ok, "{out}");
    let (ok, out) = zhifa(b.path(), &["import", "certificates", "certs.xlsx"]);
    assert!(ok, "{out}");
    assert!(out.contains("有误 0 行"), "{out}");
    let (ok, out) = zhifa(b.path(), &["import", "certificates", "certs.xlsx"]);
    assert!(ok, "{out}");
    assert!(out.contains("可导入 0 张"), "{out}");
}

#[test]
fn the_annual_review_runs_from_the_command_line() {
    let d = tempfile::tempdir().unwrap();
    let year = chrono::Datelike::year(&chrono::Utc::now().date_naive()).to_string();
    let (ok, out) = zhifa(
        d.path(),
        &["demo-data", "--officers", "300", "--certificates"],
    );
    assert!(ok, "{out}");
    assert!(out.contains("年审：往年审定"), "{out}");
    let (ok, out) = zhifa(d.path(), &["review", "run", &year, "--dry-run"]);
    assert!(ok, "{out}");
    assert!(out.contains("（只预览，未写入）"), "{out}");
    let due: usize = out
        .split("待审 ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!(due > 100, "most of the demo register is due: {out}");
    let (ok, out) = zhifa(d.path(), &["review", "run", &year]);
    assert!(ok, "{out}");
    assert!(out.contains(&format!("已审定 {due} 张")), "{out}");
    let (ok, out) = zhifa(d.path(), &["review", "run", &year, "--dry-run"]);
    assert!(ok, "{out}");
    assert!(out.contains("待审 0 张"), "decided once: {out}");
    // the audit chain still verifies after the review's thousands of changes
    let (ok, out) = zhifa(d.path(), &["audit", "verify"]);
    assert!(ok, "{out}");
    // next year's round is not open yet: a dry run previews it with this year's rules
    let next = (year.parse::<i32>().unwrap() + 1).to_string();
    let (ok, out) = zhifa(d.path(), &["review", "run", &next, "--dry-run"]);
    assert!(ok, "{out}");
    assert!(out.contains("尚未开启"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_are_printed_and_checked_offline_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (ok, out) = zhifa(
        d,
        &[
            "demo-data",
            "--officers",
            "120",
            "--certificates",
            "--photos",
            "SY",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("示例证件照"), "{out}");
    let (ok, out) = zhifa(d, &["cards", "print", "city.pdf", "--unit", "SY"]);
    assert!(ok, "{out}");
    assert!(out.contains("张执法证"), "{out}");
    assert!(
        std::fs::read(d.join("city.pdf"))
            .unwrap()
            .starts_with(b"%PDF")
    );
    let (ok, out) = zhifa(d, &["cards", "print", "none.pdf", "不存在的证号"]);
    assert!(!ok && out.contains("不存在的证号"), "{out}");
    assert!(!d.join("none.pdf").exists());

    // the bureau's server publishes the keys and the status list; the inspector keeps them
    let port = free_port();
    let mut server = serve_in(d, port, Some("Cards-Test-2026"));
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_healthy(&client, &base).await;
    let token = client
        .post(format!("{base}/api/v1/auth/token"))
        .json(&serde_json::json!({"username": "admin", "password": "Cards-Test-2026"}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let page: serde_json::Value = client
        .get(format!("{base}/api/v1/certificates?state=有效"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let number = page["items"][0]["number"].as_str().unwrap().to_string();
    let qr: serde_json::Value = client
        .get(format!("{base}/api/v1/certificates/{number}/qr"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let link = qr["link"].as_str().unwrap().to_string();
    let fetch = |path: &'static str, file: &'static str| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let text = client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            std::fs::write(d.join(file), text).unwrap();
        }
    };
    fetch("/api/v1/keys", "keys.json").await;
    fetch("/api/v1/status-list", "before.json").await;
    let offline = |list: &str| {
        zhifa_code(
            d,
            &[
                "verify-qr",
                &link,
                "--keys",
                "keys.json",
                "--status-list",
                list,
            ],
        )
    };
    let (code, out) = offline("before.json");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("有效（valid）") && out.contains(&number),
        "{out}"
    );
    let mut forged = link.clone();
    let at = forged.len() - 10;
    forged.replace_range(
        at..at + 1,
        if &forged[at..at + 1] == "A" { "B" } else { "A" },
    );
    let (code, out) = zhifa_code(d, &["verify-qr", &forged, "--keys", "keys.json"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("forged"), "{out}");

    let r = client
        .post(format!("{base}/api/v1/certificates/{number}/state"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"action": "revoke", "reason": "以暴力方式执法", "basis": "某省行政执法证件管理办法第二十一条"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    fetch("/api/v1/status-list", "after.json").await;
    let _ = server.kill();
    let _ = server.wait();
    // no server now: yesterday's list missed it, today's catches it
    let (code, out) = offline("after.json");
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("revoked"), "{out}");
    let (code, _) = offline("before.json");
    assert_eq!(code, 0);
    // a list someone edited is refused outright
    let edited = std::fs::read_to_string(d.join("after.json"))
        .unwrap()
        .replace("\"issuer\":\"", "\"issuer\":\"x");
    std::fs::write(d.join("edited.json"), edited).unwrap();
    let (code, out) = offline("edited.json");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("签名无效"), "{out}");
}
