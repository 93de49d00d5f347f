//! Wire subscribers in the back office: create them with an API key (shown
//! once), new keys, webhooks (the signing secret shown once), revoke, and the
//! delivery log; what each may take (its product, and whether it takes
//! embargoed copy); and the products themselves. The same as
//! `newsdesk subscriber ...` on the command line.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use newsdesk_domain::dates;
use newsdesk_domain::roles::Permission;
use newsdesk_storage::{NewSubscriber, Product, StoreError, Subscriber};
use serde::Deserialize;

use super::notice::Notice;
use super::{AdminError, Staff, Table, page};
use crate::AppState;
use crate::wire::access::{self, FiltersInput};

pub(super) fn routes(t: Table) -> Table {
    use Permission::ManageSubscribers as M;
    t.get("/admin/subscribers", M, list)
        .post("/admin/subscribers", M, create)
        .post("/admin/subscribers/{id}/key", M, new_key)
        .post("/admin/subscribers/{id}/webhooks", M, add_webhook)
        .post("/admin/subscribers/{id}/revoke", M, revoke)
        .get("/admin/subscribers/{id}/deliveries", M, deliveries)
        .post("/admin/subscribers/{id}/access", M, set_access)
        .post("/admin/wire-products", M, create_product)
        .post("/admin/wire-products/{id}", M, update_product)
}

/// A secret to show once on the page.
struct Shown<'a> {
    what: &'a str,
    value: String,
}

async fn render(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    error: Option<String>,
    shown: Option<Shown<'_>>,
) -> Result<Response, AdminError> {
    let tz = state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let products = state.store.products().await?;
    let mut rows = Vec::new();
    for s in state.store.subscribers().await? {
        let keys: Vec<_> = state
            .store
            .api_keys(s.id)
            .await?
            .into_iter()
            .map(|k| {
                minijinja::context! {
                    prefix => k.prefix,
                    created => dates::format_long(k.created_at, tz),
                    last_used => k.last_used_at.map(|t| dates::format_long(t, tz)),
                    revoked => k.revoked_at.is_some(),
                }
            })
            .collect();
        let hooks: Vec<_> = state
            .store
            .webhooks(s.id)
            .await?
            .into_iter()
            .map(|w| minijinja::context! { url => w.url, active => w.active })
            .collect();
        rows.push(minijinja::context! {
            id => s.id, name => s.name, active => s.active, rate_limit => s.rate_limit,
            sections => if s.sections.is_empty() { "all".to_string() } else { s.sections.join(", ") },
            editions => if s.editions.is_empty() { "all".to_string() } else { s.editions.join(", ") },
            keys => keys, webhooks => hooks, embargo => s.embargo, product_id => s.product_id,
            product => s.product_id.and_then(|id| products.iter().find(|p| p.id == id)).map(|p| p.name.clone()),
        });
    }
    let products: Vec<_> = products
        .iter()
        .map(|p| {
            let f = &p.filters;
            minijinja::context! {
                id => p.id, name => p.name, summary => access::describe(f),
                editions => f.editions.join(", "), sections => f.sections.join(", "),
                subjects => f.subjects.join(", "), genres => f.genres.join(", "),
                min_urgency => f.min_urgency.map(|u| u.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let mut sections = Vec::new();
    for e in state.editions.load().iter() {
        sections.extend(state.store.sections(e.id).await?.into_iter().map(|s| s.path));
    }
    sections.sort();
    sections.dedup();
    let html = page::render(
        state,
        staff,
        "admin/subscribers.html",
        "Subscribers",
        minijinja::context! {
            rows => rows, sections => sections, error => error, products => products,
            shown => shown.map(|s| minijinja::context! { what => s.what, value => s.value }),
        },
    )?;
    Ok((status, html).into_response())
}

async fn list(State(state): State<AppState>, staff: Staff) -> Result<Response, AdminError> {
    render(&state, &staff, StatusCode::OK, None, None).await
}

/// The form: `name`, `rate_limit`, and `sections` repeated (checkboxes).
async fn create(State(state): State<AppState>, staff: Staff, body: String) -> Result<Response, AdminError> {
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&body)
        .map_err(|e| AdminError::BadRequest(format!("the form could not be read: {e}")))?;
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string()).unwrap_or_default();
    let bad = |m: String| render(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(m), None);
    let name = get("name");
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return bad("The name must be 1 to 80 characters of text.".into()).await;
    }
    let rate_limit = match get("rate_limit").parse::<i64>() {
        Ok(n) if (1..=1_000_000).contains(&n) => n,
        _ => return bad("The rate limit must be a whole number of requests per minute, 1 to 1000000.".into()).await,
    };
    let mut known = Vec::new();
    for e in state.editions.load().iter() {
        known.extend(state.store.sections(e.id).await?.into_iter().map(|s| s.path));
    }
    let mut sections = Vec::new();
    for (_, p) in fields.iter().filter(|(k, _)| k == "sections") {
        if !known.contains(p) {
            return bad(format!("There is no section `{p}`.")).await;
        }
        sections.push(p.clone());
    }
    let s = match state
        .store
        .add_subscriber(
            &NewSubscriber { name: name.clone(), sections, editions: Vec::new(), rate_limit },
            &staff.audit("subscriber.create", "subscriber", "", &name),
        )
        .await
    {
        Ok(s) => s,
        Err(StoreError::Conflict { .. }) => return bad(format!("A subscriber named “{name}” exists already.")).await,
        Err(e) => return Err(e.into()),
    };
    let (product_id, embargo) = match access_of(&state, &fields).await? {
        Ok(a) => a,
        Err(m) => return bad(m).await,
    };
    if product_id.is_some() || embargo {
        let detail = access_detail(&state, product_id, embargo).await?;
        state
            .store
            .set_subscriber_access(
                s.id,
                product_id,
                embargo,
                &staff.audit("subscriber.access", "subscriber", s.id, detail),
            )
            .await?;
    }
    let (key, _) =
        state.store.create_api_key(s.id, &staff.audit("subscriber.key", "subscriber", s.id, &s.name)).await?;
    render(&state, &staff, StatusCode::OK, None, Some(Shown { what: "API key", value: key })).await
}

/// The access a form asks for: `product` (a product id, empty: none) and `embargo` (a checkbox).
async fn access_of(
    state: &AppState,
    fields: &[(String, String)],
) -> Result<Result<(Option<i64>, bool), String>, AdminError> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_string());
    let embargo = get("embargo").is_some_and(|v| v == "on" || v == "1" || v == "true");
    let product_id = match get("product").as_deref() {
        None | Some("") => None,
        Some(p) => match p.parse::<i64>() {
            Ok(id) if state.store.product(id).await?.is_some() => Some(id),
            _ => return Ok(Err(format!("There is no product “{p}”."))),
        },
    };
    Ok(Ok((product_id, embargo)))
}

/// The audit detail of an access setting.
async fn access_detail(state: &AppState, product_id: Option<i64>, embargo: bool) -> Result<String, AdminError> {
    let product = match product_id {
        Some(id) => state.store.product(id).await?.map_or_else(|| id.to_string(), |p| p.name),
        None => "none (full access)".into(),
    };
    Ok(format!("product: {product}; embargoed copy: {}", if embargo { "yes" } else { "no" }))
}

/// The form of a subscriber's row: `product` and `embargo`.
async fn set_access(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    body: String,
) -> Result<Response, AdminError> {
    let s = subscriber_of(&state, &id).await?;
    let fields: Vec<(String, String)> = serde_urlencoded::from_str(&body)
        .map_err(|e| AdminError::BadRequest(format!("the form could not be read: {e}")))?;
    let (product_id, embargo) = match access_of(&state, &fields).await? {
        Ok(a) => a,
        Err(m) => return render(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(m), None).await,
    };
    let detail = access_detail(&state, product_id, embargo).await?;
    state
        .store
        .set_subscriber_access(s.id, product_id, embargo, &staff.audit("subscriber.access", "subscriber", s.id, detail))
        .await?;
    Ok(Notice::SubscriberSaved.redirect("/admin/subscribers").into_response())
}

/// The product form: `name`, `editions`, `sections`, `subjects`, `min_urgency`, `genres`.
#[derive(Debug, Deserialize)]
pub(super) struct ProductForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    editions: String,
    #[serde(default)]
    sections: String,
    #[serde(default)]
    subjects: String,
    #[serde(default)]
    min_urgency: String,
    #[serde(default)]
    genres: String,
}

async fn save_product(
    state: &AppState,
    staff: &Staff,
    id: Option<i64>,
    form: ProductForm,
) -> Result<Response, AdminError> {
    let bad = |m: String| render(state, staff, StatusCode::UNPROCESSABLE_ENTITY, Some(m), None);
    let name = form.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return bad("A product name must be 1 to 80 characters of text.".into()).await;
    }
    let input = FiltersInput {
        editions: form.editions,
        sections: form.sections,
        subjects: form.subjects,
        min_urgency: form.min_urgency,
        genres: form.genres,
    };
    let filters = match access::check_filters(&state.store, &input).await? {
        Ok(f) => f,
        Err(errors) => return bad(errors.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" ")).await,
    };
    let action = if id.is_some() { "product.update" } else { "product.create" };
    let audit = staff.audit(
        action,
        "product",
        id.map(|i| i.to_string()).unwrap_or_default(),
        format!("{name}: {}", access::describe(&filters)),
    );
    let saved: Result<Product, StoreError> = state.store.save_product(id, &name, &filters, &audit).await;
    match saved {
        Ok(_) => Ok(Redirect::to("/admin/subscribers").into_response()),
        Err(StoreError::Conflict { .. }) => bad(format!("A product named “{name}” exists already.")).await,
        Err(e) => Err(e.into()),
    }
}

async fn create_product(
    State(state): State<AppState>,
    staff: Staff,
    Form(form): Form<ProductForm>,
) -> Result<Response, AdminError> {
    save_product(&state, &staff, None, form).await
}

async fn update_product(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<ProductForm>,
) -> Result<Response, AdminError> {
    let id = id.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    if state.store.product(id).await?.is_none() {
        return Err(AdminError::NotFound);
    }
    save_product(&state, &staff, Some(id), form).await
}

async fn subscriber_of(state: &AppState, id: &str) -> Result<Subscriber, AdminError> {
    let id = id.parse::<i64>().map_err(|_| AdminError::NotFound)?;
    state.store.subscribers().await?.into_iter().find(|s| s.id == id).ok_or(AdminError::NotFound)
}

async fn new_key(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, AdminError> {
    let s = subscriber_of(&state, &id).await?;
    if !s.active {
        return Err(AdminError::Conflict("This subscriber is revoked.".into()));
    }
    let (key, _) =
        state.store.create_api_key(s.id, &staff.audit("subscriber.key", "subscriber", s.id, &s.name)).await?;
    render(&state, &staff, StatusCode::OK, None, Some(Shown { what: "API key", value: key })).await
}

#[derive(Debug, Deserialize)]
pub(super) struct WebhookForm {
    url: String,
}

async fn add_webhook(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(form): Form<WebhookForm>,
) -> Result<Response, AdminError> {
    let s = subscriber_of(&state, &id).await?;
    let url = form.url.trim();
    // Public addresses only (or the operator's allow list): see webhooks::target.
    if let Err(e) = crate::webhooks::target::check_url(url, &state.config.wire.webhook_allow_hosts).await {
        return render(&state, &staff, StatusCode::UNPROCESSABLE_ENTITY, Some(e.to_string()), None).await;
    }
    let w = state.store.add_webhook(s.id, url, &staff.audit("subscriber.webhook", "subscriber", s.id, url)).await?;
    render(&state, &staff, StatusCode::OK, None, Some(Shown { what: "webhook signing secret", value: w.secret })).await
}

async fn revoke(State(state): State<AppState>, staff: Staff, Path(id): Path<String>) -> Result<Response, AdminError> {
    let s = subscriber_of(&state, &id).await?;
    state.store.revoke_subscriber(&s.name, &staff.audit("subscriber.revoke", "subscriber", s.id, &s.name)).await?;
    Ok(Redirect::to("/admin/subscribers").into_response())
}

async fn deliveries(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<Html<String>, AdminError> {
    let s = subscriber_of(&state, &id).await?;
    let tz = state.default_edition().map(|e| e.time_zone).unwrap_or(chrono_tz::UTC);
    let rows: Vec<_> = state
        .store
        .outbox_of(s.id, 500)
        .await?
        .into_iter()
        .map(|e| {
            minijinja::context! {
                event_id => e.event_id, kind => e.kind, news_id => e.news_id, version => e.version,
                attempts => e.attempts, status => e.last_status, error => e.last_error,
                delivered => e.delivered_at.map(|t| dates::format_long(t, tz)),
                next => dates::format_long(e.next_attempt_at, tz),
            }
        })
        .collect();
    page::render(
        &state,
        &staff,
        "admin/deliveries.html",
        "Deliveries",
        minijinja::context! { name => s.name, rows => rows },
    )
}
