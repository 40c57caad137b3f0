//! SMS and voice calls through a Twilio-compatible API. A local receiver
//! on 127.0.0.1 speaks Twilio's Messages and Calls API (HTTP Basic
//! authentication with the account SID and auth token, form fields,
//! well-formed TwiML, 201 with a `sid`); the tests call Rota back as
//! Twilio does, signing each callback with `X-Twilio-Signature`.

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::StatusCode as AxumStatus;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;

use super::*;

pub(super) const SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "twilio-auth-token-for-tests";
pub(super) const FROM: &str = "+15005550006";
pub(super) const ALEX_PHONE: &str = "+447700900123";

/// One request the receiver took.
#[derive(Debug, Clone)]
pub(super) struct Request {
    resource: &'static str,
    pub(super) form: HashMap<String, String>,
    /// `Authorization: Basic` with the account SID and auth token, and the
    /// account's own path.
    authorized: bool,
    pub(super) idempotency: Option<String>,
}

/// Twilio's Messages and Calls resources. It answers 500 to the next
/// `failing` requests.
#[derive(Clone)]
pub(super) struct TwilioApi {
    base: String,
    got: Arc<Mutex<Vec<Request>>>,
    failing: Arc<AtomicUsize>,
}

/// An element of a TwiML document, in document order.
#[derive(Debug)]
struct Element {
    name: String,
    depth: usize,
    attrs: HashMap<String, String>,
    text: String,
}

/// The elements of `xml`, or why it is not well-formed XML.
fn parse_twiml(xml: &str) -> Result<Vec<Element>, String> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut elements, mut open) = (Vec::<Element>::new(), Vec::<usize>::new());
    let element = |e: &BytesStart, depth| -> Result<Element, String> {
        let mut attrs = HashMap::new();
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| e.to_string())?;
            attrs.insert(a.key.as_ref().to_owned(), value.into_owned());
        }
        Ok(Element {
            name: e.name().as_ref().to_owned(),
            depth,
            attrs,
            text: String::new(),
        })
    };
    loop {
        match reader.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                elements.push(element(&e, open.len())?);
                open.push(elements.len() - 1);
            }
            Event::Empty(e) => elements.push(element(&e, open.len())?),
            Event::Text(t) => {
                let text = t.xml10_content();
                match open.last() {
                    Some(&i) => elements[i].text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(format!("text outside the root: {text}")),
                }
            }
            // `&amp;`, `&#49;`: well-formed only if it names a character.
            Event::GeneralRef(r) => {
                let name: &str = r.as_ref();
                let resolved = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?
                        .to_owned(),
                };
                match open.last() {
                    Some(&i) => elements[i].text.push_str(&resolved),
                    None => return Err(format!("&{name}; outside the root")),
                }
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !open.is_empty() {
        return Err("unclosed elements".into());
    }
    match elements.first() {
        Some(root) if root.name == "Response" && elements.iter().filter(|e| e.depth == 0).count() == 1 => Ok(elements),
        _ => Err("the root is not one <Response>".into()),
    }
}

fn twilio_error(status: AxumStatus, code: i64, message: &str) -> (AxumStatus, axum::Json<Value>) {
    (
        status,
        axum::Json(json!({"code": code, "message": message, "status": status.as_u16(),
                          "more_info": format!("https://www.twilio.com/docs/errors/{code}")})),
    )
}

impl TwilioApi {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = TwilioApi {
            base: format!("http://{}", listener.local_addr().unwrap()),
            got: Arc::default(),
            failing: Arc::default(),
        };
        async fn take(
            api: TwilioApi,
            resource: &'static str,
            sid: String,
            headers: HeaderMap,
            raw: Bytes,
        ) -> (AxumStatus, axum::Json<Value>) {
            let basic = format!("Basic {}", STANDARD.encode(format!("{SID}:{AUTH_TOKEN}")));
            let authorized = sid == SID && headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&basic);
            let form: HashMap<String, String> = serde_urlencoded::from_bytes(&raw).unwrap_or_default();
            let idempotency = headers
                .get("i-twilio-idempotency-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let n = {
                let mut got = api.got.lock().unwrap();
                got.push(Request {
                    resource,
                    form: form.clone(),
                    authorized,
                    idempotency,
                });
                got.len()
            };
            if !authorized {
                return twilio_error(AxumStatus::UNAUTHORIZED, 20003, "Authenticate");
            }
            let content = if resource == "Messages" { "Body" } else { "Twiml" };
            for field in ["To", "From", content] {
                if form.get(field).is_none_or(String::is_empty) {
                    return twilio_error(AxumStatus::BAD_REQUEST, 21604, &format!("'{field}' is required."));
                }
            }
            if resource == "Calls"
                && let Err(why) = parse_twiml(&form["Twiml"])
            {
                return twilio_error(
                    AxumStatus::BAD_REQUEST,
                    12100,
                    &format!("Document parse failure: {why}"),
                );
            }
            let fail = api
                .failing
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if fail {
                return twilio_error(
                    AxumStatus::INTERNAL_SERVER_ERROR,
                    20500,
                    "An internal server error has occurred",
                );
            }
            let prefix = if resource == "Messages" { "SM" } else { "CA" };
            (
                AxumStatus::CREATED,
                axum::Json(json!({"sid": format!("{prefix}{n:032x}"), "status": "queued",
                                  "to": form["To"], "from": form["From"], "account_sid": SID})),
            )
        }
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{sid}/Messages.json",
                post(
                    |State(api): State<TwilioApi>, Path(sid): Path<String>, headers: HeaderMap, raw: Bytes| {
                        take(api, "Messages", sid, headers, raw)
                    },
                ),
            )
            .route(
                "/2010-04-01/Accounts/{sid}/Calls.json",
                post(
                    |State(api): State<TwilioApi>, Path(sid): Path<String>, headers: HeaderMap, raw: Bytes| {
                        take(api, "Calls", sid, headers, raw)
                    },
                ),
            )
            .with_state(api.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        api
    }

    fn taken(&self, resource: &str) -> Vec<Request> {
        let got = self.got.lock().unwrap();
        got.iter().filter(|r| r.resource == resource).cloned().collect()
    }

    pub(super) fn messages(&self) -> Vec<Request> {
        self.taken("Messages")
    }

    pub(super) fn calls(&self) -> Vec<Request> {
        self.taken("Calls")
    }
}

/// Alex and Sam as in [`setup`], on a Rota that sends SMS and calls
/// through the local receiver. The receiver is on loopback and not named
/// in ROTA_OUTGOING_ALLOW_HOSTS: the administrator set its address.
pub(super) async fn setup_twilio() -> (Paging, TwilioApi) {
    setup_twilio_under("").await
}

/// As [`setup_twilio`], with Rota served under `base_path` of its address.
async fn setup_twilio_under(base_path: &str) -> (Paging, TwilioApi) {
    let api = TwilioApi::start().await;
    let api_url = api.base.clone();
    let p = setup_tuned(|s| {
        s.base_url.push_str(base_path);
        s.twilio = Some(rota::config::Twilio {
            account_sid: SID.into(),
            auth_token: AUTH_TOKEN.into(),
            from: FROM.into(),
            api_url,
        });
    })
    .await;
    (p, api)
}

/// The words a call reads out (inside or outside a Gather).
fn spoken(twiml: &str) -> String {
    let elements = parse_twiml(twiml).unwrap_or_else(|e| panic!("{e}: {twiml}"));
    elements
        .iter()
        .filter(|e| e.name == "Say")
        .map(|e| e.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds Alex's phone as `kind` (`sms` or `voice`) and confirms it with the
/// code its test message carries; the method's id.
pub(super) async fn confirmed_phone(p: &Paging, api: &TwilioApi, kind: &str) -> i64 {
    let (status, body) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": kind, "label": "mobile", "target": ALEX_PHONE}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["test_message"], "sent", "{body}");
    let code: String = if kind == "sms" {
        let test = api.messages().pop().expect("a test SMS");
        assert_eq!(test.form.get("StatusCallback"), None, "a test has nothing to report on");
        code_in(&test.form["Body"])
    } else {
        let test = api.calls().pop().expect("a test call");
        let words = spoken(&test.form["Twiml"]);
        assert!(
            !test.form["Twiml"].contains("Gather"),
            "a test call offers nothing to press"
        );
        let after = &words[words.find(" is ").expect("the code") + 4..];
        after.chars().filter(char::is_ascii_digit).take(6).collect()
    };
    let id = body["id"].as_i64().unwrap();
    let (status, body) = p
        .app
        .post_json(
            &p.alex,
            &format!("/api/v1/me/contact-methods/{id}/verify"),
            json!({"code": code}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    id
}

/// `X-Twilio-Signature` as Twilio makes it, with `token`.
fn sign_with(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut mac = Hmac::<Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Twilio calling `url` with `params` and `signature`: the status, the
/// content type and the body.
async fn call_back(url: &str, params: &[(&str, &str)], signature: Option<String>) -> (StatusCode, String, String) {
    let mut request = api().post(url).form(params);
    if let Some(sig) = signature {
        request = request.header("X-Twilio-Signature", sig);
    }
    let res = request.send().await.unwrap();
    let status = res.status();
    let kind = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, kind, res.text().await.unwrap())
}

/// Twilio calling `url` with `params`, signed.
pub(super) async fn signed_call_back(url: &str, params: &[(&str, &str)]) -> (StatusCode, String, String) {
    call_back(url, params, Some(sign_with(AUTH_TOKEN, url, params))).await
}

/// The page's call as the receiver took it: its TwiML's Gather action.
pub(super) fn gather_url(api: &TwilioApi) -> String {
    let call = api.calls().pop().expect("the page's call");
    let elements = parse_twiml(&call.form["Twiml"]).unwrap();
    let gather = elements.iter().find(|e| e.name == "Gather").expect("a Gather");
    gather.attrs["action"].clone()
}

#[tokio::test]
async fn a_pages_sms_and_call_go_out_through_twilios_api() {
    let (p, api) = setup_twilio().await;
    confirmed_phone(&p, &api, "sms").await;
    confirmed_phone(&p, &api, "voice").await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    assert!(api.got.lock().unwrap().iter().all(|r| r.authorized));
    let (sms, call) = (api.messages().pop().unwrap(), api.calls().pop().unwrap());
    assert_eq!(
        (api.messages().len(), api.calls().len()),
        (2, 2),
        "a test and the page each"
    );
    for r in [&sms, &call] {
        assert_eq!(r.form["To"], ALEX_PHONE);
        assert_eq!(r.form["From"], FROM);
        assert!(
            r.form["StatusCallback"].starts_with(&p.app.url("/api/v1/hooks/twilio/status/")),
            "{r:?}"
        );
        assert!(
            r.idempotency
                .as_deref()
                .is_some_and(|k| k.starts_with("rota-page-message-"))
        );
    }
    assert_ne!(sms.idempotency, call.idempotency);
    let body = &sms.form["Body"];
    assert!(body.contains("Checkout p99 latency"), "{body}");
    assert!(body.contains("Reply 1 to acknowledge"), "{body}");
    assert!(body.contains(&p.app.url("/ack/")), "{body}");

    let elements = parse_twiml(&call.form["Twiml"]).unwrap();
    let gather = elements.iter().find(|e| e.name == "Gather").expect("a Gather");
    assert_eq!(gather.depth, 1);
    assert_eq!(gather.attrs["numDigits"], "1");
    assert_eq!(gather.attrs["method"], "POST");
    assert!(gather.attrs["action"].starts_with(&p.app.url("/api/v1/hooks/twilio/gather/")));
    let inside = elements
        .iter()
        .find(|e| e.name == "Say" && e.depth == 2)
        .expect("a Say in the Gather");
    assert!(inside.text.contains("Checkout p99 latency"), "{}", inside.text);
    assert!(inside.text.contains("Press 1 to acknowledge"), "{}", inside.text);

    let timeline = p.timeline(page).await;
    for (kind, sid) in [("sms", "SM"), ("voice", "CA")] {
        let e = timeline.iter().find(|e| e["kind"] == kind).expect(kind);
        assert_eq!(e["state"], "sent", "{e}");
        assert!(e["detail"].as_str().unwrap().contains(sid), "{e}");
    }
}

#[tokio::test]
async fn pressing_1_on_the_call_acknowledges_the_page_and_the_escalation_stops() {
    let (p, api) = setup_twilio().await;
    confirmed_phone(&p, &api, "voice").await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let url = gather_url(&api);
    let call = [
        ("CallSid", "CA1"),
        ("AccountSid", SID),
        ("From", FROM),
        ("To", ALEX_PHONE),
    ];

    let (status, kind, twiml) = signed_call_back(&url, &[&call[..], &[("Digits", "2")]].concat()).await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    assert!(kind.starts_with("text/xml"), "{kind}");
    assert!(spoken(&twiml).contains("not acknowledged"), "{twiml}");
    assert!(twiml.contains("<Gather"), "pressing again is offered: {twiml}");
    assert_eq!(p.acknowledged(page).await, (None, None));

    p.app.clock.set(t(RECEIVED) + Duration::minutes(2));
    let (status, kind, twiml) = signed_call_back(&url, &[&call[..], &[("Digits", "1")]].concat()).await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    assert!(kind.starts_with("text/xml"), "{kind}");
    assert!(spoken(&twiml).contains("Acknowledged"), "{twiml}");
    assert_eq!(
        p.acknowledged(page).await,
        (
            Some(t(RECEIVED) + Duration::minutes(2)),
            Some("alex@example.com".into())
        )
    );
    p.at(Duration::hours(3)).await;
    assert!(p.rx.pages("sam").is_empty(), "the escalation stopped");
    assert_eq!(api.calls().len(), 2, "the test call and the page's, no more");
}

#[tokio::test]
async fn under_a_base_path_the_signature_covers_the_address_twilio_was_given() {
    let (p, api) = setup_twilio_under("/rota").await;
    confirmed_phone(&p, &api, "voice").await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let url = gather_url(&api);
    assert!(
        url.starts_with(&p.app.url("/rota/api/v1/hooks/twilio/gather/")),
        "{url}"
    );
    let pressed = [("CallSid", "CA1"), ("Digits", "1")];
    // Signed over the address without the base path: not what Twilio signs.
    let inside = url.replace("/rota/", "/");
    let (status, _, _) = call_back(&url, &pressed, Some(sign_with(AUTH_TOKEN, &inside, &pressed))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, twiml) = signed_call_back(&url, &pressed).await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    assert_eq!(p.acknowledged(page).await.1.as_deref(), Some("alex@example.com"));
}

#[tokio::test]
async fn an_sms_reply_1_acknowledges_the_latest_page_messaged_to_that_number() {
    let (p, api) = setup_twilio().await;
    confirmed_phone(&p, &api, "sms").await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let url = p.app.url("/api/v1/hooks/twilio/sms");
    let sms = |from: &'static str, body: &'static str| {
        vec![
            ("MessageSid", "SM9"),
            ("AccountSid", SID),
            ("From", from),
            ("To", FROM),
            ("Body", body),
        ]
    };

    // A number Rota does not know is not answered, and nothing changes.
    let (status, kind, twiml) = signed_call_back(&url, &sms("+447700900999", "1")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/xml"), "{kind}");
    assert!(parse_twiml(&twiml).unwrap().len() == 1, "an empty Response: {twiml}");
    // Anything but 1 says how to acknowledge.
    let (_, _, twiml) = signed_call_back(&url, &sms(ALEX_PHONE, "ok")).await;
    assert!(twiml.contains("<Message>Reply 1"), "{twiml}");
    assert_eq!(p.acknowledged(page).await, (None, None));

    // A later page that reached Alex by push only: a reply to the text is
    // not about it.
    let pushed: i64 = sqlx::query_scalar(
        "INSERT INTO pages (team_id, source, dedup_key, summary, fired_at)
         SELECT team_id, 'test', 'pushed-only', 'Pushed only', fired_at FROM pages WHERE id = $1 RETURNING id",
    )
    .bind(page)
    .fetch_one(&p.app.db)
    .await
    .unwrap();
    let pushed_messages = sqlx::query(
        "INSERT INTO page_messages (page_id, step, user_id, contact_method_id, state, due_at, created_at)
         SELECT $1, 0, k.user_id, k.id, 'sent', $2, $2 FROM contact_methods k JOIN users u ON u.id = k.user_id
         WHERE u.email = 'alex@example.com' AND k.kind <> 'sms'",
    )
    .bind(pushed)
    .bind(t(RECEIVED) + Duration::seconds(30))
    .execute(&p.app.db)
    .await
    .unwrap();
    assert!(pushed_messages.rows_affected() > 0);

    p.app.clock.set(t(RECEIVED) + Duration::minutes(1));
    let (status, _, twiml) = signed_call_back(&url, &sms(ALEX_PHONE, " 1\n")).await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    let elements = parse_twiml(&twiml).unwrap();
    let message = elements.iter().find(|e| e.name == "Message").expect("a reply");
    assert!(message.text.contains("Acknowledged: Checkout p99 latency"), "{twiml}");
    assert_eq!(
        p.acknowledged(page).await,
        (
            Some(t(RECEIVED) + Duration::minutes(1)),
            Some("alex@example.com".into())
        )
    );
    let pushed_acknowledged: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT acknowledged_at FROM pages WHERE id = $1")
            .bind(pushed)
            .fetch_one(&p.app.db)
            .await
            .unwrap();
    assert_eq!(pushed_acknowledged, None, "the page only pushed is still open");
    sqlx::query("UPDATE pages SET resolved_at = fired_at + interval '1 minute' WHERE id = $1")
        .bind(pushed)
        .execute(&p.app.db)
        .await
        .unwrap();
    let pushed_acknowledged: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT acknowledged_at FROM pages WHERE id = $1")
            .bind(pushed)
            .fetch_one(&p.app.db)
            .await
            .unwrap();
    assert_eq!(pushed_acknowledged, None, "the page only pushed is still open");
    sqlx::query("UPDATE pages SET resolved_at = fired_at + interval '1 minute' WHERE id = $1")
        .bind(pushed)
        .execute(&p.app.db)
        .await
        .unwrap();
    p.at(Duration::hours(3)).await;
    assert!(p.rx.pages("sam").is_empty(), "the escalation stopped");

    // Nothing is left to acknowledge.
    let (_, _, twiml) = signed_call_back(&url, &sms(ALEX_PHONE, "1")).await;
    assert!(twiml.contains("Nothing to acknowledge"), "{twiml}");
}

#[tokio::test]
async fn callbacks_without_a_valid_signature_are_refused_and_change_nothing() {
    let (p, api) = setup_twilio().await;
    confirmed_phone(&p, &api, "sms").await;
    confirmed_phone(&p, &api, "voice").await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let before = p.timeline(page).await;
    let gather = gather_url(&api);
    let status_url = api.messages().pop().unwrap().form["StatusCallback"].clone();
    let sms_url = p.app.url("/api/v1/hooks/twilio/sms");
    let pressed = [("CallSid", "CA1"), ("Digits", "1")];
    let replied = [("From", ALEX_PHONE), ("Body", "1")];
    let delivered = [("MessageSid", "SM1"), ("MessageStatus", "delivered")];
    for (url, params) in [
        (&gather, &pressed[..]),
        (&sms_url, &replied[..]),
        (&status_url, &delivered[..]),
    ] {
        let wrong_token = sign_with("another-token", url, params);
        // Signed for "Digits=2" (or the like), sent with the real values.
        let other_values: Vec<(&str, &str)> = params.iter().map(|(n, _)| (*n, "2")).collect();
        let for_other_values = sign_with(AUTH_TOKEN, url, &other_values);
        let for_other_url = sign_with(AUTH_TOKEN, &format!("{url}x"), params);
        for signature in [
            None,
            Some(String::new()),
            Some("not base64!".into()),
            Some(wrong_token),
            Some(for_other_values),
            Some(for_other_url),
        ] {
            let (status, _, body) = call_back(url, params, signature.clone()).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{url} {signature:?}: {body}");
            assert!(body.contains("X-Twilio-Signature"), "{body}");
        }
    }
    assert_eq!(p.acknowledged(page).await, (None, None));
    assert_eq!(p.timeline(page).await, before);
}

#[tokio::test]
async fn status_callbacks_mark_the_pages_sms_delivered_and_call_failed() {
    let (p, api) = setup_twilio().await;
    confirmed_phone(&p, &api, "sms").await;
    confirmed_phone(&p, &api, "voice").await;
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let sms_status = api.messages().pop().unwrap().form["StatusCallback"].clone();
    let call_status = api.calls().pop().unwrap().form["StatusCallback"].clone();
    let sent = p.timeline(page).await.len();

    // On its way: nothing to record yet.
    let underway = [("MessageSid", "SM1"), ("MessageStatus", "sent")];
    assert_eq!(signed_call_back(&sms_status, &underway).await.0, StatusCode::NO_CONTENT);
    assert_eq!(p.timeline(page).await.len(), sent);

    let delivered = [("MessageSid", "SM1"), ("MessageStatus", "delivered")];
    assert_eq!(
        signed_call_back(&sms_status, &delivered).await.0,
        StatusCode::NO_CONTENT
    );
    // Twilio may repeat a callback: recorded once.
    assert_eq!(
        signed_call_back(&sms_status, &delivered).await.0,
        StatusCode::NO_CONTENT
    );
    let unanswered = [("CallSid", "CA1"), ("CallStatus", "no-answer")];
    assert_eq!(
        signed_call_back(&call_status, &unanswered).await.0,
        StatusCode::NO_CONTENT
    );

    let timeline = p.timeline(page).await;
    assert_eq!(timeline.len(), sent + 2, "{timeline:?}");
    let sms = timeline
        .iter()
        .find(|e| e["kind"] == "sms" && e["state"] == "delivered")
        .expect("the SMS delivered");
    assert_eq!(sms["email"], "alex@example.com");
    assert!(sms["detail"].as_str().unwrap().contains("delivered"), "{sms}");
    let call = timeline
        .iter()
        .find(|e| e["kind"] == "voice" && e["state"] == "failed")
        .expect("the call failed");
    assert!(call["detail"].as_str().unwrap().contains("no-answer"), "{call}");
    // A status callback for another purpose's token is not taken.
    let gather = gather_url(&api);
    let token = gather.rsplit('/').next().unwrap();
    let forged = p.app.url(&format!("/api/v1/hooks/twilio/status/{token}"));
    assert_eq!(signed_call_back(&forged, &delivered).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn twilio_answering_500_is_retried_with_the_same_key_and_the_failure_is_on_the_timeline() {
    let (p, api) = setup_twilio().await;
    confirmed_phone(&p, &api, "sms").await;
    api.failing.store(1, Ordering::SeqCst);
    let page = p.fire().await;
    p.at(Duration::zero()).await;
    let failed = p
        .timeline(page)
        .await
        .into_iter()
        .find(|e| e["kind"] == "sms")
        .expect("the attempt");
    assert_eq!(failed["state"], "failed");
    let detail = failed["detail"].as_str().unwrap();
    assert!(detail.contains("Twilio answered 500"), "{detail}");
    assert!(
        detail.contains("An internal server error has occurred"),
        "Twilio's message: {detail}"
    );
    assert!(detail.contains("trying again in 10 s"), "{detail}");

    p.at(Duration::seconds(10)).await;
    let attempts = api.messages();
    assert_eq!(attempts.len(), 3, "the test, the failure and the retry");
    assert!(attempts[1].idempotency.is_some());
    assert_eq!(attempts[1].idempotency, attempts[2].idempotency);
    let states: Vec<Value> = p
        .timeline(page)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "sms")
        .map(|e| e["state"].clone())
        .collect();
    assert_eq!(states, [json!("failed"), json!("sent")]);
}

/// Each confirmation text costs money and goes to whatever number was
/// typed: adding and removing a phone method again and again stops at the
/// hourly allowance, with nothing stored and nothing sent past it.
#[tokio::test]
async fn confirmation_texts_and_calls_stop_at_the_hourly_allowance() {
    let (p, api) = setup_twilio().await;
    let add = |kind: &'static str| {
        p.app.post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": kind, "label": "mobile", "target": "+447700900123"}),
        )
    };
    for i in 0..rota::throttle::PHONE_TESTS_AN_HOUR {
        let (status, body) = add(if i % 2 == 0 { "sms" } else { "voice" }).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_i64().unwrap();
        let (status, body) = p
            .app
            .send_json(
                reqwest::Method::DELETE,
                &p.alex,
                &format!("/api/v1/me/contact-methods/{id}"),
                json!({}),
            )
            .await;
        assert!(status.is_success(), "{status} {body}");
    }
    let sent = api.messages().len() + api.calls().len();
    assert_eq!(sent, rota::throttle::PHONE_TESTS_AN_HOUR as usize);

    let (status, body) = add("sms").await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("this hour"),
        "{body}"
    );
    assert_eq!(api.messages().len() + api.calls().len(), sent, "nothing more sent");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM contact_methods WHERE target = '+447700900123'")
        .fetch_one(&p.app.db)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing stored");
    // Other kinds are not held back.
    let (status, body) = p
        .app
        .post_json(
            &p.alex,
            "/api/v1/me/contact-methods",
            json!({"kind": "webhook", "label": "hook", "target": p.rx.base.clone() + "/hook"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // An hour on, the allowance is back.
    p.app.clock.set(p.app.clock.now() + Duration::hours(1));
    let (status, body) = add("sms").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}
