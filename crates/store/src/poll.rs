//! What one poll of the device token endpoint does, decided the same way by
//! every engine; the engine runs the step inside its transaction.

use chrono::{DateTime, Duration, Utc};
use sitegpt_access::CreatedVia;
use sitegpt_access::device::{MAX_INTERVAL_SECS, SLOW_DOWN_STEP_SECS};

use crate::{
    DeviceAuthorization, DevicePoll, DevicePollOutcome, DeviceStatus, NewToken, PollAnswer, StoreError, StoreResult,
};

/// The next step for a found, client-matching authorization.
#[derive(Debug)]
pub(crate) enum PollStep {
    /// Answer this, writing nothing.
    Answer(DevicePollOutcome),
    /// Mark it redeemed (only if still approved) and store this token.
    Redeem(Box<NewToken>),
    /// Still pending: record the poll with this interval; `slow_down` when it
    /// came too soon (the interval has grown by five seconds).
    Wait { interval_secs: i64, slow_down: bool },
}

pub(crate) fn step(
    device: DeviceAuthorization,
    last_poll_at: Option<DateTime<Utc>>,
    poll: DevicePoll,
) -> StoreResult<PollStep> {
    if device.client_id != poll.client_id {
        return Ok(PollStep::Answer(DevicePollOutcome::WrongClient));
    }
    match device.status {
        DeviceStatus::Redeemed => Ok(PollStep::Answer(DevicePollOutcome::AlreadyRedeemed)),
        DeviceStatus::Denied => Ok(PollStep::Answer(DevicePollOutcome::Denied)),
        _ if poll.now >= device.expires_at => Ok(PollStep::Answer(DevicePollOutcome::Expired)),
        DeviceStatus::Approved => {
            let (Some(user_id), Some(account_id)) = (device.user_id, device.account_id) else {
                return Err(StoreError::Backend("approved device authorization without a user".into()));
            };
            Ok(PollStep::Redeem(Box::new(NewToken {
                id: poll.token_id,
                account_id,
                user_id,
                name: device.token_name.unwrap_or(poll.default_name),
                hash: poll.token_hash,
                hint: poll.token_hint,
                scopes: device.scopes,
                chatbots: device.chatbots,
                created_via: CreatedVia::CliDevice,
                now: poll.now,
                expires_at: poll.token_expires_at,
                allowed_ips: sitegpt_access::net::IpAllowlist::anywhere(),
            })))
        }
        DeviceStatus::Pending => {
            let too_soon = last_poll_at.is_some_and(|last| poll.now < last + Duration::seconds(device.interval_secs));
            if too_soon && device.interval_secs >= MAX_INTERVAL_SECS {
                // Nothing left to record: the interval is as long as it gets.
                return Ok(PollStep::Answer(DevicePollOutcome::SlowDown { interval_secs: device.interval_secs }));
            }
            let interval_secs =
                if too_soon { device.interval_secs + SLOW_DOWN_STEP_SECS } else { device.interval_secs };
            Ok(PollStep::Wait { interval_secs: interval_secs.min(MAX_INTERVAL_SECS), slow_down: too_soon })
        }
    }
}

/// The answer to a poll when it needs no write, decided from a plain read
/// (no lock, no write transaction): the authorization is unknown, another
/// client's, used, denied or expired, or still pending and polled too soon
/// at the longest interval. `None`: the poll must be decided under the
/// write lock ([`step`]). The states this answers are final, or change
/// only by a write the next poll will see.
pub(crate) fn answer_without_writing(
    found: Option<(DeviceAuthorization, Option<DateTime<Utc>>)>,
    client_id: &str,
    now: DateTime<Utc>,
) -> Option<PollAnswer> {
    let answer = |outcome, holds_until| Some(PollAnswer { outcome, holds_until });
    let Some((device, last_poll_at)) = found else { return answer(DevicePollOutcome::Unknown, None) };
    if device.client_id != client_id {
        return answer(DevicePollOutcome::WrongClient, None);
    }
    match device.status {
        DeviceStatus::Redeemed => answer(DevicePollOutcome::AlreadyRedeemed, Some(DateTime::<Utc>::MAX_UTC)),
        DeviceStatus::Denied => answer(DevicePollOutcome::Denied, Some(DateTime::<Utc>::MAX_UTC)),
        _ if now >= device.expires_at => answer(DevicePollOutcome::Expired, Some(DateTime::<Utc>::MAX_UTC)),
        DeviceStatus::Approved => None,
        DeviceStatus::Pending => {
            let next_poll = last_poll_at.map(|last| last + Duration::seconds(device.interval_secs));
            match next_poll {
                Some(next) if now < next && device.interval_secs >= MAX_INTERVAL_SECS => answer(
                    DevicePollOutcome::SlowDown { interval_secs: device.interval_secs },
                    Some(next.min(device.expires_at)),
                ),
                _ => None,
            }
        }
    }
}

impl PollStep {
    /// The answer for a poll that waits.
    pub(crate) fn waiting(interval_secs: i64, slow_down: bool) -> DevicePollOutcome {
        if slow_down { DevicePollOutcome::SlowDown { interval_secs } } else { DevicePollOutcome::Pending }
    }
}
