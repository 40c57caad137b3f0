//! `ROTA_TWILIO_*`: SMS and voice calls through a Twilio-compatible REST
//! API, set by an administrator. All three of the account, the token and
//! the sender, or none.

use crate::domain::paging::is_e164;

/// Twilio's own API, unless `ROTA_TWILIO_API_URL` names another.
pub const DEFAULT_API_URL: &str = "https://api.twilio.com";

#[derive(Clone)]
pub struct Twilio {
    /// `ROTA_TWILIO_ACCOUNT_SID`, such as `AC…`.
    pub account_sid: String,
    /// `ROTA_TWILIO_AUTH_TOKEN`: authenticates Rota's requests and signs
    /// Twilio's callbacks (`X-Twilio-Signature`).
    pub auth_token: String,
    /// `ROTA_TWILIO_FROM`: the E.164 number messages and calls come from.
    pub from: String,
    /// `ROTA_TWILIO_API_URL`, without a trailing `/`. The administrator's
    /// choice, so it is trusted as the single sign-on issuer is: requests
    /// to it do not go through the outgoing address policy.
    pub api_url: String,
}

impl std::fmt::Debug for Twilio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Twilio")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"…")
            .field("from", &self.from)
            .field("api_url", &self.api_url)
            .finish()
    }
}

/// Reads the settings through `var` (unset and blank are alike); `None`
/// when none is set. Partial settings stop the start, naming what is
/// missing.
pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<Twilio>> {
    let named = ["ROTA_TWILIO_ACCOUNT_SID", "ROTA_TWILIO_AUTH_TOKEN", "ROTA_TWILIO_FROM"];
    let [sid, token, from] = named.map(|n| var(n).map(|v| v.trim().to_owned()));
    let api_url = var("ROTA_TWILIO_API_URL").map(|v| v.trim().trim_end_matches('/').to_owned());
    let missing: Vec<&str> = named
        .iter()
        .zip([&sid, &token, &from])
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    let (Some(account_sid), Some(auth_token), Some(from)) = (sid, token, from) else {
        if missing.len() == named.len() && api_url.is_none() {
            return Ok(None);
        }
        let (list, verb) = match missing.as_slice() {
            [one] => ((*one).to_owned(), "is"),
            [rest @ .., last] => (format!("{} and {last}", rest.join(", ")), "are"),
            [] => unreachable!("one is missing"),
        };
        anyhow::bail!(
            "SMS and voice calls need ROTA_TWILIO_ACCOUNT_SID, ROTA_TWILIO_AUTH_TOKEN and ROTA_TWILIO_FROM together; \
             {list} {verb} missing: set {}, or unset the other ROTA_TWILIO_ settings to send no SMS or calls",
            if verb == "is" { "it" } else { "them" }
        );
    };
    if !account_sid
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        anyhow::bail!(
            "ROTA_TWILIO_ACCOUNT_SID={account_sid}: use the account SID as the console shows it, such as AC0123456789abcdef0123456789abcdef"
        );
    }
    if !is_e164(&from) {
        anyhow::bail!("ROTA_TWILIO_FROM={from}: use the sending number in E.164 form, such as +447700900123");
    }
    let api_url = api_url.unwrap_or_else(|| DEFAULT_API_URL.to_owned());
    let usable = url::Url::parse(&api_url).is_ok_and(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.host_str().is_some()
            && u.query().is_none()
            && u.fragment().is_none()
    });
    if !usable {
        anyhow::bail!(
            "ROTA_TWILIO_API_URL={api_url}: use the API's http(s) address without a query, such as {DEFAULT_API_URL}"
        );
    }
    Ok(Some(Twilio {
        account_sid,
        auth_token,
        from,
        api_url,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> anyhow::Result<Option<Twilio>> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        from_env(&move |k| {
            pairs
                .iter()
                .find(|(n, v)| n == k && !v.trim().is_empty())
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn none_set_is_no_sms_and_all_three_is_twilio() {
        assert!(read(&[]).unwrap().is_none());
        let t = read(&[
            ("ROTA_TWILIO_ACCOUNT_SID", "AC123"),
            ("ROTA_TWILIO_AUTH_TOKEN", "secret"),
            ("ROTA_TWILIO_FROM", "+447700900123"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(t.api_url, DEFAULT_API_URL);
        assert!(!format!("{t:?}").contains("secret"));
        let local = read(&[
            ("ROTA_TWILIO_ACCOUNT_SID", "AC123"),
            ("ROTA_TWILIO_AUTH_TOKEN", "secret"),
            ("ROTA_TWILIO_FROM", "+447700900123"),
            ("ROTA_TWILIO_API_URL", "http://127.0.0.1:9000/"),
        ])
        .unwrap()
        .unwrap();
        assert_eq!(local.api_url, "http://127.0.0.1:9000");
    }

    #[test]
    fn partial_settings_name_what_is_missing() {
        let err = read(&[
            ("ROTA_TWILIO_ACCOUNT_SID", "AC123"),
            ("ROTA_TWILIO_FROM", "+447700900123"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("ROTA_TWILIO_AUTH_TOKEN is missing"), "{err}");
        let err = read(&[("ROTA_TWILIO_API_URL", "https://api.twilio.com")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ROTA_TWILIO_ACCOUNT_SID, ROTA_TWILIO_AUTH_TOKEN and ROTA_TWILIO_FROM are missing"),
            "{err}"
        );
        let bad_from = read(&[
            ("ROTA_TWILIO_ACCOUNT_SID", "AC123"),
            ("ROTA_TWILIO_AUTH_TOKEN", "secret"),
            ("ROTA_TWILIO_FROM", "07700 900123"),
        ]);
        assert!(bad_from.unwrap_err().to_string().contains("E.164"));
    }
}
