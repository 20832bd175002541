//! The recipient ledger and propagation: after a deletion or an opt-out exactly the recipients
//! the ledger holds for the subject are told — by a signed webhook (retried, outcome recorded)
//! or by hand — never one that did not receive the subject's data.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dsr_fixtures::subjects::*;
use dsr_tests::{Env, request, text, verified};
use hmac::{Hmac, Mac};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// A webhook call as received: headers of interest and the body.
#[derive(Debug, Clone)]
struct Call {
    timestamp: String,
    signature: String,
    body: String,
}

/// A loopback webhook receiver answering 500 to the first `fail_first` calls.
async fn receiver(fail_first: usize) -> (String, Arc<Mutex<Vec<Call>>>, Arc<Mutex<usize>>) {
    let got: Arc<Mutex<Vec<Call>>> = Arc::default();
    let calls: Arc<Mutex<usize>> = Arc::default();
    let (g, c) = (got.clone(), calls.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let (g, c) = (g.clone(), c.clone());
            async move {
                let n = {
                    let mut c = c.lock().unwrap();
                    *c += 1;
                    *c
                };
                if n <= fail_first {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                }
                let h = |k: &str| {
                    headers
                        .get(k)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                g.lock().unwrap().push(Call {
                    timestamp: h("x-dsr-timestamp"),
                    signature: h("x-dsr-signature"),
                    body,
                });
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), got, calls)
}

fn signed_by(secret: &str, call: &Call) -> bool {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{}.{}", call.timestamp, call.body).as_bytes());
    call.signature == format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn ok(o: &std::process::Output) -> String {
    let t = text(o);
    assert!(o.status.success(), "{t}");
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_recipients_in_the_ledger_are_told_and_failures_are_retried_and_recorded() {
    let env = Env::new(10).await;
    let (adnet, adnet_got, adnet_calls) = receiver(1).await;
    let (databuy, databuy_got, _) = receiver(0).await;
    let vars = [
        ("DSR_RECIPIENT_ADNET_URL", adnet.as_str()),
        ("DSR_RECIPIENT_ADNET_SECRET", "adnet-secret-0123456789"),
        ("DSR_RECIPIENT_DATABUY_URL", databuy.as_str()),
        ("DSR_RECIPIENT_DATABUY_SECRET", "databuy-secret-0123456789"),
    ];
    let dsr = |args: &[&str]| env.dsr_with(args, &vars);

    // Bad logs are refused whole, naming the line.
    let log = env.dir.path().join("log.csv");
    for (body, expect) in [
        (
            format!(
                "recipient,email,categories,shared_at\nadnet,{FINN_EMAIL},contact,2026-10-01\nnobody,{GUS_EMAIL},contact,2026-10-01\n"
            ),
            "line 3: recipient is not one of",
        ),
        (
            format!(
                "recipient,email,categories,shared_at\nadnet,{FINN_EMAIL},shoe_sizes,2026-10-01\n"
            ),
            "line 2: categories: unknown category",
        ),
        (
            "recipient,email,categories,shared_at\nadnet,,contact,2026-10-01\n".to_string(),
            "line 2: no identity",
        ),
        (
            "recipient,categories,shared_at\nadnet,contact,2026-10-01\n".to_string(),
            "no column is named after an identity type",
        ),
    ] {
        std::fs::write(&log, body).unwrap();
        let o = dsr(&["ledger", "import", log.to_str().unwrap()]);
        let t = text(&o);
        assert!(!o.status.success() && t.contains(expect), "{expect}: {t}");
        assert!(t.contains("nothing was stored"), "{t}");
        assert!(!t.contains(FINN_EMAIL), "an error quotes a value: {t}");
    }

    // Finn's data went to AdNet (webhook) and PrintCo (by hand); Gus's and Eve's to DataBuy.
    std::fs::write(
        &log,
        format!(
            "recipient,email,customer_id,categories,shared_at\n\
             adnet,{FINN_EMAIL},,contact;commercial,2026-10-01\n\
             printco,,{FINN_ID},contact,2026-10-02T09:00:00Z\n\
             databuy,{GUS_EMAIL},,contact,2026-10-03\n\
             databuy,{EVE_EMAIL},,contact,2026-10-03\n"
        ),
    )
    .unwrap();
    let o = ok(&dsr(&["ledger", "import", log.to_str().unwrap()]));
    assert!(o.contains("4 line(s) imported"), "{o}");

    // Finn's deletion: AdNet is told (after one failure, retried), PrintCo is listed for
    // handling by hand, DataBuy never hears of Finn.
    let f = env.dir.path().join("finn.json");
    std::fs::write(
        &f,
        serde_json::to_vec(&[verified("del-finn", "deletion", FINN_EMAIL)]).unwrap(),
    )
    .unwrap();
    ok(&dsr(&["submit", f.to_str().unwrap()]));
    ok(&dsr(&["run", "--job", "nightly"]));
    assert_eq!(*adnet_calls.lock().unwrap(), 2, "one failure, one retry");
    let calls = adnet_got.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert!(signed_by("adnet-secret-0123456789", &calls[0]), "{calls:?}");
    let body: Value = serde_json::from_str(&calls[0].body).unwrap();
    assert_eq!(body["event"], "deletion");
    assert_eq!(body["request_id"], "del-finn");
    assert_eq!(body["identities"][0]["value"], FINN_EMAIL);
    assert_eq!(
        body["categories"],
        serde_json::json!(["commercial", "contact"])
    );
    assert!(
        databuy_got.lock().unwrap().is_empty(),
        "DataBuy never got Finn"
    );

    let (json_text, _) = env.report("del-finn");
    let report: Value = serde_json::from_str(&json_text).unwrap();
    let told: Vec<&str> = report["deletion"]["recipients_told"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        told.iter().any(|n| n.starts_with("AdNet"))
            && told.iter().any(|n| n.starts_with("PrintCo"))
    );
    assert!(!told.iter().any(|n| n.starts_with("DataBuy")));
    let evidence = env.evidence_text();
    assert!(evidence.contains("\"recipients_notified\""));
    assert!(!evidence.contains(FINN_EMAIL));

    // Gus opts out: DataBuy is told; AdNet hears nothing more.
    let g = env.dir.path().join("gus.json");
    std::fs::write(
        &g,
        serde_json::to_vec(&[request("out-gus", "opt_out", &[("email", GUS_EMAIL)], None)])
            .unwrap(),
    )
    .unwrap();
    ok(&dsr(&["submit", g.to_str().unwrap()]));
    ok(&dsr(&["run", "--job", "nightly"]));
    let d = databuy_got.lock().unwrap().clone();
    assert_eq!(d.len(), 1);
    let body: Value = serde_json::from_str(&d[0].body).unwrap();
    assert_eq!(
        (body["event"].as_str(), body["request_id"].as_str()),
        (Some("opt_out"), Some("out-gus"))
    );
    assert!(signed_by("databuy-secret-0123456789", &d[0]));
    assert_eq!(adnet_got.lock().unwrap().len(), 1);

    // Eve opts out while DataBuy's endpoint is down: every retry fails, and it is recorded.
    let e = env.dir.path().join("eve.json");
    std::fs::write(
        &e,
        serde_json::to_vec(&[request("out-eve", "opt_out", &[("email", EVE_EMAIL)], None)])
            .unwrap(),
    )
    .unwrap();
    let down = [
        ("DSR_RECIPIENT_ADNET_URL", adnet.as_str()),
        ("DSR_RECIPIENT_ADNET_SECRET", "adnet-secret-0123456789"),
        ("DSR_RECIPIENT_DATABUY_URL", "http://127.0.0.1:9/hook"),
        ("DSR_RECIPIENT_DATABUY_SECRET", "databuy-secret-0123456789"),
    ];
    ok(&env.dsr_with(&["submit", e.to_str().unwrap()], &down));
    ok(&env.dsr_with(&["run", "--job", "nightly"], &down));
    let pending: Vec<Value> = ok(&dsr(&["notifications", "export"]))
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |rq: &str, rc: &str| {
        pending
            .iter()
            .find(|p| p["request_id"] == rq && p["recipient"] == rc)
            .cloned()
    };
    assert_eq!(find("del-finn", "printco").unwrap()["status"], "manual");
    assert_eq!(find("out-eve", "databuy").unwrap()["status"], "failed");
    assert!(
        find("del-finn", "adnet").is_none(),
        "delivered ones are not pending"
    );
    assert_eq!(pending.len(), 2, "{pending:?}");

    // DataBuy is back: the failed notification is sent again (signed, with Eve's request) and
    // recorded; only the manual one is left to handle by hand.
    let o = ok(&dsr(&["notifications", "retry"]));
    assert!(
        o.contains("out-eve → databuy: delivered after 1 attempt(s)"),
        "{o}"
    );
    let d = databuy_got.lock().unwrap().clone();
    assert_eq!(d.len(), 2);
    let body: Value = serde_json::from_str(&d[1].body).unwrap();
    assert_eq!(body["request_id"], "out-eve");
    assert!(signed_by("databuy-secret-0123456789", &d[1]));
    let pending = ok(&dsr(&["notifications", "export"]));
    assert_eq!(
        pending.lines().filter(|l| l.starts_with('{')).count(),
        1,
        "{pending}"
    );
    assert!(pending.contains("printco"), "{pending}");
    let evidence = env.evidence_text();
    assert!(evidence.contains("recipient_notifications_retried"));
    assert!(!evidence.contains(EVE_EMAIL));
    let v = env.dsr(&["audit", "verify", env.evidence().to_str().unwrap()]);
    assert!(v.status.success(), "{}", text(&v));
}
