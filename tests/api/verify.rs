//! Verification: the public page and API, agencies' bulk calls with API keys, the keys and the
//! signed status list for offline checks, and the rate limit that holds across replicas.

use crate::both;
use crate::helpers::*;
use serde_json::{Value, json};
use zhifa::verify::rules::{Verdict, check_offline};
use zhifa::verify::{PublishedKeys, StatusList};

/// A unit, an officer with a rare-character name, and a certificate: (admin token, number).
pub async fn certificate(app: &TestApp, name: &str) -> (String, String) {
    let admin = app.admin().await;
    let unit = app.unit(&admin, "HY", "核验测试局", "220702", None).await;
    let o = app
        .officer(&admin, name, &id("220702", "1981-03-03", 7), unit)
        .await;
    let c = app
        .post(
            "/api/v1/certificates",
            &admin,
            json!({"officer_id": o, "issued_on": "2026-03-01", "reason": "考试合格"}),
        )
        .await
        .expect(201);
    (admin, c["number"].as_str().unwrap().to_string())
}

async fn public(app: &TestApp, path: &str) -> Resp {
    Resp::of(app.client.get(app.url(path)).send().await.unwrap()).await
}

fn with_check(digits13: &str) -> String {
    format!("{digits13}{}", crate::certs::check_char(digits13))
}

both!(
    a_certificate_is_verified_online_and_a_change_shows_at_once_everywhere,
    |app: TestApp| async move {
        let (admin, number) = certificate(&app, "王𬌗䶮").await;
        let v = public(&app, &format!("/api/v1/verify/{number}"))
            .await
            .expect(200);
        assert_eq!(v["valid"], true);
        assert_eq!(v["state"], "有效");
        assert_eq!(v["name"], "王*䶮");
        assert_eq!(v["unit"], "核验测试局");
        assert_eq!(v["valid_until"], "2031-02-28");
        assert!(v["latest_review"].is_null());
        // nothing beyond the verifier's fields
        let text = v.to_string();
        assert!(
            !text.contains("id_number") && !text.contains("1981") && !text.contains("officer"),
            "{text}"
        );
        // the name, if typed, is checked
        let v = public(
            &app,
            &format!(
                "/api/v1/verify/{number}?name={}",
                urlencoding::encode("王𬌗䶮")
            ),
        )
        .await
        .expect(200);
        assert_eq!(v["name_matches"], true);
        let v = public(
            &app,
            &format!(
                "/api/v1/verify/{number}?name={}",
                urlencoding::encode("王五")
            ),
        )
        .await
        .expect(200);
        assert_eq!(v["name_matches"], false);
        // a mistyped check character is "not a valid number", before any lookup
        let last = number.chars().last().unwrap();
        let typo = format!("{}{}", &number[..13], if last == '0' { '1' } else { '0' });
        let r = public(&app, &format!("/api/v1/verify/{typo}")).await;
        assert_eq!(r.status, 422);
        assert!(r.body.to_string().contains("校验位"), "{}", r.body);
        // an unknown number, well formed or not, reads the same
        let unknown = with_check("2207022600099");
        let a = public(&app, &format!("/api/v1/verify/{unknown}")).await;
        let b = public(
            &app,
            &format!(
                "/api/v1/verify/{}",
                urlencoding::encode("吉林执字第00123号")
            ),
        )
        .await;
        assert_eq!((a.status.as_u16(), b.status.as_u16()), (404, 404));
        assert_eq!(a.body["error"]["message"], b.body["error"]["message"]);
        // the page says the same, phone-sized
        let (status, html) = app.page(&format!("/verify?number={number}")).await;
        assert_eq!(status, 200);
        assert!(
            html.contains("✔ 有效")
                && html.contains("王*䶮")
                && html.contains("width=device-width"),
            "{html}"
        );
        assert!(!html.contains("王𬌗䶮"));
        let (status, html) = app.page(&format!("/verify?number={typo}")).await;
        assert_eq!(status, 422);
        assert!(html.contains("校验位"));

        // suspended: every replica says so at once (nothing cached)
        let other = app.replica();
        app.post(
            &format!("/api/v1/certificates/{number}/state"),
            &admin,
            json!({"action": "suspend", "reason": "停职调查", "basis": "某省行政执法证件管理办法第二十条"}),
        )
        .await
        .expect(200);
        for a in [&app, &other] {
            let v = public(a, &format!("/api/v1/verify/{number}"))
                .await
                .expect(200);
            assert_eq!(
                (v["valid"].clone(), v["state"].clone()),
                (json!(false), json!("暂扣"))
            );
        }
        let (_, html) = other.page(&format!("/verify?number={number}")).await;
        assert!(html.contains("✘ 暂扣"), "{html}");
    }
);

both!(
    agencies_verify_in_bulk_with_a_key_that_is_counted_and_can_be_revoked,
    |app: TestApp| async move {
        let (admin, number) = certificate(&app, "李四").await;
        let issued = app
            .post(
                "/api/v1/api-keys",
                &admin,
                json!({"name": "松原市市场监督管理局", "contact": "张科长 0438-1234567"}),
            )
            .await
            .expect(201);
        let secret = issued["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("zfk_"));
        // only a hash is kept
        let keys = app.get("/api/v1/api-keys", &admin).await.expect(200);
        assert!(!keys.to_string().contains(&secret));
        let call = |key: Option<&str>, body: Value| {
            let mut r = app.client.post(app.url("/api/v1/verify")).json(&body);
            if let Some(k) = key {
                r = r.header("X-API-Key", k);
            }
            async move { Resp::of(r.send().await.unwrap()).await }
        };
        let typo = format!(
            "{}{}",
            &number[..13],
            if number.ends_with('0') { '1' } else { '0' }
        );
        let numbers = json!({"numbers": [number, with_check("2207022600099"), typo]});
        assert_eq!(call(None, numbers.clone()).await.status, 401);
        assert_eq!(call(Some("zfk_guess"), numbers.clone()).await.status, 401);
        let r = call(Some(&secret), numbers.clone()).await.expect(200);
        let statuses: Vec<&str> = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["status"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["found", "not_found", "invalid"]);
        assert_eq!(r["found"], 1);
        assert_eq!(r["results"][0]["certificate"]["name"], "李*");
        // a thousand at most
        let many: Vec<String> = (0..1001).map(|i| format!("X{i}")).collect();
        let r = call(Some(&secret), json!({"numbers": many})).await;
        assert_eq!(r.status, 422);
        assert!(r.body.to_string().contains("1000"));
        let thousand: Vec<String> = std::iter::repeat_n(number.clone(), 1000).collect();
        let r = call(Some(&secret), json!({"numbers": thousand}))
            .await
            .expect(200);
        assert_eq!(r["found"], 1000);
        // every use counted
        let keys = app.get("/api/v1/api-keys", &admin).await.expect(200);
        assert_eq!(keys[0]["calls"], 2);
        assert_eq!(keys[0]["numbers"], 1003);
        assert!(keys[0]["last_used_at"].is_string());
        // a liaison may not manage keys
        let unit = app
            .unit(&admin, "HYX", "核验测试局下属所", "220702", None)
            .await;
        let (_, password) = app
            .user(&admin, "liaison", "liaison", Some(unit), None)
            .await;
        let liaison = app.token("liaison", &password).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(app.get("/api/v1/api-keys", &liaison).await.status, 403);
        // revoked: refused at once, on every replica
        let id = issued["key"]["id"].as_i64().unwrap();
        app.post(&format!("/api/v1/api-keys/{id}/revoke"), &admin, json!({}))
            .await
            .expect(200);
        assert_eq!(call(Some(&secret), numbers.clone()).await.status, 401);
        assert_eq!(
            app.post(&format!("/api/v1/api-keys/{id}/revoke"), &admin, json!({}))
                .await
                .status,
            409
        );
        let audit = app
            .get("/api/v1/audit?action=verify.key_issue", &admin)
            .await
            .expect(200);
        assert!(
            audit.to_string().contains("松原市市场监督管理局"),
            "{audit}"
        );
    }
);

async fn offline_materials(app: &TestApp, admin: &str, number: &str) -> (String, PublishedKeys) {
    let qr = app
        .get(&format!("/api/v1/certificates/{number}/qr"), admin)
        .await
        .expect(200);
    let link = qr["link"].as_str().unwrap().to_string();
    assert!(
        link.starts_with(&format!("{}/v/", app.state.config.public_url)),
        "{link}"
    );
    let keys: PublishedKeys =
        serde_json::from_value(public(app, "/api/v1/keys").await.expect(200)).unwrap();
    (link, keys)
}

async fn status_list(app: &TestApp) -> StatusList {
    serde_json::from_value(public(app, "/api/v1/status-list").await.expect(200)).unwrap()
}

async fn offline_scenario(app: TestApp, algorithm: &str) {
    let (admin, number) = certificate(&app, "赵𠇔").await;
    let (link, keys) = offline_materials(&app, &admin, &number).await;
    assert_eq!(keys.algorithm, algorithm);
    assert!(
        keys.keys
            .iter()
            .any(|k| k.algorithm == algorithm && k.status == "current")
    );
    let public_keys = keys.to_public_keys();
    let today = chrono::Utc::now().date_naive();
    let before = status_list(&app).await;
    assert_eq!(before.algorithm, algorithm);
    let open = before.open(&public_keys).unwrap();
    let v = check_offline(&link, &public_keys, Some(&open), today);
    assert_eq!(v.verdict, Verdict::Valid, "{}", v.reason);
    let claims = v.claims.unwrap();
    assert_eq!(
        (claims.number.as_str(), claims.masked_name.as_str()),
        (number.as_str(), "赵*")
    );
    // the QR's page: signed, and the register's state now
    let (status, html) = app
        .page(&format!("/v/{}", zhifa::verify::rules::payload_of(&link)))
        .await;
    assert_eq!(status, 200);
    assert!(
        html.contains("二维码签名有效") && html.contains("✔ 有效"),
        "{html}"
    );
    // a forged QR says so
    let mut forged = zhifa::verify::rules::payload_of(&link).to_string();
    forged.replace_range(20..21, if &forged[20..21] == "A" { "B" } else { "A" });
    let (_, html) = app.page(&format!("/v/{forged}")).await;
    assert!(html.contains("签名无效"), "{html}");
    assert_eq!(
        check_offline(&forged, &public_keys, Some(&open), today).verdict,
        Verdict::Forged
    );

    // revoked: the list fetched afterwards catches it, even offline; the one before cannot
    app.post(
        &format!("/api/v1/certificates/{number}/state"),
        &admin,
        json!({"action": "revoke", "reason": "以暴力方式执法", "basis": "某省行政执法证件管理办法第二十一条"}),
    )
    .await
    .expect(200);
    let after = status_list(&app).await;
    let opened = after.open(&public_keys).unwrap();
    assert_eq!(
        check_offline(&link, &public_keys, Some(&opened), today).verdict,
        Verdict::Revoked
    );
    assert_eq!(
        check_offline(&link, &public_keys, Some(&open), today).verdict,
        Verdict::Valid
    );
    // a list someone edited is refused
    let mut edited = after.clone();
    edited.revoked = before.revoked.clone();
    assert!(edited.open(&public_keys).unwrap_err().contains("签名无效"));
}

both!(
    a_card_is_checked_offline_against_the_keys_and_the_status_list,
    |app: TestApp| async move { offline_scenario(app, "ed25519").await }
);

both!(
    the_offline_check_works_the_same_with_sm2,
    config = |c: &mut zhifa::config::Config| c.signing_algorithm = zhifa::signing::Algorithm::Sm2,
    |app: TestApp| async move { offline_scenario(app, "sm2").await }
);

both!(
    public_verification_is_rate_limited_across_replicas,
    config = |c: &mut zhifa::config::Config| c.verify_rate_limit = 5,
    |app: TestApp| async move {
        let (_, number) = certificate(&app, "钱七").await;
        // stay clear of a minute's end, where the count starts again
        let second = chrono::Utc::now().timestamp() % 60;
        if second > 45 {
            tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
        }
        let path = format!("/api/v1/verify/{number}");
        let other = app.replica_with(|c| c.verify_rate_limit = 5);
        for _ in 0..3 {
            public(&app, &path).await.expect(200);
        }
        // the replicas share their counts every second
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        public(&other, &path).await.expect(200);
        public(&other, &path).await.expect(200);
        let r = public(&other, &path).await;
        assert_eq!(r.status, 429, "{}", r.body);
        assert!(r.body.to_string().contains("过于频繁"));
        // the status list and the page count too, and say it in words
        assert_eq!(public(&other, "/api/v1/status-list").await.status, 429);
        let (status, html) = other.page(&format!("/verify?number={number}")).await;
        assert_eq!(status, 429);
        assert!(html.contains("过于频繁"), "{html}");
    }
);

both!(
    a_lookup_with_a_typed_name_counts_as_ten,
    config = |c: &mut zhifa::config::Config| c.verify_rate_limit = 20,
    |app: TestApp| async move {
        let (_, number) = certificate(&app, "孙八").await;
        let second = chrono::Utc::now().timestamp() % 60;
        if second > 50 {
            tokio::time::sleep(std::time::Duration::from_secs((61 - second) as u64)).await;
        }
        // each name check is a guess at the masked middle: two fit in a limit of 20, not three
        let guess =
            |name: &str| format!("/api/v1/verify/{number}?name={}", urlencoding::encode(name));
        assert_eq!(
            public(&app, &guess("孙七")).await.expect(200)["name_matches"],
            false
        );
        assert_eq!(
            public(&app, &guess("孙八")).await.expect(200)["name_matches"],
            true
        );
        assert_eq!(public(&app, &guess("孙九")).await.status, 429);
    }
);
