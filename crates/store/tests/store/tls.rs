//! TLS to PostgreSQL follows libpq's `sslmode`. The test server (see
//! `scripts/postgres.sh`) has a certificate for `localhost` from its own CA,
//! and a role `tlsonly` refused without TLS.

use sitegpt_store::Store;
use sitegpt_store::postgres::PostgresStore;

use crate::postgres_test_url;

async fn outcome(url: &str) -> Result<(), String> {
    match PostgresStore::connect(url).await {
        Ok(store) => store.ping().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// A connection that must succeed; one retry rides out a server busy with
/// the rest of the suite, and both errors are shown if it still fails.
async fn connects(url: &str) -> Result<(), String> {
    match outcome(url).await {
        Ok(()) => Ok(()),
        Err(first) => {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            outcome(url).await.map_err(|second| format!("{first}; again: {second}"))
        }
    }
}

#[tokio::test]
async fn sslmode_decides_encryption_and_certificate_checks() {
    let Some(admin) = postgres_test_url() else { return };
    let ca = std::env::var("SITEGPT_TEST_POSTGRES_CA").expect("SITEGPT_TEST_POSTGRES_CA (from scripts/postgres.sh)");
    let db = sitegpt_store::postgres::create_test_database(&admin).await.expect("database");
    // postgres://postgres@127.0.0.1:PORT/NAME
    let (server, name) = db.url.rsplit_once('/').expect("a database name");
    let port = server.rsplit_once(':').expect("a port").1;
    let url = |host: &str, query: &str| format!("postgres://tlsonly@{host}:{port}/{name}?{query}");

    let refused = outcome(&url("127.0.0.1", "sslmode=disable")).await;
    assert!(refused.is_err(), "the server refuses tlsonly without TLS, so this must fail");
    for query in ["sslmode=prefer", "sslmode=require", ""] {
        connects(&url("127.0.0.1", query)).await.unwrap_or_else(|e| panic!("{query}: {e}"));
    }
    // Verification against the public roots fails: the CA is our own.
    let unknown = outcome(&url("localhost", "sslmode=verify-full")).await.expect_err("unknown issuer");
    assert!(unknown.to_lowercase().contains("certificate") || unknown.contains("tls"), "{unknown}");
    // With the CA: the chain holds; the name holds for localhost only.
    let with_ca = |host: &str, mode: &str| url(host, &format!("sslmode={mode}&sslrootcert={ca}"));
    connects(&with_ca("localhost", "verify-full")).await.expect("verify-full to the certificate's name");
    connects(&with_ca("127.0.0.1", "verify-ca")).await.expect("verify-ca ignores the name");
    connects(&with_ca("127.0.0.1", "require")).await.expect("require with a root checks the chain only");
    outcome(&with_ca("127.0.0.1", "verify-full")).await.expect_err("127.0.0.1 is not in the certificate");

    let bad_mode = outcome(&url("127.0.0.1", "sslmode=sometimes")).await.expect_err("unknown sslmode");
    assert!(bad_mode.contains("sslmode=sometimes"), "{bad_mode}");
    let missing = outcome(&url("127.0.0.1", "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")).await;
    assert!(missing.expect_err("no such file").contains("sslrootcert"));
}
