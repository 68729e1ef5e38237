use super::*;

/// The text a PDF reader would copy out of page 1.
pub fn text_of(pdf: &[u8]) -> String {
    let doc = lopdf::Document::load_mem(pdf).expect("a readable PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    doc.extract_text(&pages).expect("text")
}

#[test]
fn rare_names_print_as_text_in_a_small_file() {
    let mut doc = Doc::new("测试");
    let page = doc.page(85.6, 53.98);
    page.centered(Style::Bold, 14.0, 42.8, 45.0, "行政执法证");
    // Ext A, Ext B, Ext E: 䶮 is in Noto, 𠇔 and 𬌗 too; 𠀁 only in HanaMinB.
    page.text(Style::Regular, 9.0, 5.0, 30.0, "姓名：刘䶮 王𠇔 李𬌗 陈𠀁");
    page.text(
        Style::Regular,
        9.0,
        5.0,
        20.0,
        "证号：11010126000123X 2024年3月1日",
    );
    let pdf = doc.render().expect("renders");
    assert!(pdf.len() < 60_000, "{} bytes", pdf.len());
    let text = text_of(&pdf);
    for want in [
        "行政执法证",
        "刘䶮",
        "王𠇔",
        "李𬌗",
        "陈𠀁",
        "11010126000123X",
        "2024年3月1日",
    ] {
        assert!(text.contains(want), "{want} not in {text:?}");
    }
}

#[test]
fn a_character_no_face_has_refuses_the_document_by_name() {
    let mut doc = Doc::new("测试");
    // U+30000 (Ext G) is in none of the shipped faces.
    doc.page(100.0, 100.0)
        .text(Style::Regular, 9.0, 5.0, 5.0, "张\u{30000}");
    let err = doc.render().expect_err("refused").to_string();
    assert!(err.contains("U+30000"), "{err}");
    assert!(check_printable("张三䶮").is_ok());
    assert!(check_printable("张\u{30000}").is_err());
}

#[test]
fn a_configured_fallback_face_fills_what_the_others_lack() {
    let (regular, bold, extensions) = fonts::shipped();
    let parse = |n, b| fonts::Face::parse(n, b).expect("face");
    // Without the extension face, 𠀁 (U+20001) is not covered...
    let bare = fonts::Fonts::new(parse("r", regular), parse("b", bold), Vec::new());
    assert_eq!(bare.uncovered("陈𠀁"), Some('𠀁'));
    // ...a fallback that has it covers it, and the faces before it still draw the rest.
    let with = fonts::Fonts::new(
        parse("r", regular),
        parse("b", bold),
        vec![parse("x", extensions)],
    );
    assert_eq!(with.uncovered("陈𠀁"), None);
    assert_eq!(with.pick(Style::Regular, '陈').map(|p| p.0), Some(0));
    assert_eq!(with.pick(Style::Bold, '陈').map(|p| p.0), Some(1));
    assert_eq!(with.pick(Style::Regular, '𠀁').map(|p| p.0), Some(2));
}

#[test]
fn lines_wrap_at_the_width_without_starting_on_punctuation() {
    let text = "考生须持准考证和本人有效身份证件，在规定时间内登录考试系统。考试开始后，不得离开考试页面。";
    let lines = wrap(Style::Regular, 10.0, 60.0, text);
    assert!(lines.len() > 1);
    assert_eq!(lines.concat(), text);
    for l in &lines {
        assert!(measure(Style::Regular, 10.0, l) <= 60.0 + 4.0, "{l}");
        assert!(!l.starts_with(['，', '。']), "{l}");
    }
    assert_eq!(wrap(Style::Regular, 10.0, 60.0, "甲\n乙"), vec!["甲", "乙"]);
    // a Latin word after CJK text at the break stays whole (and the break is on a character)
    let mixed = "某某市生态环境局综合行政执法支队第12345678大队";
    for w in [20.0, 25.0, 30.0, 35.0, 40.0] {
        let lines = wrap(Style::Regular, 10.0, w, mixed);
        assert_eq!(lines.concat(), mixed);
    }
}

#[test]
fn a_broken_photo_is_refused_when_added() {
    let mut doc = Doc::new("测试");
    assert!(doc.add_image(b"\xFF\xD8\xFF\xE0not really a jpeg").is_err());
}
