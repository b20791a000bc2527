//! Mail that tells people about their tokens: a warning a week and a day
//! before a token expires (claimed in the store, so with many nodes each
//! token gets each warning once), and a note when a device login or an
//! OAuth app adds a token to their account. Notices carry an HTML part and
//! a `List-Unsubscribe` address; expiry warnings can be turned off in
//! Settings.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use maud::html;
use sitegpt_store::{ExpiryNotice, NoticeKind, NoticeMail, OutgoingMail, Store};

/// Where a person turns expiry warnings off.
pub fn unsubscribe_url(public_url: &str) -> String {
    format!("{public_url}/dashboard/settings#notices")
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// The warning mail for one notice.
pub fn expiry_mail(public_url: &str, notice: &ExpiryNotice) -> OutgoingMail {
    let page = format!("{public_url}/dashboard/agents/{}", notice.token_id);
    let rotate = format!("{page}/rotate");
    let within = match notice.kind {
        NoticeKind::ExpiresInAWeek => "within a week",
        NoticeKind::ExpiresInADay => "within a day",
    };
    let name = &notice.token_name;
    let expires = when(notice.expires_at);
    let unsubscribe = unsubscribe_url(public_url);
    let body = format!(
        "Hello,\n\nyour SiteGPT token “{name}” expires {within}, on {expires}. Scripts and agents that use it \
         will then get 401 TOKEN_EXPIRED.\n\nRotate it for a new secret with the same access (then update \
         whatever uses it):\n\n    {rotate}\n\nor see the token:\n\n    {page}\n\n\
         You get these warnings a week and a day before a token expires. Turn them off in Settings: {unsubscribe}\n"
    );
    let html = html! {
        p { "Hello," }
        p { "your SiteGPT token " strong { "“" (name) "”" } " expires " (within) ", on " (expires)
            ". Scripts and agents that use it will then get " code { "401 TOKEN_EXPIRED" } "." }
        p { a href=(rotate) { "Rotate it" } " for a new secret with the same access (then update whatever uses it), or "
            a href=(page) { "see the token" } "." }
        p style="color:#5b6072;font-size:13px" { "You get these warnings a week and a day before a token expires. "
            a href=(unsubscribe) { "Turn them off" } "." }
    };
    OutgoingMail {
        to: notice.email.clone(),
        subject: format!("Your SiteGPT token “{name}” expires {within}"),
        body,
        link: None,
        user_id: Some(notice.user_id.clone()),
        html: Some(html.into_string()),
        unsubscribe: Some(unsubscribe),
    }
}

/// Claims the expiry warnings due now and queues their mail; how many.
pub async fn send_expiry_notices(store: &dyn Store, public_url: &str) -> sitegpt_store::StoreResult<usize> {
    let public_url = public_url.to_owned();
    let mail: NoticeMail = Arc::new(move |notice: &ExpiryNotice| expiry_mail(&public_url, notice));
    store.claim_expiry_notices(Utc::now(), mail).await
}

/// The note to a token's owner that a device login or an OAuth app added it.
pub fn added_token_mail(
    public_url: &str,
    email: &str,
    user_id: &str,
    token_name: &str,
    token_id: &str,
    how: &str,
) -> OutgoingMail {
    let page = format!("{public_url}/dashboard/agents/{token_id}");
    let body = format!(
        "Hello,\n\na new token “{token_name}” was added to your SiteGPT account {how}.\n\n\
         If that was you, there is nothing to do. If not, revoke it now and change your password:\n\n    {page}\n"
    );
    let html = html! {
        p { "Hello," }
        p { "a new token " strong { "“" (token_name) "”" } " was added to your SiteGPT account " (how) "." }
        p { "If that was you, there is nothing to do. If not, " a href=(page) { "revoke it now" } " and change your password." }
    };
    OutgoingMail {
        to: email.to_owned(),
        subject: format!("A new SiteGPT token “{token_name}” was added to your account"),
        body,
        link: None,
        user_id: Some(user_id.to_owned()),
        html: Some(html.into_string()),
        unsubscribe: None,
    }
}

/// Queues the note about a token just added to `record`'s owner's account
/// `how` ("by device login from SiteGPT CLI"). The token is issued already,
/// so a failure here is logged, not answered.
pub async fn tell_owner_of_new_token(state: &crate::state::AppState, record: &sitegpt_store::TokenRecord, how: &str) {
    let queued = async {
        let Some(member) = state.store.member(&record.account_id, &record.user_id).await? else { return Ok(()) };
        let mail =
            added_token_mail(&state.public_url, &member.user.email, &record.user_id, &record.name, &record.id, how);
        state.store.queue_mail(mail, Utc::now()).await
    };
    match queued.await {
        Ok(()) => state.mail.wake(),
        Err(e) => tracing::warn!(token_id = %record.id, error = %e, "could not queue the new-token mail"),
    }
}
