//! Administrators' pages for OpenID Connect clients (`/admin/clients…`). Every POST
//! needs a recent confirmation ("confirm it's you") and the form token; a secret is shown
//! once, on the page that answers its creation or rotation.

use rocket::http::Status;
use rocket::response::Redirect;
use rocket::{Either, State};

use crate::app::App;
use crate::context;
use crate::oidc::{self, Client, ClientSpec};
use crate::web::auth::TokenOnly;
use crate::web::client::ClientInfo;
use crate::web::csrf::{Csrf, CsrfProtected};
use crate::web::engine::Template;
use crate::web::error::{Error, Result};
use crate::web::lang::{page, Lang};
use crate::web::second_factor::require_recent_confirmation;
use crate::web::session::AdminUser;

fn provider(app: &App) -> Result<&std::sync::Arc<oidc::tokens::Provider>> {
    app.oidc().ok_or(Error::NotFound)
}

#[get("/admin/clients")]
pub async fn clients(admin: AdminUser, app: &State<App>, lang: Lang) -> Result<Template> {
    provider(app)?;
    let clients = app.oidc_clients().await?;
    Ok(page(
        "admin/clients",
        &lang,
        context! { user: &admin.0, clients, title_key: "title-oidc-clients" },
    ))
}

/// The form's values, as typed.
#[derive(Debug, Default, FromForm, serde::Serialize)]
pub struct ClientForm {
    #[field(default = String::new())]
    name: String,
    #[field(default = String::new())]
    redirect_uris: String,
    #[field(default = String::new())]
    post_logout_redirect_uris: String,
    #[field(default = String::new())]
    backchannel_logout_uri: String,
    #[field(default = String::new())]
    allowed_groups: String,
    #[field(default = false)]
    public: bool,
    #[field(default = false)]
    trusted: bool,
    #[field(default = false)]
    pkce: bool,
    #[field(default = String::new())]
    alg: String,
    #[field(default = String::new())]
    #[serde(skip)]
    csrf_token: String,
}

impl CsrfProtected for ClientForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

fn lines(s: &str) -> Vec<String> {
    s.split(['\n', ',', ' '])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

impl ClientForm {
    fn spec(&self) -> ClientSpec {
        ClientSpec {
            name: crate::text::printable(&self.name, 100),
            redirect_uris: lines(&self.redirect_uris),
            post_logout_redirect_uris: lines(&self.post_logout_redirect_uris),
            backchannel_logout_uri: Some(self.backchannel_logout_uri.trim().to_string())
                .filter(|u| !u.is_empty()),
            allowed_groups: lines(&self.allowed_groups),
            public: self.public,
            trusted: self.trusted,
            require_pkce: self.pkce || self.public,
            alg: crate::web::oidc::parse_alg(self.alg.trim()),
        }
    }

    fn of(c: &Client) -> ClientForm {
        ClientForm {
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.join("\n"),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
            allowed_groups: c.allowed_groups.join("\n"),
            public: c.public,
            trusted: c.trusted,
            pkce: c.require_pkce,
            alg: c.alg.as_str().into(),
            csrf_token: String::new(),
        }
    }
}

fn new_form(
    app: &App,
    admin: &AdminUser,
    form: &ClientForm,
    error: Option<&str>,
    lang: &Lang,
) -> Template {
    let csrf_token = app.csrf().for_session(&admin.0.sid);
    let algs = app.oidc().map(|p| p.algs()).unwrap_or_default();
    page(
        "admin/client_new",
        lang,
        context! { user: &admin.0, form, error, csrf_token, algs, title_key: "title-oidc-new-client" },
    )
}

#[get("/admin/clients/new")]
pub fn new_client_page(admin: AdminUser, app: &State<App>, lang: Lang) -> Result<Template> {
    provider(app)?;
    let form = ClientForm {
        pkce: true,
        alg: "RS256".into(),
        ..ClientForm::default()
    };
    Ok(new_form(app, &admin, &form, None, &lang))
}

/// Checks a spec against the keys and groups: the refusal's text, if any.
async fn check(app: &App, spec: ClientSpec) -> Result<(ClientSpec, Option<String>)> {
    provider(app)?;
    Ok(app.oidc_check_client(spec).await?)
}

#[post("/admin/clients/new", data = "<form>")]
pub async fn new_client(
    admin: AdminUser,
    form: Csrf<ClientForm>,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    require_recent_confirmation(app, &admin.0, "/admin/clients/new").await?;
    let form = form.into_inner();
    let (spec, refused) = check(app, form.spec()).await?;
    if let Some(e) = refused {
        return Ok(Either::Right((
            Status::UnprocessableEntity,
            new_form(app, &admin, &form, Some(&e), &lang),
        )));
    }
    let (made, secret) = app.oidc_create_client(spec, admin.0.owner(&client)).await?;
    Ok(Either::Right((
        Status::Ok,
        client_page(app, &admin, &made, secret.as_deref(), None, &lang),
    )))
}

fn client_page(
    app: &App,
    admin: &AdminUser,
    c: &Client,
    secret: Option<&str>,
    error: Option<&str>,
    lang: &Lang,
) -> Template {
    let csrf_token = app.csrf().for_session(&admin.0.sid);
    let algs = app.oidc().map(|p| p.algs()).unwrap_or_default();
    let form = ClientForm::of(c);
    page(
        "admin/client",
        lang,
        context! { user: &admin.0, client: c, form, secret, error, csrf_token, algs, title_key: "title-oidc-client" },
    )
}

async fn load(app: &App, id: &str) -> Result<Client> {
    app.oidc_client(id.to_string())
        .await?
        .ok_or(Error::NotFound)
}

#[get("/admin/clients/<id>")]
pub async fn client(id: &str, admin: AdminUser, app: &State<App>, lang: Lang) -> Result<Template> {
    provider(app)?;
    let c = load(app, id).await?;
    Ok(client_page(app, &admin, &c, None, None, &lang))
}

#[post("/admin/clients/<id>/edit", data = "<form>")]
pub async fn edit_client(
    id: &str,
    admin: AdminUser,
    form: Csrf<ClientForm>,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Either<Redirect, (Status, Template)>> {
    let existing = load(app, id).await?;
    let here = format!("/admin/clients/{}", existing.client_id);
    require_recent_confirmation(app, &admin.0, &here).await?;
    let form = form.into_inner();
    let mut spec = form.spec();
    spec.public = existing.public;
    let (spec, refused) = check(app, spec).await?;
    if let Some(e) = refused {
        return Ok(Either::Right((
            Status::UnprocessableEntity,
            client_page(app, &admin, &existing, None, Some(&e), &lang),
        )));
    }
    app.oidc_update_client(existing.client_id.clone(), spec, admin.0.owner(&client))
        .await?;
    Ok(Either::Left(Redirect::to(here)))
}

#[post("/admin/clients/<id>/rotate-secret", data = "<_form>")]
pub async fn rotate_secret(
    id: &str,
    admin: AdminUser,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
    lang: Lang,
) -> Result<Template> {
    let existing = load(app, id).await?;
    require_recent_confirmation(
        app,
        &admin.0,
        &format!("/admin/clients/{}", existing.client_id),
    )
    .await?;
    let secret = app
        .oidc_rotate_secret(existing.client_id.clone(), admin.0.owner(&client))
        .await?;
    Ok(client_page(
        app,
        &admin,
        &existing,
        Some(&secret),
        None,
        &lang,
    ))
}

#[post("/admin/clients/<id>/delete", data = "<_form>")]
pub async fn delete_client(
    id: &str,
    admin: AdminUser,
    _form: Csrf<TokenOnly>,
    client: ClientInfo,
    app: &State<App>,
) -> Result<Redirect> {
    let existing = load(app, id).await?;
    require_recent_confirmation(
        app,
        &admin.0,
        &format!("/admin/clients/{}", existing.client_id),
    )
    .await?;
    app.oidc_delete_client(existing.client_id.clone(), admin.0.owner(&client))
        .await?;
    Ok(Redirect::to("/admin/clients"))
}
