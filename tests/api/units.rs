use crate::both;
use crate::helpers::*;
use serde_json::json;

both!(
    units_form_a_tree_that_can_change,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let city = app.unit(&admin, "220700", "松原市", "220700", None).await;
        let d = app
            .unit(&admin, "220702", "宁江区", "220702", Some(city))
            .await;
        let dept = app
            .unit(&admin, "220702A", "宁江区生态环境局", "220702", Some(d))
            .await;
        // bad input, field by field
        let r = app
            .post(
                "/api/v1/units",
                &admin,
                json!({"code": "bad code!", "name": "", "region_code": "2207"}),
            )
            .await;
        assert_eq!(r.status, 422);
        let f = &r.body["error"]["fields"];
        assert!(
            f["code"].is_string() && f["name"].is_string() && f["region_code"].is_string(),
            "{f}"
        );
        let r = app
            .post(
                "/api/v1/units",
                &admin,
                json!({"code": "220702", "name": "重复", "region_code": "220702"}),
            )
            .await;
        assert_eq!(r.status, 409);
        assert!(r.body["error"]["fields"]["code"].is_string());
        // rename, and a unit cannot go under its own child
        let r = app
            .patch(
                &format!("/api/v1/units/{dept}"),
                &admin,
                json!({"name": "松原市宁江区生态环境分局"}),
            )
            .await
            .expect(200);
        assert_eq!(r["name"], "松原市宁江区生态环境分局");
        let r = app
            .patch(
                &format!("/api/v1/units/{d}"),
                &admin,
                json!({"parent_id": dept}),
            )
            .await;
        assert_eq!(r.status, 422);
        // move the department to the city level: its officers follow in searches
        let o = app
            .officer(&admin, "周八", &id("220702", "1975-05-05", 9), dept)
            .await;
        app.patch(
            &format!("/api/v1/units/{dept}"),
            &admin,
            json!({"parent_id": city}),
        )
        .await
        .expect(200);
        assert_eq!(
            app.get(&format!("/api/v1/officers?unit_id={d}"), &admin)
                .await
                .expect(200)["total"],
            0
        );
        assert_eq!(
            app.get(&format!("/api/v1/officers?unit_id={city}"), &admin)
                .await
                .expect(200)["total"],
            1
        );
        // a unit with serving officers can't be deactivated; once they leave, it can
        let r = app
            .patch(
                &format!("/api/v1/units/{dept}"),
                &admin,
                json!({"active": false}),
            )
            .await;
        assert_eq!(r.status, 409);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("1 名在岗人员")
        );
        app.patch(
            &format!("/api/v1/officers/{o}"),
            &admin,
            json!({"status": "退休"}),
        )
        .await
        .expect(200);
        let r = app
            .patch(
                &format!("/api/v1/units/{dept}"),
                &admin,
                json!({"active": false}),
            )
            .await
            .expect(200);
        assert_eq!(r["active"], false);
        let r = app.post("/api/v1/officers", &admin, json!({"name": "吴九", "id_number": id("220702", "1977-07-07", 3), "unit_id": dept, "employment_type": "行政编制"})).await;
        assert_eq!(r.status, 422);
        assert!(
            r.body["error"]["fields"]["unit_id"]
                .as_str()
                .unwrap()
                .contains("已停用")
        );
        // a parent with active children can't be deactivated
        assert_eq!(
            app.patch(
                &format!("/api/v1/units/{city}"),
                &admin,
                json!({"active": false})
            )
            .await
            .status,
            409
        );
    }
);
