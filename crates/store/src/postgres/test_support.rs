//! Throw-away databases on the test PostgreSQL server, for the test suites
//! of every crate (behind the `test-support` feature).

use sitegpt_access::id::{IdKind, new_id};

use super::migrations;
use super::sql::{connect_once, pg};
use crate::{StoreError, StoreResult};

/// The test PostgreSQL server (`SITEGPT_TEST_POSTGRES_URL`, set by
/// `scripts/test.sh`). Without it: a failure when `required` or in CI, else a
/// note and `None`, so a bare `cargo test` still runs the SQLite half.
pub fn test_server_url(required: bool) -> Option<String> {
    match std::env::var("SITEGPT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if required || std::env::var_os("CI").is_some() => {
            panic!("SITEGPT_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, which starts PostgreSQL")
        }
        _ => {
            eprintln!("note: SITEGPT_TEST_POSTGRES_URL is not set; PostgreSQL is not tested");
            None
        }
    }
}

/// A database made for one test or benchmark. Dropped, with any connection
/// still on it, soon after this value is, so test runs do not fill the disk.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL of the new database.
    pub url: String,
    admin_url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // In the background, on a thread and runtime of its own (dropping a
        // database waits for a checkpoint); a test process that exits first
        // may leave its last few behind.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            runtime.block_on(admin_execute(&admin_url, &sql)).ok()
        });
    }
}

/// Creates a new database with a random name, already migrated, on the
/// server that `admin_url` points at (its user must be allowed to create
/// databases). For tests and benchmarks: the first call in a process
/// migrates a template database that later ones copy.
pub async fn create_test_database(admin_url: &str) -> StoreResult<TestDatabase> {
    static TEMPLATE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    let template = TEMPLATE
        .get_or_try_init(|| async {
            let name = random_database_name();
            admin_execute(admin_url, &format!("CREATE DATABASE {name}")).await?;
            let (mut client, driver) = connect_once(&database_url(admin_url, &name)).await?;
            migrations::run(&mut client).await?;
            drop(client);
            let _ = driver.await;
            Ok::<_, StoreError>(name)
        })
        .await?;
    let name = random_database_name();
    admin_execute(admin_url, &format!("CREATE DATABASE {name} TEMPLATE {template}")).await?;
    Ok(TestDatabase { url: database_url(admin_url, &name), admin_url: admin_url.to_owned(), name })
}

/// Creates a new, empty database with a random name (for a product whose
/// store migrates it on connecting).
pub async fn create_empty_test_database(admin_url: &str) -> StoreResult<TestDatabase> {
    let name = random_database_name();
    admin_execute(admin_url, &format!("CREATE DATABASE {name}")).await?;
    Ok(TestDatabase { url: database_url(admin_url, &name), admin_url: admin_url.to_owned(), name })
}

fn random_database_name() -> String {
    format!("sitegpt_{}", new_id(IdKind::Token).to_ascii_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_"))
}

async fn admin_execute(admin_url: &str, sql: &str) -> StoreResult<()> {
    let (client, driver) = connect_once(admin_url).await?;
    let done = client.batch_execute(sql).await.map_err(pg);
    drop(client);
    let _ = driver.await;
    done
}

/// `admin_url` with its database name replaced.
fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (admin_url, String::new()),
    };
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    format!("{server}/{name}{query}")
}
