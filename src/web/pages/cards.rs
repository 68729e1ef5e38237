//! Card printing: choose certificates (numbers, or a unit), see previews, download the PDF.

use actix_web::{HttpResponse, web};
use askama::Template;

use super::{Ctx, Form, PageResult, field, render_form};
use crate::cards::{self, Layout, Selection};
use crate::error::Error;
use crate::web::{AppState, PageForm, PageUser};

/// Previews shown on the page at most.
const PREVIEWS: usize = 6;

#[derive(Template)]
#[template(path = "cards.html")]
struct CardsPage {
    ctx: Ctx,
    numbers: String,
    unit: String,
    batch: String,
    layout: &'static str,
    previews: Vec<String>,
    error: String,
}

#[derive(serde::Deserialize)]
pub struct Query {
    #[serde(default)]
    numbers: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    batch: String,
}

fn split(numbers: &str) -> Vec<String> {
    numbers
        .split(|c: char| {
            c.is_whitespace() || c == ',' || c == '，' || c == '、' || c == ';' || c == '；'
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

async fn page(
    p: &crate::auth::Principal,
    numbers: String,
    unit: String,
    batch: String,
    layout: Layout,
    error: String,
) -> PageResult {
    p.grant().require(crate::auth::Capability::ManageCerts)?;
    let previews: Vec<String> = split(&numbers).into_iter().take(PREVIEWS).collect();
    let t = CardsPage {
        ctx: Ctx::new(p, "cards"),
        numbers,
        unit,
        batch,
        layout: match layout {
            Layout::A4 => "a4",
            Layout::Card => "card",
        },
        previews,
        error,
    };
    render_form(&t, !t.error.is_empty())
}

pub async fn form(PageUser(p): PageUser, q: web::Query<Query>) -> PageResult {
    let q = q.into_inner();
    page(&p, q.numbers, q.unit, q.batch, Layout::A4, String::new()).await
}

pub async fn print(state: web::Data<AppState>, PageForm(p, f): PageForm<Form>) -> PageResult {
    let (numbers, unit, batch) = (field(&f, "numbers"), field(&f, "unit"), field(&f, "batch"));
    let layout = Layout::parse(&field(&f, "layout")).unwrap_or_default();
    let batch_id = match batch.as_str() {
        "" => None,
        b => match b.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                let e = "考试批次应为批次编号（数字）".to_string();
                return page(&p, numbers, unit, batch, layout, e).await;
            }
        },
    };
    let sel = Selection {
        numbers: split(&numbers),
        unit: Some(unit.clone()).filter(|u| !u.is_empty()),
        batch: batch_id,
        layout,
    };
    let grant = p.grant();
    let s = state.clone();
    match state
        .db(move |c| cards::print(c, &grant, &s.press(), &sel))
        .await
    {
        Ok((pdf, n)) => Ok(crate::web::api::card_pdf(pdf, n)),
        Err(e @ Error::Invalid { .. }) => {
            page(&p, numbers, unit, batch, layout, e.to_string()).await
        }
        Err(e) => Err(e.into()),
    }
}

/// `/cards/preview/{number}/{side}.svg`: one side of a card, drawn like the PDF.
pub async fn preview(
    state: web::Data<AppState>,
    PageUser(p): PageUser,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (number, side) = path.into_inner();
    let back = match side.as_str() {
        "front.svg" => false,
        "back.svg" => true,
        _ => return Err(Error::not_found("页面").into()),
    };
    let grant = p.grant();
    let s = state.clone();
    let svg = state
        .db(move |c| {
            let prepared = cards::one(c, &grant, &s.press(), &number)?;
            Ok(cards::svg(&prepared, back))
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml; charset=utf-8")
        .insert_header(("Cache-Control", "private, no-store"))
        .body(svg))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/cards", web::get().to(form))
        .route("/cards/print", web::post().to(print))
        .route("/cards/preview/{number}/{side}", web::get().to(preview));
}
