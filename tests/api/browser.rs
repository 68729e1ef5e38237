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
            let path =
                std::env::temp_dir().join(format!("zhifa-browser-{}.xlsx", std::process::id()));
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
