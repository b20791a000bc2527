//! The Agents page: a person's tokens, revoked ones behind a toggle, and all
//! of the account's for owners and admins.

use chrono::{DateTime, Duration, Utc};
use sitegpt_access::id::{IdKind, new_id};
use sitegpt_access::{AccessLevel, ChatbotRestriction, CreatedVia, PlainToken, Role, Scope, ScopeSet};
use sitegpt_store::NewToken;

use crate::helpers::{Browser, TestApp, TestUser};

pub const PASSWORD: &str = "correct horse battery staple";

async fn named_token(
    app: &TestApp,
    user: &TestUser,
    name: &str,
    scopes: ScopeSet,
    chatbots: &[&str],
    expires_at: DateTime<Utc>,
) -> (String, String) {
    let plain = PlainToken::generate();
    let record = app
        .store()
        .insert_token(
            NewToken {
                id: new_id(IdKind::Token),
                account_id: user.account_id.clone(),
                user_id: user.id.clone(),
                name: name.into(),
                hash: plain.hash(),
                hint: plain.hint(),
                scopes,
                chatbots: ChatbotRestriction::from_ids(chatbots.iter().map(|s| s.to_string()).collect()),
                created_via: CreatedVia::Api,
                now: Utc::now(),
                expires_at,
                allowed_ips: sitegpt_access::net::IpAllowlist::anywhere(),
            },
            &sitegpt_store::Actor::system(),
        )
        .await
        .expect("insert token");
    (record.id, plain.expose())
}

/// A person signed in through the pages, with their user and account.
pub async fn signed_in<'a>(app: &'a TestApp, email: &str) -> (Browser<'a>, TestUser) {
    let mut browser = Browser::new(app);
    let link = browser.sign_up(email, PASSWORD).await;
    browser.open_link(&link).await.assert_contains("Your e-mail is verified");
    let user = app.store().user_by_email(email).await.expect("query").expect("user");
    let account_id = app.store().memberships(&user.id).await.expect("memberships")[0].0.id.clone();
    (browser, TestUser { id: user.id, email: email.into(), account_id })
}

#[tokio::test]
async fn the_page_needs_a_sign_in() {
    let app = TestApp::new().await;
    let page = Browser::new(&app).get("/dashboard/agents").await;
    assert_eq!((page.status.as_u16(), page.location()), (303, "/login?next=%2Fdashboard%2Fagents"));
}

#[tokio::test]
async fn a_person_sees_their_tokens_with_access_chatbots_and_expiry() {
    let app = TestApp::new().await;
    let (mut browser, owner) = signed_in(&app, "owner@example.com").await;
    let bot = app.chatbot(&owner.account_id).await;
    let later = Utc::now() + Duration::days(90);
    named_token(&app, &owner, "Deploy bot", AccessLevel::Full.scopes(), &[], later).await;
    let (_, docs_plaintext) =
        named_token(&app, &owner, "Docs agent", AccessLevel::Standard.scopes(), &[&bot], later).await;
    let custom: ScopeSet = [Scope::KnowledgeRead, Scope::KnowledgeWrite].into_iter().collect();
    named_token(&app, &owner, "Knowledge sync", custom, &[], Utc::now() + Duration::days(3)).await;
    let (old, _) = named_token(&app, &owner, "Old laptop", AccessLevel::Standard.scopes(), &[], later).await;
    app.store().revoke_token(&old, Utc::now(), &sitegpt_store::Actor::system()).await.expect("revoke");

    let page = browser.get("/dashboard/agents").await;
    assert_eq!(page.status.as_u16(), 200);
    for text in ["Deploy bot", "Full access", "Docs agent", "Standard access", "Support bot", "All chatbots"] {
        page.assert_contains(text);
    }
    page.assert_contains("Knowledge sync");
    page.assert_contains("Custom · 2 scopes");
    page.assert_contains(r#"title="knowledge:read knowledge:write""#);
    // Expiring within a week is highlighted.
    page.assert_contains(r#"<td class="date soon" data-label="Expires">"#);
    assert!(page.body.contains("in 2 days") || page.body.contains("in 3 days"), "{}", page.body);
    assert_eq!(page.body.matches(r#"class="date soon""#).count(), 1, "only the token that expires soon");
    // Revoked tokens wait behind the toggle; the secret is never on the page.
    assert!(!page.body.contains("Old laptop"));
    page.assert_contains(r#"href="/dashboard/agents?revoked=1""#);
    assert!(!page.body.contains(&docs_plaintext) && !page.body.contains(&docs_plaintext[5..40]));
    page.assert_contains(&format!("···{}", &docs_plaintext[docs_plaintext.len() - 4..]));
    let with_revoked = browser.get("/dashboard/agents?revoked=1").await;
    with_revoked.assert_contains("Old laptop");
    with_revoked.assert_contains("Revoked ");
    with_revoked.assert_contains("Hide revoked");
}

#[tokio::test]
async fn owners_and_admins_can_see_every_token_of_the_account_members_cannot() {
    let app = TestApp::new().await;
    let (mut owner_browser, owner) = signed_in(&app, "lead@example.com").await;
    let later = Utc::now() + Duration::days(30);
    named_token(&app, &owner, "Lead's token", AccessLevel::Standard.scopes(), &[], later).await;
    let mut member_browser = Browser::from_address(&app, "10.0.0.9:4000");
    let link = member_browser.sign_up("helper@example.com", PASSWORD).await;
    member_browser.open_link(&link).await;
    let helper = app.store().user_by_email("helper@example.com").await.expect("query").expect("user");
    app.store().add_member(&owner.account_id, &helper.id, Role::Member, Utc::now()).await.expect("join");
    // The helper's own account came first at sign-up; their tokens here are in the owner's.
    let helper_here =
        TestUser { id: helper.id.clone(), email: helper.email.clone(), account_id: owner.account_id.clone() };
    named_token(&app, &helper_here, "Helper's token", AccessLevel::Standard.scopes(), &[], later).await;

    let mine = owner_browser.get("/dashboard/agents").await;
    mine.assert_contains("Lead's token");
    assert!(!mine.body.contains("Helper's token"), "only the owner's own by default");
    mine.assert_contains("All account tokens");
    let all = owner_browser.get("/dashboard/agents?owner=all").await;
    all.assert_contains("Helper's token");
    all.assert_contains("helper@example.com");
    all.assert_contains("Lead's token");

    // In the lead's team the helper is a member: no switch, and asking for
    // it changes nothing. In their own team they are the owner.
    let here = format!("/dashboard/agents?account={}", owner.account_id);
    let page = member_browser.get(&format!("{here}&owner=all")).await;
    assert_eq!(page.status.as_u16(), 200);
    page.assert_contains("Helper's token");
    assert!(!page.body.contains("Lead's token"));
    assert!(!page.body.contains("All account tokens"));
    let own_team = member_browser.get("/dashboard/agents").await;
    own_team.assert_contains("All account tokens");
    assert!(!own_team.body.contains("Helper's token"), "the first team joined is their own");
    // A team they are not in is not found.
    let (_, stranger) = signed_in(&app, "stranger@example.com").await;
    let refused = member_browser.get(&format!("/dashboard/agents?account={}", stranger.account_id)).await;
    assert_eq!(refused.status.as_u16(), 404);
}
