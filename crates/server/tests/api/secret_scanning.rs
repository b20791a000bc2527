//! Leaked-token reports in GitHub's secret-scanning format, signed with a key
//! pair made here: a real token is revoked at once on every node and its
//! owner mailed; a bad or missing signature changes nothing.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sitegpt_access::Scope;
use sitegpt_server::scanning_keys::{ScanningKeys, p256_pem};

use crate::helpers::{TestApp, TestResponse};

/// A key pair as GitHub would hold it, and the document naming its public half.
struct Signer {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl Signer {
    fn new() -> (Signer, ScanningKeys) {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).expect("pair");
        let document = json!({"public_keys": [
            {"key_identifier": "github-key-1", "key": p256_pem(pair.public_key().as_ref()), "is_current": true}
        ]});
        let keys = ScanningKeys::from_document(&document.to_string()).expect("keys");
        (Signer { pair, rng }, keys)
    }

    fn sign(&self, body: &str) -> String {
        STANDARD.encode(self.pair.sign(&self.rng, body.as_bytes()).expect("sign").as_ref())
    }
}

async fn report(app: &TestApp, body: &str, key: Option<&str>, signature: Option<&str>) -> TestResponse {
    let mut builder = Request::post("/secret-scanning/github").header("content-type", "application/json");
    if let Some(key) = key {
        builder = builder.header("github-public-key-identifier", key);
    }
    if let Some(signature) = signature {
        builder = builder.header("github-public-key-signature", signature);
    }
    app.send(builder.body(Body::from(body.to_owned())).expect("request")).await
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_signed_report_revokes_the_token_everywhere_mails_its_owner_and_answers_feedback() {
    let (signer, keys) = Signer::new();
    let app = TestApp::with_secret_scanning(keys).await;
    let other_node = app.another_node().await;
    let owner = app.owner().await;
    let (id, leaked) = app.token(&owner, &[Scope::AccountRead]).await;
    let (_, kept) = app.token(&owner, &[Scope::AccountRead]).await;
    other_node.get("/api/v2/account", &leaked).await.assert_ok(200);

    let noise = format!("sgpt_{}", "A".repeat(49));
    let body = json!([
        {"token": leaked, "type": "sitegpt_api_token", "url": "https://github.com/octo/app/blob/abc/.env", "source": "content"},
        {"token": noise, "type": "sitegpt_api_token", "url": "https://github.com/octo/app/blob/abc/README.md", "source": "content"},
    ])
    .to_string();
    let answer = report(&app, &body, Some("github-key-1"), Some(&signer.sign(&body))).await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!([
            {"token_hash": sha256_hex(&leaked), "token_type": "sitegpt_api_token", "label": "true_positive"},
            {"token_hash": sha256_hex(&noise), "token_type": "sitegpt_api_token", "label": "false_positive"},
        ])
    );
    // Revoked here at once, and on the other node within a second.
    app.get("/api/v2/account", &leaked).await.assert_error(401, "TOKEN_REVOKED");
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let answer = other_node.get("/api/v2/account", &leaked).await;
        if answer.status.as_u16() == 401 {
            break;
        }
        assert!(Instant::now() < deadline, "the other node still accepts the leaked token");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.get("/api/v2/account", &kept).await.assert_ok(200);
    assert!(app.store().token(&id).await.expect("read").expect("token").revoked_at.is_some());
    // The owner hears where it was found; the mail carries no secret.
    let mail = app.outbox().await.into_iter().find(|m| m.contains("found in public")).expect("a mail");
    assert!(mail.contains(&owner.email) && mail.contains("https://github.com/octo/app/blob/abc/.env"), "{mail}");
    assert!(mail.contains("http://api.test/dashboard/agents"));
    assert!(!mail.contains(&leaked[5..]), "the mail repeats no secret");
    // The audit log says who revoked it and where it was found.
    let leaks = leak_events(&app, &owner.account_id, &owner.id).await;
    assert_eq!(leaks.len(), 1, "{leaks:?}");
    assert_eq!(leaks[0].action, sitegpt_store::AuditAction::TokenLeakReported);
    assert_eq!(leaks[0].token_id.as_deref(), Some(id.as_str()));
    assert_eq!(leaks[0].actor_service.as_deref(), Some("github-secret-scanning"));
    assert_eq!(leaks[0].details["foundAt"], "https://github.com/octo/app/blob/abc/.env");
    // Reporting it again: still a true positive, nothing more to revoke,
    // and the report is logged again.
    let again = report(&app, &body, Some("github-key-1"), Some(&signer.sign(&body))).await;
    assert_eq!(again.body[0]["label"], "true_positive");
    assert_eq!(leak_events(&app, &owner.account_id, &owner.id).await.len(), 2);
}

/// The account's leak reports in the audit log.
async fn leak_events(app: &TestApp, account_id: &str, viewer: &str) -> Vec<sitegpt_store::AuditEvent> {
    let query = sitegpt_store::AuditQuery {
        action: Some("token.leak_reported".into()),
        ..sitegpt_store::AuditQuery::everything(account_id, viewer)
    };
    app.store().audit_events(query).await.expect("events")
}

#[tokio::test]
async fn forged_missing_or_unknown_signatures_revoke_nothing() {
    let (signer, keys) = Signer::new();
    let (stranger, _) = Signer::new();
    let app = TestApp::with_secret_scanning(keys).await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::AccountRead]).await;
    let body =
        json!([{"token": token, "type": "sitegpt_api_token", "url": "https://example.com", "source": "content"}])
            .to_string();
    let tampered = body.replace("example.com", "example.org");
    for (key, signature, what) in [
        (None, None, "unsigned"),
        (Some("github-key-1"), None, "no signature"),
        (None, Some(signer.sign(&body)), "no key id"),
        (Some("github-key-1"), Some(stranger.sign(&body)), "another key's signature"),
        (Some("github-key-9"), Some(signer.sign(&body)), "an unknown key id"),
        (Some("github-key-1"), Some(signer.sign(&tampered)), "a signature over another body"),
        (Some("github-key-1"), Some("bm90IGEgc2lnbmF0dXJl".to_owned()), "garbage"),
    ] {
        let answer = report(&app, &body, key, signature.as_deref()).await;
        assert_eq!(answer.status.as_u16(), 401, "{what}: {}", answer.body);
        app.get("/api/v2/account", &token).await.assert_ok(200);
    }
    // A signed body that is not a report is 400, and still revokes nothing.
    let not_a_report = r#"{"token": "x"}"#;
    let answer = report(&app, not_a_report, Some("github-key-1"), Some(&signer.sign(not_a_report))).await;
    assert_eq!(answer.status.as_u16(), 400);
    app.get("/api/v2/account", &token).await.assert_ok(200);
    assert!(app.outbox().await.iter().all(|m| !m.contains("found in public")));
}

#[tokio::test]
async fn a_leaked_refresh_token_ends_its_grant() {
    let (signer, keys) = Signer::new();
    let app = TestApp::with_secret_scanning(keys).await;
    let (_, user, client_id, tokens) = crate::authorization_code::granted(&app, "oauth-leak@example.com").await;
    let access = tokens["access_token"].as_str().expect("access");
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let body = json!([{"token": refresh, "type": "sitegpt_refresh_token", "url": "https://gist.github.com/x", "source": "gist"}])
        .to_string();
    let answer = report(&app, &body, Some("github-key-1"), Some(&signer.sign(&body))).await;
    assert_eq!(answer.body[0]["label"], "true_positive", "{}", answer.body);
    app.get("/api/v2/account", access).await.assert_error(401, "TOKEN_REVOKED");
    let pairs = [("grant_type", "refresh_token"), ("client_id", client_id.as_str()), ("refresh_token", refresh)];
    let refused = app.form("/oauth/token", &pairs, None).await;
    assert_eq!((refused.status.as_u16(), refused.body["error"].as_str()), (400, Some("invalid_grant")));
    let mail = app.outbox().await.into_iter().find(|m| m.contains("found in public")).expect("a mail");
    assert!(mail.contains(&user.email) && mail.contains("refresh token of the app") && mail.contains("public gist"));
    let query = sitegpt_store::AuditQuery {
        action: Some("oauth_grant.leak_reported".into()),
        ..sitegpt_store::AuditQuery::everything(&user.account_id, &user.id)
    };
    let ended = app.store().audit_events(query).await.expect("events");
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0].details["foundAt"], "https://gist.github.com/x");
}

#[tokio::test]
async fn servers_without_keys_refuse_reports() {
    let app = TestApp::new().await;
    let answer = report(&app, "[]", Some("k"), Some("s")).await;
    assert_eq!(answer.status.as_u16(), 404, "not set up: {}", answer.body);
    let error: &Value = &answer.body["error"];
    assert!(error.as_str().expect("message").contains("not set up"));
}
