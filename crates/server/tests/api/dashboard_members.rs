//! The Members page: everyone sees the team; owners and admins invite,
//! change roles and remove, under the API's owner rules and messages.

use sitegpt_access::{Role, Scope, SubscriptionStatus};

use crate::agents::{PASSWORD, signed_in};
use crate::helpers::{Browser, TestApp, TestUser};

/// Posts a form on the Members page with the session's csrf and the team's id.
async fn post(browser: &mut Browser<'_>, team: &TestUser, path: &str, fields: &[(&str, &str)]) -> crate::helpers::Page {
    let csrf = browser.get("/dashboard/members").await.csrf();
    let mut pairs = vec![("csrf", csrf.as_str()), ("account", team.account_id.as_str())];
    pairs.extend_from_slice(fields);
    browser.post(path, &pairs).await
}

async fn role_of(app: &TestApp, account_id: &str, user_id: &str) -> Option<Role> {
    app.store().member(account_id, user_id).await.expect("member").map(|m| m.role)
}

#[tokio::test]
async fn owners_invite_change_roles_and_remove() {
    let app = TestApp::new().await;
    let (mut browser, owner) = signed_in(&app, "owner@example.com").await;
    let (mut existing_browser, existing) = signed_in(&app, "existing@example.com").await;

    let page = browser.get("/dashboard/members").await;
    assert_eq!(page.status.as_u16(), 200);
    page.assert_contains("owner@example.com");
    page.assert_contains("Invite member");
    page.assert_contains(r#"<option value="owner""#);

    // A person with an account is invited like anyone, and joins by accepting.
    let added =
        post(&mut browser, &owner, "/dashboard/members", &[("email", &existing.email), ("role", "member")]).await;
    assert_eq!((added.status.as_u16(), added.location()), (303, "/dashboard/members?done=invited"), "{}", added.body);
    assert_eq!(role_of(&app, &owner.account_id, &existing.id).await, None, "not before accepting");
    browser.get(added.location()).await.assert_contains("Invitation sent. They join when they accept it.");
    existing_browser.get("/").await.assert_contains("Review invitations");
    let invitations = existing_browser.get("/invitations").await;
    invitations.assert_contains("owner@example.com's team");
    invitations.assert_contains("Accept and join");
    let pending = app.store().pending_invitations(&owner.account_id, chrono::Utc::now()).await.expect("list");
    let accept = format!("/invitations/{}/accept", pending[0].id);
    let csrf = invitations.csrf();
    let joined = existing_browser.post(&accept, &[("csrf", &csrf)]).await;
    assert_eq!(joined.status.as_u16(), 303, "{}", joined.body);
    assert_eq!(joined.location(), format!("/dashboard/members?account={}&done=joined", owner.account_id));
    assert_eq!(role_of(&app, &owner.account_id, &existing.id).await, Some(Role::Member));
    assert_eq!(existing_browser.post(&accept, &[("csrf", &csrf)]).await.status.as_u16(), 404, "answered once");
    let invited =
        post(&mut browser, &owner, "/dashboard/members", &[("email", "New@Example.com"), ("role", "viewer")]).await;
    assert_eq!((invited.status.as_u16(), invited.location()), (303, "/dashboard/members?done=invited"));
    assert!(
        app.outbox().await.iter().any(|m| m.contains("new@example.com") && m.contains("as viewer")),
        "no invitation mail"
    );

    // The API's messages for bad input.
    for (email, role, status, message) in [
        ("not an address", "member", 400, "Email must be an e-mail address."),
        (existing.email.as_str(), "member", 409, "is already a member."),
        ("new@example.com", "viewer", 409, "is already invited."),
    ] {
        let page = post(&mut browser, &owner, "/dashboard/members", &[("email", email), ("role", role)]).await;
        assert_eq!(page.status.as_u16(), status, "{email}: {}", page.body);
        page.assert_contains(message);
        page.assert_contains(&format!(r#"value="{email}""#));
    }
    let bad_role =
        post(&mut browser, &owner, "/dashboard/members", &[("email", "x@example.com"), ("role", "king")]).await;
    assert_eq!(bad_role.status.as_u16(), 400);

    // Pending invitations are listed, and can be withdrawn.
    let page = browser.get("/dashboard/members").await;
    page.assert_contains("Pending invitations");
    page.assert_contains("new@example.com");
    let pending = app.store().pending_invitations(&owner.account_id, chrono::Utc::now()).await.expect("list");
    assert_eq!(pending.len(), 1);
    let withdraw = format!("/dashboard/members/invitations/{}/withdraw", pending[0].id);
    let done = post(&mut browser, &owner, &withdraw, &[]).await;
    assert_eq!((done.status.as_u16(), done.location()), (303, "/dashboard/members?done=withdrawn"));
    assert!(app.store().pending_invitations(&owner.account_id, chrono::Utc::now()).await.expect("list").is_empty());
    assert!(!browser.get("/dashboard/members").await.body.contains("new@example.com"));
    assert_eq!(post(&mut browser, &owner, &withdraw, &[]).await.status.as_u16(), 404, "already withdrawn");

    // Change a role; then remove, which revokes their tokens in the team.
    let path = format!("/dashboard/members/{}/role", existing.id);
    let changed = post(&mut browser, &owner, &path, &[("role", "admin")]).await;
    assert_eq!((changed.status.as_u16(), changed.location()), (303, "/dashboard/members?done=role"));
    assert_eq!(role_of(&app, &owner.account_id, &existing.id).await, Some(Role::Admin));
    let in_team = TestUser { account_id: owner.account_id.clone(), ..existing.clone() };
    let (_, secret) = app.token(&in_team, &[Scope::AccountRead]).await;
    app.get("/api/v2/account", &secret).await.assert_ok(200);
    let confirm = browser.get(&format!("/dashboard/members/{}/remove", existing.id)).await;
    assert_eq!(confirm.status.as_u16(), 200);
    confirm.assert_contains("Remove this member?");
    let removed = post(&mut browser, &owner, &format!("/dashboard/members/{}/remove", existing.id), &[]).await;
    assert_eq!((removed.status.as_u16(), removed.location()), (303, "/dashboard/members?done=removed"));
    assert_eq!(role_of(&app, &owner.account_id, &existing.id).await, None);
    assert_eq!(app.get("/api/v2/account", &secret).await.status.as_u16(), 401);

    // The last owner cannot demote or remove themselves.
    let own = format!("/dashboard/members/{}/role", owner.id);
    let page = post(&mut browser, &owner, &own, &[("role", "admin")]).await;
    assert_eq!(page.status.as_u16(), 409);
    page.assert_contains("An account must keep at least one owner.");
    let page = post(&mut browser, &owner, &format!("/dashboard/members/{}/remove", owner.id), &[]).await;
    assert_eq!(page.status.as_u16(), 409);
    assert_eq!(role_of(&app, &owner.account_id, &owner.id).await, Some(Role::Owner));
    // Unknown members are 404.
    let page = post(&mut browser, &owner, "/dashboard/members/usr_nobody/role", &[("role", "admin")]).await;
    assert_eq!(page.status.as_u16(), 404);
}

#[tokio::test]
async fn admins_cannot_touch_owners_and_members_only_look() {
    let app = TestApp::new().await;
    let (_, owner) = signed_in(&app, "owner@example.com").await;
    let (mut admin_browser, admin) = signed_in(&app, "admin@example.com").await;
    let (mut member_browser, member) = signed_in(&app, "member@example.com").await;
    let now = chrono::Utc::now();
    app.store().add_member(&owner.account_id, &admin.id, Role::Admin, now).await.expect("join");
    app.store().add_member(&owner.account_id, &member.id, Role::Member, now).await.expect("join");
    let team = TestUser { account_id: owner.account_id.clone(), ..owner.clone() };

    let page = admin_browser.get(&format!("/dashboard/members?account={}", owner.account_id)).await;
    page.assert_contains("Invite member");
    assert!(!page.body.contains(r#"<option value="owner""#), "admins cannot pick owner");
    assert!(!page.body.contains(&format!("/dashboard/members/{}/role", owner.id)), "no role form for the owner");
    let forbidden = "Only owners can make, demote or remove owners.";
    for (path, fields) in [
        (format!("/dashboard/members/{}/role", owner.id), vec![("role", "admin")]),
        (format!("/dashboard/members/{}/remove", owner.id), vec![]),
        (format!("/dashboard/members/{}/role", member.id), vec![("role", "owner")]),
        ("/dashboard/members".to_owned(), vec![("email", "boss@example.com"), ("role", "owner")]),
    ] {
        let page = post(&mut admin_browser, &team, &path, &fields).await;
        assert_eq!(page.status.as_u16(), 403, "{path}: {}", page.body);
        page.assert_contains(forbidden);
    }
    assert_eq!(role_of(&app, &owner.account_id, &owner.id).await, Some(Role::Owner));
    assert_eq!(role_of(&app, &owner.account_id, &member.id).await, Some(Role::Member));
    // An admin can change a member.
    let page =
        post(&mut admin_browser, &team, &format!("/dashboard/members/{}/role", member.id), &[("role", "viewer")]).await;
    assert_eq!(page.status.as_u16(), 303);

    // A member sees the list, but no forms, and posts are refused.
    let invited =
        post(&mut admin_browser, &team, "/dashboard/members", &[("email", "soon@example.com"), ("role", "viewer")])
            .await;
    assert_eq!(invited.status.as_u16(), 303);
    let page = member_browser.get(&format!("/dashboard/members?account={}", owner.account_id)).await;
    page.assert_contains("owner@example.com");
    assert!(!page.body.contains("Invite member"));
    assert!(!page.body.contains("soon@example.com"), "only owners and admins see invitations");
    let pending = app.store().pending_invitations(&owner.account_id, now).await.expect("list");
    let withdraw = format!("/dashboard/members/invitations/{}/withdraw", pending[0].id);
    assert_eq!(post(&mut member_browser, &team, &withdraw, &[]).await.status.as_u16(), 403);
    let page =
        post(&mut member_browser, &team, "/dashboard/members", &[("email", "x@example.com"), ("role", "viewer")]).await;
    assert_eq!(page.status.as_u16(), 403);
    page.assert_contains("Only owners and admins can change members.");
    let path = format!("/dashboard/members/{}/remove", admin.id);
    assert_eq!(member_browser.get(&format!("{path}?account={}", owner.account_id)).await.status.as_u16(), 404);
}

#[tokio::test]
async fn changes_need_an_active_subscription_and_the_forms_csrf() {
    let app = TestApp::new().await;
    let (mut browser, owner) = signed_in(&app, "owner@example.com").await;
    let other = app.new_user(None, true).await;
    app.store()
        .set_subscription(&owner.account_id, SubscriptionStatus::Inactive, &sitegpt_store::Actor::system())
        .await
        .expect("inactive");
    let page = browser.get("/dashboard/members").await;
    page.assert_contains("An active team subscription is required.");
    let refused =
        post(&mut browser, &owner, "/dashboard/members", &[("email", &other.email), ("role", "member")]).await;
    assert_eq!(refused.status.as_u16(), 402);
    assert_eq!(role_of(&app, &owner.account_id, &other.id).await, None);

    app.store()
        .set_subscription(&owner.account_id, SubscriptionStatus::Active, &sitegpt_store::Actor::system())
        .await
        .expect("active");
    let forged = [
        ("csrf", "forged"),
        ("account", owner.account_id.as_str()),
        ("email", other.email.as_str()),
        ("role", "member"),
    ];
    assert_eq!(browser.post("/dashboard/members", &forged).await.status.as_u16(), 403);
    assert_eq!(role_of(&app, &owner.account_id, &other.id).await, None);
    // Another team's id is refused.
    let stranger = app.owner().await;
    let page =
        post(&mut browser, &stranger, "/dashboard/members", &[("email", &other.email), ("role", "member")]).await;
    assert_eq!(page.status.as_u16(), 404);
    assert_eq!(role_of(&app, &stranger.account_id, &other.id).await, None);
}

#[tokio::test]
async fn invited_people_accept_only_with_a_verified_address_and_may_decline() {
    let app = TestApp::new().await;
    let (_, host) = signed_in(&app, "host@example.com").await;
    let mut guest = Browser::new(&app);
    guest.sign_up("guest@example.com", crate::agents::PASSWORD).await;
    let now = chrono::Utc::now();
    let invite = |id: &str| sitegpt_store::Invitation {
        id: id.into(),
        account_id: host.account_id.clone(),
        email: "guest@example.com".into(),
        role: Role::Viewer,
        invited_by: host.id.clone(),
        created_at: now,
        expires_at: now + chrono::Duration::days(7),
    };
    let mail = sitegpt_store::OutgoingMail {
        to: "guest@example.com".into(),
        subject: "s".into(),
        body: "b".into(),
        link: None,
        user_id: None,
        html: None,
        unsubscribe: None,
    };
    app.store()
        .create_invitation(invite("inv_1"), mail.clone(), &sitegpt_store::Actor::system())
        .await
        .expect("invite");

    // Not verified yet: the page says so and accepting is refused.
    let page = guest.get("/invitations").await;
    page.assert_contains("to accept an invitation");
    page.assert_contains("disabled");
    let refused = guest.post("/invitations/inv_1/accept", &[("csrf", &page.csrf())]).await;
    assert_eq!(refused.status.as_u16(), 403);
    let guest_user = app.store().user_by_email("guest@example.com").await.expect("q").expect("user");
    assert_eq!(role_of(&app, &host.account_id, &guest_user.id).await, None);
    // Another site's form, or no CSRF token, cannot answer for them.
    assert_eq!(guest.post("/invitations/inv_1/decline", &[("csrf", "nope")]).await.status.as_u16(), 403);

    let declined = guest.post("/invitations/inv_1/decline", &[("csrf", &page.csrf())]).await;
    assert_eq!((declined.status.as_u16(), declined.location()), (303, "/invitations?done=declined"));
    let after = guest.get(declined.location()).await;
    after.assert_contains("Invitation declined.");
    after.assert_contains("No team has invited guest@example.com right now.");
    assert!(app.store().pending_invitations(&host.account_id, now).await.expect("list").is_empty());
    // Signed out, the page asks for a sign-in first.
    let page = Browser::new(&app).get("/invitations").await;
    assert_eq!((page.status.as_u16(), page.location()), (303, "/login?next=%2Finvitations"));
}

/// The sign-up link of the newest invitation mail to `email`, as a path.
async fn invitation_link(app: &TestApp, email: &str) -> String {
    let mail = app.outbox().await.into_iter().rev().find(|m| m.contains("invited you")).expect("an invitation mail");
    assert!(mail.contains(email));
    let start = mail.find("/signup?invitation=").expect("a sign-up link");
    mail[start..].chars().take_while(|c| !c.is_whitespace()).collect()
}

#[tokio::test]
async fn signing_up_through_an_invitation_joins_that_team_only_once_verified() {
    let app = TestApp::new().await;
    let (mut host_browser, host) = signed_in(&app, "host@example.com").await;
    let invited =
        post(&mut host_browser, &host, "/dashboard/members", &[("email", "new.hire@example.com"), ("role", "member")])
            .await;
    assert_eq!(invited.status.as_u16(), 303);
    let link = invitation_link(&app, "new.hire@example.com").await;
    assert!(link.contains("&email=new.hire%40example.com"), "{link}");

    let mut guest = Browser::new(&app);
    let form = guest.get(&link).await;
    assert_eq!(form.status.as_u16(), 200);
    form.assert_contains(r#"value="new.hire@example.com""#);
    form.assert_contains("You are invited to join <strong>host@example.com's team</strong> as member.");
    assert!(!form.body.contains("Team name"), "no team of their own to name");
    let invitation = form.field("invitation");

    // Another address cannot use the invitation, and nothing is made.
    let csrf = form.csrf();
    let wrong = guest
        .post(
            "/signup",
            &[("csrf", &csrf), ("email", "intruder@example.com"), ("password", PASSWORD), ("invitation", &invitation)],
        )
        .await;
    assert_eq!(wrong.status.as_u16(), 400);
    wrong.assert_contains("This invitation is not open for this address.");
    assert!(app.store().user_by_email("intruder@example.com").await.expect("q").is_none());

    let accounts_before = app.count_rows("accounts").await;
    let done = guest
        .post(
            "/signup",
            &[("csrf", &csrf), ("email", "new.hire@example.com"), ("password", PASSWORD), ("invitation", &invitation)],
        )
        .await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.body);
    assert_eq!(app.count_rows("accounts").await, accounts_before, "no personal team is made");
    let user = app.store().user_by_email("new.hire@example.com").await.expect("q").expect("user");
    assert!(app.store().memberships(&user.id).await.expect("m").is_empty(), "not a member before verifying");
    guest.sign_in("new.hire@example.com", PASSWORD).await;
    let before = guest.get("/dashboard/agents").await;
    before.assert_contains("You are not in a team yet");

    // Verifying the address joins the inviting team, and only it.
    let mail = app.outbox().await.into_iter().rev().find(|m| m.contains("/verify-email?token=")).expect("mail");
    let start = mail.find("/verify-email?token=").expect("link");
    let verify: String = mail[start..].chars().take_while(|c| !c.is_whitespace()).collect();
    guest.get(&verify).await.assert_contains("Your e-mail is verified");
    let teams = app.store().memberships(&user.id).await.expect("m");
    assert_eq!(teams.len(), 1);
    assert_eq!((teams[0].0.id.as_str(), teams[0].1), (host.account_id.as_str(), Role::Member));
    guest.get("/dashboard/agents").await.assert_contains("host@example.com's team");
    // The link is spent: the invitation is accepted.
    guest.get(&link).await.assert_contains("This invitation is no longer open");
}

#[tokio::test]
async fn a_person_with_an_account_sees_the_invitation_on_the_dashboard_and_accepts_it() {
    let app = TestApp::new().await;
    let (mut host_browser, host) = signed_in(&app, "host@example.com").await;
    let (mut ada, ada_user) = signed_in(&app, "ada@example.com").await;
    post(&mut host_browser, &host, "/dashboard/members", &[("email", "ada@example.com"), ("role", "admin")]).await;
    let page = ada.get("/dashboard/agents").await;
    page.assert_contains("<strong>host@example.com's team</strong> invited you to join.");
    page.assert_contains(r#"<a href="/invitations">See the invitation</a>"#);
    let invitations = ada.get("/invitations").await;
    let id = app.store().pending_invitations(&host.account_id, chrono::Utc::now()).await.expect("list")[0].id.clone();
    let accepted = ada.post(&format!("/invitations/{id}/accept"), &[("csrf", &invitations.csrf())]).await;
    assert_eq!(accepted.status.as_u16(), 303);
    assert_eq!(role_of(&app, &host.account_id, &ada_user.id).await, Some(Role::Admin));
    assert!(!ada.get("/dashboard/agents").await.body.contains("invited you"));
}
