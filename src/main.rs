//! The `zhifa` command line.

use anyhow::{Context, bail};

// glibc malloc spent a fifth of the CPU of a search request in contention and consolidation
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use zhifa::audit::Actor;
use zhifa::auth::Grant;
use zhifa::config::Config;
use zhifa::roster::{self, import::Options};

#[derive(Parser)]
#[command(
    name = "zhifa",
    version,
    about = "行政执法人员名录库、资格考试与执法证管理系统"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// 启动服务（默认命令）
    Serve,
    /// 执行数据库迁移
    Migrate,
    /// 从 Excel/CSV 导入
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// 导出为 Excel
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// 生成示例数据（松原市的单位与虚构人员）
    DemoData {
        /// 人员数量
        #[arg(long, default_value_t = 500)]
        officers: usize,
        /// 随机种子（相同种子生成相同数据）
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// 只把人员写成 Excel 文件（不导入），用于演示导入或性能测试
        #[arg(long)]
        sheet: Option<PathBuf>,
        /// 改为把这么多道示例题（由随附题库变化而来）写成题库 Excel 文件（须同时给出 --sheet）
        #[arg(long, value_name = "题数")]
        questions: Option<usize>,
        /// 同时生成执法证登记簿：大多数可持证人员已持证，少数暂扣、吊销、过期
        #[arg(long)]
        certificates: bool,
        /// 为该单位（含下级单位）尚无照片的人员生成示例证件照（用于演示制证和制证压测）
        #[arg(long, value_name = "单位代码")]
        photos: Option<String>,
    },
    /// 压力测试
    Loadtest {
        #[command(subcommand)]
        what: LoadtestWhat,
    },
    /// 资格考试
    Exam {
        #[command(subcommand)]
        what: ExamWhat,
    },
    /// 管理员账号
    Admin {
        #[command(subcommand)]
        what: AdminWhat,
    },
    /// 审计日志
    Audit {
        #[command(subcommand)]
        what: AuditWhat,
    },
    /// 执法证年审
    Review {
        #[command(subcommand)]
        what: ReviewWhat,
    },
    /// 离线核验执法证二维码（不连服务器）：用公钥验签（--keys：GET /api/v1/keys 存下的文件；
    /// 缺省用本机的签名密钥文件），用状态列表查吊销、暂扣（--status-list：GET /api/v1/status-list
    /// 存下的文件）。PAYLOAD 是扫出的整段文字（链接或其中 /v/ 之后的部分）。
    /// 退出码：0 有效，2 伪造或被篡改，3 已吊销或注销，4 暂扣中，5 已过期，1 出错
    VerifyQr {
        payload: String,
        #[arg(long, value_name = "FILE")]
        status_list: Option<PathBuf>,
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
        /// 重复核验 N 次并报告每次平均耗时（测速用）
        #[arg(long, default_value_t = 0)]
        repeat: usize,
    },
    /// 执法证制证
    Cards {
        #[command(subcommand)]
        what: CardsWhat,
    },
    /// 签名密钥：列出、轮换（轮换后旧公钥仍可验证旧证，直到从密钥文件中删去）
    Keys {
        #[command(subcommand)]
        what: KeysWhat,
    },
}

#[derive(Subcommand)]
enum CardsWhat {
    /// 生成执法证 PDF：给出的证号，和/或 --unit 单位及其下级单位的全部有效证件；
    /// --layout a4（默认，每页 10 张，带裁切线，背面按长边翻转对齐）或 card（每页一张）
    Print {
        /// 输出的 PDF 文件
        out: PathBuf,
        /// 执法证号
        numbers: Vec<String>,
        /// 单位代码
        #[arg(long)]
        unit: Option<String>,
        #[arg(long, default_value = "a4", value_parser = ["a4", "card"])]
        layout: String,
    },
}

#[derive(Subcommand)]
enum KeysWhat {
    /// 列出签名密钥（公钥、算法、是否在用）
    List,
    /// 生成新的当前密钥，旧密钥转为只验证（之后须重启所有服务实例，并重新备份密钥文件）
    Rotate {
        /// ed25519 或 sm2（缺省为 ZHIFA_SIGNING_ALGORITHM）
        #[arg(long)]
        algorithm: Option<String>,
    },
}

#[derive(Subcommand)]
enum ReviewWhat {
    /// 审定某年度的年审：按该年度规则（尚未开启的，按上一年度规则开启）对每张待审执法证作出结论，
    /// 不合格、未年审的按规则暂扣或注销；--dry-run 只列出结论，不写入
    Run {
        /// 所审年度，如 2026
        year: i32,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum ImportWhat {
    /// 导入人员名册
    Officers(ImportArgs),
    /// 导入题库：一个文件（.toml 题库格式，或 .xlsx/.xls/.csv 表格）或整个目录（其中的 .toml 文件）。
    /// 可重复执行：未改动的题目不会重复，改动过的题目生成新版本
    Questions {
        path: PathBuf,
        /// 只检查，不写入（有错误时同样以非 0 退出）
        #[arg(long)]
        dry_run: bool,
    },
    /// 导入已有的执法证（表格：执法证号、身份证号、姓名、发证机关、证件有效期……）；先校验整份文件，
    /// 有错误行时不写入任何数据并以非 0 退出，除非加 --skip-invalid。重复导入同一份文件不会重复登记
    Certificates {
        file: PathBuf,
        /// 只导入正确的行
        #[arg(long)]
        skip_invalid: bool,
        /// 只检查，不写入（有错误行时同样以非 0 退出）
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(clap::Args)]
struct ImportArgs {
    file: PathBuf,
    /// 只导入正确的行（默认：有任何错误行就不导入）
    #[arg(long)]
    skip_invalid: bool,
    /// 自动创建表中缺少的单位
    #[arg(long)]
    create_units: bool,
    /// 只检查，不写入（有错误行时同样以非 0 退出）
    #[arg(long)]
    dry_run: bool,
    /// 表中没有单位（或单位为空）的人员导入到这个单位（单位代码）
    #[arg(long, value_name = "单位代码")]
    unit: Option<String>,
    /// 把原表加上“错误说明”列写到这个文件（发回给填报单位）
    #[arg(long, value_name = "FILE")]
    errors: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ExportWhat {
    /// 导出全部人员
    Officers { file: PathBuf },
    /// 导出题库（全部题目的当前版本）：.xlsx 为表格，.toml 为题库格式
    Questions { file: PathBuf },
    /// 导出执法证登记簿（每张证一行，含执法证号和状态）
    Certificates { file: PathBuf },
}

#[derive(Subcommand)]
enum LoadtestWhat {
    /// 模拟考试日：按 zhifa exam demo 写出的准考证，所有考生在 --ramp 秒内登录并开始作答，
    /// 每人平均每 --interval 秒保存一次答案，持续 --answering 秒，再在 --ramp 秒内交卷；
    /// 报告吞吐、延迟分位数和错误，并到数据库核对每个已确认保存的答案
    Exam {
        #[arg(long, value_name = "FILE.csv")]
        tickets: PathBuf,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// 只用前 N 张准考证
        #[arg(long)]
        candidates: Option<usize>,
        #[arg(long, default_value_t = 60)]
        ramp: u64,
        #[arg(long, default_value_t = 60)]
        answering: u64,
        #[arg(long, default_value_t = 10.0)]
        interval: f64,
    },
    /// 核验接口压测：以 --connections 个长连接，先在 --seconds 秒内对随机证号发
    /// GET /api/v1/verify/{证号}，再同样压 /healthz 作对照，最后逐次计时 --batches 次
    /// POST /api/v1/verify（每次 1000 个证号；未给 --api-key 时在数据库中发放一个压测密钥）。
    /// 证号取自数据库。服务须以足够大的 ZHIFA_VERIFY_RATE_LIMIT 启动（0 为不限）
    Verify {
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        #[arg(long, default_value_t = 20)]
        batches: usize,
        #[arg(long)]
        api_key: Option<String>,
    },
}

#[derive(Subcommand)]
enum ExamWhat {
    /// 演示/压测用考试：从名录库选 N 名人员，建立一个从现在起开放 M 分钟的场次（公共法律知识，
    /// 单选 40×1 分、多选 20×2 分、判断 20×1 分），组好每人的试卷，并把
    /// ticket_no,id_number,access_code 写入 CSV（题库为空时先载入随附题库）
    Demo {
        #[arg(long)]
        candidates: usize,
        #[arg(long, value_name = "FILE.csv")]
        tickets: PathBuf,
        #[arg(long, default_value_t = 60)]
        minutes: i64,
    },
    /// 重新评定一个批次已交卷的试卷（题目在题库中更正后）；成绩有变化的记入审计日志
    Regrade {
        /// 批次编号，如 2026001
        batch: String,
    },
}

#[derive(Subcommand)]
enum AdminWhat {
    /// 新建司法局管理员账号（密码取自 ZHIFA_NEW_PASSWORD，未设置则随机生成并显示一次）
    Create {
        username: String,
        #[arg(long, default_value = "管理员")]
        display_name: String,
    },
    /// 重置密码并解除锁定（密码取自 ZHIFA_NEW_PASSWORD，未设置则随机生成并显示一次）
    ResetPassword { username: String },
}

#[derive(Subcommand)]
enum AuditWhat {
    /// 逐条校验审计日志的哈希链、签名检查点、见证文件和防篡改触发器；发现问题时退出码非 0
    Verify {
        /// 另行核对的见证文件（默认为数据目录下的 audit-witness.log）
        #[arg(long)]
        witness: Option<PathBuf>,
    },
    /// 立即为审计日志的链头签名，并以一行 JSON 打印已签名的链头（可另行存档）
    Checkpoint,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("错误：{e:#}");
        std::process::exit(1);
    }
}

fn open(config: &Config) -> anyhow::Result<zhifa::db::PooledConn> {
    let (pool, _) = zhifa::db::open(&config.database_url, 2)?;
    Ok(pool.get()?)
}

fn keyring(config: &Config) -> anyhow::Result<zhifa::signing::Keyring> {
    zhifa::signing::Keyring::load_or_create(&config.signing_key_file, config.signing_algorithm)
}

/// Signs the audit chain's head after a command that wrote to the database.
fn sign_head(
    config: &Config,
    conn: &mut zhifa::db::DbConn,
    keyring: &zhifa::signing::Keyring,
) -> anyhow::Result<()> {
    zhifa::audit::checkpoint(conn, keyring, Some(&config.audit_witness_file()))
        .context("数据已写入，但审计日志签名检查点失败")?;
    Ok(())
}

/// What an import found, for the terminal: the file once, then counts, then the first rows.
fn print_import_report(report: &roster::import::Report) {
    println!(
        "文件：{}（表头在第 {} 行）\n数据行：{}  新增：{}  更新：{}  无变化：{}  有错误的行：{}  有提示的行：{}",
        report.filename,
        report.header_row,
        report.data_rows,
        report.new_count,
        report.update_count,
        report.unchanged_count,
        report.invalid_rows,
        report.flagged_rows
    );
    for n in &report.file_notes {
        println!("说明：{n}");
    }
    if !report.ignored_columns.is_empty() {
        println!(
            "名录库不保存的列（已忽略）：{}",
            report.ignored_columns.join("、")
        );
    }
    for m in &report.unit_matches {
        println!("单位简称“{}”按“{}”处理（{} 行）", m.written, m.unit, m.rows);
    }
    for (title, counts) in [
        ("错误", &report.error_counts),
        ("提示", &report.warning_counts),
    ] {
        for k in counts.iter() {
            println!("{title}：{} {} 条", k.kind, k.count);
        }
    }
    for e in &report.errors {
        println!("  第 {} 行 {}：{}", e.row, e.column, e.reason);
    }
    if report.errors_total > report.errors.len() {
        println!(
            "  ……另有 {} 条错误未列出（加 --errors 文件名 得到全部）",
            report.errors_total - report.errors.len()
        );
    }
    for u in &report.created_units {
        println!("  新建单位：{u}");
    }
}

fn new_password() -> (String, bool) {
    match std::env::var("ZHIFA_NEW_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
    {
        Some(p) => (p, false),
        None => (zhifa::auth::rules::generate_password(), true),
    }
}

fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZHIFA_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let config = Config::load()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => migrate(&config),
        Command::Import {
            what: ImportWhat::Officers(args),
        } => import_officers(&config, args),
        Command::Import {
            what: ImportWhat::Questions { path, dry_run },
        } => import_questions(&config, &path, dry_run),
        Command::Export {
            what: ExportWhat::Questions { file },
        } => export_questions(&config, &file),
        Command::Export {
            what: ExportWhat::Officers { file },
        } => export_officers(&config, &file),
        Command::Import {
            what:
                ImportWhat::Certificates {
                    file,
                    skip_invalid,
                    dry_run,
                },
        } => import_certificates(&config, &file, skip_invalid, dry_run),
        Command::Export {
            what: ExportWhat::Certificates { file },
        } => {
            let mut conn = open(&config)?;
            let started = std::time::Instant::now();
            std::fs::write(&file, zhifa::certs::export::xlsx(&mut conn)?)
                .with_context(|| format!("无法写入 {}", file.display()))?;
            println!(
                "已导出到 {}，用时 {:.1} 秒",
                file.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::DemoData {
            questions: Some(n),
            sheet,
            ..
        } => {
            let path = sheet.context("--questions 须与 --sheet 文件名一起使用")?;
            std::fs::write(&path, zhifa::bank::demo::questions_xlsx(n)?)?;
            println!("已把 {n} 道示例题写入 {}（未导入）", path.display());
            Ok(())
        }
        Command::DemoData {
            officers,
            seed,
            sheet,
            questions: None,
            certificates,
            photos,
        } => {
            if officers > 0 {
                demo_data(&config, officers, seed, sheet)?;
            }
            if certificates {
                let mut conn = open(&config)?;
                let settings = zhifa::certs::Settings::from_config(&config)?;
                let started = std::time::Instant::now();
                let s = zhifa::certs::demo::register(&mut conn, &settings, seed)?;
                let h = zhifa::reviews::demo::history(&mut conn, seed)?;
                sign_head(&config, &mut conn, &keyring(&config)?)?;
                println!(
                    "执法证：核发 {} 张（有效 {}，暂扣 {}，吊销 {}，过期 {}），用时 {:.1} 秒",
                    s.issued,
                    s.valid,
                    s.suspended,
                    s.revoked,
                    s.expired,
                    started.elapsed().as_secs_f64()
                );
                println!(
                    "年审：往年审定 {} 条；本年度已开启，单位初审 {} 条；培训学时 {} 人",
                    h.decided, h.first, h.training
                );
            }
            if let Some(unit) = photos {
                let mut conn = open(&config)?;
                let n = zhifa::roster::demo::photos(&mut conn, &unit, seed)?;
                println!("示例证件照：{n} 人");
            }
            Ok(())
        }
        Command::Admin { what } => admin(&config, what),
        Command::Exam {
            what: ExamWhat::Regrade { batch },
        } => exam_regrade(&config, &batch),
        Command::Loadtest {
            what:
                LoadtestWhat::Exam {
                    tickets,
                    url,
                    candidates,
                    ramp,
                    answering,
                    interval,
                },
        } => {
            let text = std::fs::read_to_string(&tickets)
                .with_context(|| format!("无法读取 {}", tickets.display()))?;
            let mut rows: Vec<(String, String, String)> = text
                .lines()
                .skip(1)
                .filter_map(|l| {
                    let mut f = l.split(',');
                    Some((
                        f.next()?.to_string(),
                        f.next()?.to_string(),
                        f.next()?.to_string(),
                    ))
                })
                .collect();
            if let Some(n) = candidates {
                rows.truncate(n);
            }
            let mut conn = open(&config).ok();
            let bad = zhifa::exams::loadtest::run(
                zhifa::exams::loadtest::Options {
                    url: url.trim_end_matches('/').to_string(),
                    tickets: rows,
                    ramp,
                    answering,
                    interval,
                },
                conn.as_deref_mut(),
            )?;
            if bad > 0 {
                bail!("{bad} 个错误或缺失的答案");
            }
            Ok(())
        }
        Command::Exam {
            what:
                ExamWhat::Demo {
                    candidates,
                    tickets,
                    minutes,
                },
        } => exam_demo(&config, candidates, &tickets, minutes),
        Command::Audit {
            what: AuditWhat::Verify { witness },
        } => audit_verify(&config, witness),
        Command::Audit {
            what: AuditWhat::Checkpoint,
        } => audit_checkpoint(&config),
        Command::Review {
            what: ReviewWhat::Run { year, dry_run },
        } => review_run(&config, year, dry_run),
        Command::VerifyQr {
            payload,
            status_list,
            keys,
            repeat,
        } => verify_qr(&config, &payload, status_list, keys, repeat),
        Command::Keys { what } => keys_command(&config, what),
        Command::Cards {
            what:
                CardsWhat::Print {
                    out,
                    numbers,
                    unit,
                    layout,
                },
        } => cards_print(&config, &out, numbers, unit, &layout),
        Command::Loadtest {
            what:
                LoadtestWhat::Verify {
                    url,
                    connections,
                    seconds,
                    batches,
                    api_key,
                },
        } => loadtest_verify(&config, url, connections, seconds, batches, api_key),
    }
}

fn verify_qr(
    config: &Config,
    payload: &str,
    status_list: Option<PathBuf>,
    keys: Option<PathBuf>,
    repeat: usize,
) -> anyhow::Result<()> {
    use zhifa::verify::{PublishedKeys, StatusList, rules};
    let public = match &keys {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("无法读取公钥文件 {}", path.display()))?;
            let published: PublishedKeys = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} 不是公钥列表（应为 GET /api/v1/keys 的内容）",
                    path.display()
                )
            })?;
            let keys = published.to_public_keys();
            if keys.is_empty() {
                anyhow::bail!("{} 中没有可用的公钥", path.display());
            }
            keys
        }
        None if config.signing_key_file.exists() => {
            zhifa::signing::Keyring::load(&config.signing_key_file)?
                .public_keys()
                .clone()
        }
        None => anyhow::bail!(
            "没有公钥：请用 --keys 指定公钥文件（GET /api/v1/keys 的内容），或在有签名密钥文件的机器上运行"
        ),
    };
    let list = match &status_list {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("无法读取状态列表 {}", path.display()))?;
            let list: StatusList = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} 不是状态列表（应为 GET /api/v1/status-list 的内容）",
                    path.display()
                )
            })?;
            Some(list.open(&public).map_err(|e| anyhow::anyhow!(e))?)
        }
        None => None,
    };
    let today = chrono::Utc::now().date_naive();
    if repeat > 0 {
        let started = std::time::Instant::now();
        for _ in 0..repeat {
            std::hint::black_box(rules::check_offline(payload, &public, list.as_ref(), today));
        }
        let each = started.elapsed().as_secs_f64() * 1000.0 / repeat as f64;
        println!("离线核验 {repeat} 次，平均每次 {each:.3} ms");
    }
    let v = rules::check_offline(payload, &public, list.as_ref(), today);
    let verdict = match v.verdict {
        rules::Verdict::Valid => "valid",
        rules::Verdict::Revoked => "revoked",
        rules::Verdict::Suspended => "suspended",
        rules::Verdict::Expired => "expired",
        rules::Verdict::Forged => "forged",
    };
    println!("结论：{}（{verdict}）", v.verdict.label());
    println!("说明：{}", v.reason);
    if let Some(c) = &v.claims {
        let date = |d: Option<chrono::NaiveDate>| {
            d.map(roster::rules::chinese_date)
                .unwrap_or_else(|| "—".into())
        };
        println!("执法证号：{}", c.number);
        println!("姓名：{}", c.masked_name);
        println!("单位代码：{}", c.unit_code);
        println!("执法类别：{}", c.category);
        println!("有效期：{} 至 {}", date(c.valid_from), date(c.valid_until));
        println!("签名密钥：{}", c.key_id);
    }
    let code = v.verdict.exit_code();
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

fn cards_print(
    config: &Config,
    out: &std::path::Path,
    numbers: Vec<String>,
    unit: Option<String>,
    layout: &str,
) -> anyhow::Result<()> {
    use zhifa::cards;
    zhifa::pdf::fonts::configure(&config.font_fallbacks)?;
    let mut conn = open(config)?;
    let keys = keyring(config)?;
    let press = cards::Press {
        keyring: &keys,
        algorithm: config.signing_algorithm,
        public_url: &config.public_url,
        supervisor: &config.card_supervisor,
    };
    let selection = cards::Selection {
        numbers,
        unit,
        batch: None,
        layout: cards::Layout::parse(layout).unwrap_or_default(),
    };
    let started = std::time::Instant::now();
    let (pdf, n) = cards::print(&mut conn, &Grant::system("命令行制证"), &press, &selection)?;
    let tmp = out.with_extension("pdf.part");
    std::fs::write(&tmp, &pdf).with_context(|| format!("无法写入 {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("无法写入 {}", out.display()))?;
    sign_head(config, &mut conn, &keys)?;
    println!(
        "已生成 {}：{n} 张执法证，{:.1} MB，用时 {:.1} 秒",
        out.display(),
        pdf.len() as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn keys_command(config: &Config, what: KeysWhat) -> anyhow::Result<()> {
    use zhifa::signing::{Algorithm, Keyring};
    let keyring = match what {
        KeysWhat::List => keyring(config)?,
        KeysWhat::Rotate { algorithm } => {
            let algorithm = match algorithm {
                Some(a) => Algorithm::parse(&a)
                    .ok_or_else(|| anyhow::anyhow!("--algorithm 只能是 ed25519 或 sm2：{a}"))?,
                None => config.signing_algorithm,
            };
            keyring(config)?;
            let k = Keyring::rotate(&config.signing_key_file, algorithm)?;
            println!(
                "已生成新的 {} 当前密钥 {}；旧密钥仍可验证。请重启所有服务实例，并重新备份 {}",
                algorithm.label(),
                k.signer(algorithm).unwrap_or_default(),
                config.signing_key_file.display()
            );
            k
        }
    };
    println!("密钥文件：{}", config.signing_key_file.display());
    for (id, key) in keyring.public_keys().iter() {
        println!(
            "{id}  {:<8} {}  {}",
            key.algorithm().as_str(),
            if keyring.is_current(id) {
                "在用"
            } else {
                "已轮换（只验证）"
            },
            hex::encode(key.to_bytes())
        );
    }
    Ok(())
}

fn loadtest_verify(
    config: &Config,
    url: String,
    connections: usize,
    seconds: u64,
    batches: usize,
    api_key: Option<String>,
) -> anyhow::Result<()> {
    use diesel::prelude::*;
    use zhifa::db::schema::certificates as ct;
    let mut conn = open(config)?;
    let numbers: Vec<String> = ct::table.select(ct::number).load(&mut *conn)?;
    let (api_key, issued) = match api_key {
        Some(k) => (Some(k), None),
        None if batches > 0 => {
            let (key, secret) = zhifa::verify::issue_key(
                &mut conn,
                &Grant::system("核验接口压测"),
                "压力测试（zhifa loadtest verify）",
                "",
            )?;
            (Some(secret), Some(key.id))
        }
        None => (None, None),
    };
    println!(
        "{} 个证号，{connections} 个连接，每段 {seconds} 秒，{url}",
        numbers.len()
    );
    let report = zhifa::verify::loadtest::run(zhifa::verify::loadtest::Options {
        url,
        numbers,
        connections,
        seconds,
        batches,
        api_key,
    });
    // the key it issued itself is revoked at once, whatever the run's outcome
    if let Some(id) = issued {
        zhifa::verify::revoke_key(&mut conn, &Grant::system("核验接口压测"), id)?;
        sign_head(config, &mut conn, &keyring(config)?)?;
    }
    print!("{}", report?);
    Ok(())
}

fn review_run(config: &Config, year: i32, dry_run: bool) -> anyhow::Result<()> {
    use zhifa::reviews;
    let mut conn = open(config)?;
    let grant = Grant::system("命令行年审");
    let settings = zhifa::certs::Settings::from_config(config)?;
    let started = std::time::Instant::now();
    let round = match reviews::round(&mut conn, &grant, year) {
        Ok(r) => r,
        Err(zhifa::error::Error::NotFound(_)) if dry_run => {
            println!("{year} 年度的年审尚未开启：按将采用的规则预览");
            reviews::draft(&mut conn, year)?
        }
        Err(zhifa::error::Error::NotFound(_)) => {
            let r = reviews::open(
                &mut conn,
                &grant,
                &reviews::OpenRound {
                    year,
                    deadline: None,
                    rules: None,
                },
            )?;
            println!("已开启 {year} 年度年审");
            r
        }
        Err(e) => return Err(e.into()),
    };
    println!(
        "{year} 年度年审，截止 {}：",
        zhifa::roster::rules::chinese_date(round.deadline)
    );
    for c in &round.checks {
        println!("  · {c}");
    }
    let p = reviews::summarize(
        &mut conn,
        round,
        &reviews::PreviewQuery {
            outcome: "不合格".into(),
            ..Default::default()
        },
    )?;
    println!(
        "待审 {} 张（单位已初审 {} 张）：合格 {}，不合格 {}，未年审 {}；此前已审定 {} 张",
        p.counts.due,
        p.counts.first_reviewed,
        p.counts.pass,
        p.counts.fail,
        p.counts.missing,
        p.decided
    );
    for i in &p.items {
        println!(
            "  不合格 {} {}（{}）：{}",
            i.number,
            i.name,
            i.unit,
            i.findings.join("；")
        );
    }
    if p.matching > p.items.len() {
        println!("  ……另有 {} 张不合格未列出", p.matching - p.items.len());
    }
    if dry_run {
        println!(
            "（只预览，未写入）用时 {:.1} 秒",
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let keys = keyring(config)?;
    let job = reviews::apply(
        &mut conn,
        &grant,
        &settings,
        year,
        &reviews::ApplyInput {
            overrides: Vec::new(),
            expected_due: Some(p.counts.due),
        },
        std::time::Duration::from_secs(24 * 3600),
    )?;
    sign_head(config, &mut conn, &keys)?;
    if job.state != "完成" {
        bail!("年审任务 {} 未完成：{}", job.id, job.result);
    }
    println!(
        "已审定 {} 张（跳过 {}），用时 {:.1} 秒",
        job.done - job.skipped,
        job.skipped,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    let url = zhifa::db::DbUrl::parse(&config.database_url)?;
    if url.backend == zhifa::db::Backend::Sqlite {
        zhifa::db::open(&config.database_url, 1)?;
        println!("迁移完成（SQLite：{}）", url.target);
    } else {
        let mut conn = zhifa::db::connect(&url).context("无法连接数据库")?;
        let n = zhifa::db::run_migrations(&mut conn)?;
        println!("迁移完成，执行了 {n} 个迁移");
    }
    Ok(())
}

/// Checks a roster file, prints the report, and (unless `--dry-run`) imports it. Exits non-zero
/// when rows are invalid, dry run or not, unless `--skip-invalid`.
fn import_officers(config: &Config, args: ImportArgs) -> anyhow::Result<()> {
    let file = &args.file;
    let bytes = std::fs::read(file).with_context(|| format!("无法读取 {}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut conn = open(config)?;
    // the key is loaded before anything is written: a bad key file stops the import, not the signing
    let keys = if args.dry_run {
        None
    } else {
        Some(keyring(config)?)
    };
    let grant = Grant::system("命令行导入");
    let unit_id = match &args.unit {
        Some(code) => Some(
            roster::db::unit_by_code(&mut conn, &code.trim().to_uppercase())?
                .with_context(|| format!("单位代码 {code} 不在单位库中"))?
                .id,
        ),
        None => None,
    };
    let opts = Options {
        skip_invalid: args.skip_invalid,
        create_units: args.create_units,
        unit_id,
    };
    let started = std::time::Instant::now();
    let report = if args.dry_run {
        roster::import::preview(&mut conn, &grant, &name, &bytes, opts)?
    } else {
        roster::import::apply(&mut conn, &grant, &name, &bytes, opts)?
    };
    if let Some(keys) = &keys {
        sign_head(config, &mut conn, keys)?;
    }
    print_import_report(&report);
    if let Some(path) = &args.errors {
        let sheet = roster::import::annotated_sheet(&mut conn, &grant, &name, &bytes, opts)?;
        std::fs::write(path, sheet).with_context(|| format!("无法写入 {}", path.display()))?;
        println!("带“错误说明”列的原表已写到 {}", path.display());
    }
    if let Some(b) = &report.blocked {
        bail!("{b}");
    }
    let secs = started.elapsed().as_secs_f64();
    if !args.dry_run {
        println!("导入完成，用时 {secs:.1} 秒");
        return Ok(());
    }
    println!("（只检查，未写入）用时 {secs:.1} 秒");
    if report.invalid_rows > 0 && !args.skip_invalid {
        bail!(
            "有 {} 行数据有误：正式导入时不会写入任何数据（或加 --skip-invalid 只导入正确的行）",
            report.invalid_rows
        );
    }
    Ok(())
}

fn import_certificates(
    config: &Config,
    file: &std::path::Path,
    skip_invalid: bool,
    dry_run: bool,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("无法读取 {}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut conn = open(config)?;
    let keys = if dry_run {
        None
    } else {
        Some(keyring(config)?)
    };
    let started = std::time::Instant::now();
    let r = zhifa::certs::import::import(
        &mut conn,
        &Grant::system("命令行导入"),
        &config.bureau_name,
        &name,
        &bytes,
        skip_invalid,
        dry_run,
    )?;
    if let Some(keys) = &keys {
        sign_head(config, &mut conn, keys)?;
    }
    for n in &r.notes {
        println!("提示：{n}");
    }
    println!(
        "共 {} 行：可导入 {} 张，已登记 {} 张，有误 {} 行",
        r.rows, r.imported, r.already, r.invalid_rows
    );
    for e in r.errors.iter().take(200) {
        println!("  第 {} 行 {}：{}", e.row, e.column, e.message);
    }
    if r.errors.len() > 200 {
        println!("  ……另有 {} 处错误未列出", r.errors.len() - 200);
    }
    if let Some(b) = &r.blocked {
        bail!("{b}");
    }
    let secs = started.elapsed().as_secs_f64();
    if dry_run {
        println!("（只检查，未写入）用时 {secs:.1} 秒");
        if r.invalid_rows > 0 && !skip_invalid {
            bail!(
                "有 {} 行数据有误：正式导入时不会写入任何数据（或加 --skip-invalid 只导入正确的行）",
                r.invalid_rows
            );
        }
    } else {
        println!("导入完成，用时 {secs:.1} 秒");
    }
    Ok(())
}

fn import_questions(config: &Config, path: &std::path::Path, dry_run: bool) -> anyhow::Result<()> {
    let files: Vec<PathBuf> = if path.is_dir() {
        let mut v: Vec<PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("无法读取目录 {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        v.sort();
        if v.is_empty() {
            bail!("目录 {} 中没有 .toml 题库文件", path.display());
        }
        v
    } else {
        vec![path.to_path_buf()]
    };
    let mut incoming = Vec::new();
    let mut notes = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("无法读取 {}", f.display()))?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.to_lowercase().ends_with(".toml") {
            let text =
                String::from_utf8(bytes).with_context(|| format!("{name} 须为 UTF-8 编码"))?;
            incoming.extend(zhifa::bank::file::read(&name, &text).map_err(|e| anyhow::anyhow!(e))?);
        } else {
            let (q, n) = zhifa::bank::sheet::read(&name, &bytes, &Default::default())
                .map_err(|e| anyhow::anyhow!("{name}：{e}"))?;
            incoming.extend(q);
            notes.extend(n);
        }
    }
    let mut conn = open(config)?;
    let keys = if dry_run {
        None
    } else {
        Some(keyring(config)?)
    };
    let started = std::time::Instant::now();
    let report = zhifa::bank::import(
        &mut conn,
        &Grant::system("命令行导入题库"),
        incoming,
        zhifa::bank::Source::Imported,
        zhifa::bank::rules::Strictness::Bureau,
        dry_run,
        notes,
    )?;
    if let Some(keys) = &keys
        && report.applied
    {
        sign_head(config, &mut conn, keys)?;
    }
    for n in &report.notes {
        println!("说明：{n}");
    }
    for e in &report.errors {
        println!("{}（{}）：{}", e.location, e.field, e.message);
    }
    if report.error_count > 0 {
        bail!(
            "共 {} 道题，{} 处错误：没有写入任何题目。请改正后重新导入",
            report.total,
            report.error_count
        );
    }
    println!(
        "共 {} 道题：新增 {}，更新（生成新版本）{}，未改动 {}，状态变更 {}{}，用时 {:.1} 秒",
        report.total,
        report.created,
        report.updated,
        report.unchanged,
        report.status_changed,
        if dry_run {
            "（只检查，未写入）"
        } else {
            ""
        },
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn export_questions(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    let rows = zhifa::bank::export_rows(
        &mut conn,
        &Grant::system("命令行导出题库"),
        &Default::default(),
    )?;
    let bytes = if file.extension().is_some_and(|x| x == "toml") {
        zhifa::bank::file::write(&rows).into_bytes()
    } else {
        zhifa::bank::sheet::write(&rows, zhifa::bank::laws::Laws::shipped())
            .map_err(|e| anyhow::anyhow!("{e}"))?
    };
    std::fs::write(file, bytes).with_context(|| format!("无法写入 {}", file.display()))?;
    println!("已导出 {} 道题到 {}", rows.len(), file.display());
    Ok(())
}

fn export_officers(config: &Config, file: &std::path::Path) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    let keys = keyring(config)?;
    let bytes = roster::export::officers_xlsx(
        &mut conn,
        &Grant::system("命令行导出"),
        &Default::default(),
    )?;
    std::fs::write(file, bytes).with_context(|| format!("无法写入 {}", file.display()))?;
    // the export is in the audit log: sign it like any other write
    sign_head(config, &mut conn, &keys)?;
    println!("已导出到 {}", file.display());
    Ok(())
}

fn demo_data(
    config: &Config,
    officers: usize,
    seed: u64,
    sheet: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    let keys = keyring(config)?;
    let demo = roster::demo::units(&mut conn, &Actor::system("示例数据"), officers)?;
    let rows = roster::demo::officer_rows(&demo, officers, seed);
    println!("单位：{} 个执法主体", demo.units.len());
    if let Some(path) = sheet {
        std::fs::write(&path, roster::demo::rows_to_xlsx(&rows)?)?;
        println!(
            "已把 {} 名人员写入 {}（未导入）",
            rows.len(),
            path.display()
        );
    } else {
        let csv = roster::demo::rows_to_csv(&rows);
        let report = roster::import::apply(
            &mut conn,
            &Grant::system("示例数据"),
            "示例数据.csv",
            &csv,
            Options::default(),
        )?;
        println!(
            "已导入：新增 {} 人，更新 {} 人",
            report.new_count, report.update_count
        );
    }
    sign_head(config, &mut conn, &keys)?;
    Ok(())
}

fn exam_regrade(config: &Config, code: &str) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    let keys = keyring(config)?;
    let id = zhifa::exams::db::batch_by_code(&mut conn, code.trim())?
        .with_context(|| format!("没有批次 {code}"))?;
    let started = std::time::Instant::now();
    let r = zhifa::exams::regrade(
        &mut conn,
        &Grant::system("命令行重新评分"),
        &zhifa::exams::Papers::default(),
        id,
    )?;
    let took = started.elapsed().as_secs_f64();
    sign_head(config, &mut conn, &keys)?;
    println!(
        "批次 {code}：重新评定 {} 份已交卷的试卷，{} 份成绩有变化（用时 {took:.1} 秒）",
        r.attempts,
        r.changed.len()
    );
    Ok(())
}

fn exam_demo(
    config: &Config,
    n: usize,
    tickets: &std::path::Path,
    minutes: i64,
) -> anyhow::Result<()> {
    use zhifa::bank::blueprint::{Blueprint, SectionSpec};
    if n == 0 || !(1..=600).contains(&minutes) {
        bail!("--candidates 须大于 0，--minutes 须为 1 至 600");
    }
    let mut conn = open(config)?;
    let keys = keyring(config)?;
    let exam_key = zhifa::exams::access::ExamKey::load_or_create(&config.exam_key_file)?;
    if let Some(r) = zhifa::bank::seed_if_new(&mut conn)? {
        println!("题库为空：已载入随附题库 {} 道题", r.created);
    }
    let ids = zhifa::roster::db::officer_ids_for_demo(&mut conn, n as i64)?;
    if ids.len() < n {
        bail!(
            "名录库中只有 {} 名可参考人员，少于 {n} 名：请先运行 zhifa demo-data --officers {n}",
            ids.len()
        );
    }
    let now = zhifa::db::now();
    let section = |kind: &str, count: u32, points: f64| SectionSpec {
        part: "公共法律知识".into(),
        category: None,
        kind: kind.into(),
        count,
        points,
        partial_credit: None,
    };
    let input = zhifa::exams::BatchInput {
        title: "行政执法资格考试（演示）".into(),
        blueprint: Blueprint {
            sections: vec![
                section("单选", 40, 1.0),
                section("多选", 20, 2.0),
                section("判断", 20, 1.0),
            ],
            difficulty_mix: Some(vec![0, 40, 45, 15, 0]),
        },
        pass_mark: 60.0,
        duration_minutes: minutes.min(120) as i32,
        show_score: true,
        sessions: vec![zhifa::exams::SessionInput {
            name: "第一场".into(),
            starts_at: now - chrono::Duration::minutes(1),
            ends_at: now + chrono::Duration::minutes(minutes),
            capacity: n as i32,
        }],
        plan_ids: vec![],
        officer_ids: ids,
        allocation: None,
        assignments: Vec::new(),
        return_access_codes: true,
    };
    let started = std::time::Instant::now();
    let s = zhifa::exams::schedule(&mut conn, &Grant::system("命令行排考"), &exam_key, &input)?;
    let took = started.elapsed().as_secs_f64();
    let mut csv = String::from("ticket_no,id_number,access_code\n");
    for t in &s.tickets {
        csv.push_str(&format!(
            "{},{},{}\n",
            t.ticket_no,
            t.id_number,
            t.access_code.as_deref().unwrap_or_default()
        ));
    }
    std::fs::write(tickets, csv).with_context(|| format!("无法写入 {}", tickets.display()))?;
    sign_head(config, &mut conn, &keys)?;
    println!(
        "已排考：批次 {}，{} 名考生，试卷已组好（用时 {took:.1} 秒）；可组出 {}，两份试卷预计相同 {:.1} 题。准考证写入 {}",
        s.code,
        s.candidates,
        s.feasibility.distinct_papers,
        s.feasibility.expected_shared,
        tickets.display()
    );
    Ok(())
}

fn admin(config: &Config, what: AdminWhat) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    let keys = keyring(config)?;
    let grant = Grant::system("命令行");
    let (password, generated) = new_password();
    match what {
        AdminWhat::Create {
            username,
            display_name,
        } => {
            let input = zhifa::auth::NewUser {
                username: username.clone(),
                display_name,
                password: password.clone(),
                role: zhifa::auth::Role::Admin.as_str().into(),
                unit_id: None,
                officer_id: None,
            };
            zhifa::auth::create_user(&mut conn, &grant, &input)?;
            println!("已创建管理员 {username}");
        }
        AdminWhat::ResetPassword { username } => {
            let id = zhifa::auth::users(&mut conn, &grant)?
                .into_iter()
                .find(|u| u.username == username)
                .map(|u| u.id)
                .with_context(|| format!("没有用户名为 {username} 的账号"))?;
            zhifa::auth::reset_password(&mut conn, &grant, id, &password)?;
            println!("已重置 {username} 的密码并解除锁定");
        }
    }
    sign_head(config, &mut conn, &keys)?;
    if generated {
        println!("密码（只显示这一次）：{password}");
    }
    Ok(())
}

fn audit_verify(config: &Config, witness: Option<PathBuf>) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    let keys = keyring(config)?;
    let witness = witness.unwrap_or_else(|| config.audit_witness_file());
    let v = zhifa::audit::verify(&mut conn, &keys, Some(&witness))?;
    for n in &v.notes {
        println!("  说明：{n}");
    }
    if !v.intact {
        for p in &v.problems {
            println!("  {p}");
        }
        bail!(
            "审计日志被篡改：共 {} 条记录，发现 {} 处问题",
            v.entries,
            v.problems.len()
        )
    }
    println!(
        "审计日志完整：{} 条记录，哈希链逐条核对无误；{} 个签名检查点有效（签到第 {} 条），见证文件核对 {} 行，防篡改触发器齐全；最近 {} 条尚未签名",
        v.entries, v.checkpoints, v.signed_seq, v.witness_lines, v.unsigned_tail
    );
    Ok(())
}

fn audit_checkpoint(config: &Config) -> anyhow::Result<()> {
    let mut conn = open(config)?;
    let keys = keyring(config)?;
    zhifa::audit::checkpoint(&mut conn, &keys, Some(&config.audit_witness_file()))?;
    match zhifa::audit::latest_checkpoint(&mut conn)? {
        Some(cp) => println!("{}", serde_json::to_string(&cp)?),
        None => eprintln!("审计日志为空，没有可签名的链头"),
    }
    Ok(())
}

fn serve(config: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let bind = config.bind.clone();
    let (state, generated) = zhifa::prepare(config)?;
    let listener =
        std::net::TcpListener::bind(&bind).with_context(|| format!("无法监听 {bind}"))?;
    let backend = state.backend.name();
    if let Some(p) = generated {
        println!("================================================================");
        println!(" 已创建首个管理员账号：admin");
        println!(" 初始密码（只显示这一次，请登录后修改）：{p}");
        println!("================================================================");
    }
    actix_web::rt::System::new().block_on(async move {
        let server = zhifa::serve(state, listener)?;
        println!(
            "zhifa 已启动：http://{bind}  （数据库：{backend}，{} 毫秒）",
            started.elapsed().as_millis()
        );
        server.await
    })?;
    Ok(())
}
