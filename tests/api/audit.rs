use crate::both;
use crate::helpers::*;
use serde_json::json;

both!(
    every_change_is_chained_and_tampering_is_detected,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "U", "扶余市应急管理局", "220781", None)
            .await;
        let o = app
            .officer(&admin, "郑十", &id("220781", "1982-02-02", 1), unit)
            .await;
        app.patch(
            &format!("/api/v1/officers/{o}"),
            &admin,
            json!({"phone": "0438-1234567"}),
        )
        .await
        .expect(200);
        let log = app
            .get(
                &format!("/api/v1/audit?entity_type=officer&entity_id={o}"),
                &admin,
            )
            .await
            .expect(200);
        let items = log["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        let update = &items[0];
        assert_eq!(update["action"], "officer.update");
        assert_eq!(update["actor"], "admin");
        assert_eq!(update["ip"], "127.0.0.1");
        assert!(update["summary"].as_str().unwrap().contains("联系电话"));
        let before: serde_json::Value =
            serde_json::from_str(update["before_json"].as_str().unwrap()).unwrap();
        let after: serde_json::Value =
            serde_json::from_str(update["after_json"].as_str().unwrap()).unwrap();
        assert_eq!(before["phone"], "");
        assert_eq!(after["phone"], "0438-1234567");
        assert_eq!(
            app.get("/api/v1/audit/verify", &admin).await.expect(200)["intact"],
            true
        );

        // the log refuses changes through SQL
        let mut c = app.conn();
        use diesel::RunQueryDsl;
        assert!(
            diesel::sql_query("UPDATE audit_log SET summary = 'x'")
                .execute(&mut *c)
                .is_err()
        );
        assert!(
            diesel::sql_query("DELETE FROM audit_log")
                .execute(&mut *c)
                .is_err()
        );
        // someone who gets past the trigger is still caught by the chain
        match app.backend {
            zhifa::db::Backend::Sqlite => app.sql("DROP TRIGGER audit_log_no_update"),
            zhifa::db::Backend::Postgres => {
                app.sql("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change")
            }
        }
        let seq = update["seq"].as_i64().unwrap();
        app.sql(&format!(
            "UPDATE audit_log SET after_json = '{{\"phone\":\"13900000000\"}}' WHERE seq = {seq}"
        ));
        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert_eq!(v["intact"], false);
        assert!(
            v["problems"][0]
                .as_str()
                .unwrap()
                .contains(&format!("第 {seq} 条")),
            "{v}"
        );
        app.browser_login("admin", ADMIN_PASSWORD).await;
        let (_, html) = app.page("/audit/verify").await;
        assert!(html.contains("发现问题"));
    }
);

both!(
    concurrent_writers_keep_one_unbroken_chain,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "U", "长岭县生态环境局", "220722", None)
            .await;
        let mut tasks = Vec::new();
        for i in 0..24u16 {
            let client = app.client.clone();
            let url = app.url("/api/v1/officers");
            let token = admin.clone();
            tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"name": "并发", "id_number": id("220722", "1986-06-06", i * 2 + 1), "unit_id": unit, "employment_type": "行政编制"}))
                .send()
                .await
                .unwrap()
                .status()
        }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 201);
        }
        assert_eq!(
            app.get("/api/v1/officers", &admin).await.expect(200)["total"],
            24
        );
        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert_eq!(v["intact"], true, "{v}");
        assert_eq!(
            v["entries"],
            1 + 1 + 1 + 24,
            "admin, its sign-in, unit, 24 officers: {v}"
        );
    }
);

/// Creates a unit with the given `X-Forwarded-For` and returns the address the audit recorded.
async fn audited_address(app: &TestApp, forwarded_for: &str) -> String {
    let admin = app.admin().await;
    let r = app
        .client
        .post(app.url("/api/v1/units"))
        .bearer_auth(&admin)
        .header("X-Forwarded-For", forwarded_for)
        .json(&json!({"code": "P1", "name": "甲局", "region_code": "220702"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let log = app
        .get("/api/v1/audit?entity_type=unit", &admin)
        .await
        .expect(200);
    log["items"][0]["ip"].as_str().unwrap().to_string()
}

both!(
    forged_forwarding_headers_are_ignored,
    |app: TestApp| async move {
        // no proxy is trusted by default: the header changes nothing
        assert_eq!(audited_address(&app, "203.0.113.7").await, "127.0.0.1");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxy_forwards_the_client_address() {
    let app = spawn_app_with(zhifa::db::Backend::Sqlite, |c| {
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]
    })
    .await
    .unwrap();
    // the right-most hop that is not a trusted proxy
    assert_eq!(
        audited_address(&app, "198.51.100.9, 203.0.113.7").await,
        "203.0.113.7"
    );
}

// ---- signed checkpoints: someone who can write the database can't rewrite the log unnoticed ----

use zhifa::audit::db::Entry;

/// Every entry of the log, in order.
fn entries(app: &TestApp) -> Vec<Entry> {
    let mut c = app.conn();
    zhifa::audit::db::entries_from(&mut c, 1, 1_000_000).unwrap()
}

/// Signs the head now (as the server does every minute) and returns the newest checkpoint.
fn sign(app: &TestApp) -> zhifa::audit::Checkpoint {
    let mut c = app.conn();
    let witness = app.state.config.audit_witness_file();
    zhifa::audit::checkpoint(&mut c, &app.state.keyring, Some(&witness)).unwrap();
    zhifa::audit::latest_checkpoint(&mut c).unwrap().unwrap()
}

const SQLITE_TRIGGERS: [&str; 4] = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log\nBEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log\nBEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
    "CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints\nBEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;",
    "CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints\nBEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;",
];

/// Runs SQL the way an intruder with database access would: the append-only triggers set aside
/// for the moment, then put back exactly as they were (so only the rewrite itself is left to find).
fn behind_the_triggers(app: &TestApp, statements: &[String]) {
    match app.backend {
        zhifa::db::Backend::Sqlite => {
            for t in [
                "audit_log_no_update",
                "audit_log_no_delete",
                "audit_checkpoints_no_update",
                "audit_checkpoints_no_delete",
            ] {
                app.sql(&format!("DROP TRIGGER {t}"));
            }
        }
        zhifa::db::Backend::Postgres => {
            app.sql("ALTER TABLE audit_log DISABLE TRIGGER USER");
            app.sql("ALTER TABLE audit_checkpoints DISABLE TRIGGER USER");
        }
    }
    for s in statements {
        app.sql(s);
    }
    match app.backend {
        zhifa::db::Backend::Sqlite => {
            for t in SQLITE_TRIGGERS {
                app.sql(t);
            }
        }
        zhifa::db::Backend::Postgres => {
            app.sql("ALTER TABLE audit_log ENABLE TRIGGER USER");
            app.sql("ALTER TABLE audit_checkpoints ENABLE TRIGGER USER");
        }
    }
}

/// Runs the `zhifa` binary against the app's database and data directory (key, witness file).
fn cli(app: &TestApp, args: &[&str]) -> (bool, String, String) {
    let config = &app.state.config;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zhifa"))
        .args(args)
        .current_dir(&config.data_dir)
        .env("DATABASE_URL", &config.database_url)
        .env("ZHIFA_DATA_DIR", &config.data_dir)
        .env_remove("ZHIFA_SIGNING_KEY_FILE")
        .env_remove("ZHIFA_CONFIG")
        .env("ZHIFA_LOG", "warn")
        .output()
        .expect("run zhifa");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Some audited changes: a unit, three officers, an edit.
async fn some_changes(app: &TestApp, admin: &str) {
    let unit = app
        .unit(admin, "Q", "前郭县市场监督管理局", "220721", None)
        .await;
    let mut last = 0;
    for i in 1..=3u16 {
        last = app
            .officer(admin, "签名", &id("220721", "1979-09-09", i), unit)
            .await;
    }
    app.patch(
        &format!("/api/v1/officers/{last}"),
        admin,
        json!({"phone": "0438-7654321"}),
    )
    .await
    .expect(200);
}

fn problems(v: &serde_json::Value) -> Vec<String> {
    v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

both!(
    a_signed_clean_log_verifies_with_nothing_unsigned,
    |app: TestApp| async move {
        let admin = app.admin().await;
        some_changes(&app, &admin).await;
        let cp = sign(&app);
        let all = entries(&app);
        let last = all.last().unwrap();
        assert_eq!((cp.seq, &cp.hash), (last.seq, &last.hash));
        assert_eq!(cp.key_id, app.state.keyring.key_id());

        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert_eq!(v["intact"], true, "{v}");
        assert_eq!(v["problems"], json!([]), "{v}");
        assert_eq!(v["unsigned_tail"], 0, "{v}");
        assert_eq!(v["signed_seq"], last.seq, "{v}");
        assert_eq!(v["entries"], all.len(), "{v}");
        assert!(v["checkpoints"].as_i64().unwrap() >= 1, "{v}");
        assert!(v["witness_lines"].as_i64().unwrap() >= 1, "{v}");
        assert_eq!(v["notes"], json!([]), "{v}");

        // the witness file outside the database holds the same signed head
        let witness = std::fs::read_to_string(app.state.config.audit_witness_file()).unwrap();
        let line: zhifa::audit::Checkpoint =
            serde_json::from_str(witness.lines().last().unwrap()).unwrap();
        assert_eq!(line, cp);

        // the command line agrees, and prints the signed head for archiving
        let (ok, out, err) = cli(&app, &["audit", "verify"]);
        assert!(ok && out.contains("审计日志完整"), "{out}{err}");
        let (ok, out, err) = cli(&app, &["audit", "checkpoint"]);
        assert!(ok, "{out}{err}");
        let printed: zhifa::audit::Checkpoint = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(printed, cp);

        // a new change is information, not tampering: signed at the next checkpoint
        app.unit(&admin, "Q2", "乾安县应急管理局", "220723", None)
            .await;
        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert_eq!(v["intact"], true, "{v}");
        let unsigned = v["unsigned_tail"].as_i64().unwrap();
        assert_eq!(unsigned, v["entries"].as_i64().unwrap() - last.seq, "{v}");
        if unsigned > 0 {
            assert!(
                v["notes"][0]
                    .as_str()
                    .unwrap()
                    .contains(&format!("最近 {unsigned} 条尚未签名")),
                "{v}"
            );
        }
        app.browser_login("admin", ADMIN_PASSWORD).await;
        let (_, html) = app.page("/audit/verify").await;
        assert!(
            html.contains("完整：") && html.contains("尚未签名"),
            "{html}"
        );
    }
);

both!(
    a_rewritten_log_with_recomputed_hashes_is_caught,
    |app: TestApp| async move {
        let admin = app.admin().await;
        some_changes(&app, &admin).await;
        let cp = sign(&app);
        // change one entry, then recompute every later hash and the head: the chain itself is
        // consistent again
        let mut all = entries(&app);
        let k = all.iter().position(|e| e.action == "unit.create").unwrap();
        all[k].summary = "新建单位 伪造的名称".into();
        let mut statements = Vec::new();
        for i in k..all.len() {
            if i > k {
                all[i].prev_hash = all[i - 1].hash.clone();
            }
            all[i].hash = zhifa::audit::rules::hash_of(&all[i]);
            statements.push(format!(
                "UPDATE audit_log SET summary = '{}', prev_hash = '{}', hash = '{}' WHERE seq = {}",
                all[i].summary, all[i].prev_hash, all[i].hash, all[i].seq
            ));
        }
        let head = all.last().unwrap().clone();
        statements.push(format!(
            "UPDATE audit_head SET seq = {}, hash = '{}' WHERE id = 1",
            head.seq, head.hash
        ));
        behind_the_triggers(&app, &statements);

        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert_eq!(v["intact"], false, "{v}");
        let found = problems(&v);
        // the walk alone sees nothing wrong; the signature does, and so does the witness file
        assert!(
            !found.iter().any(|p| p.contains("哈希不符（已被改动）")),
            "{v}"
        );
        let by_checkpoint = found
            .iter()
            .find(|p| p.contains("签名检查点"))
            .unwrap_or_else(|| panic!("{v}"));
        assert!(
            by_checkpoint.contains("被改写")
                && by_checkpoint.contains(&format!("第 {} 条", cp.seq)),
            "{by_checkpoint}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.contains("见证文件") && p.contains("被改写")),
            "{v}"
        );
        assert_eq!(found.len(), 2, "{v}");

        // the server won't sign the rewritten head
        let mut c = app.conn();
        let witness = app.state.config.audit_witness_file();
        assert!(zhifa::audit::checkpoint(&mut c, &app.state.keyring, Some(&witness)).is_err());
        drop(c);

        // nor does a checkpoint signed with the intruder's own key help
        let dir = tempfile::tempdir().unwrap();
        let forger = zhifa::signing::Keyring::load_or_create(
            &dir.path().join("k"),
            zhifa::signing::Algorithm::Ed25519,
        )
        .unwrap();
        let at = zhifa::db::now();
        let sig = hex::encode(forger.sign(&zhifa::audit::rules::checkpoint_message(
            head.seq, &head.hash, &at,
        )));
        let at = at.format("%Y-%m-%d %H:%M:%S%.6f");
        app.sql(&format!(
            "INSERT INTO audit_checkpoints (seq, hash, signed_at, key_id, signature) VALUES ({}, '{}', '{at}', '{}', '{sig}')",
            head.seq,
            head.hash,
            forger.key_id()
        ));
        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert!(
            problems(&v)
                .iter()
                .any(|p| p.contains("未知的密钥") && p.contains(forger.key_id())),
            "{v}"
        );

        let (ok, out, _) = cli(&app, &["audit", "verify"]);
        assert!(!ok && out.contains("被改写"), "{out}");
        app.browser_login("admin", ADMIN_PASSWORD).await;
        let (_, html) = app.page("/audit/verify").await;
        assert!(
            html.contains("发现问题") && html.contains("被改写"),
            "{html}"
        );
    }
);

both!(
    a_truncated_log_is_caught_by_the_checkpoint_and_the_witness,
    |app: TestApp| async move {
        let admin = app.admin().await;
        sign(&app);
        some_changes(&app, &admin).await;
        let cp = sign(&app);
        // drop the last two entries and move the head back to the one before
        let all = entries(&app);
        let keep = &all[all.len() - 3];
        behind_the_triggers(
            &app,
            &[
                format!("DELETE FROM audit_log WHERE seq > {}", keep.seq),
                format!(
                    "UPDATE audit_head SET seq = {}, hash = '{}' WHERE id = 1",
                    keep.seq, keep.hash
                ),
            ],
        );
        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert_eq!(v["intact"], false, "{v}");
        let found = problems(&v);
        assert!(
            !found.iter().any(|p| p.contains("链尾不符")),
            "the chain alone looks whole: {v}"
        );
        assert!(
            found.iter().any(|p| p.contains("签名检查点")
                && p.contains("截断")
                && p.contains(&format!("第 {} 条", cp.seq))
                && p.contains(&format!("只到第 {} 条", keep.seq))),
            "{v}"
        );
        // an old, validly signed checkpoint copied to the end doesn't pass for a new one
        app.sql(
            "INSERT INTO audit_checkpoints (seq, hash, signed_at, key_id, signature) \
             SELECT seq, hash, signed_at, key_id, signature FROM audit_checkpoints \
             WHERE id = (SELECT MIN(id) FROM audit_checkpoints)",
        );
        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert!(
            problems(&v).iter().any(|p| p.contains("签名检查点倒退")),
            "{v}"
        );
        // the head behind a checkpoint is not signed again
        {
            let mut c = app.conn();
            let witness = app.state.config.audit_witness_file();
            assert!(zhifa::audit::checkpoint(&mut c, &app.state.keyring, Some(&witness)).is_err());
        }

        // remove the checkpoints that name the deleted entries too (and the copy): the witness
        // file still names them
        behind_the_triggers(
            &app,
            &[
                format!("DELETE FROM audit_checkpoints WHERE seq > {}", keep.seq),
                "DELETE FROM audit_checkpoints WHERE id = (SELECT MAX(id) FROM audit_checkpoints)"
                    .to_string(),
            ],
        );
        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert_eq!(v["intact"], false, "{v}");
        let found = problems(&v);
        assert!(
            found.iter().any(|p| p.contains("见证文件")
                && p.contains("截断")
                && p.contains(&format!("第 {} 条", cp.seq))),
            "{v}"
        );
        assert!(found.iter().all(|p| p.contains("见证文件")), "{v}");
        let (ok, out, _) = cli(&app, &["audit", "verify"]);
        assert!(!ok && out.contains("截断"), "{out}");
    }
);

both!(
    missing_or_disabled_triggers_are_reported,
    |app: TestApp| async move {
        let admin = app.admin().await;
        some_changes(&app, &admin).await;
        sign(&app);
        let expected: Vec<&str> = match app.backend {
            zhifa::db::Backend::Sqlite => {
                app.sql("DROP TRIGGER audit_log_no_update");
                app.sql("DROP TRIGGER audit_checkpoints_no_delete");
                // still there, but no longer refusing anything
                app.sql("DROP TRIGGER audit_log_no_delete");
                app.sql("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log WHEN 0 BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END");
                vec![
                    "audit_log_no_update",
                    "audit_checkpoints_no_delete",
                    "audit_log_no_delete",
                ]
            }
            zhifa::db::Backend::Postgres => {
                app.sql("DROP TRIGGER audit_log_no_change ON audit_log");
                app.sql("DROP TRIGGER audit_log_no_truncate ON audit_log");
                app.sql(
                    "ALTER TABLE audit_checkpoints DISABLE TRIGGER audit_checkpoints_no_change",
                );
                // still there, but its function no longer refuses anything
                app.sql("CREATE OR REPLACE FUNCTION audit_checkpoints_append_only() RETURNS trigger AS $$ BEGIN RETURN NULL; END; $$ LANGUAGE plpgsql");
                vec![
                    "audit_log_no_change",
                    "audit_log_no_truncate",
                    "audit_checkpoints_no_change",
                    "audit_checkpoints_no_truncate",
                ]
            }
        };
        let v = app.get("/api/v1/audit/verify", &admin).await.expect(200);
        assert_eq!(v["intact"], false, "{v}");
        let found = problems(&v);
        assert_eq!(found.len(), expected.len(), "{v}");
        for name in expected {
            assert!(
                found
                    .iter()
                    .any(|p| p.contains(&format!("触发器 {name}（"))),
                "{name}: {v}"
            );
        }
        assert!(found.iter().any(|p| p.contains("不存在")), "{v}");
        assert!(found.iter().any(|p| p.contains("已被改动")), "{v}");
        if app.backend == zhifa::db::Backend::Postgres {
            assert!(found.iter().any(|p| p.contains("已被停用")), "{v}");
        }
        let (ok, out, _) = cli(&app, &["audit", "verify"]);
        assert!(!ok && out.contains("触发器"), "{out}");
    }
);
