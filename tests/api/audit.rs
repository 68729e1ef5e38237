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
        assert_eq!(v["entries"], 1 + 1 + 24, "admin, unit, 24 officers: {v}");
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
