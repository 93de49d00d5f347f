//! `newsdesk user ...`: back-office accounts from the command line (the first
//! admin of a fresh site is made here).

use std::io::BufRead;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use newsdesk_domain::roles::{self, Role};
use newsdesk_storage::{AuditEntry, NewUser, Store, StoreError};
use rand::Rng;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a generated password once (or reads one line from stdin with --password-stdin).
    Add(UserAddArgs),
    /// List users.
    List,
    /// Set a new password (generated and printed, or from stdin), end the user's sessions and revoke their API tokens.
    Password(UserPasswordArgs),
    /// Make a personal API token for the /api/v1 write API; prints it once.
    Token(UserTokenArgs),
}

#[derive(Debug, Args)]
pub struct UserTokenArgs {
    /// E-mail address of the user the token acts as.
    #[arg(value_name = "EMAIL")]
    pub email: String,
    /// What the token is for, to recognise it later (default: `cli`).
    #[arg(long, value_name = "NAME", default_value = "cli")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct UserAddArgs {
    /// E-mail address (the login name).
    #[arg(value_name = "EMAIL")]
    pub email: String,
    /// reporter, editor or admin.
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Display name (default: the part of the address before @).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Read the password from the first line of stdin instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct UserPasswordArgs {
    /// E-mail address of the user.
    #[arg(value_name = "EMAIL")]
    pub email: String,
    /// Read the password from the first line of stdin instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

/// Runs a `user` command.
pub async fn run(config: &Config, cmd: &UserCommand) -> anyhow::Result<()> {
    let store = crate::startup::open_store(config).await?;
    let result = match cmd {
        UserCommand::Add(a) => add(&store, &a.email, &a.role, a.name.as_deref(), a.password_stdin).await,
        UserCommand::List => list(&store).await,
        UserCommand::Password(a) => set_password(&store, &a.email, a.password_stdin).await,
        UserCommand::Token(a) => token(&store, &a.email, &a.name).await,
    };
    store.close().await;
    result
}

/// A generated password: 20 characters from an alphabet without look-alikes.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

/// Reads one line from stdin as the password (trailing newline removed) and
/// checks it against the rules, with the user's address and name as things
/// it must not be made of.
fn password_from_stdin(user_inputs: &[&str]) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
    let p = line.trim_end_matches(['\n', '\r']).to_string();
    roles::check_password(&p, user_inputs).map_err(|m| anyhow::anyhow!("the password from stdin is refused: {m}"))?;
    Ok(p)
}

/// `user add`: creates a user; prints the generated password once unless one came on stdin.
pub async fn add(store: &Store, email: &str, role: &str, name: Option<&str>, stdin: bool) -> anyhow::Result<()> {
    let email = roles::normalize_email(email).map_err(|m| anyhow::anyhow!("{m}"))?;
    let role: Role = role.parse()?;
    let name =
        name.map(str::trim).filter(|n| !n.is_empty()).unwrap_or_else(|| email.split('@').next().unwrap_or("user"));
    if name.chars().count() > 80 {
        bail!("the name is longer than 80 characters");
    }
    let (password, generated) =
        if stdin { (password_from_stdin(&[&email, name])?, false) } else { (generate_password(), true) };
    let hash = newsdesk_web::admin::hash_password(password.clone()).await?;
    let now = chrono::Utc::now();
    match store
        .create_user(
            &NewUser { email: email.clone(), name: name.to_string(), role, password_hash: hash },
            now,
            &AuditEntry::system("cli", "user.create", "user", "", &format!("{email} as {role}")),
        )
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict { .. }) => bail!("there is already a user {email}"),
        Err(e) => return Err(e.into()),
    }
    println!("created {role} {email}");
    if generated {
        println!("password: {password}");
        println!("(shown once; change it under Your account after logging in at /admin/login)");
    }
    Ok(())
}

/// `user list`.
pub async fn list(store: &Store) -> anyhow::Result<()> {
    for u in store.users().await? {
        println!("{}\t{}\t{}\t{}", u.email, u.role, if u.active { "active" } else { "inactive" }, u.name);
    }
    Ok(())
}

/// `user password EMAIL`: sets a new password (generated, or from stdin), ends
/// the user's sessions and revokes their API tokens.
pub async fn set_password(store: &Store, email: &str, stdin: bool) -> anyhow::Result<()> {
    let email = roles::normalize_email(email).map_err(|m| anyhow::anyhow!("{m}"))?;
    let Some((user, _)) = store.user_by_email(&email).await? else { bail!("there is no user {email}") };
    let (password, generated) =
        if stdin { (password_from_stdin(&[&email, &user.name])?, false) } else { (generate_password(), true) };
    let hash = newsdesk_web::admin::hash_password(password.clone()).await?;
    let audit = AuditEntry::system("cli", "password_change", "user", user.id, "");
    store.set_password(user.id, &hash, chrono::Utc::now(), &audit).await?;
    println!("password of {email} changed; their sessions were ended and their API tokens revoked");
    if generated {
        println!("password: {password}");
    }
    Ok(())
}

/// `user token EMAIL --name NAME`: makes a personal API token and prints it once.
pub async fn token(store: &Store, email: &str, name: &str) -> anyhow::Result<()> {
    let email = roles::normalize_email(email).map_err(|m| anyhow::anyhow!("{m}"))?;
    let Some((user, _)) = store.user_by_email(&email).await? else { bail!("there is no user {email}") };
    if !user.active {
        bail!("the user {email} is deactivated");
    }
    let now = chrono::Utc::now();
    // The store fills the detail with the token's prefix and name.
    let audit = AuditEntry::system("cli", "token.create", "user", user.id, "");
    let token = match store.create_api_token(user.id, name, now, &audit).await {
        Ok((token, _)) => token,
        Err(StoreError::Invalid(m)) => bail!("{m}"),
        Err(e) => return Err(e.into()),
    };
    println!("{token}");
    eprintln!("API token for {email} as {} (shown once; send it as `Authorization: Bearer TOKEN`)", user.role);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_passwords_pass_the_rules() {
        let p = super::generate_password();
        assert_eq!(p.len(), 20);
        assert!(newsdesk_domain::roles::check_password(&p, &["jane@example.org", "Jane"]).is_ok());
        assert_ne!(p, super::generate_password());
    }
}
