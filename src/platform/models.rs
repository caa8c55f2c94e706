//! The Platform API's JSON objects, as herossh reads them.
//!
//! Unknown fields are kept in `extra` rather than dropped, so `--json` output passes the API's
//! objects through whole even when Heroku adds fields herossh does not know about yet.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /account`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub email: String,
    pub id: String,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One SSH key on the account (`GET /account/keys`). Fields the API documents as nullable, or
/// that older keys lack, are `Option`s so one odd key cannot make the whole list unreadable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub id: String,
    #[serde(default)]
    pub comment: Option<String>,
    /// Deprecated by Heroku: the same as `comment`. Never use it as the account's email.
    #[serde(default)]
    pub email: Option<String>,
    /// Legacy MD5 fingerprint in colon hex (`aa:bb:...`).
    #[serde(default)]
    pub fingerprint: Option<String>,
    pub public_key: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The error document every failing Platform API call returns.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ApiErrorBody {
    pub id: String,
    pub message: String,
    #[serde(default)]
    pub url: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_tolerates_nulls_missing_and_unknown_fields() {
        let k: Key = serde_json::from_str(
            r#"{"id":"k1","comment":null,"public_key":"ssh-ed25519 AAAA","future":1}"#,
        )
        .unwrap();
        assert_eq!(k.comment, None);
        assert_eq!(k.fingerprint, None);
        assert_eq!(k.extra.get("future"), Some(&Value::from(1)));
        // Unknown fields survive a round trip (they are part of `--json` output).
        let back = serde_json::to_value(&k).unwrap();
        assert_eq!(back["future"], Value::from(1));
    }

    #[test]
    fn account_needs_email_and_id() {
        assert!(serde_json::from_str::<Account>(r#"{"id":"x"}"#).is_err());
        let a: Account = serde_json::from_str(r#"{"id":"x","email":"a@b.c","name":null}"#).unwrap();
        assert_eq!(a.email, "a@b.c");
    }
}
