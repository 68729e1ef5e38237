//! Accounts, roles, sessions and API tokens. Sessions live in the database, so any number of
//! replicas can serve the same users.

pub mod rules;

use crate::audit::{self, Actor, Change};
use crate::db::DbConn;
use crate::db::schema::{sessions, units, users};
use crate::error::{Error, FieldErrors, Result};
use crate::roster::Scope;
use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
pub use rules::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[serde(skip)]
    pub password_hash: String,
    pub role: String,
    pub unit_id: Option<i64>,
    pub officer_id: Option<i64>,
    pub active: bool,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub password_changed_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub created_at: NaiveDateTime,
    #[schema(value_type = String, example = "2026-03-01T08:30:00")]
    pub updated_at: NaiveDateTime,
}

impl User {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Officer)
    }
}

/// What an account's audit record shows (never the hash).
#[derive(Serialize)]
struct UserRecord<'a> {
    username: &'a str,
    display_name: &'a str,
    role: &'a str,
    unit_id: Option<i64>,
    officer_id: Option<i64>,
    active: bool,
}

impl<'a> From<&'a User> for UserRecord<'a> {
    fn from(u: &'a User) -> Self {
        UserRecord {
            username: &u.username,
            display_name: &u.display_name,
            role: &u.role,
            unit_id: u.unit_id,
            officer_id: u.officer_id,
            active: u.active,
        }
    }
}

/// The signed-in user of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub unit_path: Option<String>,
    pub officer_id: Option<i64>,
    pub session_id: i64,
    pub csrf_token: String,
    pub kind: SessionKind,
    pub ip: String,
}

impl Principal {
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Admin | Role::Auditor => Scope::All,
            Role::Liaison => self
                .unit_path
                .clone()
                .map(Scope::Subtree)
                .unwrap_or(Scope::Nothing),
            Role::Officer => self
                .officer_id
                .map(Scope::Officer)
                .unwrap_or(Scope::Nothing),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            user_id: Some(self.user_id),
            name: self.username.clone(),
            ip: self.ip.clone(),
        }
    }

    /// What this user may do, and where: the value every domain action takes.
    pub fn grant(&self) -> Grant {
        Grant {
            role: Some(self.role),
            scope: self.scope(),
            actor: self.actor(),
        }
    }

    /// For handlers that show a form before any domain call: 403 when the role may not.
    pub fn require(&self, c: Capability) -> Result<()> {
        self.grant().require(c).map(|_| ())
    }

    pub fn require_audit_reader(&self) -> Result<()> {
        self.grant().require(Capability::ReadAudit).map(|_| ())
    }

    /// Compares the form's CSRF token with the session's (browser sessions only).
    pub fn check_csrf(&self, token: &str) -> Result<()> {
        if self.kind == SessionKind::Api {
            return Ok(());
        }
        let a = self.csrf_token.as_bytes();
        let b = token.as_bytes();
        let same =
            a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0;
        if same { Ok(()) } else { Err(Error::Csrf) }
    }
}

pub use rules::Capability;

/// A caller's permissions: role, the part of the roster they may see, and who they are for the
/// audit log. Domain actions take it as an argument and check it themselves, so no handler can
/// forget a check. Made from a signed-in `Principal`, or by the command line (`Grant::system`).
#[derive(Debug, Clone)]
pub struct Grant {
    /// None: the command line, run by whoever has the server's shell (may do everything).
    role: Option<Role>,
    scope: Scope,
    actor: Actor,
}

impl Grant {
    pub fn system(what: &str) -> Grant {
        Grant {
            role: None,
            scope: Scope::All,
            actor: Actor::system(what),
        }
    }

    pub fn allows(&self, c: Capability) -> bool {
        self.role.is_none_or(|r| rules::role_allows(r, c))
    }

    /// Ok when the caller has the capability; otherwise 403 saying what they may not do.
    pub fn require(&self, c: Capability) -> Result<&Grant> {
        if self.allows(c) {
            Ok(self)
        } else {
            Err(Error::Forbidden(format!(
                "{}不能{}",
                self.role.map(Role::label).unwrap_or("当前账号"),
                c.label()
            )))
        }
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn role(&self) -> Option<Role> {
        self.role
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// A browser: cookie, CSRF token on every form, short idle timeout.
    Browser,
    /// An API client: bearer token.
    Api,
}

impl SessionKind {
    pub const ALL: [SessionKind; 2] = [SessionKind::Browser, SessionKind::Api];

    /// As stored in `sessions.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Browser => "browser",
            SessionKind::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<SessionKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The limits that govern logins, from `Config`.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub session_idle: TimeDelta,
    pub token_idle: TimeDelta,
    pub max_failed_logins: i32,
    pub lockout: TimeDelta,
}

impl Policy {
    pub fn from_config(c: &crate::config::Config) -> Policy {
        Policy {
            session_idle: TimeDelta::minutes(c.session_idle_minutes.max(1)),
            token_idle: TimeDelta::minutes(c.token_idle_minutes.max(1)),
            max_failed_logins: c.max_failed_logins.max(1),
            lockout: TimeDelta::minutes(c.lockout_minutes.max(1)),
        }
    }
    fn idle(&self, kind: SessionKind) -> TimeDelta {
        match kind {
            SessionKind::Browser => self.session_idle,
            SessionKind::Api => self.token_idle,
        }
    }
}

pub struct LoginOutcome {
    pub token: String,
    pub csrf_token: String,
    pub user: User,
    pub expires_at: NaiveDateTime,
}

fn user_by_name(conn: &mut DbConn, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::username.eq(username))
        .select(User::as_select())
        .first(conn)
        .optional()
}

pub fn user(conn: &mut DbConn, id: i64) -> Result<User> {
    users::table
        .find(id)
        .select(User::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("账号"))
}

pub fn users(conn: &mut DbConn, grant: &Grant) -> Result<Vec<User>> {
    grant.require(Capability::ManageUsers)?;
    Ok(users::table
        .order(users::username.asc())
        .select(User::as_select())
        .load(conn)?)
}

/// The lock-out key of a user name as typed: known or not, every name is counted the same way,
/// so a lock-out tells nothing about which names exist.
fn attempt_key(username: &str) -> String {
    username.trim().to_lowercase().chars().take(64).collect()
}

/// When the name is locked out, until when.
fn locked_until(conn: &mut DbConn, key: &str) -> QueryResult<Option<NaiveDateTime>> {
    use crate::db::schema::login_failures as lf;
    Ok(lf::table
        .find(key)
        .select(lf::locked_until)
        .first::<Option<NaiveDateTime>>(conn)
        .optional()?
        .flatten()
        .filter(|t| *t > crate::db::now()))
}

/// Counts one failure atomically (parallel wrong passwords each count) and returns the count.
fn count_failure(conn: &mut DbConn, key: &str) -> QueryResult<i32> {
    use diesel::sql_types::{Integer, Text, Timestamp};
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Integer)]
        failures: i32,
    }
    let now = crate::db::now();
    let count: Count = match conn {
        DbConn::Sqlite(c) => diesel::sql_query(
            "INSERT INTO login_failures (username, failures, updated_at) VALUES (?, 1, ?) \
             ON CONFLICT (username) DO UPDATE SET failures = login_failures.failures + 1, \
             updated_at = excluded.updated_at RETURNING failures",
        )
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now)
        .get_result(c)?,
        DbConn::Postgres(c) => diesel::sql_query(
            "INSERT INTO login_failures (username, failures, updated_at) VALUES ($1, 1, $2) \
             ON CONFLICT (username) DO UPDATE SET failures = login_failures.failures + 1, \
             updated_at = excluded.updated_at RETURNING failures",
        )
        .bind::<Text, _>(key)
        .bind::<Timestamp, _>(now)
        .get_result(c)?,
    };
    Ok(count.failures)
}

/// The user names locked out now (for the accounts page).
pub fn locked_names(conn: &mut DbConn) -> Result<std::collections::HashSet<String>> {
    use crate::db::schema::login_failures as lf;
    Ok(lf::table
        .filter(lf::locked_until.gt(crate::db::now()))
        .select(lf::username)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

fn clear_failures(conn: &mut DbConn, key: &str) -> QueryResult<usize> {
    use crate::db::schema::login_failures as lf;
    diesel::delete(lf::table.find(key)).execute(conn)
}

/// Checks the password, counts failures, locks after too many, and opens a session. Every
/// outcome is in the audit log: the session opened, the failure, the lock.
pub fn login(
    conn: &mut DbConn,
    policy: &Policy,
    username: &str,
    password: &str,
    ip: &str,
    user_agent: &str,
    kind: SessionKind,
) -> Result<LoginOutcome> {
    let username = username.trim();
    let key = attempt_key(username);
    let now = crate::db::now();
    let locked_msg = |until: NaiveDateTime| {
        let local = chrono::DateTime::<chrono::Utc>::from_naive_utc_and_offset(until, chrono::Utc)
            .with_timezone(&chrono::Local);
        Error::Locked(format!(
            "连续输错密码次数过多，账号已锁定，请于 {} 后再试，或请管理员解锁",
            local.format("%H:%M")
        ))
    };
    if let Some(until) = locked_until(conn, &key)? {
        return Err(locked_msg(until));
    }
    let user = user_by_name(conn, username)?;
    let verified = match &user {
        Some(u) => rules::verify_password(password, &u.password_hash),
        None => {
            // the same work as a real check, so timing tells nothing about which names exist
            rules::verify_password(password, rules::dummy_hash());
            false
        }
    };
    let actor = Actor {
        user_id: user.as_ref().map(|u| u.id),
        name: user
            .as_ref()
            .map(|u| u.username.clone())
            .unwrap_or_else(|| key.clone()),
        ip: ip.to_string(),
    };
    let entity_id = user
        .as_ref()
        .map(|u| u.id.to_string())
        .unwrap_or_else(|| key.clone());
    let Some(user) = user.filter(|_| verified) else {
        let failures = count_failure(conn, &key)?;
        let lock = failures >= policy.max_failed_logins;
        let until = now + policy.lockout;
        audit::transaction(conn, &actor, |conn, rec| {
            rec.record(
                conn,
                Change::new(
                    "session.login_failed",
                    "user",
                    &entity_id,
                    format!("“{key}”登录失败（用户名或密码错误，第 {failures} 次）"),
                ),
            )?;
            if lock {
                use crate::db::schema::login_failures as lf;
                diesel::update(lf::table.find(&key))
                    .set((lf::failures.eq(0), lf::locked_until.eq(Some(until))))
                    .execute(conn)?;
                rec.record(
                    conn,
                    Change::new(
                        "user.lock",
                        "user",
                        &entity_id,
                        format!("“{key}”连续 {failures} 次输错密码，锁定至 {until} (UTC)"),
                    ),
                )?;
            }
            Ok(())
        })?;
        return Err(if lock {
            locked_msg(until)
        } else {
            Error::BadCredentials
        });
    };
    if !user.active {
        return Err(Error::Forbidden("该账号已停用，请联系管理员".into()));
    }
    let token = rules::new_token();
    let csrf_token = rules::new_token();
    let expires_at = now + policy.idle(kind);
    audit::transaction(conn, &actor, |conn, rec| {
        clear_failures(conn, &key)?;
        diesel::insert_into(sessions::table)
            .values((
                sessions::token_hash.eq(rules::token_hash(&token)),
                sessions::user_id.eq(user.id),
                sessions::kind.eq(kind.as_str()),
                sessions::csrf_token.eq(&csrf_token),
                sessions::ip.eq(ip),
                sessions::user_agent.eq(user_agent.chars().take(300).collect::<String>()),
                sessions::created_at.eq(now),
                sessions::last_seen_at.eq(now),
                sessions::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        rec.record(
            conn,
            Change::new(
                "session.login",
                "user",
                user.id,
                format!(
                    "“{}”登录（{}）",
                    user.username,
                    match kind {
                        SessionKind::Browser => "网页",
                        SessionKind::Api => "API 令牌",
                    }
                ),
            ),
        )
    })?;
    // expired sessions and stale failure counts are swept at each login: no background job
    diesel::delete(sessions::table.filter(sessions::expires_at.lt(now))).execute(conn)?;
    {
        use crate::db::schema::login_failures as lf;
        let stale = now - TimeDelta::days(1);
        diesel::delete(
            lf::table
                .filter(lf::updated_at.lt(stale))
                .filter(lf::locked_until.is_null().or(lf::locked_until.lt(now))),
        )
        .execute(conn)?;
    }
    Ok(LoginOutcome {
        token,
        csrf_token,
        user,
        expires_at,
    })
}

/// Ends a session (audited).
pub fn logout(conn: &mut DbConn, p: &Principal) -> Result<()> {
    audit::transaction(conn, &p.actor(), |conn, rec| {
        diesel::delete(sessions::table.find(p.session_id)).execute(conn)?;
        rec.record(
            conn,
            Change::new(
                "session.logout",
                "user",
                p.user_id,
                format!("“{}”退出登录", p.username),
            ),
        )
    })
}

/// A session joined with its user and the path of the user's unit.
#[derive(Queryable)]
struct SessionRow {
    id: i64,
    kind: String,
    csrf_token: String,
    last_seen_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    user: User,
    unit_path: Option<String>,
}

/// Finds the live session of a token; slides its idle expiry (at most once a minute).
pub fn authenticate(
    conn: &mut DbConn,
    policy: &Policy,
    token: &str,
    ip: &str,
) -> Result<Option<Principal>> {
    let now = crate::db::now();
    let row: Option<SessionRow> = sessions::table
        .inner_join(users::table.left_join(units::table))
        .filter(sessions::token_hash.eq(rules::token_hash(token)))
        .select((
            sessions::id,
            sessions::kind,
            sessions::csrf_token,
            sessions::last_seen_at,
            sessions::expires_at,
            User::as_select(),
            units::path.nullable(),
        ))
        .first(conn)
        .optional()?;
    let Some(SessionRow {
        id: session_id,
        kind,
        csrf_token,
        last_seen_at: last_seen,
        expires_at,
        user,
        unit_path,
    }) = row
    else {
        return Ok(None);
    };
    if expires_at <= now || !user.active {
        diesel::delete(sessions::table.find(session_id)).execute(conn)?;
        return Ok(None);
    }
    let Some(kind) = SessionKind::parse(&kind) else {
        // a session row of a kind this version doesn't know is not honoured
        return Ok(None);
    };
    if now - last_seen > TimeDelta::seconds(60) {
        diesel::update(sessions::table.find(session_id))
            .set((
                sessions::last_seen_at.eq(now),
                sessions::expires_at.eq(now + policy.idle(kind)),
            ))
            .execute(conn)?;
    }
    Ok(Some(Principal {
        user_id: user.id,
        role: user.role(),
        username: user.username,
        display_name: user.display_name,
        unit_id: user.unit_id,
        unit_path,
        officer_id: user.officer_id,
        session_id,
        csrf_token,
        kind,
        ip: ip.to_string(),
    }))
}

/// A new account as an administrator fills it in.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "username": "liaison01", "display_name": "王五", "password": "Liaison-Pass-2026!",
    "role": "liaison", "unit_id": 1
}))]
#[serde(default)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password: String,
    pub role: String,
    pub unit_id: Option<i64>,
    pub officer_id: Option<i64>,
}

pub fn create_user(conn: &mut DbConn, grant: &Grant, input: &NewUser) -> Result<User> {
    grant.require(Capability::ManageUsers)?;
    let actor = grant.actor();
    let mut errors = FieldErrors::new();
    let username = rules::check_username(&input.username)
        .map_err(|e| errors.insert("username".into(), e))
        .ok();
    let display_name = crate::roster::rules::clean_text(&input.display_name);
    if display_name.is_empty() || display_name.chars().count() > 50 {
        errors.insert("display_name".into(), "请填写姓名（最多 50 个字符）".into());
    }
    if let Err(e) = rules::check_password(&input.password, &input.username) {
        errors.insert("password".into(), e);
    }
    let role = Role::parse(&input.role);
    match role {
        None => {
            errors.insert("role".into(), "请选择角色".into());
        }
        Some(Role::Liaison) if input.unit_id.is_none() => {
            errors.insert("unit_id".into(), "单位联络员须指定所管理的单位".into());
        }
        Some(Role::Officer) if input.officer_id.is_none() => {
            errors.insert(
                "officer_id".into(),
                "执法人员账号须关联名录库中的人员".into(),
            );
        }
        _ => {}
    }
    if !errors.is_empty() {
        return Err(Error::invalid_fields(errors));
    }
    let role = role.expect("checked");
    let username = username.expect("checked");
    let hash = rules::hash_password(&input.password)
        .map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    audit::transaction(conn, actor, |conn, rec| {
        if user_by_name(conn, &username)?.is_some() {
            return Err(Error::conflict(
                "username",
                format!("用户名 {username} 已被使用"),
            ));
        }
        let unit_id = if role == Role::Liaison {
            input.unit_id
        } else {
            None
        };
        if let Some(u) = unit_id {
            crate::roster::unit(conn, u)
                .map_err(|_| Error::invalid("unit_id", "所选单位不存在"))?;
        }
        let officer_id = if role == Role::Officer {
            input.officer_id
        } else {
            None
        };
        if let Some(o) = officer_id {
            crate::roster::db::officer(conn, o)?
                .ok_or_else(|| Error::invalid("officer_id", "所选人员不存在"))?;
        }
        let now = crate::db::now();
        let id: i64 = diesel::insert_into(users::table)
            .values((
                users::username.eq(&username),
                users::display_name.eq(&display_name),
                users::password_hash.eq(&hash),
                users::role.eq(role.as_str()),
                users::unit_id.eq(unit_id),
                users::officer_id.eq(officer_id),
                users::active.eq(true),
                users::password_changed_at.eq(now),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .returning(users::id)
            .get_result(conn)
            .map_err(crate::error::on_unique(
                "users",
                "username",
                "username",
                format!("用户名 {username} 已被使用"),
            ))?;
        let u = user(conn, id)?;
        rec.record(
            conn,
            Change::new(
                "user.create",
                "user",
                id,
                format!("新建{}账号“{}”", role.label(), username),
            )
            .after(&UserRecord::from(&u)),
        )?;
        Ok(u)
    })
}

fn set_password_hash(conn: &mut DbConn, id: i64, password: &str) -> Result<()> {
    let hash =
        rules::hash_password(password).map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?;
    let now = crate::db::now();
    let username: String = diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::password_changed_at.eq(now),
            users::updated_at.eq(now),
        ))
        .returning(users::username)
        .get_result(conn)?;
    clear_failures(conn, &attempt_key(&username))?;
    Ok(())
}

/// An administrator sets a new password; the user's sessions end and any lock is lifted.
pub fn reset_password(conn: &mut DbConn, grant: &Grant, id: i64, password: &str) -> Result<()> {
    grant.require(Capability::ManageUsers)?;
    let actor = grant.actor();
    let u = user(conn, id)?;
    rules::check_password(password, &u.username).map_err(|e| Error::invalid("password", e))?;
    audit::transaction(conn, actor, |conn, rec| {
        set_password_hash(conn, id, password)?;
        diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
        rec.record(
            conn,
            Change::new(
                "user.reset_password",
                "user",
                id,
                format!("重置“{}”的密码并解除锁定", u.username),
            ),
        )
    })
}

/// The user changes their own password, proving the current one; other sessions end.
pub fn change_password(conn: &mut DbConn, p: &Principal, current: &str, new: &str) -> Result<()> {
    let u = user(conn, p.user_id)?;
    if !rules::verify_password(current, &u.password_hash) {
        return Err(Error::invalid("current_password", "当前密码不正确"));
    }
    rules::check_password(new, &u.username).map_err(|e| Error::invalid("new_password", e))?;
    if current == new {
        return Err(Error::invalid("new_password", "新密码不能与当前密码相同"));
    }
    audit::transaction(conn, &p.actor(), |conn, rec| {
        set_password_hash(conn, u.id, new)?;
        diesel::delete(
            sessions::table
                .filter(sessions::user_id.eq(u.id))
                .filter(sessions::id.ne(p.session_id)),
        )
        .execute(conn)?;
        rec.record(
            conn,
            Change::new(
                "user.password",
                "user",
                u.id,
                format!("“{}”修改了自己的密码", u.username),
            ),
        )
    })
}

/// Enables or disables an account (disabling ends its sessions).
pub fn set_active(conn: &mut DbConn, grant: &Grant, id: i64, active: bool) -> Result<User> {
    grant.require(Capability::ManageUsers)?;
    let actor = grant.actor();
    if actor.user_id == Some(id) && !active {
        return Err(Error::invalid("active", "不能停用自己的账号"));
    }
    audit::transaction(conn, actor, |conn, rec| {
        let before = user(conn, id)?;
        diesel::update(users::table.find(id))
            .set((
                users::active.eq(active),
                users::updated_at.eq(crate::db::now()),
            ))
            .execute(conn)?;
        if !active {
            diesel::delete(sessions::table.filter(sessions::user_id.eq(id))).execute(conn)?;
        }
        let after = user(conn, id)?;
        let verb = if active { "启用" } else { "停用" };
        rec.record(
            conn,
            Change::new(
                "user.update",
                "user",
                id,
                format!("{verb}账号“{}”", after.username),
            )
            .before(&UserRecord::from(&before))
            .after(&UserRecord::from(&after)),
        )?;
        Ok(after)
    })
}

/// Creates the first administrator when there are no accounts. Returns the generated password
/// when none was given (to be shown once).
pub fn ensure_admin(conn: &mut DbConn, password: Option<&str>) -> Result<Option<String>> {
    let count: i64 = users::table.count().get_result(conn)?;
    if count > 0 {
        return Ok(None);
    }
    let (password, generated) = match password {
        Some(p) => (p.to_string(), false),
        None => (rules::generate_password(), true),
    };
    let input = NewUser {
        username: "admin".into(),
        display_name: "系统管理员".into(),
        password: password.clone(),
        role: Role::Admin.as_str().into(),
        unit_id: None,
        officer_id: None,
    };
    create_user(conn, &Grant::system("首次启动"), &input).map_err(|e| match e {
        Error::Invalid { fields, .. } => Error::Invalid {
            message: format!(
                "ZHIFA_ADMIN_PASSWORD 不符合密码规则：{}",
                fields.values().cloned().collect::<Vec<_>>().join("；")
            ),
            fields: FieldErrors::new(),
        },
        e => e,
    })?;
    Ok(generated.then_some(password))
}
