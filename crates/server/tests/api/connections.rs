//! Slow and idle clients against the real listener: idle and half-sent
//! connections are closed after the head timeout, a trickling body gets 408
//! after the body timeout, and authenticated requests are served while many
//! such connections are held.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use sitegpt_access::Scope;
use sitegpt_server::router::router;
use sitegpt_server::serve::{ConnectionLimits, serve};

use crate::helpers::TestApp;

/// Serves `app` on a real socket with `limits`; dropping the sender stops it.
async fn listen(app: &TestApp, limits: ConnectionLimits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = router(app.state.clone());
    tokio::spawn(async move {
        serve(listener, router, limits, async move {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    });
    (addr, stop)
}

/// Whether the server closed `stream` (EOF or reset) within `within`,
/// returning what it sent before closing.
fn closed_within(stream: &mut TcpStream, within: Duration) -> Option<String> {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(String::from_utf8_lossy(&seen).into_owned()),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return None;
            }
            Err(_) => return Some(String::from_utf8_lossy(&seen).into_owned()),
        }
    }
}

fn get_account(addr: SocketAddr, token: &str) -> u16 {
    let result = ureq::get(&format!("http://{addr}/api/v2/account"))
        .set("Authorization", &format!("Bearer {token}"))
        .timeout(Duration::from_secs(10))
        .call();
    match result {
        Ok(response) => response.status(),
        Err(ureq::Error::Status(status, _)) => status,
        Err(e) => panic!("the authenticated request was not served: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_half_sent_and_trickling_clients_are_cut_off_while_others_are_served() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::AccountRead, Scope::TokensWrite]).await;
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(3),
        max_connections: 1_000,
    };
    let (addr, _stop) = listen(&app, limits).await;

    let outcome = tokio::task::spawn_blocking(move || {
        // 400 connections that send nothing, and 100 that send half a head.
        let mut idle: Vec<TcpStream> = (0..400).map(|_| TcpStream::connect(addr).expect("connect")).collect();
        let mut half: Vec<TcpStream> = (0..100)
            .map(|_| {
                let mut s = TcpStream::connect(addr).expect("connect");
                s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").expect("write");
                s
            })
            .collect();
        // A body promised at 100 bytes, sent a byte every 200 ms.
        let mut trickle = TcpStream::connect(addr).expect("connect");
        let head = format!(
            "POST /api/v2/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        );
        trickle.write_all(head.as_bytes()).expect("head");
        let trickler = std::thread::spawn(move || {
            let started = Instant::now();
            let mut sent = 0;
            while sent < 100 && trickle.write_all(b" ").is_ok() {
                sent += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
            // The server answered and closed long before the body was complete.
            let answer = closed_within(&mut trickle, Duration::from_secs(10));
            (sent, started.elapsed(), answer)
        });

        // While all of that is held, an authenticated request is served.
        let served_while_held = get_account(addr, &token);

        // A keep-alive connection that went idle after one request is closed too.
        let mut kept = TcpStream::connect(addr).expect("connect");
        kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
        let mut first = [0u8; 12];
        kept.read_exact(&mut first).expect("first response");

        let idle_closed = idle.iter_mut().all(|s| closed_within(s, Duration::from_secs(10)).is_some());
        let half_closed = half.iter_mut().all(|s| closed_within(s, Duration::from_secs(10)).is_some());
        let kept_closed = closed_within(&mut kept, Duration::from_secs(10)).is_some();
        let (sent, trickle_time, trickle_answer) = trickler.join().expect("trickler");
        let served_after = get_account(addr, &token);
        (
            served_while_held,
            idle_closed,
            half_closed,
            kept_closed,
            String::from_utf8_lossy(&first).into_owned(),
            sent,
            trickle_time,
            trickle_answer,
            served_after,
        )
    })
    .await
    .expect("client thread");
    let (served_while_held, idle_closed, half_closed, kept_closed, first, sent, _, trickle_answer, served_after) =
        outcome;
    assert_eq!(served_while_held, 200);
    assert!(idle_closed, "idle connections are closed after the head timeout");
    assert!(half_closed, "half-sent heads are closed after the head timeout");
    assert_eq!(first, "HTTP/1.1 200");
    assert!(kept_closed, "an idle keep-alive connection is closed");
    assert!(sent < 100, "the trickled body was cut off before it was complete ({sent} bytes)");
    let answer = trickle_answer.expect("the trickling connection was closed");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT"), "{answer}");
    assert_eq!(served_after, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let app = TestApp::new().await;
    let owner = app.owner().await;
    let (_, token) = app.token(&owner, &[Scope::AccountRead]).await;
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(2),
        body_timeout: Duration::from_secs(3),
        max_connections: 20,
    };
    let (addr, _stop) = listen(&app, limits).await;
    let status = tokio::task::spawn_blocking(move || {
        // Fill every slot with idle connections; the next client waits in
        // the accept queue until the head timeout frees slots, then is served.
        let held: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(addr).expect("connect")).collect();
        let status = get_account(addr, &token);
        drop(held);
        status
    })
    .await
    .expect("client thread");
    assert_eq!(status, 200);
}

#[test]
fn the_cap_fits_under_the_descriptor_limit() {
    let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("limit");
    let fitted = sitegpt_server::serve::fit_connections(usize::MAX);
    let (raised, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("limit");
    assert!(raised >= soft, "the soft limit is raised, never lowered");
    assert!(raised == hard || raised >= 1 << 20, "raised to the hard limit ({raised} of {hard})");
    assert!((fitted as u64) < raised, "{fitted} connections leave descriptors for the rest");
    assert_eq!(sitegpt_server::serve::fit_connections(50), 50);
}
