//! Checks against real local servers: answering 200, 500, slowly, not at
//! all, redirecting, over TLS, and at addresses checks may not reach.

mod common;

use std::time::Duration;

use chrono::Utc;
use common::{Answer, Site, local_policy, tls_site};
use sitepulse::check::{CheckPolicy, Checker};

fn checker(policy: CheckPolicy) -> Checker {
    Checker::new(policy, None).expect("checker")
}

#[tokio::test]
async fn a_site_answering_200_is_up_and_500_is_down() {
    let site = Site::start(|path| match path {
        "/" => Answer::Status(200),
        _ => Answer::Status(500),
    })
    .await;
    let checker = checker(local_policy());
    let up = checker.check(&site.url("/")).await;
    assert!(up.up, "{up:?}");
    assert_eq!((up.http_status, up.redirects, up.error.as_deref()), (Some(200), 0, None));
    assert!(up.latency_ms.is_some_and(|ms| ms < 5_000), "{up:?}");
    assert_eq!(up.final_url, site.url("/"));
    assert_eq!(up.tls_expires_at, None, "plain http");

    let down = checker.check(&site.url("/broken?x=1")).await;
    assert!(!down.up);
    assert_eq!((down.http_status, down.error.as_deref()), (Some(500), Some("HTTP 500")));
    assert_eq!(site.requests(), vec!["/".to_owned(), "/broken?x=1".to_owned()], "path and query as given");
}

#[tokio::test]
async fn a_slow_site_and_a_silent_one_time_out() {
    let site = Site::start(|path| match path {
        "/slow" => Answer::Slow(Duration::from_secs(3)),
        _ => Answer::Silent,
    })
    .await;
    let checker = checker(CheckPolicy { timeout: Duration::from_millis(500), ..local_policy() });
    for path in ["/slow", "/silent"] {
        let started = std::time::Instant::now();
        let report = checker.check(&site.url(path)).await;
        assert!(started.elapsed() < Duration::from_secs(2), "{path} waited {:?}", started.elapsed());
        assert!(!report.up);
        assert_eq!((report.http_status, report.error.as_deref()), (None, Some("no answer within 0.5 s")), "{path}");
    }
}

#[tokio::test]
async fn a_closed_port_and_a_foreign_scheme_are_down_with_a_reason() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let checker = checker(local_policy());
    let refused = checker.check(&format!("http://127.0.0.1:{closed}/")).await;
    assert!(!refused.up);
    assert!(refused.error.as_deref().is_some_and(|e| e.starts_with("cannot connect to 127.0.0.1:")), "{refused:?}");
    let ftp = checker.check("ftp://127.0.0.1/file").await;
    assert_eq!(ftp.error.as_deref(), Some("ftp: URLs are checked over http and https only"));
    let with_password = checker.check("http://user:secret@127.0.0.1/").await;
    assert_eq!(with_password.error.as_deref(), Some("URLs with credentials are not checked"));
    assert!(!checker.check("not a url").await.up);
}

#[tokio::test]
async fn redirects_are_followed_a_few_times_and_loops_fail() {
    let site = Site::start(|path| match path {
        "/old" => Answer::Redirect(301, "/older".into()),
        "/older" => Answer::Redirect(302, "new?from=older".into()),
        "/new" => Answer::Status(204),
        "/loop" => Answer::Redirect(307, "/loop".into()),
        _ => Answer::Status(404),
    })
    .await;
    let checker = checker(local_policy());
    let moved = checker.check(&site.url("/old")).await;
    assert!(moved.up, "{moved:?}");
    assert_eq!((moved.http_status, moved.redirects), (Some(204), 2));
    assert_eq!(moved.final_url, site.url("/new?from=older"), "relative locations resolve against the hop");

    let looping = checker.check(&site.url("/loop")).await;
    assert!(!looping.up);
    assert_eq!((looping.redirects, looping.error.as_deref()), (5, Some("more than 5 redirects")));
    assert_eq!(site.requests().iter().filter(|p| *p == "/loop").count(), 6, "the first request and five redirects");

    // A 3xx without a place to go is an answer: up.
    let stay = Site::start(|_| Answer::Status(304)).await;
    let report = checker.check(&stay.url("/")).await;
    assert_eq!((report.up, report.http_status), (true, Some(304)));
}

#[tokio::test]
async fn loopback_and_private_addresses_are_refused_unless_their_range_is_allowed() {
    let site = Site::start(|_| Answer::Status(200)).await;
    let closed = checker(CheckPolicy::default());
    let refused = closed.check(&site.url("/")).await;
    assert!(!refused.up);
    let error = refused.error.expect("a reason");
    assert!(error.contains("loopback or private") && error.contains("SITEPULSE_CHECK_PRIVATE_RANGES"), "{error}");
    assert_eq!(site.connections(), 0, "nothing was sent");
    for url in ["http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://10.1.2.3/", "http://localhost/"] {
        let report = closed.check(url).await;
        assert!(report.error.as_deref().is_some_and(|e| e.contains("loopback or private")), "{url}: {report:?}");
    }

    // Allowed: 127.0.0.1 only. A redirect to 127.0.0.2 is refused at that hop.
    let elsewhere = Site::start_on("127.0.0.2", |_| Answer::Status(200)).await;
    let target = elsewhere.url("/");
    let redirecting = Site::start(move |_| Answer::Redirect(302, target.clone())).await;
    let report = checker(local_policy()).check(&redirecting.url("/")).await;
    assert!(!report.up);
    assert_eq!(report.redirects, 1);
    assert!(report.error.as_deref().is_some_and(|e| e.starts_with("127.0.0.2 is a loopback or private")), "{report:?}");
    assert_eq!(elsewhere.connections(), 0);
}

#[tokio::test]
async fn https_sites_report_their_certificate_expiry_and_untrusted_ones_are_down() {
    let (site, roots) = tls_site(30).await;
    let trusting = Checker::new(local_policy(), Some(roots)).expect("checker");
    let report = trusting.check(&site.url("/")).await;
    assert!(report.up, "{report:?}");
    let expires = report.tls_expires_at.expect("the certificate's expiry");
    let days = (expires - Utc::now()).num_hours() as f64 / 24.0;
    assert!((29.0..=31.0).contains(&days), "expires in {days} days");

    let public_roots = checker(local_policy());
    let untrusted = public_roots.check(&site.url("/")).await;
    assert!(!untrusted.up);
    assert!(untrusted.error.as_deref().is_some_and(|e| e.starts_with("TLS: ")), "{untrusted:?}");
}
