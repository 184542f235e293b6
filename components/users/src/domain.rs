//! Validated values, parsed at the edge: a handler never sees an unchecked email, name or password.

use kit::FieldError;

/// An email address, trimmed and lower-cased (so uniqueness is case-insensitive).
///
/// Deliberately strict and ASCII-only: `local@domain.tld`, at most 254 characters, a local part of at most
/// 64, no whitespace, quotes or control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Parses and normalises `raw`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("email", "must be an email address like name@example.com");
        let email = raw.trim().to_ascii_lowercase();
        if email.len() > 254 || !email.is_ascii() {
            return Err(invalid());
        }
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let allowed = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c);
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local.chars().all(allowed)
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            });
        if local_ok && domain_ok {
            Ok(Self(email))
        } else {
            Err(invalid())
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name: 1–100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    /// Parses `raw`.
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let name = raw.trim();
        let length = name.chars().count();
        if length == 0 || length > 100 {
            return Err(FieldError::new("full_name", "must be 1 to 100 characters"));
        }
        if name.chars().any(char::is_control) {
            return Err(FieldError::new("full_name", "must not contain control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 8–128 characters (NIST SP 800-63B lengths; the cap bounds hashing work). Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    /// Parses a new password for `field`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let length = raw.chars().count();
        if !(8..=128).contains(&length) {
            return Err(FieldError::new(field, "must be 8 to 128 characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The validated fields of a new account; every invalid field is reported at once (422).
pub fn new_account(email: &str, full_name: &str, password: &str) -> Result<(Email, FullName, Password), kit::Problem> {
    let mut fields = kit::Fields::default();
    let email = fields.record(Email::parse(email));
    let full_name = fields.record(FullName::parse(full_name));
    let password = fields.record(Password::parse(password, "password"));
    fields.finish()?;
    match (email, full_name, password) {
        (Some(email), Some(full_name), Some(password)) => Ok((email, full_name, password)),
        _ => Err(kit::Problem::internal()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_strictly_checked() {
        assert_eq!(Email::parse("  Alice.Smith+shop@Example.COM ").unwrap().as_str(), "alice.smith+shop@example.com");
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@localhost",
            "a b@example.com",
            "al..ice@example.com",
            "alice@-example.com",
            "alice@exa_mple.com",
            "ålice@example.com",
            "alice@example.com'; DROP TABLE users; --",
            "\"quoted\"@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} was accepted");
        }
        let long = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn names_and_passwords_have_bounds() {
        assert_eq!(FullName::parse("  Zoë Ångström ").unwrap().as_str(), "Zoë Ångström");
        assert!(FullName::parse("   ").is_err());
        assert!(FullName::parse(&"x".repeat(101)).is_err());
        assert!(FullName::parse("a\u{0}b").is_err());
        assert!(Password::parse("short", "password").is_err());
        assert!(Password::parse(&"p".repeat(129), "password").is_err());
        assert!(Password::parse("ünïcödé-pässwörd", "password").is_ok());
        assert_eq!(format!("{:?}", Password::parse("secret-secret", "p").unwrap()), "Password(..)");
    }
}
