use crate::both;
use crate::helpers::*;

both!(health_answers_with_the_backend, |app: TestApp| async move {
    let r = Resp::of(app.client.get(app.url("/healthz")).send().await.unwrap())
        .await
        .expect(200);
    assert_eq!(r["status"], "ok");
    assert_eq!(r["database"], app.backend.name());
});

both!(every_documented_path_is_served, |app: TestApp| async move {
    let doc = Resp::of(
        app.client
            .get(app.url("/api/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .expect(200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let token = app.admin().await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15);
    for (path, ops) in paths {
        let concrete = path.replace("{id}", "999999");
        for (method, op) in ops.as_object().unwrap() {
            // every operation that needs a sign-in says what happens without one, and every
            // one that touches the database says it may be busy
            let responses = op["responses"].as_object().unwrap();
            // (public operations say so: an empty security requirement)
            let public = path == "/healthz"
                || path.starts_with("/api/v1/public/")
                || (path == "/api/v1/auth/token" && method == "post")
                || op["security"] == serde_json::json!([{}]);
            if !public {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents 401"
                );
            }
            assert!(
                responses.contains_key("503"),
                "{method} {path} documents 503"
            );
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = Resp::of(
                app.client
                    .request(m, app.url(&concrete))
                    .bearer_auth(&token)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            // documented routes exist: whatever they answer, it is not the unknown-route 404
            assert_ne!(
                r.body["error"]["message"], "没有这个接口",
                "{method} {path}"
            );
            assert!(
                r.status.as_u16() < 500,
                "{method} {path} → {}: {}",
                r.status,
                r.body
            );
            // and what they answer is documented
            assert!(
                responses.contains_key(r.status.as_str()),
                "{method} {path} → {} is not documented",
                r.status
            );
        }
    }
    // the import's refusal carries the report: its 422 is documented with it
    let import = &doc["paths"]["/api/v1/imports/officers"]["post"]["responses"]["422"];
    let schema = import["content"]["application/json"]["schema"]["$ref"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let props = &doc["components"]["schemas"][schema]["properties"];
    assert!(
        props["error"].is_object() && props["report"].is_object(),
        "{import}"
    );
});

both!(
    bad_input_is_never_a_server_error,
    |app: TestApp| async move {
        let token = app.admin().await;
        let r = Resp::of(
            app.client
                .post(app.url("/api/v1/officers"))
                .bearer_auth(&token)
                .header("content-type", "application/json")
                .body("{not json")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.error_code(), "bad_request");
        let r = app.get("/api/v1/officers?page=abc", &token).await;
        assert_eq!(r.status, 400);
        let r = app.get("/api/v1/officers/not-a-number", &token).await;
        assert_eq!(r.status, 404);
        let r = app.get("/api/v1/no/such/route", &token).await;
        assert_eq!(r.status, 404);
        assert_eq!(r.error_code(), "not_found");
        let r = app
            .patch(
                "/api/v1/officers/1",
                &token,
                serde_json::json!({"bogus": 1}),
            )
            .await;
        assert_eq!(r.status, 404);
        // a NUL character (PostgreSQL can't store one) is the request's fault, not the server's
        for path in [
            "/api/v1/officers?q=%00",
            "/api/v1/officers?category=a%00b",
            "/api/v1/audit?actor=%00",
        ] {
            let r = app.get(path, &token).await;
            assert!(
                r.status.is_success() || r.status == 400,
                "{path} → {}",
                r.status
            );
        }
        let r = app
            .post(
                "/api/v1/units",
                &token,
                serde_json::json!({"code": "N1", "name": "空\u{0}字符局", "region_code": "110101"}),
            )
            .await;
        assert!(r.status.as_u16() < 500, "{}", r.body);
        let r = Resp::of(
            app.client
                .post(app.url("/api/v1/auth/token"))
                .json(&serde_json::json!({"username": "a\u{0}b", "password": "x"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(r.status.as_u16() < 500, "{}", r.body);
        // hostile strings are stored and shown as text, never as markup
        let unit = app
            .unit(&token, "X1", "<script>alert(1)</script>局", "220702", None)
            .await;
        app.browser_login("admin", ADMIN_PASSWORD).await;
        let (_, html) = app.page("/units").await;
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;局"),
            "unit {unit} escaped"
        );
        assert!(!html.contains("<script>alert(1)"));
    }
);
