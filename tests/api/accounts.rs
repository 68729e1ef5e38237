use crate::both;
use crate::helpers::*;
use serde_json::json;

both!(
    wrong_passwords_lock_the_account,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "A", "松原市", "220700", None).await;
        let (_, pw) = app
            .user(&admin, "liaison1", "liaison", Some(unit), None)
            .await;
        for _ in 0..4 {
            let r = app.token("liaison1", "Wrong-Password-1").await;
            assert_eq!(r.status, 401);
            assert_eq!(r.error_code(), "bad_credentials");
            assert_eq!(r.body["error"]["message"], "用户名或密码错误");
        }
        // an unknown user gets the same answer
        assert_eq!(
            app.token("nobody", "Wrong-Password-1").await.body["error"]["message"],
            "用户名或密码错误"
        );
        let r = app.token("liaison1", "Wrong-Password-1").await;
        assert_eq!(r.status, 423, "{}", r.body);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("锁定")
        );
        // locked: even the right password is refused
        assert_eq!(app.token("liaison1", &pw).await.status, 423);
        // the lock is on the record
        let log = app
            .get("/api/v1/audit?action=user.lock", &admin)
            .await
            .expect(200);
        assert_eq!(log["items"].as_array().unwrap().len(), 1);
        // an administrator's reset lifts it
        let users = app.get("/api/v1/users", &admin).await.expect(200);
        let id = users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == "liaison1")
            .unwrap()["id"]
            .as_i64()
            .unwrap();
        app.post(
            &format!("/api/v1/users/{id}/password"),
            &admin,
            json!({"password": "New-Password-2026"}),
        )
        .await
        .expect(204);
        app.token("liaison1", "New-Password-2026").await.expect(201);
    }
);

both!(password_policy_is_enforced, |app: TestApp| async move {
    let admin = app.admin().await;
    for (pw, why) in [
        ("short1!A", "至少 10 位"),
        ("alllowercase-letters", "至少三类"),
        ("Operator-2026", "用户名"),
    ] {
        let r = app
            .post("/api/v1/users", &admin, json!({"username": "operator", "display_name": "张三", "password": pw, "role": "auditor"}))
            .await;
        assert_eq!(r.status, 422);
        assert!(
            r.body["error"]["fields"]["password"]
                .as_str()
                .unwrap()
                .contains(why),
            "{pw}: {}",
            r.body
        );
    }
    let r = app.post("/api/v1/users", &admin, json!({"username": "l2", "display_name": "李四", "password": "Good-Pass-2026", "role": "liaison"})).await;
    assert_eq!(r.status, 422);
    assert!(r.body["error"]["fields"]["unit_id"].is_string());
    app.user(&admin, "dup", "auditor", None, None).await;
    let r = app.post("/api/v1/users", &admin, json!({"username": "dup", "display_name": "x", "password": "Good-Pass-2026", "role": "auditor"})).await;
    assert_eq!(r.status, 409);
    assert!(r.body["error"]["fields"]["username"].is_string());
});

both!(
    roles_see_and_change_only_their_part,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let city = app.unit(&admin, "C", "松原市", "220700", None).await;
        let district = app.unit(&admin, "D1", "宁江区", "220702", Some(city)).await;
        let dept = app
            .unit(
                &admin,
                "D1M",
                "宁江区市场监督管理局",
                "220702",
                Some(district),
            )
            .await;
        let other = app.unit(&admin, "D2", "长岭县", "220722", Some(city)).await;
        let mine = app
            .officer(&admin, "张三", &id("220702", "1985-06-15", 11), dept)
            .await;
        let theirs = app
            .officer(&admin, "李四", &id("220722", "1980-01-02", 22), other)
            .await;

        let (_, pw) = app
            .user(&admin, "ningjiang", "liaison", Some(district), None)
            .await;
        let liaison = app.token("ningjiang", &pw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        let page = app.get("/api/v1/officers", &liaison).await.expect(200);
        assert_eq!(page["total"], 1);
        assert_eq!(page["items"][0]["name"], "张三");
        assert_eq!(
            app.get(&format!("/api/v1/officers/{theirs}"), &liaison)
                .await
                .status,
            404
        );
        let r = app
        .post("/api/v1/officers", &liaison, json!({"name": "王五", "id_number": id("220722", "1990-03-03", 33), "unit_id": other, "employment_type": "行政编制"}))
        .await;
        assert_eq!(r.status, 422);
        assert!(
            r.body["error"]["fields"]["unit_id"]
                .as_str()
                .unwrap()
                .contains("不在您的管理范围内")
        );
        app.post("/api/v1/officers", &liaison, json!({"name": "王五", "id_number": id("220702", "1990-03-03", 33), "unit_id": dept, "employment_type": "行政编制"}))
        .await
        .expect(201);
        assert_eq!(
            app.patch(
                &format!("/api/v1/officers/{theirs}"),
                &liaison,
                json!({"post": "科长"})
            )
            .await
            .status,
            404
        );
        assert_eq!(
            app.get("/api/v1/units", &liaison).await.expect(200)["items"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
        assert_eq!(
            app.post(
                "/api/v1/units",
                &liaison,
                json!({"code": "Z", "name": "Z", "region_code": "220702"})
            )
            .await
            .status,
            403
        );
        assert_eq!(app.get("/api/v1/audit", &liaison).await.status, 403);

        let (_, pw) = app.user(&admin, "auditor1", "auditor", None, None).await;
        let auditor = app.token("auditor1", &pw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            app.get("/api/v1/officers", &auditor).await.expect(200)["total"],
            3
        );
        assert!(
            app.get("/api/v1/audit", &auditor).await.expect(200)["items"]
                .as_array()
                .unwrap()
                .len()
                > 5
        );
        assert_eq!(
            app.patch(
                &format!("/api/v1/officers/{mine}"),
                &auditor,
                json!({"post": "科长"})
            )
            .await
            .status,
            403
        );

        let (_, pw) = app
            .user(&admin, "zhangsan", "officer", None, Some(mine))
            .await;
        let me = app.token("zhangsan", &pw).await.expect(201)["token"]
            .as_str()
            .unwrap()
            .to_string();
        let page = app.get("/api/v1/officers", &me).await.expect(200);
        assert_eq!(page["total"], 1);
        assert_eq!(
            app.get(&format!("/api/v1/officers/{mine}"), &me)
                .await
                .expect(200)["officer"]["name"],
            "张三"
        );
        assert_eq!(
            app.get(&format!("/api/v1/officers/{theirs}"), &me)
                .await
                .status,
            404
        );
        assert_eq!(
            app.post("/api/v1/officers", &me, json!({})).await.status,
            403
        );
    }
);

both!(
    browser_sessions_need_csrf_and_expire,
    |app: TestApp| async move {
        let r = app.browser_login("admin", ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 303);
        let cookie = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("zhifa_session="))
            .unwrap();
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        let (status, html) = app.page("/officers").await;
        assert_eq!(status, 200);
        assert!(html.contains("行政执法人员名录库"));
        // a form without the token is refused and changes nothing
        let r = app
            .client
            .post(app.url("/units"))
            .form(&[
                ("code", "X"),
                ("name", "某局"),
                ("region_code", "220702"),
                ("csrf", "forged"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(r.text().await.unwrap().contains("表单已过期"));
        let (_, html) = app.page("/units").await;
        assert!(!html.contains("某局"));
        let csrf = csrf_of(&html);
        let r = app
            .client
            .post(app.url("/units"))
            .form(&[
                ("code", "X"),
                ("name", "某局"),
                ("region_code", "220702"),
                ("csrf", &csrf),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        // the JSON API with the cookie also wants the token
        let r = app
            .client
            .post(app.url("/api/v1/units"))
            .json(&json!({"code": "Y", "name": "另一局", "region_code": "220702"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let r = app
            .client
            .post(app.url("/api/v1/units"))
            .header("X-CSRF-Token", &csrf)
            .json(&json!({"code": "Y", "name": "另一局", "region_code": "220702"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        // idle sessions end
        app.sql("UPDATE sessions SET expires_at = '2000-01-01 00:00:00'");
        let r = app.client.get(app.url("/officers")).send().await.unwrap();
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/login");
        assert_eq!(
            app.client
                .get(app.url("/api/v1/me"))
                .send()
                .await
                .unwrap()
                .status(),
            401
        );
    }
);

both!(
    one_address_cannot_try_many_accounts,
    |app: TestApp| async move {
        // signing in successfully never counts: an office behind one address is not throttled
        for _ in 0..35 {
            app.token("admin", ADMIN_PASSWORD).await.expect(201);
        }
        let mut answers = Vec::new();
        for i in 0..40 {
            answers.push(app.token(&format!("guess{i}"), "Wrong-Password-1").await);
        }
        let statuses: Vec<u16> = answers.iter().map(|r| r.status.as_u16()).collect();
        // 30 failures at once, then one per 2 s: however slow this machine, most of the rest wait
        assert!(statuses[..31].iter().all(|s| *s == 401), "{statuses:?}");
        let limited: Vec<&Resp> = answers[31..].iter().filter(|r| r.status == 429).collect();
        assert!(limited.len() >= 6, "{statuses:?}");
        assert_eq!(limited[0].error_code(), "too_many_requests");
        assert!(
            limited[0].body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("失败次数过多")
        );
    }
);
