//! Cards: PDFs of one card and of print sheets, what they hold, and what refuses them.

use crate::both;
use crate::helpers::*;
use serde_json::json;

/// Uploads a photo for an officer.
async fn put_photo(app: &TestApp, token: &str, officer: i64, bytes: Vec<u8>) -> Resp {
    Resp::of(
        app.client
            .put(app.url(&format!("/api/v1/officers/{officer}/photo")))
            .bearer_auth(token)
            .body(bytes)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn print(app: &TestApp, token: &str, body: serde_json::Value) -> (u16, Vec<u8>) {
    let r = app
        .client
        .post(app.url("/api/v1/cards"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
}

/// `n` officers of a unit with certificates: their numbers.
async fn holders(app: &TestApp, admin: &str, unit: i64, names: &[&str]) -> Vec<String> {
    let mut numbers = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let o = app
            .officer(
                admin,
                name,
                &id("220702", "1985-05-05", 100 + i as u16),
                unit,
            )
            .await;
        put_photo(app, admin, o, photo_jpeg(600, 800))
            .await
            .expect(204);
        let c = app
            .post(
                "/api/v1/certificates",
                admin,
                json!({"officer_id": o, "issued_on": "2026-03-01", "reason": "考试合格"}),
            )
            .await
            .expect(201);
        numbers.push(c["number"].as_str().unwrap().to_string());
    }
    numbers
}

both!(
    a_card_is_printed_with_its_rare_name_as_text_and_stays_small,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app
            .unit(&admin, "ZZ", "松原市宁江区市场监督管理局", "220702", None)
            .await;
        let numbers = holders(&app, &admin, unit, &["王𬌗䶮", "李䶮", "刘𠇔"]).await;
        let (status, pdf) = print(
            &app,
            &admin,
            json!({"numbers": [numbers[0]], "layout": "card"}),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
        assert_eq!(pdf_pages(&pdf), 2, "front and back");
        assert!(
            pdf.len() <= 200 * 1024,
            "one card with its photo: {} bytes",
            pdf.len()
        );
        let text = pdf_text(&pdf);
        for expected in [
            "行政执法证",
            "王𬌗䶮",
            numbers[0].as_str(),
            "松原市宁江区市场监督管理局",
            "年审记录",
            "使用须知",
        ] {
            assert!(text.contains(expected), "{expected} not in {text}");
        }
        // a sheet: three cards on one A4 sheet of fronts and one of backs
        let (status, pdf) = print(&app, &admin, json!({"numbers": numbers, "layout": "a4"})).await;
        assert_eq!(status, 200);
        assert_eq!(pdf_pages(&pdf), 2);
        let text = pdf_text(&pdf);
        assert!(text.contains("李䶮") && text.contains("刘𠇔"));
        // a whole unit
        let (status, pdf) = print(&app, &admin, json!({"unit": "ZZ"})).await;
        assert_eq!(status, 200);
        assert!(pdf_text(&pdf).contains("刘𠇔"));
        // printing is on the record
        let audit = app
            .get("/api/v1/audit?action=cards.print", &admin)
            .await
            .expect(200);
        assert!(audit.to_string().contains("制证 3 张"), "{audit}");

        // refused, naming the card: not valid, unknown; nothing printed
        app.post(
            &format!("/api/v1/certificates/{}/state", numbers[1]),
            &admin,
            json!({"action": "suspend", "reason": "停职调查", "basis": "某省行政执法证件管理办法第二十条"}),
        )
        .await
        .expect(200);
        let (status, body) = print(
            &app,
            &admin,
            json!({"numbers": [numbers[0], numbers[1], "不存在的证号"]}),
        )
        .await;
        assert_eq!(status, 422);
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains(&numbers[1]) && body.contains("暂扣") && body.contains("不存在的证号"),
            "{body}"
        );
        let (status, _) = print(&app, &admin, json!({})).await;
        assert_eq!(status, 422);
    }
);

both!(
    a_name_no_font_can_print_is_refused_with_the_character_named,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "ZF", "字体测试局", "220702", None).await;
        // U+E000 is a private-use character: no font has it
        let numbers = holders(&app, &admin, unit, &["张\u{E000}"]).await;
        let (status, body) = print(&app, &admin, json!({"numbers": numbers})).await;
        assert_eq!(status, 422);
        let body = String::from_utf8_lossy(&body);
        assert!(
            body.contains("U+E000") && body.contains(&numbers[0]),
            "{body}"
        );
    }
);

both!(
    the_card_page_previews_and_prints,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let unit = app.unit(&admin, "ZP", "预览测试局", "220702", None).await;
        let numbers = holders(&app, &admin, unit, &["周𬌗"]).await;
        let r = app.browser_login("admin", ADMIN_PASSWORD).await;
        assert_eq!(r.status(), 303);
        let (status, html) = app.page(&format!("/cards?numbers={}", numbers[0])).await;
        assert_eq!(status, 200);
        assert!(
            html.contains(&format!("/cards/preview/{}/front.svg", numbers[0])),
            "{html}"
        );
        for side in ["front", "back"] {
            let (status, svg) = app
                .page(&format!("/cards/preview/{}/{side}.svg", numbers[0]))
                .await;
            assert_eq!(status, 200);
            assert!(svg.starts_with("<svg"), "{svg}");
            if side == "front" {
                assert!(
                    svg.contains("周𬌗")
                        && svg.contains("data:image/jpeg;base64,")
                        && svg.contains("<path d=\"M")
                );
            } else {
                assert!(svg.contains("年审记录"));
            }
        }
        let csrf = csrf_of(&html);
        let r = app
            .client
            .post(app.url("/cards/print"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("numbers", numbers[0].as_str()),
                ("layout", "card"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/pdf");
        let pdf = r.bytes().await.unwrap().to_vec();
        assert!(pdf_text(&pdf).contains("周𬌗"));
        let r = app
            .client
            .post(app.url("/cards/print"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("numbers", "没有这张证"),
                ("layout", "a4"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("没有这张证"));
    }
);
