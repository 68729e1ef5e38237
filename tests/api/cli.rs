//! The binary as an operator runs it (SQLite in a temporary directory).

use std::process::Command;

fn zhifa(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_zhifa"))
        .args(args)
        .current_dir(dir)
        .env_remove("DATABASE_URL")
        .env("ZHIFA_DATA_DIR", dir.join("data"))
        .env("ZHIFA_LOG", "warn")
        .output()
        .expect("run zhifa");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
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
