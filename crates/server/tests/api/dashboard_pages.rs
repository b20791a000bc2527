//! The dashboard around the tokens: the Chatbots page under the API's rules,
//! a token's own page, the header's "you are here" and the unverified
//! warning.

use sitegpt_access::{Role, Scope, SubscriptionStatus};

use crate::agents::signed_in;
use crate::helpers::{Browser, TestApp, TestUser};

async fn chatbot_names(app: &TestApp, account_id: &str) -> Vec<String> {
    let query =
        sitegpt_store::ChatbotQuery { account_id: account_id.into(), only: Vec::new(), limit: 100, after: None };
    app.store().list_chatbots(query).await.expect("chatbots").into_iter().map(|c| c.name).collect()
}

/// Posts a Chatbots form with the session's CSRF token.
async fn post(browser: &mut Browser<'_>, path: &str, fields: &[(&str, &str)]) -> crate::helpers::Page {
    let csrf = browser.get("/dashboard/chatbots").await.csrf();
    let mut pairs = vec![("csrf", csrf.as_str())];
    pairs.extend_from_slice(fields);
    browser.post(path, &pairs).await
}

#[tokio::test]
async fn owners_create_rename_and_delete_chatbots_with_the_apis_checks() {
    let app = TestApp::new().await;
    let (mut browser, owner) = signed_in(&app, "bots@example.com").await;
    let page = browser.get("/dashboard/chatbots").await;
    assert_eq!(page.status.as_u16(), 200);
    page.assert_contains("No chatbots yet.");
    page.assert_contains(r#"<a href="/dashboard/chatbots" aria-current="page">Chatbots</a>"#);
    assert!(page.body.contains(r#"<a href="/dashboard/agents">Agents</a>"#), "only this section is current");

    let account = owner.account_id.as_str();
    let made = post(&mut browser, "/dashboard/chatbots", &[("account", account), ("name", "Support bot")]).await;
    assert_eq!((made.status.as_u16(), made.location()), (303, "/dashboard/chatbots?done=created"));
    for (name, message) in [
        ("", "Name must not be empty."),
        ("  ", "Name must not be empty."),
        (&"x".repeat(121), "Name must be at most 120 characters (it has 121)."),
        ("a\u{7}b", "Name must not contain control characters."),
    ] {
        let page = post(&mut browser, "/dashboard/chatbots", &[("account", account), ("name", name)]).await;
        assert_eq!(page.status.as_u16(), 400, "{name:?}");
        page.assert_contains(message);
    }
    assert_eq!(chatbot_names(&app, account).await, ["Support bot"]);

    let query = sitegpt_store::ChatbotQuery { account_id: account.into(), only: Vec::new(), limit: 10, after: None };
    let id = app.store().list_chatbots(query).await.expect("list")[0].id.clone();
    let page = browser.get("/dashboard/chatbots").await;
    page.assert_contains(&format!(r#"value="{id}""#));
    let renamed = post(&mut browser, &format!("/dashboard/chatbots/{id}/rename"), &[("name", "Help desk")]).await;
    assert_eq!(renamed.status.as_u16(), 303);
    let refused = post(&mut browser, &format!("/dashboard/chatbots/{id}/rename"), &[("name", "")]).await;
    assert_eq!(refused.status.as_u16(), 400);
    refused.assert_contains("Help desk keeps its name: Name must not be empty.");
    assert_eq!(chatbot_names(&app, account).await, ["Help desk"]);

    // The confirmation lists what goes with it; the post deletes it.
    let (_, secret) = app.token(&owner, &[Scope::KnowledgeWrite]).await;
    let body = serde_json::json!({"type": "text", "content": "Hours: 9 to 5"});
    app.post(&format!("/api/v2/chatbots/{id}/knowledge"), &secret, body).await.assert_ok(201);
    let confirm = browser.get(&format!("/dashboard/chatbots/{id}/delete")).await;
    assert_eq!(confirm.status.as_u16(), 200);
    confirm.assert_contains("1 knowledge sources");
    assert_eq!(chatbot_names(&app, account).await, ["Help desk"], "opening the confirmation deletes nothing");
    let forged = browser.post(&format!("/dashboard/chatbots/{id}/delete"), &[("csrf", "forged")]).await;
    assert_eq!(forged.status.as_u16(), 403);
    let deleted = post(&mut browser, &format!("/dashboard/chatbots/{id}/delete"), &[]).await;
    assert_eq!((deleted.status.as_u16(), deleted.location()), (303, "/dashboard/chatbots?done=deleted"));
    assert!(chatbot_names(&app, account).await.is_empty());
    // Deleting it again (another tab) is a 404 page, not an error.
    let again = post(&mut browser, &format!("/dashboard/chatbots/{id}/delete"), &[]).await;
    assert_eq!(again.status.as_u16(), 404);
}

#[tokio::test]
async fn roles_verification_subscription_and_other_teams_are_held_to_the_apis_rules() {
    let app = TestApp::new().await;
    let (_, owner) = signed_in(&app, "owner@example.com").await;
    let (mut member_browser, member) = signed_in(&app, "member@example.com").await;
    let now = chrono::Utc::now();
    app.store().add_member(&owner.account_id, &member.id, Role::Member, now).await.expect("join");
    let bot = app.chatbot(&owner.account_id).await;
    let team = owner.account_id.as_str();

    // A member reads the list but may not create, rename or delete (chatbots:write/delete are above their role).
    let page = member_browser.get(&format!("/dashboard/chatbots?account={team}")).await;
    page.assert_contains("Support bot");
    page.assert_contains("Your role (member) does not permit `chatbots:write`.");
    assert!(!page.body.contains("Create chatbot") && !page.body.contains("/delete"));
    let refused = post(&mut member_browser, "/dashboard/chatbots", &[("account", team), ("name", "Mine")]).await;
    assert_eq!(refused.status.as_u16(), 403);
    let refused = post(&mut member_browser, &format!("/dashboard/chatbots/{bot}/delete"), &[]).await;
    assert_eq!(refused.status.as_u16(), 403);
    refused.assert_contains("does not permit `chatbots:delete`");
    assert_eq!(chatbot_names(&app, team).await, ["Support bot"]);

    // Someone outside the team gets 404 for its chatbot, whatever their role elsewhere.
    let (mut stranger, _) = signed_in(&app, "stranger@example.com").await;
    for path in [format!("/dashboard/chatbots/{bot}/delete"), format!("/dashboard/chatbots/{bot}/rename")] {
        let page = post(&mut stranger, &path, &[("name", "Taken over")]).await;
        assert_eq!(page.status.as_u16(), 404, "{path}");
    }
    assert_eq!(stranger.get(&format!("/dashboard/chatbots/{bot}/delete")).await.status.as_u16(), 404);
    assert_eq!(stranger.get("/dashboard/chatbots/not-an-id/delete").await.status.as_u16(), 404);
    assert_eq!(chatbot_names(&app, team).await, ["Support bot"]);

    // No subscription: the API's 402, and nothing is made.
    app.store()
        .set_subscription(&owner.account_id, SubscriptionStatus::Inactive, &sitegpt_store::Actor::system())
        .await
        .expect("inactive");
    let mut owner_browser = Browser::new(&app);
    owner_browser.sign_in("owner@example.com", crate::agents::PASSWORD).await;
    let page = post(&mut owner_browser, "/dashboard/chatbots", &[("account", team), ("name", "Paid")]).await;
    assert_eq!(page.status.as_u16(), 402);
    page.assert_contains("An active team subscription is required");
    assert_eq!(chatbot_names(&app, team).await, ["Support bot"]);
}

#[tokio::test]
async fn an_unverified_person_is_warned_on_every_page_and_cannot_create_chatbots() {
    let app = TestApp::new().await;
    let mut browser = Browser::new(&app);
    let link = browser.sign_up("late@example.com", crate::agents::PASSWORD).await;
    for path in ["/dashboard/agents", "/dashboard/chatbots", "/dashboard/members", "/dashboard/apps", "/dashboard/mcp"]
    {
        let page = browser.get(path).await;
        assert_eq!(page.status.as_u16(), 200, "{path}");
        assert!(page.body.contains(r#"class="warning unverified""#), "{path} warns (as a warning, not an error)");
        page.assert_contains("Send a new link");
    }
    let user = app.store().user_by_email("late@example.com").await.expect("query").expect("user");
    let account = app.store().memberships(&user.id).await.expect("memberships")[0].0.id.clone();
    let page = post(&mut browser, "/dashboard/chatbots", &[("account", &account), ("name", "Early")]).await;
    assert_eq!(page.status.as_u16(), 403);
    page.assert_contains("Verify your e-mail address to create, rename or delete chatbots.");
    assert!(chatbot_names(&app, &account).await.is_empty());

    // Verified, the warning is gone; the link again says so instead of "ask for a new one".
    browser.open_link(&link).await.assert_contains("Your e-mail is verified");
    assert!(!browser.get("/dashboard/agents").await.body.contains("warning unverified"));
    let again = browser.open_link(&link).await;
    assert_eq!(again.status.as_u16(), 200);
    again.assert_contains("Already verified");
    assert!(!again.body.contains("Ask for a new one"));
    let signed_out = Browser::new(&app).open_link(&link).await;
    signed_out.assert_contains("Already verified");
}

#[tokio::test]
async fn a_tokens_page_shows_it_whole_to_its_owner_and_the_teams_managers_only() {
    let app = TestApp::new().await;
    let (mut owner_browser, owner) = signed_in(&app, "owner@example.com").await;
    let (mut member_browser, member) = signed_in(&app, "member@example.com").await;
    let now = chrono::Utc::now();
    app.store().add_member(&owner.account_id, &member.id, Role::Member, now).await.expect("join");
    let in_team = TestUser { account_id: owner.account_id.clone(), ..member.clone() };
    let bot = app.chatbot(&owner.account_id).await;
    let scopes = [Scope::ConversationsRead, Scope::ConversationsDelete].into_iter().collect();
    let (member_token, member_secret) = app.raw_token(&in_team, scopes, &[&bot], now + chrono::Duration::days(7)).await;
    let (owner_token, _) = app.token(&owner, &[Scope::AccountRead]).await;

    let page = member_browser.get(&format!("/dashboard/agents/{member_token}")).await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    page.assert_contains(&format!(r#"value="{member_token}""#));
    page.assert_contains("Delete conversations and their messages (<code>conversations:delete</code>)");
    page.assert_contains("Only <a");
    page.assert_contains("Support bot");
    page.assert_contains("(in 7 days)");
    assert!(!page.body.contains(&member_secret), "the page never shows the secret");
    // The owner (a manager) sees it too, and may revoke it but not rotate it.
    let page = owner_browser.get(&format!("/dashboard/agents/{member_token}")).await;
    assert_eq!(page.status.as_u16(), 200);
    page.assert_contains("member@example.com");
    assert!(!page.body.contains(&format!("/dashboard/agents/{member_token}/rotate")));
    assert!(page.body.contains(&format!("/dashboard/agents/{member_token}/revoke")));
    // A member does not see the owner's token; nobody sees unknown ones.
    assert_eq!(member_browser.get(&format!("/dashboard/agents/{owner_token}")).await.status.as_u16(), 404);
    assert_eq!(owner_browser.get("/dashboard/agents/tok_doesnotexist").await.status.as_u16(), 404);
    let (mut stranger, _) = signed_in(&app, "stranger@example.com").await;
    assert_eq!(stranger.get(&format!("/dashboard/agents/{member_token}")).await.status.as_u16(), 404);

    // Revoking twice: the second time says it was already revoked and changes nothing.
    let path = format!("/dashboard/agents/{member_token}/revoke");
    let csrf = member_browser.get(&path).await.csrf();
    let done = member_browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(done.status.as_u16(), 303);
    let first = app.store().token(&member_token).await.expect("read").expect("token").revoked_at;
    let again = member_browser.post(&path, &[("csrf", &csrf)]).await;
    assert_eq!(again.status.as_u16(), 409);
    again.assert_contains("Already revoked");
    again.assert_contains("Nothing was changed.");
    assert_eq!(app.store().token(&member_token).await.expect("read").expect("token").revoked_at, first);
    let page = member_browser.get(&format!("/dashboard/agents/{member_token}")).await;
    page.assert_contains("Revoked");
    assert!(!page.body.contains(&path), "no Revoke button on a revoked token");
}
